// The fused optimizer step on CUDA: one thread per element reads param, grad and the state once
// and writes param and state once (optim_ops.h, the cpu's formulas).
// Status: compiled, not yet run on a GPU; the element math is tested on the host.
#include "kernels/cuda/grid.cuh"
#include "kernels/cuda/optim_ops.h"

namespace hpml::kernels::cuda {

namespace {

template <typename T>
__global__ void optim_kernel(Optim kind, OptimArgs o, T* p, const T* g, T* s0, T* s1, T* s2, int64_t n) {
  HPML_GRID_LOOP(i, n) optim_element<T>(kind, o, p, g, s0, s1, s2, i);
}

}  // namespace

cudaError_t launch_optim_step(Optim kind, const OptimArgs& o, Elem type, void* param, const void* grad, void* s0,
                              void* s1, void* s2, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (type == Elem::f32) {
    optim_kernel<float><<<blocks_for(n), kThreads, 0, stream>>>(kind, o, static_cast<float*>(param),
                                                                 static_cast<const float*>(grad), static_cast<float*>(s0),
                                                                 static_cast<float*>(s1), static_cast<float*>(s2), n);
  } else if (type == Elem::f64) {
    optim_kernel<double><<<blocks_for(n), kThreads, 0, stream>>>(
        kind, o, static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(s0),
        static_cast<double*>(s1), static_cast<double*>(s2), n);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
