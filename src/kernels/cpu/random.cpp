// CPU random fills from a counter-based Generator: value j of a fill is a pure function of
// (seed, first counter, j), so results do not depend on how the work is split across threads;
// the function is kernels/random_values.h, which the CUDA fills share.
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"
#include "kernels/random_values.h"

namespace hpml::kernels::cpu {

namespace {

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
      for (int64_t k = 0; k < 4 && 4 * j + k < n; ++k) o[4 * j + k] = random::uniform_f32(w.data(), int(k), flo, span);
    });
    return;
  }
  dispatch_floating(out.dtype, "uniform", [&]<typename T>() {
    T* o = out.ptr<T>();
    for_counters(gen, random_counters(RandomKind::uniform, out.dtype, n), [&](int64_t j, const std::array<uint32_t, 4>& w) {
      for (int64_t k = 0; k < 2 && 2 * j + k < n; ++k)
        o[2 * j + k] = static_cast<T>(random::uniform_f64(w.data(), int(k), lo, hi));
    });
  });
}

// out (contiguous) ~ N(mean, std^2) by Box-Muller.
void normal(const TensorView& out, Generator& gen, double mean, double std) {
  const int64_t n = out.numel();
  dispatch_floating(out.dtype, "normal", [&]<typename T>() {
    T* o = out.ptr<T>();
    for_counters(gen, random_counters(RandomKind::normal, out.dtype, n), [&](int64_t j, const std::array<uint32_t, 4>& w) {
      double z0 = 0, z1 = 0;
      random::normal_pair(w.data(), mean, std, &z0, &z1);
      o[2 * j] = static_cast<T>(z0);
      if (2 * j + 1 < n) o[2 * j + 1] = static_cast<T>(z1);
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
        o[2 * j + k] = static_cast<T>(random::randint_value(w.data(), int(k), lo, range));
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
