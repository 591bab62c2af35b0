// What the CUDA kernel table's host side shares (cuda_backend.cpp and the *_slots.cpp files):
// the GPU a pointer is on, TensorView -> Strided, the stream of a launch, the Launch guard, and
// the slot functions the table is built from. CUDA builds only; host code.
#pragma once

#include <cuda_runtime_api.h>

#include <initializer_list>
#include <optional>

#include "core/cuda/check.h"
#include "hpml/core/cuda.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "kernels/backend.h"
#include "kernels/cuda/launch.h"

namespace hpml::kernels::cuda_slots {

namespace cuda = hpml::kernels::cuda;

// The GPU that `p` is memory of (every kernel runs on the device of its tensors).
inline int device_of(const void* p, const char* op) {
  cudaPointerAttributes a{};
  hpml::cuda::check(cudaPointerGetAttributes(&a, p), op, -1);
  HPML_CHECK(a.type == cudaMemoryTypeDevice, op, ": a CUDA kernel was given memory at ", p,
             " that is not on a GPU\nhint: a cpu tensor reached the CUDA backend; move tensors with .to(...)");
  return a.device;
}

inline cuda::Strided strided(const TensorView& v, const char* op) {
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

inline cuda::Elem elem(DType t) { return static_cast<cuda::Elem>(static_cast<int>(t)); }

// The stream kernels on GPU `dev` are queued on: this thread's current one.
inline cudaStream_t stream_of(int dev) { return static_cast<cudaStream_t>(hpml::cuda::current_stream(dev).native()); }

// A kernel's launch: on the device of its output, whose memory every operand must be too.
struct Launch {
  int dev;
  hpml::cuda::DeviceGuard guard;
  // The profiler's kernel event, when it records: started at the end of the checks, so that it
  // times the slot's launches, not them (and a refused call leaves none).
  std::optional<hpml::cuda::detail::KernelTimer> timer;
  // takes_2byte: the slot's kernel takes bf16 / f16 (the moving ones, and bmm through cuBLAS);
  // every other one refuses them by name, as the cpu's do (Note [Half-precision dtypes]).
  Launch(const char* op, const TensorView& out, std::initializer_list<const TensorView*> in, bool takes_2byte = false)
      : dev(device_of(out.data, op)), guard(dev) {
    if (!takes_2byte && is_reduced_float(out.dtype)) fail_reduced_float(op, out.dtype);
    for (const TensorView* v : in) {
      if (!takes_2byte && is_reduced_float(v->dtype)) fail_reduced_float(op, v->dtype);
      if (v->numel() == 0 || !v->data) continue;
      const int d = device_of(v->data, op);
      HPML_CHECK(d == dev, op, ": a CUDA kernel was given tensors on cuda:", dev, " and cuda:", d);
    }
    if (record::on()) timer.emplace(op, dev);
  }
};

// Device memory for the duration of one launch, from the device's stream-ordered allocator on
// the current stream, returned at scope end, after the launch is queued (Note [Stream-ordered
// caching allocator]: its next owner on that stream queues behind the launch).
struct DeviceScratch {
  Allocator* alloc;
  size_t bytes;
  void* p;
  DeviceScratch(int dev, size_t n) : alloc(allocator_for(Device(DeviceType::CUDA, dev))), bytes(n), p(alloc->allocate(n)) {}
  ~DeviceScratch() { alloc->deallocate(p, bytes); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
};

// The slots with kernels, by file: pointwise_slots.cpp, reduce_slots.cpp, index_slots.cpp,
// blas_slots.cpp, train_slots.cpp, nn_slots.cpp, conv_slots.cpp.
void gemm(DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
          const void* b, int64_t ldb, double beta, void* c, int64_t ldc);
void bmm(const TensorView& out, const TensorView& a, const TensorView& b, double alpha, double beta);
// C[i] = alpha op(A[i]) op(B[i]) + beta C[i], i < batch, row-major f32/f64 matrices on GPU `dev`
// with leading dims and batch strides in elements (cuBLAS; blas_slots.cpp).
void gemm_strided_batched(int dev, DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                          const void* a, int64_t lda, int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta,
                          void* c, int64_t ldc, int64_t sc, int64_t batch);
void conv2d(const TensorView& out, const TensorView& in, const TensorView& weight, const TensorView* bias,
            const Window2d& w);
void conv2d_backward_input(const TensorView& grad_in, const TensorView& grad_out, const TensorView& weight,
                           const Window2d& w);
void conv2d_backward_weight(const TensorView& grad_weight, const TensorView* grad_bias, const TensorView& grad_out,
                            const TensorView& in, const Window2d& w);
void max_pool2d(const TensorView& out, const TensorView& indices, const TensorView& in, const Window2d& w);
void max_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& indices,
                         const Window2d& w);
void avg_pool2d(const TensorView& out, const TensorView& in, const Window2d& w, bool include_pad, int64_t div);
void avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const Window2d& w, bool include_pad,
                         int64_t div);
void adaptive_avg_pool2d(const TensorView& out, const TensorView& in);
void adaptive_avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out);
void attention(const TensorView& out, const TensorView& lse, const TensorView& q, const TensorView& k,
               const TensorView& v, double scale, bool causal);
void attention_backward(const TensorView& dq, const TensorView& dk, const TensorView& dv, const TensorView& dout,
                        const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& lse, double scale, bool causal);
void batch_norm_stats(const TensorView& mean, const TensorView& var, const TensorView& x);
void batch_norm_backward_stats(const TensorView& sum_dy, const TensorView& sum_dy_xmu, const TensorView& dy,
                               const TensorView& x, const TensorView& mean);
void channel_affine(const TensorView& out, const TensorView& x, const TensorView& scale, const TensorView& shift);
void channel_affine2(const TensorView& out, const TensorView& u, const TensorView& x, const TensorView& a,
                     const TensorView& b, const TensorView& c);
void optim_step(OptimKind kind, const OptimParams& p, const TensorView& param, const TensorView& grad,
                const TensorView* s0, const TensorView* s1, const TensorView* s2);
void nll_loss(const TensorView* loss, const TensorView& sums, const TensorView* safe_target, const TensorView* neg_w,
              const TensorView& bad, const TensorView& x, const TensorView& target, const TensorView* weight,
              int64_t ignore_index);
void unary(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p);
void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p);
void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b);
void arange(const TensorView& out, double start, double step);
void tri(const TensorView& out, const TensorView& in, int64_t diagonal, bool lower);
void uniform(const TensorView& out, Generator& gen, double lo, double hi);
void normal(const TensorView& out, Generator& gen, double mean, double std);
void randint(const TensorView& out, Generator& gen, int64_t lo, int64_t hi);
void reduce(ReduceOp op, const TensorView& out, const TensorView& in, int nreduce);
void var(const TensorView& out, const TensorView* mean_out, const TensorView& in, int nreduce, double correction);
void arg_reduce(bool is_max, const TensorView* values, const TensorView& indices, const TensorView& in);
void index_select(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index);
void gather(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index);
void scatter(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, bool add);
void index_add(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, double alpha);
void masked_select(const TensorView& out, const TensorView& in, const TensorView& mask);
void softmax(const TensorView& out, const TensorView& in, int64_t dim, bool log);
void softmax_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& y, int64_t dim,
                      bool log);

}  // namespace hpml::kernels::cuda_slots
