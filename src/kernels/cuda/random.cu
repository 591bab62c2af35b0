// CUDA random fills: thread j computes the Philox words of counter base + j (core/philox.h) and
// the values of its elements (kernels/random_values.h), the same functions as the cpu's; value j
// of a fill depends only on the seed, the first counter and j, so a seed gives the cpu's numbers.
// Inside a graph capture the seed and first counter come from device memory that each replay sets.
// Status: compiled, not yet run on a GPU.
#include "core/philox.h"
#include "kernels/cuda/grid.cuh"
#include "kernels/random_values.h"

namespace hpml::kernels::cuda {

namespace {

// The seed and first counter of a fill: its own, or inside a graph those of the replay.
__device__ inline void resolve(const PhiloxDraw& d, uint64_t* seed, uint64_t* base) {
  *seed = d.replay ? d.replay[0] : d.seed;
  *base = d.replay ? d.replay[1] + d.base : d.base;
}

// out: [n] contiguous f32; counters: (n + 3) / 4.
__global__ void uniform_f32_kernel(float* out, PhiloxDraw d, float lo, float span, int64_t n,
                                   int64_t counters) {
  uint64_t seed = 0, base = 0;
  resolve(d, &seed, &base);
  HPML_GRID_LOOP(j, counters) {
    uint32_t w[4];
    hpml::detail::philox4x32_10(seed, base + static_cast<uint64_t>(j), w);
    for (int k = 0; k < 4 && 4 * j + k < n; ++k) out[4 * j + k] = random::uniform_f32(w, k, lo, span);
  }
}

// out: [n] contiguous f64; counters: (n + 1) / 2.
__global__ void uniform_f64_kernel(double* out, PhiloxDraw d, double lo, double hi, int64_t n,
                                   int64_t counters) {
  uint64_t seed = 0, base = 0;
  resolve(d, &seed, &base);
  HPML_GRID_LOOP(j, counters) {
    uint32_t w[4];
    hpml::detail::philox4x32_10(seed, base + static_cast<uint64_t>(j), w);
    for (int k = 0; k < 2 && 2 * j + k < n; ++k) out[2 * j + k] = random::uniform_f64(w, k, lo, hi);
  }
}

template <typename T>
__global__ void normal_kernel(T* out, PhiloxDraw d, double mean, double std, int64_t n,
                              int64_t counters) {
  uint64_t seed = 0, base = 0;
  resolve(d, &seed, &base);
  HPML_GRID_LOOP(j, counters) {
    uint32_t w[4];
    hpml::detail::philox4x32_10(seed, base + static_cast<uint64_t>(j), w);
    double z0 = 0, z1 = 0;
    random::normal_pair(w, mean, std, &z0, &z1);
    out[2 * j] = static_cast<T>(z0);
    if (2 * j + 1 < n) out[2 * j + 1] = static_cast<T>(z1);
  }
}

template <typename T>
__global__ void randint_kernel(T* out, PhiloxDraw d, int64_t lo, uint64_t range, int64_t n,
                               int64_t counters) {
  uint64_t seed = 0, base = 0;
  resolve(d, &seed, &base);
  HPML_GRID_LOOP(j, counters) {
    uint32_t w[4];
    hpml::detail::philox4x32_10(seed, base + static_cast<uint64_t>(j), w);
    for (int k = 0; k < 2 && 2 * j + k < n; ++k) out[2 * j + k] = static_cast<T>(random::randint_value(w, k, lo, range));
  }
}

}  // namespace

cudaError_t launch_uniform(const Strided& out, Elem type, PhiloxDraw draw, double lo, double hi, int64_t n,
                           cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (type == Elem::f32) {
    const int64_t c = (n + 3) / 4;
    uniform_f32_kernel<<<blocks_for(c), kThreads, 0, stream>>>(reinterpret_cast<float*>(out.data), draw,
                                                                 static_cast<float>(lo), static_cast<float>(hi - lo), n, c);
  } else if (type == Elem::f64) {
    const int64_t c = (n + 1) / 2;
    uniform_f64_kernel<<<blocks_for(c), kThreads, 0, stream>>>(reinterpret_cast<double*>(out.data), draw, lo, hi,
                                                                 n, c);
  } else {
    return cudaErrorInvalidValue;  // floating types only: the op checks
  }
  return cudaGetLastError();
}

cudaError_t launch_normal(const Strided& out, Elem type, PhiloxDraw draw, double mean, double std, int64_t n,
                          cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int64_t c = (n + 1) / 2;
  if (type == Elem::f32) {
    normal_kernel<float><<<blocks_for(c), kThreads, 0, stream>>>(reinterpret_cast<float*>(out.data), draw, mean, std, n, c);
  } else if (type == Elem::f64) {
    normal_kernel<double><<<blocks_for(c), kThreads, 0, stream>>>(reinterpret_cast<double*>(out.data), draw, mean, std, n, c);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t launch_randint(const Strided& out, Elem type, PhiloxDraw draw, int64_t lo, int64_t hi, int64_t n,
                           cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int64_t c = (n + 1) / 2;
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    randint_kernel<T><<<blocks_for(c), kThreads, 0, stream>>>(reinterpret_cast<T*>(out.data), draw, lo, range, n, c);
  });
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
