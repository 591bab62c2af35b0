// The pointwise CUDA kernels of the op table: unary, binary (broadcast operands, comparisons to
// bool, the fused activation gradients) and where. One kernel per element type, the op a
// run-time argument that is the same for every thread (so the switch in element_ops.h costs a
// branch, not a divergence), and two index paths: dense operands use i as the offset, the rest
// compute each operand's offset from its sizes and strides.
// Status: compiled, not yet run on a GPU; the per-element math is tested on the host
// (tests/cuda/element_ops_test.cpp).
#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

template <typename T>
__device__ __forceinline__ T load(const Strided& v, int64_t i, bool dense) {
  return reinterpret_cast<const T*>(v.data)[dense ? i : offset_of(v, i)];
}
template <typename T>
__device__ __forceinline__ void store(const Strided& v, int64_t i, bool dense, T x) {
  reinterpret_cast<T*>(v.data)[dense ? i : offset_of(v, i)] = x;
}

// out, in: [n] seen through their strides; dense: both are.
template <typename T>
__global__ void unary_kernel(UOp op, Strided out, Strided in, double a, double b, int64_t n, bool dense) {
  HPML_GRID_LOOP(i, n) store<T>(out, i, dense, unary_value<T>(op, load<T>(in, i, dense), a, b));
}

template <typename T>
__global__ void logical_not_kernel(Strided out, Strided in, int64_t n, bool dense) {
  HPML_GRID_LOOP(i, n) store<bool>(out, i, dense, load<T>(in, i, dense) == T(0));
}

// out, x, y: out's shape [n] (x and y broadcast by stride 0).
template <typename T>
__global__ void binary_kernel(BOp op, Strided out, Strided x, Strided y, double alpha, double a, double b, int64_t n,
                              bool dense) {
  HPML_GRID_LOOP(i, n) {
    store<T>(out, i, dense, binary_value<T>(op, load<T>(x, i, dense), load<T>(y, i, dense), alpha, a, b));
  }
}

template <typename T>
__global__ void compare_kernel(BOp op, Strided out, Strided x, Strided y, int64_t n, bool dense) {
  HPML_GRID_LOOP(i, n) store<bool>(out, i, dense, compare_value<T>(op, load<T>(x, i, dense), load<T>(y, i, dense)));
}

template <typename T>
__global__ void where_kernel(Strided out, Strided cond, Strided x, Strided y, int64_t n, bool dense) {
  HPML_GRID_LOOP(i, n) {
    store<T>(out, i, dense, load<bool>(cond, i, dense) ? load<T>(x, i, dense) : load<T>(y, i, dense));
  }
}

}  // namespace

cudaError_t launch_unary(UOp op, const Strided& out, const Strided& in, Elem type, double a, double b, int64_t n,
                         cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (type == Elem::b8 && op != UOp::logical_not) return cudaErrorInvalidValue;  // the op layer refuses these
  const bool dense = is_dense(out) && is_dense(in);
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    if (op == UOp::logical_not) {
      logical_not_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(out, in, n, dense);
    } else if constexpr (!std::is_same_v<T, bool>) {
      unary_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(op, out, in, a, b, n, dense);
    }
  });
  return cudaGetLastError();
}

cudaError_t launch_binary(BOp op, const Strided& out, const Strided& x, const Strided& y, Elem type, double alpha,
                          double a, double b, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const bool dense = is_dense(out) && is_dense(x) && is_dense(y);
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    if (is_compare(op)) {
      compare_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(op, out, x, y, n, dense);
    } else {
      binary_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(op, out, x, y, alpha, a, b, n, dense);
    }
  });
  return cudaGetLastError();
}

cudaError_t launch_where(const Strided& out, const Strided& cond, const Strided& x, const Strided& y, Elem type,
                         int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const bool dense = is_dense(out) && is_dense(cond) && is_dense(x) && is_dense(y);
  with_type_or_half(type, [&](auto zero) {
    using T = decltype(zero);
    where_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(out, cond, x, y, n, dense);
  });
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
