// Timing for the side-by-side benchmarks: calibrate an inner loop to ~min_time, then time `reps`
// repetitions of it; results print as one tab-separated line each, which bench/report.py merges.
#pragma once

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
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

// One line of the report's header: INFO <side> <key> <value> (what each side ran with).
inline void info(const std::string& side, const std::string& key, const std::string& value) {
  std::printf("INFO\t%s\t%s\t%s\n", side.c_str(), key.c_str(), value.c_str());
  std::fflush(stdout);
}

// The OpenBLAS already loaded into this process (by hpml or by libtorch): its build, the kernels
// it runs and its threads; "not loaded" if none is.
inline std::string loaded_openblas() {
  void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
  if (!h) return "not loaded";
  auto config = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_config"));
  auto core = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
  auto threads = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads"));
  Dl_info where{};
  std::string file = core && dladdr(reinterpret_cast<void*>(core), &where) ? where.dli_fname : "?";
  return std::string(config ? config() : "?") + ", kernels " + (core ? core() : "?") + ", " +
         std::to_string(threads ? threads() : -1) + " threads, " + file;
}

// Sets the threads of the OpenBLAS loaded into this process (libtorch's pthread build keeps its
// own pool, sized by OPENBLAS_NUM_THREADS, which torch::set_num_threads does not change).
inline void set_openblas_threads(int n) {
  void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
  auto set = h ? reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads")) : nullptr;
  if (set) set(n);
}

// Converts seconds per call into another unit with `f` (e.g. GB/s, GFLOP/s, us).
inline std::vector<double> convert(const std::vector<double>& secs, const std::function<double(double)>& f) {
  std::vector<double> out;
  for (double s : secs) out.push_back(f(s));
  return out;
}

// The blobs task of the training benchmarks, the same bytes on both sides: 1000 points in 2-D
// around 3 centres drawn in [-10, 10]^2, spread 2, point i in class i % 3 (so the first 500
// points, the training half, hold every class). X is [1000, 2] row-major.
inline void blobs(std::vector<float>& X, std::vector<int64_t>& y) {
  std::mt19937_64 rng(2);
  auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  auto normal = [&] {  // Box-Muller: the same numbers whatever the standard library
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  double centres[3][2];
  for (auto& c : centres)
    for (double& v : c) v = -10.0 + 20.0 * uniform();
  X.resize(2000);
  y.resize(1000);
  for (int i = 0; i < 1000; ++i) {
    y[i] = i % 3;
    for (int d = 0; d < 2; ++d) X[2 * i + d] = static_cast<float>(centres[i % 3][d] + 2.0 * normal());
  }
}

}  // namespace bench
