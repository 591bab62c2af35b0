// CUDA reductions: sum, prod, amax, amin (any dtype in and out), var (with the mean), and the
// arg max / min of the last dim. One block per output element: its threads stride over the
// reduced elements, accumulate (double for floats, int64 for integers, as the cpu's), and meet
// in a block reduction. Simple and exact; a reduction over many short rows wastes threads (the
// next step: several rows per block, and a split of very long rows across blocks).
// Status: compiled, not yet run on a GPU.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

struct Sum {
  template <typename A>
  __device__ A operator()(A a, A b) const { return wadd(a, b); }
};
struct Prod {
  template <typename A>
  __device__ A operator()(A a, A b) const { return wmul(a, b); }
};
// max/min that keep a NaN (NaN != NaN) wherever it came from.
struct Max {
  template <typename A>
  __device__ A operator()(A a, A b) const { return (a != a || a > b) ? a : b; }
};
struct Min {
  template <typename A>
  __device__ A operator()(A a, A b) const { return (a != a || a < b) ? a : b; }
};

// in: [kept (nk dims)..., reduced...] -> out [K] contiguous, of type out_type. One block per k.
template <typename T, typename Op>
__global__ void reduce_kernel(Strided out, Elem out_type, Strided kept, Strided red, int64_t K, int64_t R, Acc<T> init,
                              Op op) {
  __shared__ Acc<T> scratch[kThreads / 32];
  for (int64_t k = blockIdx.x; k < K; k += gridDim.x) {
    const T* row = reinterpret_cast<const T*>(kept.data) + offset_of(kept, k);
    Acc<T> a = init;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) a = op(a, static_cast<Acc<T>>(row[offset_of(red, r)]));
    a = block_reduce(a, op, scratch);
    if (threadIdx.x == 0) store_as(out_type, out.data + k * elem_size(out_type), a);
  }
}

// var (and mean) of each row, in double: the mean first, then the squared deviations.
template <typename T>
__global__ void var_kernel(T* out, T* mean_out, Strided kept, Strided red, int64_t K, int64_t R, double dof) {
  __shared__ double scratch[kThreads / 32];
  for (int64_t k = blockIdx.x; k < K; k += gridDim.x) {
  const T* row = reinterpret_cast<const T*>(kept.data) + offset_of(kept, k);
  double s = 0;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x) s += static_cast<double>(row[offset_of(red, r)]);
  const double mean = block_reduce(s, Sum{}, scratch) / static_cast<double>(R);
  double q = 0;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
    const double d = static_cast<double>(row[offset_of(red, r)]) - mean;
    q += d * d;
  }
  q = block_reduce(q, Sum{}, scratch);
  if (threadIdx.x == 0) {
    out[k] = static_cast<T>(q / dof);
    if (mean_out) mean_out[k] = static_cast<T>(mean);
  }
  }  // rows
}

// The better of two (value, index) candidates: a NaN wins (the first one), then the larger
// (is_max) or smaller value, then the smaller index: the cpu's first best element.
template <typename T>
__device__ bool better(T v, int64_t i, T bv, int64_t bi, bool is_max) {
  const bool vn = v != v, bn = bv != bv;
  if (vn || bn) return vn && (!bn || i < bi);
  if (v == bv) return i < bi;
  return is_max ? v > bv : v < bv;
}

// in: [kept..., R] -> indices [K] (and values [K]).
template <typename T>
__global__ void arg_reduce_kernel(int64_t* indices, T* values, Strided kept, int64_t K, int64_t R, int64_t rstride,
                                  bool is_max) {
  __shared__ T sv[kThreads];
  __shared__ int64_t si[kThreads];
  for (int64_t k = blockIdx.x; k < K; k += gridDim.x) {
  const T* row = reinterpret_cast<const T*>(kept.data) + offset_of(kept, k);
  T bv = row[0];
  int64_t bi = 0;
  for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
    const T v = row[r * rstride];
    if (better(v, r, bv, bi, is_max)) bv = v, bi = r;
  }
  sv[threadIdx.x] = bv, si[threadIdx.x] = bi;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && better(sv[threadIdx.x + s], si[threadIdx.x + s], sv[threadIdx.x], si[threadIdx.x], is_max))
      sv[threadIdx.x] = sv[threadIdx.x + s], si[threadIdx.x] = si[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    indices[k] = si[0];
    if (values) values[k] = sv[0];
  }
  __syncthreads();  // sv, si are read above before the next row writes them
  }  // rows
}

