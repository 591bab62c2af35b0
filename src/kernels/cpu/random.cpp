// CPU random fills from a counter-based Generator: value j of a fill is a pure function of
// (seed, first counter, j), so results do not depend on how the work is split across threads.
#include <cmath>
#include <numbers>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"

namespace hpml::kernels::cpu {

namespace {
constexpr double k2Pi = 2.0 * std::numbers::pi;

inline float u32_to_unit_float(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }        // [0, 1)
inline double u64_to_unit_double(uint64_t w) { return static_cast<double>(w >> 11) * 0x1.0p-53; }  // [0, 1)
inline uint64_t join(uint32_t hi, uint32_t lo) { return (static_cast<uint64_t>(hi) << 32) | lo; }

// Calls f(j, words) for counter j of [0, ncounters), in parallel.
template <typename F>
void for_counters(Generator& gen, int64_t ncounters, const F& f) {
  const uint64_t base = gen.reserve(static_cast<uint64_t>(ncounters));
  parallel_for(0, ncounters, kGrain / 4, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) f(j, gen.block(base + static_cast<uint64_t>(j)));
  });
}
}  // namespace

// out (contiguous) ~ U[lo, hi)
void uniform(const TensorView& out, Generator& gen, double lo, double hi) {
  const int64_t n = out.numel();
  if (out.dtype == DType::f32) {
    float* o = out.ptr<float>();
    const float flo = static_cast<float>(lo), span = static_cast<float>(hi - lo);
    for_counters(gen, random_counters(RandomKind::uniform, out.dtype, n), [&](int64_t j, const std::array<uint32_t, 4>& w) {
      for (int64_t k = 0; k < 4 && 4 * j + k < n; ++k) o[4 * j + k] = flo + span * u32_to_unit_float(w[k]);
    });
    return;
  }
  dispatch_floating(out.dtype, "uniform", [&]<typename T>() {
    T* o = out.ptr<T>();
    for_counters(gen, random_counters(RandomKind::uniform, out.dtype, n), [&](int64_t j, const std::array<uint32_t, 4>& w) {
      for (int64_t k = 0; k < 2 && 2 * j + k < n; ++k)
        o[2 * j + k] = static_cast<T>(lo + (hi - lo) * u64_to_unit_double(join(w[2 * k], w[2 * k + 1])));
    });
  });
}

// out (contiguous) ~ N(mean, std^2) by Box-Muller.
void normal(const TensorView& out, Generator& gen, double mean, double std) {
  const int64_t n = out.numel();
  dispatch_floating(out.dtype, "normal", [&]<typename T>() {
    T* o = out.ptr<T>();
    for_counters(gen, random_counters(RandomKind::normal, out.dtype, n), [&](int64_t j, const std::array<uint32_t, 4>& w) {
      double u1 = 1.0 - u64_to_unit_double(join(w[0], w[1]));  // (0, 1]
      double u2 = u64_to_unit_double(join(w[2], w[3]));
      double r = std::sqrt(-2.0 * std::log(u1)), th = k2Pi * u2;
      o[2 * j] = static_cast<T>(mean + std * r * std::cos(th));
      if (2 * j + 1 < n) o[2 * j + 1] = static_cast<T>(mean + std * r * std::sin(th));
    });
  });
}

// out (contiguous) ~ uniform integers in [lo, hi)
void randint(const TensorView& out, Generator& gen, int64_t lo, int64_t hi) {
  const int64_t n = out.numel();
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  dispatch_all(out.dtype, "randint", [&]<typename T>() {
    T* o = out.ptr<T>();
    for_counters(gen, random_counters(RandomKind::randint, out.dtype, n), [&](int64_t j, const std::array<uint32_t, 4>& w) {
      for (int64_t k = 0; k < 2 && 2 * j + k < n; ++k) {
        uint64_t r = join(w[2 * k], w[2 * k + 1]) % range;  // bias < range / 2^64
        o[2 * j + k] = static_cast<T>(lo + static_cast<int64_t>(r));
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
