// The CUDA kernel table: every slot of kernels/backend.h, by file: copy, fill and the copies
// between the host and the GPU (here); pointwise ops, arange, tri and the random fills
// (pointwise_slots.cpp); reductions and softmax (reduce_slots.cpp); indexing (index_slots.cpp);
// matmul through cuBLAS (blas_slots.cpp); the fused optimizer step and loss (train_slots.cpp);
// pooling, batch norm and attention (nn_slots.cpp); convolution (conv_slots.cpp). The table
// starts from the stub's refusals (refusing_table), so a slot added to Backend later refuses by
// name on CUDA until it has a kernel.
//
// Status: compiled, not yet run on a GPU.
#include "hpml/core/device_runtime.h"
#include "hpml/core/tensor_impl.h"
#include "kernels/cuda/slots.h"

namespace hpml::kernels {

namespace {

using namespace cuda_slots;  // NOLINT: the slot functions and helpers of kernels/cuda/slots.h

constexpr char kDevice[] = "cuda";

void fill(const TensorView& out, const Scalar& value) {
  if (out.numel() == 0) return;
  const int dev = device_of(out.data, "fill");
  hpml::cuda::DeviceGuard guard(dev);
  // Integers take the scalar's integer value; bool is (value != 0) as on the cpu, for a float
  // scalar too (0.5 is true).
  const int64_t as_int = out.dtype == DType::b8 ? (value.to<bool>() ? 1 : 0) : value.to_int();
  hpml::cuda::check(cuda::launch_fill(strided(out, "fill"), elem(out.dtype), value.to_double(), as_int,
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
// devices: the source's device is synchronized first and the copy is blocking (no peer events yet).
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
  // Across two GPUs the source's later work is not ordered after the copy (nor is its block kept
  // for it), so that copy is blocking whatever non_blocking says.
  const bool same_gpu = kind == cudaMemcpyDeviceToDevice && src.device() == dst.device();
  const bool may_return = non_blocking && (same_gpu || pinned);
  if (!may_return) hpml::cuda::check(cudaStreamSynchronize(stream), "copy", dev);
  else if (pinned) hpml::cuda::detail::record_pinned_use(host.impl()->storage()->data(), stream, dev);
}

// The stub's refusals, with the slots that have CUDA kernels replaced.
constexpr Backend make_cuda_backend() {
  Backend b = refusing_table<kDevice>();
  b.copy = copy;
  b.copy_between = copy_between;
  b.fill = fill;
  b.unary = unary;
  b.binary = binary;
  b.where = where;
  b.arange = arange;
  b.tri = tri;
  b.uniform = uniform;
  b.normal = normal;
  b.randint = randint;
  b.reduce = reduce;
  b.var = var;
  b.arg_reduce = arg_reduce;
  b.softmax = softmax;
  b.softmax_backward = softmax_backward;
  b.index_select = index_select;
  b.gather = gather;
  b.scatter = scatter;
  b.index_add = index_add;
  b.masked_select = masked_select;
  b.gemm = gemm;
  b.bmm = bmm;
  b.optim_step = optim_step;
  b.nll_loss = nll_loss;
  b.conv2d = conv2d;
  b.conv2d_backward_input = conv2d_backward_input;
  b.conv2d_backward_weight = conv2d_backward_weight;
  b.max_pool2d = max_pool2d;
  b.max_pool2d_backward = max_pool2d_backward;
  b.avg_pool2d = avg_pool2d;
  b.avg_pool2d_backward = avg_pool2d_backward;
  b.adaptive_avg_pool2d = adaptive_avg_pool2d;
  b.adaptive_avg_pool2d_backward = adaptive_avg_pool2d_backward;
  b.batch_norm_stats = batch_norm_stats;
  b.batch_norm_backward_stats = batch_norm_backward_stats;
  b.channel_affine = channel_affine;
  b.channel_affine2 = channel_affine2;
  b.attention = attention;
  b.attention_backward = attention_backward;
  return b;
}
constexpr Backend kCuda = make_cuda_backend();

}  // namespace

const Backend& cuda_backend() { return kCuda; }

}  // namespace hpml::kernels
