// Timing for the side-by-side benchmarks: calibrate an inner loop to ~min_time, then time `reps`
// repetitions of it; results print as one tab-separated line each, which bench/report.py merges.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct Stats {
  double min, median, max;
};

inline Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2], v.back()};
}

// Iterations of fn that take about min_time seconds (after two warm-up calls).
inline long calibrate(const std::function<void()>& fn, double min_time) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 2; ++i) fn();
  long iters = 1;
  for (;;) {
    auto t0 = clock::now();
    for (long i = 0; i < iters; ++i) fn();
    double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt >= min_time / 4 || iters >= (1L << 24))
      return std::max(1L, static_cast<long>(static_cast<double>(iters) * min_time / std::max(dt, 1e-9)));
    iters *= 2;
  }
}

// Seconds per call of fn, averaged over one slice of `iters` calls.
inline double time_slice(const std::function<void()>& fn, long iters) {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  for (long i = 0; i < iters; ++i) fn();
  return std::chrono::duration<double>(clock::now() - t0).count() / static_cast<double>(iters);
}

// Seconds per call of fn, one value per repetition.
inline std::vector<double> time_calls(const std::function<void()>& fn, int reps = 7, double min_time = 0.2) {
  const long iters = calibrate(fn, min_time);
  std::vector<double> out;
  for (int r = 0; r < reps; ++r) out.push_back(time_slice(fn, iters));
  return out;
}

// One result line: BENCH <group> <case> <threads> <unit> <min> <median> <max>
inline void report_to(std::FILE* out, const std::string& group, const std::string& name, int threads,
                      const std::string& unit, const std::vector<double>& values) {
  Stats s = stats(values);
  std::fprintf(out, "BENCH\t%s\t%s\t%d\t%s\t%.6g\t%.6g\t%.6g\n", group.c_str(), name.c_str(), threads, unit.c_str(),
               s.min, s.median, s.max);
  std::fflush(out);
}

inline void report(const std::string& group, const std::string& name, int threads, const std::string& unit,
                   const std::vector<double>& values) {
  report_to(stdout, group, name, threads, unit, values);
}

// Converts seconds per call into another unit with `f` (e.g. GB/s, GFLOP/s, us).
inline std::vector<double> convert(const std::vector<double>& secs, const std::function<double(double)>& f) {
  std::vector<double> out;
  for (double s : secs) out.push_back(f(s));
  return out;
}

}  // namespace bench
