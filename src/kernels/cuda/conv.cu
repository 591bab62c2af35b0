// The CUDA pieces of convolution by im2col and GEMM (the cpu's Note [Convolution as GEMM]):
// im2col of a chunk of images into columns [n][C KH KW][OH OW], col2im back (each input element
// sums the columns that took it, so no atomics), and the per-channel bias add. The GEMMs are
// cuBLAS's (conv_slots.cpp); the element math is pool_ops.h's, tested on the host.
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/grid.cuh"
#include "kernels/cuda/pool_ops.h"

namespace hpml::kernels::cuda {

namespace {

// x [nb, C, H, W] -> cols [nb, C KH KW, OH OW].
template <typename T>
__global__ void im2col_kernel(T* cols, const T* x, Window w, int64_t n) {
  const int64_t ohw = w.OH * w.OW, ckk = w.C * w.KH * w.KW;
  HPML_GRID_LOOP(e, n) cols[e] = im2col_value(x, w, e / (ohw * ckk), e / ohw % ckk, e % ohw);
}

// cols [nb, C KH KW, OH OW] -> gx [nb, C, H, W] (written, not accumulated).
template <typename T>
__global__ void col2im_kernel(T* gx, const T* cols, Window w, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t iw = e % w.W, ih = e / w.W % w.H, c = e / (w.H * w.W) % w.C, b = e / (w.C * w.H * w.W);
    gx[e] = col2im_value(cols, w, b, c, ih, iw);
  }
}

// out [N, OC, S] += bias[oc].
template <typename T>
__global__ void bias_kernel(T* out, const T* bias, int64_t OC, int64_t S, int64_t n) {
  HPML_GRID_LOOP(e, n) out[e] += bias[e / S % OC];
}


}  // namespace

cudaError_t launch_im2col(void* cols, const void* x, Elem type, const Window& w, int64_t images, cudaStream_t stream) {
  const int64_t n = images * w.C * w.KH * w.KW * w.OH * w.OW;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    im2col_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(cols), static_cast<const T*>(x), w, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_col2im(void* gx, const void* cols, Elem type, const Window& w, int64_t images, cudaStream_t stream) {
  const int64_t n = images * w.C * w.H * w.W;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    col2im_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(gx), static_cast<const T*>(cols), w, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_add_bias(void* out, const void* bias, Elem type, int64_t N, int64_t OC, int64_t S,
                            cudaStream_t stream) {
  const int64_t n = N * OC * S;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    bias_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(bias), OC, S, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace hpml::kernels::cuda
