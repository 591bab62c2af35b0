// Turning a CUDA runtime error into an hpml::Error that names the op, the CUDA error and the
// device, and the CUDA runtime's entry in core's device table. CUDA builds only (src/*/cuda/).
#pragma once

#include <cuda_runtime_api.h>

#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"

namespace hpml::cuda {

// Raises "<op> on cuda:<device> failed: <cudaErrorName>: <its description>" unless e is cudaSuccess
// (device -1: not known). Clears the runtime's last error first, so the next call starts clean.
inline void check(cudaError_t e, const char* op, int device) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();
  if (device < 0) HPML_FAIL(op, " failed: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
  HPML_FAIL(op, " on cuda:", device, " failed: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
}

// The answer of a query (cudaStreamQuery, cudaEventQuery): false while the work is not done
// (cudaErrorNotReady, which is no error and is cleared), true when it is; any other error raises.
inline bool ready(cudaError_t e, const char* op, int device) {
  if (e == cudaErrorNotReady) {
    (void)cudaGetLastError();
    return false;
  }
  check(e, op, device);
  return true;
}

namespace detail {
const DeviceRuntime* device_runtime();  // src/core/cuda/runtime.cpp
// A copy queued on `stream` (of GPU `device`) reads or writes the pinned block that starts at
// p: the block is not handed out again before that copy is done (Note [Pinned blocks in flight]).
void record_pinned_use(const void* p, cudaStream_t stream, int device);

// While the profiler records: CUDA events around one kernel launch on the current stream of GPU
// `device`, from its
// construction to its destruction, which become a kernel event charged to the op that launched
// it once the host has synchronized with the GPU (Note [Kernel events on CUDA] in
// src/core/cuda/kernel_events.cpp). Costs one relaxed load when nothing records.
class KernelTimer {
 public:
  KernelTimer(const char* op, int device);
  ~KernelTimer();
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;

 private:
  const char* op_;
  int device_;
  cudaStream_t stream_ = nullptr;
  uint64_t stream_id_ = 0;
  cudaEvent_t start_ = nullptr;
};
// The private pool id of the graph that `stream` (a cudaStream_t) is capturing, 0 when none
// (src/core/cuda/graph.cpp): the caching allocator allocates from it during the capture.
uintptr_t capture_pool(const void* stream);
// Whether any stream of this process is capturing a graph now (cudaMalloc / cudaFree: runtime.cpp).
bool any_capture();
// A destroyed graph's pool back to the device (StreamCachingAllocator::release_pool), and a pool
// id a capture takes again (reuse_pool): the caching allocator of `device` (runtime.cpp).
void release_graph_pool(int device, uintptr_t pool);
void reuse_graph_pool(int device, uintptr_t pool);
// Turns the timed launches whose kernels have finished into kernel events (after a synchronize:
// all of them). Called by cuda::synchronize, Stream::synchronize and Event::synchronize.
void flush_kernel_events();
}

}  // namespace hpml::cuda
