// Re-running the current test binary as a child process, for behaviour fixed once per process
// (settings read from the environment at start-up or at library load).
#pragma once

#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

namespace hpml::testing {

inline std::string self_exe() {
  std::array<char, 4096> buf{};
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
}

// Runs `env <env_args> <this binary>` on the one (usually DISABLED_) test `test_name` and returns
// everything it printed.
inline std::string run_test_in_child(const std::string& env_args, const std::string& test_name) {
  const std::string exe = self_exe();
  if (exe.empty()) return "<no /proc/self/exe>";
  std::string cmd = "env " + env_args + " '" + exe + "' --gtest_also_run_disabled_tests --gtest_filter=" + test_name +
                    " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "<popen failed>";
  std::string out;
  std::array<char, 512> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
  pclose(p);
  return out;
}

}  // namespace hpml::testing
