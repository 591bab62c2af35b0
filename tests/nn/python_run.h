// Running a command from the nn tests (the PyTorch fixture scripts of tests/python/ under
// /usr/bin/python3): its exit status and everything it printed, stderr included.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace hpml::nntest {

struct RunResult {
  int status = -1;  // the exit status, -1 if the command did not exit normally
  std::string output;
};

inline RunResult run_command(const std::string& cmd) {
  RunResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "<popen failed>"};
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p)) r.output += buf.data();
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace hpml::nntest
