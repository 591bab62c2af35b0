// The fused negative log-likelihood of rows on CUDA (kernels/backend.h's nll_loss): one thread
// per row, the two sums in a block reduction and then one double atomicAdd per block. A target
// outside [0, C) (and not ignore_index) is not raised here: `bad` gets {1, t} for the first such
// row, as on the cpu (an atomic max finds the row, a one-thread kernel its target), and the op
// reads it back once. The sums' order differs from the cpu's (a
// tree, not a line), so they agree to rounding, not to the bit.
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// x [M, C] strided (rs, cs); target [M]; weight [C] or null; loss, safe_target, neg_w [M] or null.
template <typename T>
__global__ void nll_kernel(T* loss, double* sums, int64_t* safe_target, T* neg_w, int64_t* bad, const T* x, int64_t rs,
                           int64_t cs, const int64_t* target, const T* weight, int64_t M, int64_t C,
                           int64_t ignore_index) {
  __shared__ double scratch[kThreads / 32];
  double sum = 0, total = 0;
  HPML_GRID_LOOP(i, M) {
    const int64_t c = target[i];
    const bool ignored = c == ignore_index;
    if (!ignored && (c < 0 || c >= C)) {  // bad[1] = M - (the first bad row) for now: see bad_target_kernel
      atomicExch(reinterpret_cast<unsigned long long*>(bad), 1ull);
      atomicMax(reinterpret_cast<unsigned long long*>(bad + 1), static_cast<unsigned long long>(M - i));
      if (safe_target) safe_target[i] = 0;  // counted as ignored: the backward's index stays in range
      if (neg_w) neg_w[i] = T(0);
      if (loss) loss[i] = T(0);
      continue;
    }
    const T w = ignored ? T(0) : weight ? weight[c] : T(1);
    const T li = ignored ? T(0) : -x[i * rs + c * cs] * w;
    if (safe_target) safe_target[i] = ignored ? 0 : c;
    if (neg_w) neg_w[i] = -w;
    if (loss) loss[i] = li;
    total += static_cast<double>(w);
    sum += static_cast<double>(li);
  }
  sum = block_reduce(sum, Add{}, scratch);
  total = block_reduce(total, Add{}, scratch);
  if (threadIdx.x == 0) {
    atomicAdd(&sums[0], sum);
    atomicAdd(&sums[1], total);
  }
}

// The first bad row's target, as the cpu reports it: bad[1] held M - that row.
__global__ void bad_target_kernel(int64_t* bad, const int64_t* target, int64_t M) {
  if (bad[0] == 1) bad[1] = target[M - bad[1]];
}

}  // namespace

cudaError_t launch_nll_loss(void* loss, double* sums, int64_t* safe_target, void* neg_w, int64_t* bad, const void* x,
                            int64_t rs, int64_t cs, const int64_t* target, const void* weight, Elem type, int64_t M,
                            int64_t C, int64_t ignore_index, cudaStream_t stream) {
  cudaError_t e = cudaMemsetAsync(sums, 0, 2 * sizeof(double), stream);
  if (e != cudaSuccess || M == 0) return e;
  if (type == Elem::f32) {
    nll_kernel<float><<<blocks_for(M), kThreads, 0, stream>>>(
        static_cast<float*>(loss), sums, safe_target, static_cast<float*>(neg_w), bad, static_cast<const float*>(x), rs,
        cs, target, static_cast<const float*>(weight), M, C, ignore_index);
  } else if (type == Elem::f64) {
    nll_kernel<double><<<blocks_for(M), kThreads, 0, stream>>>(
        static_cast<double*>(loss), sums, safe_target, static_cast<double*>(neg_w), bad, static_cast<const double*>(x),
        rs, cs, target, static_cast<const double*>(weight), M, C, ignore_index);
  } else {
    return cudaErrorInvalidValue;
  }
  bad_target_kernel<<<1, 1, 0, stream>>>(bad, target, M);
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
