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

// The command line `prefix` + hpml + `args`, through the shell (quote paths with spaces).
inline CliRun run_cli_prefixed(const std::string& prefix, const std::string& args) {
  const std::string cmd = prefix + std::string(HPML_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 512> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

inline CliRun run_cli(const std::string& args) { return run_cli_prefixed("", args); }

// run_cli under a time limit: a command still running after `seconds` is killed (SIGKILL), and
// its status reads 137, so that a hang fails the test instead of stopping the suite.
inline CliRun run_cli_within(const std::string& args, int seconds) {
  return run_cli_prefixed("timeout -s KILL " + std::to_string(seconds) + " ", args);
}

}  // namespace hpml::testing
