// The CUDA matmul for what cuBLAS does not take: integer types, and operands whose matrices have
// no unit stride. out[b] = alpha * a[b] @ b[b] + beta * out[b], every operand strided (batch
// stride 0 allowed), one thread per output element, accumulating in double (floats) or int64
// with wrap-around (integers), as the cpu's naive product. f32/f64 normally go to cuBLAS
// (blas_slots.cpp).
// Status: compiled, not yet run on a GPU.
#include <type_traits>

#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

template <typename T>
using MulAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// a [B, M, K], b [B, K, N], out [B, M, N] (3-d views).
template <typename T>
__global__ void bmm_kernel(Strided out, Strided a, Strided b, double alpha, double beta, int64_t n) {
  const int64_t M = out.sizes[1], N = out.sizes[2], K = a.sizes[2];
  HPML_GRID_LOOP(e, n) {
    const int64_t j = e % N, i = e / N % M, bi = e / (M * N);
    const T* pa = reinterpret_cast<const T*>(a.data) + bi * a.strides[0] + i * a.strides[1];
    const T* pb = reinterpret_cast<const T*>(b.data) + bi * b.strides[0] + j * b.strides[2];
    MulAcc<T> acc = 0;
    for (int64_t p = 0; p < K; ++p)
      acc = wadd(acc, wmul(static_cast<MulAcc<T>>(pa[p * a.strides[2]]), static_cast<MulAcc<T>>(pb[p * b.strides[1]])));
    T* po = reinterpret_cast<T*>(out.data) + bi * out.strides[0] + i * out.strides[1] + j * out.strides[2];
    MulAcc<T> r = wmul(static_cast<MulAcc<T>>(alpha), acc);
    if (beta != 0) r = wadd(r, wmul(static_cast<MulAcc<T>>(beta), static_cast<MulAcc<T>>(*po)));
    *po = static_cast<T>(r);
  }
}

}  // namespace

cudaError_t launch_bmm_naive(const Strided& out, const Strided& a, const Strided& b, Elem type, double alpha,
                             double beta, cudaStream_t stream) {
  const int64_t n = out.sizes[0] * out.sizes[1] * out.sizes[2];
  if (n == 0) return cudaSuccess;
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>) bmm_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(out, a, b, alpha, beta, n);
  });
  return type == Elem::b8 ? cudaErrorInvalidValue : cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
