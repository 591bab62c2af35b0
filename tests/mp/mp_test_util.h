// Helpers for the multiprocessing tests.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hpml::testing {

inline bool shm_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/dev/shm" + name).c_str(), &st) == 0;
}

// Waits up to `seconds` until none of `names` is left in /dev/shm; returns those still there.
inline std::vector<std::string> wait_until_gone(const std::vector<std::string>& names, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    std::vector<std::string> left;
    for (const auto& n : names)
      if (shm_exists(n)) left.push_back(n);
    if (left.empty() || std::chrono::steady_clock::now() > end) return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The words after "SEGMENT " on each line of a child's output.
inline std::vector<std::string> printed_segments(const std::string& out) {
  std::vector<std::string> names;
  std::istringstream is(out);
  std::string line;
  while (std::getline(is, line))
    if (line.rfind("SEGMENT ", 0) == 0) names.push_back(line.substr(8));
  return names;
}

}  // namespace hpml::testing

#include "hpml/hpml.h"

namespace hpml::testing {
// Same shape and every element equal.
inline bool same(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && all(eq(a, b)).item<bool>();
}
}  // namespace hpml::testing

#include <dirent.h>
#include <sys/types.h>

#include <fstream>

namespace hpml::testing {

// Whether pid is a live process (a zombie or a missing /proc entry count as gone).
inline bool process_alive(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

// The pids whose parent is `parent` (from /proc/<pid>/stat).
inline std::vector<int> children_of(int parent) {
  std::vector<int> out;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      const int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
      std::string line;
      if (!std::getline(f, line)) continue;
      const size_t close = line.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream is(line.substr(close + 2));
      char state = 0;
      int ppid = 0;
      is >> state >> ppid;
      if (ppid == parent && state != 'Z') out.push_back(pid);
    }
    closedir(d);
  }
  return out;
}

// /dev/shm entries of hpml segments created by one of `pids` (names are hpml.<pid>.<salt>.<n>).
inline std::vector<std::string> segments_of(const std::vector<int>& pids) {
  std::vector<std::string> out;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d))
      for (int pid : pids)
        if (std::string(e->d_name).rfind("hpml." + std::to_string(pid) + ".", 0) == 0) out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

// Whether an unprivileged user + mount namespace can be made here (to mount a small /dev/shm).
inline bool can_unshare_mounts() {
  return std::system("unshare -Urm sh -c 'mount -t tmpfs -o size=1m tmpfs /dev/shm' >/dev/null 2>&1") == 0;
}

// Runs one DISABLED_ test of this binary inside a user + mount namespace whose /dev/shm is a
// 1 MiB tmpfs (a full /dev/shm without filling the real one); returns all it printed.
inline std::string run_test_with_small_shm(const std::string& test_name) {
  std::array<char, 4096> buf{};
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "<no /proc/self/exe>";
  const std::string exe(buf.data(), static_cast<size_t>(n));
  const std::string cmd = "unshare -Urm sh -c 'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec \"" + exe +
                          "\" --gtest_also_run_disabled_tests --gtest_filter=" + test_name + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "<popen failed>";
  std::string out;
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
  const int st = pclose(p);
  out += "\nEXIT " + std::to_string(st) + "\n";
  return out;
}

}  // namespace hpml::testing
