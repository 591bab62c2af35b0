// The CUDA kernel table. It starts as the stub (every slot refuses: "<slot> is not implemented on
// cuda") and replaces the slots that have CUDA kernels: copy, fill (elementwise.cu) and the copies
// between the host and the GPU (cudaMemcpyAsync). The rest of the op table's kernels come next
// (issue 18); an op whose slot still refuses says so by name.
//
// Status: compiled, not yet run on a GPU.
#include <cuda_runtime_api.h>

#include "core/cuda/check.h"
#include "hpml/core/cuda.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/tensor_impl.h"
#include "kernels/backend.h"
#include "kernels/cuda/launch.h"

namespace hpml::kernels {

namespace {

constexpr char kDevice[] = "cuda";

// The GPU that `p` is memory of (every kernel runs on the device of its tensors).
int device_of(const void* p, const char* op) {
  cudaPointerAttributes a{};
  hpml::cuda::check(cudaPointerGetAttributes(&a, p), op, -1);
  HPML_CHECK(a.type == cudaMemoryTypeDevice, op, ": a CUDA kernel was given memory at ", p,
             " that is not on a GPU\nhint: a cpu tensor reached the CUDA backend; move tensors with .to(...)");
  return a.device;
}

cuda::Strided strided(const TensorView& v, const char* op) {
  HPML_CHECK(v.dim() <= cuda::kMaxDims, op, ": the CUDA kernels take at most ", cuda::kMaxDims, " dimensions, got ",
             v.dim());
  cuda::Strided s;
  s.data = v.data;
  s.ndim = static_cast<int>(v.dim());
  for (int d = 0; d < s.ndim; ++d) {
    s.sizes[d] = v.sizes[static_cast<size_t>(d)];
    s.strides[d] = v.strides[static_cast<size_t>(d)];
  }
  return s;
}

cuda::Elem elem(DType t) { return static_cast<cuda::Elem>(static_cast<int>(t)); }

// The stream kernels on GPU `dev` are queued on: this thread's current one.
cudaStream_t stream_of(int dev) { return static_cast<cudaStream_t>(hpml::cuda::current_stream(dev).native()); }

void fill(const TensorView& out, const Scalar& value) {
  if (out.numel() == 0) return;
  const int dev = device_of(out.data, "fill");
  hpml::cuda::DeviceGuard guard(dev);
  hpml::cuda::check(cuda::launch_fill(strided(out, "fill"), elem(out.dtype), value.to_double(), value.to_int(),
                                      out.numel(), stream_of(dev)),
                    "fill", dev);
}

void copy(const TensorView& dst, const TensorView& src) {
  if (dst.numel() == 0) return;
  const int dev = device_of(dst.data, "copy");
  hpml::cuda::DeviceGuard guard(dev);
  hpml::cuda::check(cuda::launch_copy(strided(dst, "copy"), elem(dst.dtype), strided(src, "copy"), elem(src.dtype),
                                      dst.numel(), stream_of(dev)),
                    "copy", dev);
}

// Note [Copies to and from the GPU]
// All on the device's current stream, so they are ordered with its kernels. cpu -> GPU from
// pageable memory: cudaMemcpyAsync stages the host bytes before it returns, so the host may reuse
// its tensor at once; from pinned memory with non_blocking the DMA reads them when the stream
// gets there (the host must not write them before a synchronize). GPU -> cpu: a blocking copy
// waits for the stream; non_blocking into pinned memory returns at once. GPU -> GPU on two
// devices: the source's device is synchronized first (no peer events yet).
void copy_between(const Tensor& dst, const Tensor& src, bool non_blocking) {
  const size_t n = static_cast<size_t>(src.numel()) * src.element_size();
  if (n == 0) return;
  const bool to_host = dst.device().is_cpu(), from_host = src.device().is_cpu();
  const int dev = to_host ? src.device().index() : dst.device().index();
  const cudaMemcpyKind kind = from_host ? cudaMemcpyHostToDevice : to_host ? cudaMemcpyDeviceToHost
                                                                           : cudaMemcpyDeviceToDevice;
  const Tensor& host = from_host ? src : dst;
  const bool pinned = (from_host || to_host) && is_pinned_memory(host.impl()->storage()->data());
  if (!from_host && !to_host && src.device() != dst.device()) hpml::cuda::synchronize(src.device().index());
  hpml::cuda::DeviceGuard guard(dev);
  const cudaStream_t stream = stream_of(dev);
  hpml::cuda::check(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), n, kind, stream), "copy", dev);
  const bool may_return = non_blocking && (kind == cudaMemcpyDeviceToDevice || pinned);
  if (!may_return) hpml::cuda::check(cudaStreamSynchronize(stream), "copy", dev);
}

// The stub's refusals, with the slots that have CUDA kernels replaced.
constexpr Backend make_cuda_backend() {
  Backend b = refusing_table<kDevice>();
  b.copy = copy;
  b.copy_between = copy_between;
  b.fill = fill;
  return b;
}
constexpr Backend kCuda = make_cuda_backend();

}  // namespace

const Backend& cuda_backend() { return kCuda; }

}  // namespace hpml::kernels