template <typename T>
Acc<T> lowest() {
  using L = std::numeric_limits<T>;
  return static_cast<Acc<T>>(L::has_infinity ? -L::infinity() : L::lowest());
}
template <typename T>
Acc<T> highest() {
  using L = std::numeric_limits<T>;
  return static_cast<Acc<T>>(L::has_infinity ? L::infinity() : L::max());
}

}  // namespace

cudaError_t launch_reduce(int op, const Strided& out, Elem out_type, const Strided& in, Elem in_type, int nreduce,
                          int64_t K, int64_t R, cudaStream_t stream) {
  if (K == 0) return cudaSuccess;
  const Strided kept = leading_dims(in, in.ndim - nreduce), red = trailing_dims(in, in.ndim - nreduce);
  const unsigned grid = grid_for_rows(K);
  with_type(in_type, [&](auto zero) {
    using T = decltype(zero);
    switch (op) {
      case 0: reduce_kernel<T><<<grid, kThreads, 0, stream>>>(out, out_type, kept, red, K, R, Acc<T>(0), Sum{}); break;
      case 1: reduce_kernel<T><<<grid, kThreads, 0, stream>>>(out, out_type, kept, red, K, R, Acc<T>(1), Prod{}); break;
      case 2: reduce_kernel<T><<<grid, kThreads, 0, stream>>>(out, out_type, kept, red, K, R, lowest<T>(), Max{}); break;
      default: reduce_kernel<T><<<grid, kThreads, 0, stream>>>(out, out_type, kept, red, K, R, highest<T>(), Min{}); break;
    }
  });
  return cudaGetLastError();
}

cudaError_t launch_var(const Strided& out, const Strided* mean_out, const Strided& in, Elem type, int nreduce,
                       int64_t K, int64_t R, double correction, cudaStream_t stream) {
  if (K == 0) return cudaSuccess;
  const Strided kept = leading_dims(in, in.ndim - nreduce), red = trailing_dims(in, in.ndim - nreduce);
  const double dof = std::fmax(0.0, static_cast<double>(R) - correction);
  const unsigned grid = grid_for_rows(K);
  if (type == Elem::f32) {
    var_kernel<float><<<grid, kThreads, 0, stream>>>(reinterpret_cast<float*>(out.data),
                                                       mean_out ? reinterpret_cast<float*>(mean_out->data) : nullptr,
                                                       kept, red, K, R, dof);
  } else if (type == Elem::f64) {
    var_kernel<double><<<grid, kThreads, 0, stream>>>(reinterpret_cast<double*>(out.data),
                                                        mean_out ? reinterpret_cast<double*>(mean_out->data) : nullptr,
                                                        kept, red, K, R, dof);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t launch_arg_reduce(bool is_max, const Strided* values, const Strided& indices, const Strided& in, Elem type,
                              int64_t K, int64_t R, cudaStream_t stream) {
  if (K == 0) return cudaSuccess;
  const Strided kept = leading_dims(in, in.ndim - 1);
  const int64_t rstride = in.strides[in.ndim - 1];
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    arg_reduce_kernel<T><<<grid_for_rows(K), kThreads, 0, stream>>>(
        reinterpret_cast<int64_t*>(indices.data), values ? reinterpret_cast<T*>(values->data) : nullptr, kept, K, R,
        rstride, is_max);
  });
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
