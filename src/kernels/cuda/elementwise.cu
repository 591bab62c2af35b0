// Elementwise CUDA kernels over strided views: fill, and copy with casts. One thread per element
// in a grid-stride loop; the offset of element i is computed from the view's sizes and strides.
// Status: compiled, not yet run on a GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/launch.h"

namespace hpml::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

// The element offset of the i-th element (row-major order) of a strided view.
__device__ int64_t offset_of(const Strided& v, int64_t i) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    const int64_t s = v.sizes[d];
    off += (i % s) * v.strides[d];
    i /= s;
  }
  return off;
}

// out: any shape; n = its numel.
template <typename T>
__global__ void fill_kernel(Strided out, T value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{blockDim.x} * gridDim.x)
    reinterpret_cast<T*>(out.data)[offset_of(out, i)] = value;
}

// dst, src: one shape; n = its numel.
template <typename D, typename S>
__global__ void copy_kernel(Strided dst, Strided src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{blockDim.x} * gridDim.x)
    reinterpret_cast<D*>(dst.data)[offset_of(dst, i)] = static_cast<D>(reinterpret_cast<const S*>(src.data)[offset_of(src, i)]);
}

unsigned blocks_for(int64_t n) { return static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks)); }

// Calls f(T{}) with the C++ type of `e`.
template <typename F>
void with_type(Elem e, F&& f) {
  switch (e) {
    case Elem::f32: return f(float{});
    case Elem::f64: return f(double{});
    case Elem::i64: return f(int64_t{});
    case Elem::i32: return f(int32_t{});
    case Elem::u8: return f(uint8_t{});
    case Elem::b8: return f(bool{});
  }
}

}  // namespace

cudaError_t launch_fill(const Strided& out, Elem type, double value_f, int64_t value_i, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    const T v = (type == Elem::f32 || type == Elem::f64) ? static_cast<T>(value_f) : static_cast<T>(value_i);
    fill_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(out, v, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_copy(const Strided& dst, Elem dst_type, const Strided& src, Elem src_type, int64_t n,
                        cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type(dst_type, [&](auto d) {
    with_type(src_type, [&](auto s) {
      copy_kernel<decltype(d), decltype(s)><<<blocks_for(n), kThreads, 0, stream>>>(dst, src, n);
    });
  });
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
