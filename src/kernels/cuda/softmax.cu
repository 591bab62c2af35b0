// CUDA softmax and log_softmax over one dim of a contiguous tensor seen as [outer, D, inner], and
// their backward. One block per row (outer * inner rows of D elements, inner apart): the row's
// max, then the sum of exp(x - max) in double, in block reductions.
// Status: compiled, not yet run on a GPU.
#include <cmath>

#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct MaxOf {
  __device__ double operator()(double a, double b) const { return (a != a || a > b) ? a : b; }
};

// x, y: [outer, D, inner] contiguous; block r is row (r / inner, :, r % inner).
template <typename T>
__global__ void softmax_kernel(T* y, const T* x, int64_t rows, int64_t D, int64_t inner, bool log) {
  __shared__ double scratch[kThreads / 32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
  const int64_t base = (r / inner) * D * inner + r % inner;
  double m = -INFINITY;
  for (int64_t k = threadIdx.x; k < D; k += blockDim.x) m = MaxOf{}(m, static_cast<double>(x[base + k * inner]));
  m = block_reduce(m, MaxOf{}, scratch);
  double s = 0;
  for (int64_t k = threadIdx.x; k < D; k += blockDim.x) s += ::exp(static_cast<double>(x[base + k * inner]) - m);
  s = block_reduce(s, Add{}, scratch);
  const double log_s = ::log(s);
  for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
    const double v = static_cast<double>(x[base + k * inner]) - m;
    y[base + k * inner] = static_cast<T>(log ? v - log_s : ::exp(v) / s);
  }
  }  // rows
}

// softmax:     grad_in = y * (g - sum(g * y))
// log_softmax: grad_in = g - exp(y) * sum(g)
template <typename T>
__global__ void softmax_backward_kernel(T* gi, const T* g, const T* y, int64_t rows, int64_t D, int64_t inner,
                                        bool log) {
  __shared__ double scratch[kThreads / 32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
  const int64_t base = (r / inner) * D * inner + r % inner;
  double s = 0;
  for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
    const int64_t e = base + k * inner;
    s += log ? static_cast<double>(g[e]) : static_cast<double>(g[e]) * static_cast<double>(y[e]);
  }
  s = block_reduce(s, Add{}, scratch);
  for (int64_t k = threadIdx.x; k < D; k += blockDim.x) {
    const int64_t e = base + k * inner;
    gi[e] = log ? static_cast<T>(g[e] - ::exp(y[e]) * static_cast<T>(s)) : static_cast<T>(y[e] * (g[e] - static_cast<T>(s)));
  }
  }  // rows
}

}  // namespace

cudaError_t launch_softmax(const Strided& out, const Strided& in, Elem type, int64_t outer, int64_t D, int64_t inner,
                           bool log, cudaStream_t stream) {
  const int64_t rows = outer * inner;
  if (rows == 0 || D == 0) return cudaSuccess;
  if (type == Elem::f32) {
    softmax_kernel<float><<<grid_for_rows(rows), kThreads, 0, stream>>>(
        reinterpret_cast<float*>(out.data), reinterpret_cast<const float*>(in.data), rows, D, inner, log);
  } else if (type == Elem::f64) {
    softmax_kernel<double><<<grid_for_rows(rows), kThreads, 0, stream>>>(
        reinterpret_cast<double*>(out.data), reinterpret_cast<const double*>(in.data), rows, D, inner, log);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t launch_softmax_backward(const Strided& grad_in, const Strided& grad_out, const Strided& y, Elem type,
                                    int64_t outer, int64_t D, int64_t inner, bool log, cudaStream_t stream) {
  const int64_t rows = outer * inner;
  if (rows == 0 || D == 0) return cudaSuccess;
  if (type == Elem::f32) {
    softmax_backward_kernel<float><<<grid_for_rows(rows), kThreads, 0, stream>>>(
        reinterpret_cast<float*>(grad_in.data), reinterpret_cast<const float*>(grad_out.data),
        reinterpret_cast<const float*>(y.data), rows, D, inner, log);
  } else if (type == Elem::f64) {
    softmax_backward_kernel<double><<<grid_for_rows(rows), kThreads, 0, stream>>>(
        reinterpret_cast<double*>(grad_in.data), reinterpret_cast<const double*>(grad_out.data),
        reinterpret_cast<const double*>(y.data), rows, D, inner, log);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
