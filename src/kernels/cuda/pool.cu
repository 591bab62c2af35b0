// CUDA 2-d pooling over contiguous [N, C, H, W]: one thread per output element forward, and per
// input element backward (each gathers its gradient from the windows that hold it, so no atomics)
// except max pooling with i64 indices, whose windows may overlap: a zero fill and an atomic
// scatter. The element math is pool_ops.h, tested on the host against the cpu's.
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/grid.cuh"
#include "kernels/cuda/pool_ops.h"

namespace hpml::kernels::cuda {

namespace {

// y [P, OH, OW]; indices: i64 flat in the plane, or (compact) u8 positions of 2x2 windows.
template <typename T>
__global__ void max_pool_kernel(T* y, int64_t* idx, uint8_t* pos, const T* x, Window w, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t ow = e % w.OW, oh = e / w.OW % w.OH, p = e / (w.OH * w.OW);
    int64_t arg = 0;
    y[e] = max_window(x + p * w.H * w.W, w, oh, ow, &arg);
    if (pos) pos[e] = position_2x2(arg, w.W, oh, ow);
    else idx[e] = arg;
  }
}

template <typename T>
__global__ void max_pool_backward_scatter_kernel(T* gx, const T* go, const int64_t* idx, Window w, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t p = e / (w.OH * w.OW), i = idx[e];
    if (i >= 0) atomicAdd(gx + p * w.H * w.W + i, go[e]);
  }
}

// Compact indices: the 2x2 windows do not overlap; input (ih, iw) belongs to at most one.
template <typename T>
__global__ void max_pool_backward_2x2_kernel(T* gx, const T* go, const uint8_t* pos, Window w, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t iw = e % w.W, ih = e / w.W % w.H, p = e / (w.H * w.W);
    const int64_t oh = ih / 2, ow = iw / 2;
    T g = 0;
    if (oh < w.OH && ow < w.OW) {
      const int64_t o = (p * w.OH + oh) * w.OW + ow;
      if (pos[o] == (((ih & 1) << 1) | (iw & 1))) g = go[o];
    }
    gx[e] = g;
  }
}

template <typename T>
__global__ void avg_pool_kernel(T* y, const T* x, Window w, bool include_pad, int64_t div, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t ow = e % w.OW, oh = e / w.OW % w.OH, p = e / (w.OH * w.OW);
    y[e] = avg_window(x + p * w.H * w.W, w, oh, ow, include_pad, div);
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(T* gx, const T* go, Window w, bool include_pad, int64_t div, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t iw = e % w.W, ih = e / w.W % w.H, p = e / (w.H * w.W);
    gx[e] = avg_window_backward(go + p * w.OH * w.OW, w, ih, iw, include_pad, div);
  }
}

template <typename T>
__global__ void adaptive_kernel(T* y, const T* x, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t ow = e % OW, oh = e / OW % OH, p = e / (OH * OW);
    y[e] = adaptive_window(x + p * H * W, H, W, OH, OW, oh, ow);
  }
}

template <typename T>
__global__ void adaptive_backward_kernel(T* gx, const T* go, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t iw = e % W, ih = e / W % H, p = e / (H * W);
    gx[e] = adaptive_window_backward(go + p * OH * OW, H, W, OH, OW, ih, iw);
  }
}


}  // namespace

cudaError_t launch_max_pool2d(void* y, void* indices, bool compact, const void* x, Elem type, const Window& w,
                              cudaStream_t stream) {
  const int64_t n = w.N * w.C * w.OH * w.OW;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    max_pool_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(y),
                                                                compact ? nullptr : static_cast<int64_t*>(indices),
                                                                compact ? static_cast<uint8_t*>(indices) : nullptr,
                                                                static_cast<const T*>(x), w, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_max_pool2d_backward(void* gx, const void* go, const void* indices, bool compact, Elem type,
                                       const Window& w, cudaStream_t stream) {
  const int64_t n_in = w.N * w.C * w.H * w.W, n_out = w.N * w.C * w.OH * w.OW;
  if (n_in == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    if (compact) {
      max_pool_backward_2x2_kernel<T><<<blocks_for(n_in), kThreads, 0, stream>>>(
          static_cast<T*>(gx), static_cast<const T*>(go), static_cast<const uint8_t*>(indices), w, n_in);
      return;
    }
    if (cudaMemsetAsync(gx, 0, static_cast<size_t>(n_in) * sizeof(T), stream) != cudaSuccess) return;
    if (n_out > 0)
      max_pool_backward_scatter_kernel<T><<<blocks_for(n_out), kThreads, 0, stream>>>(
          static_cast<T*>(gx), static_cast<const T*>(go), static_cast<const int64_t*>(indices), w, n_out);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_avg_pool2d(void* y, const void* x, Elem type, const Window& w, bool include_pad, int64_t div,
                              cudaStream_t stream) {
  const int64_t n = w.N * w.C * w.OH * w.OW;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    avg_pool_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(y), static_cast<const T*>(x), w,
                                                                include_pad, div, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_avg_pool2d_backward(void* gx, const void* go, Elem type, const Window& w, bool include_pad,
                                       int64_t div, cudaStream_t stream) {
  const int64_t n = w.N * w.C * w.H * w.W;
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    avg_pool_backward_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(gx), static_cast<const T*>(go),
                                                                         w, include_pad, div, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launch_adaptive_avg_pool2d(void* y, const void* x, Elem type, int64_t P, int64_t H, int64_t W, int64_t OH,
                                       int64_t OW, bool backward, cudaStream_t stream) {
  const int64_t n = P * (backward ? H * W : OH * OW);
  if (n == 0) return cudaSuccess;
  const bool ok = with_float(type, [&](auto zero) {
    using T = decltype(zero);
    if (backward)
      adaptive_backward_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(y), static_cast<const T*>(x),
                                                                           H, W, OH, OW, n);
    else
      adaptive_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(y), static_cast<const T*>(x), H, W,
                                                                  OH, OW, n);
  });
  return ok ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace hpml::kernels::cuda
