// CUDA batch norm pieces over a contiguous x [N, C, S]: the backward's per-channel sums (one
// block per channel, in double) and the two per-channel affine maps. The forward's statistics
// are var's kernel (reduce.cu) over x seen as [C, N, S] (bn_slots.cpp).
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// sum_dy[c] = sum of dy over channel c; sum_dy_xmu[c] = sum of dy (x - mean[c]). Block c.
template <typename T>
__global__ void bn_backward_stats_kernel(T* sum_dy, T* sum_dy_xmu, const T* dy, const T* x, const T* mean, int64_t N,
                                         int64_t C, int64_t S) {
  __shared__ double scratch[kThreads / 32];
  const int64_t c = blockIdx.x;
  const double m = static_cast<double>(mean[c]);
  double a = 0, b = 0;
  for (int64_t e = threadIdx.x; e < N * S; e += blockDim.x) {
    const int64_t off = (e / S * C + c) * S + e % S;
    const double g = static_cast<double>(dy[off]);
    a += g;
    b += g * (static_cast<double>(x[off]) - m);
  }
  a = block_reduce(a, Add{}, scratch);
  b = block_reduce(b, Add{}, scratch);
  if (threadIdx.x == 0) sum_dy[c] = static_cast<T>(a), sum_dy_xmu[c] = static_cast<T>(b);
}

// out = x scale[c] + shift[c]
template <typename T>
__global__ void affine_kernel(T* out, const T* x, const T* scale, const T* shift, int64_t C, int64_t S, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t c = e / S % C;
    out[e] = x[e] * scale[c] + shift[c];
  }
}

// out = u a[c] + (x b[c] + c[c])
template <typename T>
__global__ void affine2_kernel(T* out, const T* u, const T* x, const T* a, const T* b, const T* cc, int64_t C,
                               int64_t S, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t c = e / S % C;
    out[e] = u[e] * a[c] + (x[e] * b[c] + cc[c]);
  }
}


}  // namespace

cudaError_t launch_bn_backward_stats(void* sum_dy, void* sum_dy_xmu, const void* dy, const void* x, const void* mean,
                                     Elem type, int64_t N, int64_t C, int64_t S, cudaStream_t stream) {
  if (C == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    bn_backward_stats_kernel<T><<<static_cast<unsigned>(C), kThreads, 0, stream>>>(
        static_cast<T*>(sum_dy), static_cast<T*>(sum_dy_xmu), static_cast<const T*>(dy), static_cast<const T*>(x),
        static_cast<const T*>(mean), N, C, S);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_channel_affine(void* out, const void* u, const void* x, const void* a, const void* b, const void* c,
                                  Elem type, int64_t N, int64_t C, int64_t S, cudaStream_t stream) {
  const int64_t n = N * C * S;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    if (u) {
      affine2_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(u),
                                                                 static_cast<const T*>(x), static_cast<const T*>(a),
                                                                 static_cast<const T*>(b), static_cast<const T*>(c), C,
                                                                 S, n);
    } else {
      affine_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(x),
                                                                static_cast<const T*>(a), static_cast<const T*>(b), C, S,
                                                                n);
    }
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace hpml::kernels::cuda
