// Helpers for the multiprocessing tests.
#pragma once

#include <sys/stat.h>

#include <chrono>
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
