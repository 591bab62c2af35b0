// Elementwise CUDA kernels over strided views: fill, copy with casts, arange and tril/triu. One thread per element
// in a grid-stride loop; the offset of element i is computed from the view's sizes and strides.
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

// out: any shape; n = its numel.
template <typename T>
__global__ void fill_kernel(Strided out, T value, int64_t n) {
  HPML_GRID_LOOP(i, n) reinterpret_cast<T*>(out.data)[offset_of(out, i)] = value;
}

// dst, src: one shape; n = its numel.
template <typename D, typename S>
__global__ void copy_kernel(Strided dst, Strided src, int64_t n) {
  HPML_GRID_LOOP(i, n) {
    reinterpret_cast<D*>(dst.data)[offset_of(dst, i)] = static_cast<D>(reinterpret_cast<const S*>(src.data)[offset_of(src, i)]);
  }
}

// out: [n] with element stride `stride`; out[i] = start + i * step, computed in double.
template <typename T>
__global__ void arange_kernel(T* out, int64_t stride, double start, double step, int64_t n) {
  HPML_GRID_LOOP(i, n) out[i * stride] = static_cast<T>(start + static_cast<double>(i) * step);
}

// out, in: [batch, rows, cols] contiguous; keeps j - i <= diagonal (lower) or >= diagonal.
template <typename T>
__global__ void tri_kernel(T* out, const T* in, int64_t rows, int64_t cols, int64_t diagonal, bool lower, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t j = e % cols, i = e / cols % rows;
    const bool keep = lower ? (j - i <= diagonal) : (j - i >= diagonal);
    out[e] = keep ? in[e] : T(0);
  }
}

}  // namespace

cudaError_t launch_arange(const Strided& out, Elem type, double start, double step, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int64_t stride = out.ndim == 0 ? 1 : out.strides[0];
  with_type_or_half(type, [&](auto zero) {
    using T = decltype(zero);
    arange_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(reinterpret_cast<T*>(out.data), stride, start, step, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_tri(const Strided& out, const Strided& in, Elem type, int64_t rows, int64_t cols, int64_t diagonal,
                       bool lower, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type_or_half(type, [&](auto zero) {
    using T = decltype(zero);
    tri_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(reinterpret_cast<T*>(out.data),
                                                            reinterpret_cast<const T*>(in.data), rows, cols, diagonal,
                                                            lower, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_fill(const Strided& out, Elem type, double value_f, int64_t value_i, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type_or_half(type, [&](auto zero) {
    using T = decltype(zero);
    const bool floating = type == Elem::f32 || type == Elem::f64 || type == Elem::bf16 || type == Elem::f16;
    const T v = floating ? static_cast<T>(value_f) : static_cast<T>(value_i);
    fill_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(out, v, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_copy(const Strided& dst, Elem dst_type, const Strided& src, Elem src_type, int64_t n,
                        cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type_or_half(dst_type, [&](auto d) {
    with_type_or_half(src_type, [&](auto s) {
      copy_kernel<decltype(d), decltype(s)><<<blocks_for(n), kThreads, 0, stream>>>(dst, src, n);
    });
  });
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
