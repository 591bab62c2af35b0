// Running the hpml command from tests: its exit status and everything it printed.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace hpml::testing {

struct CliRun {
  int status;  // the exit status, -1 if it did not exit normally
  std::string out;
};

inline CliRun run_cli(const std::string& args) {
  const std::string cmd = std::string(HPML_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 512> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace hpml::testing
