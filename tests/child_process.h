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

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <vector>

extern char** environ;

namespace hpml::testing {

// A running child: this test binary on one test, its stdout and stderr on `out`.
struct TestChild {
  pid_t pid = -1;
  int out = -1;
  std::string output;  // everything read so far
  ~TestChild() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
};

// Starts `<this binary> --gtest_filter=test_name` with the extra environment entries ("K=V"),
// in a process group of its own when new_group (so that a signal to the group reaches only it
// and its children).
inline void start_test_child(TestChild& c, const std::string& test_name, const std::vector<std::string>& env = {},
                             bool new_group = false) {
  const std::string exe = self_exe();
  std::string filter = "--gtest_filter=" + test_name;
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<std::string> envs(env);
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = exe;
  char* argv[] = {arg0.data(), disabled.data(), filter.data(), nullptr};
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return;
  c.pid = ::fork();
  if (c.pid == 0) {
    if (new_group) ::setpgid(0, 0);
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    ::execve(exe.c_str(), argv, envp.data());
    ::_exit(127);
  }
  if (new_group && c.pid > 0) ::setpgid(c.pid, c.pid);  // either side may win the race
  ::close(p[1]);
  c.out = p[0];
}

// Reads whatever the child printed within timeout_s; false at end of file.
inline bool read_some(TestChild& c, double timeout_s) {
  pollfd pf{c.out, POLLIN, 0};
  if (::poll(&pf, 1, static_cast<int>(timeout_s * 1000)) <= 0) return true;
  char buf[4096];
  const ssize_t n = ::read(c.out, buf, sizeof buf);
  if (n <= 0) return false;
  c.output.append(buf, static_cast<size_t>(n));
  return true;
}

// The first output line that starts with `prefix`, waiting up to timeout_s; "" if none came.
inline std::string read_line_starting(TestChild& c, const std::string& prefix, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    size_t at = c.output.rfind(prefix, 0) == 0 ? 0 : c.output.find("\n" + prefix);
    if (at != std::string::npos && at > 0) ++at;
    if (at != std::string::npos) {
      const size_t nl = c.output.find('\n', at);
      if (nl != std::string::npos) return c.output.substr(at, nl - at);
    }
    if (std::chrono::steady_clock::now() > end || !read_some(c, 0.05)) return "";
  }
}

// Waits up to timeout_s for the child to exit, collecting its output; kills it (and its group)
// on timeout. Returns the wait status, or -1 after a timeout.
inline int wait_test_child(TestChild& c, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int st = 0;
    if (::waitpid(c.pid, &st, WNOHANG) == c.pid) {
      while (read_some(c, 0.05)) {
      }
      c.pid = -1;
      return st;
    }
    if (std::chrono::steady_clock::now() > end) {
      ::kill(-c.pid, SIGKILL);
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
      c.pid = -1;
      return -1;
    }
    if (!read_some(c, 0.05)) ::usleep(20 * 1000);
  }
}

}  // namespace hpml::testing
