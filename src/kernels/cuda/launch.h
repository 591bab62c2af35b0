// The seam between the CUDA kernel table (cuda_backend.cpp, C++) and the kernels (*.cu, nvcc):
// plain structs and launch functions, so that nvcc never parses hpml's headers. CUDA builds only.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/element_ops.h"  // Strided, UOp, BOp
#include "kernels/cuda/optim_ops.h"    // Optim, OptimArgs
#include "kernels/cuda/pool_ops.h"     // Window

namespace hpml::kernels::cuda {

// Element types by the codes of hpml::DType: f32, f64, i64, i32, u8, b8 (bool), bf16, f16. The
// 2-byte floats reach only the kernels that move values: fill, copy, arange, tri, where, gather,
// index_select and masked_select (Note [Half-precision dtypes] in core/half.h).
enum class Elem : int { f32, f64, i64, i32, u8, b8, bf16, f16 };

// Each queues its kernel on `stream` and returns the launch's error (cudaSuccess or why not).
// out[i] = value, for n elements. value_f is used for floating types, value_i for the others.
cudaError_t launch_fill(const Strided& out, Elem type, double value_f, int64_t value_i, int64_t n, cudaStream_t stream);
// dst[i] = static_cast<dst type>(src[i]) (bool: x != 0), for n elements of equal shapes.
cudaError_t launch_copy(const Strided& dst, Elem dst_type, const Strided& src, Elem src_type, int64_t n,
                        cudaStream_t stream);

// out[i * stride] = start + i * step (a 1-d view), computed in double as the cpu's.
cudaError_t launch_arange(const Strided& out, Elem type, double start, double step, int64_t n, cudaStream_t stream);
// tril (lower) / triu of contiguous [batch, rows, cols] views, n = batch * rows * cols.
cudaError_t launch_tri(const Strided& out, const Strided& in, Elem type, int64_t rows, int64_t cols, int64_t diagonal,
                       bool lower, int64_t n, cudaStream_t stream);

// The counters of a random fill: base, base + 1, ... of the Philox stream keyed by seed; inside a
// graph capture, `replay` (device memory {seed, first counter}, set before each replay: Note
// [Random numbers in a graph]) gives the seed and is added to base.
struct PhiloxDraw {
  uint64_t seed = 0;
  uint64_t base = 0;
  const uint64_t* replay = nullptr;
};

// Random fills of a contiguous out (random.cu) from the counters of `draw`, value for value the
// cpu's (kernels/random_values.h). uniform and normal: f32/f64; randint: every type.
cudaError_t launch_uniform(const Strided& out, Elem type, PhiloxDraw draw, double lo, double hi, int64_t n,
                           cudaStream_t stream);
cudaError_t launch_normal(const Strided& out, Elem type, PhiloxDraw draw, double mean, double std, int64_t n,
                          cudaStream_t stream);
cudaError_t launch_randint(const Strided& out, Elem type, PhiloxDraw draw, int64_t lo, int64_t hi, int64_t n,
                           cudaStream_t stream);

// Reductions (reduce.cu) of in [kept..., reduced (the last nreduce dims)...], K kept and R
// reduced elements: out [K] contiguous of out_type; op: ReduceOp's value (sum, prod, amax, amin).
cudaError_t launch_reduce(int op, const Strided& out, Elem out_type, const Strided& in, Elem in_type, int nreduce,
                          int64_t K, int64_t R, cudaStream_t stream);
// var with `correction` (and the mean when mean_out is given), f32/f64, out and mean_out [K].
cudaError_t launch_var(const Strided& out, const Strided* mean_out, const Strided& in, Elem type, int nreduce,
                       int64_t K, int64_t R, double correction, cudaStream_t stream);
// int64 indices [K] (and values [K]) of the max (is_max) or min over in's last dim (R elements).
cudaError_t launch_arg_reduce(bool is_max, const Strided* values, const Strided& indices, const Strided& in, Elem type,
                              int64_t K, int64_t R, cudaStream_t stream);
// softmax / log_softmax (softmax.cu) of contiguous [outer, D, inner] over D, and the backward.
cudaError_t launch_softmax(const Strided& out, const Strided& in, Elem type, int64_t outer, int64_t D, int64_t inner,
                           bool log, cudaStream_t stream);
cudaError_t launch_softmax_backward(const Strided& grad_in, const Strided& grad_out, const Strided& y, Elem type,
                                    int64_t outer, int64_t D, int64_t inner, bool log, cudaStream_t stream);

// Indexing (index.cu); index values are in bounds (the op checked). index: int64, 1-d with
// element stride ist for index_select and index_add, a view of its own shape for gather/scatter.
cudaError_t launch_index_select(const Strided& out, const Strided& in, int dim, const int64_t* index, int64_t ist,
                                Elem type, int64_t n, cudaStream_t stream);
cudaError_t launch_gather(const Strided& out, const Strided& in, const Strided& index, int dim, Elem type, int64_t n,
                          cudaStream_t stream);
cudaError_t launch_scatter(const Strided& out, const Strided& index, const Strided& src, int dim, bool add, Elem type,
                           int64_t n, cudaStream_t stream);
cudaError_t launch_index_add(const Strided& out, const Strided& src, int dim, const int64_t* index, int64_t ist,
                             double alpha, Elem type, int64_t n, cudaStream_t stream);
// masked_select of n elements: flags and positions are n int64 each of scratch, and the scan's
// own scratch is masked_select_scratch_bytes(n).
size_t masked_select_scratch_bytes(int64_t n);
cudaError_t launch_masked_select(const Strided& out, const Strided& in, const Strided& mask, Elem type, int64_t n,
                                 int64_t* flags, int64_t* positions, void* scratch, size_t scratch_bytes,
                                 cudaStream_t stream);

// out[b] = alpha * a[b] @ b[b] + beta * out[b] for 3-d strided views (matmul.cu): the product
// cuBLAS cannot take (integers, matrices without a unit stride).
cudaError_t launch_bmm_naive(const Strided& out, const Strided& a, const Strided& b, Elem type, double alpha,
                             double beta, cudaStream_t stream);

// One fused optimizer step over n contiguous elements (optim.cu); states null where absent.
cudaError_t launch_optim_step(Optim kind, const OptimArgs& o, Elem type, void* param, const void* grad, void* s0,
                              void* s1, void* s2, int64_t n, cudaStream_t stream);
// kernels::Backend::nll_loss (loss.cu): x [M, C] with strides (rs, cs); sums [2] doubles.
cudaError_t launch_nll_loss(void* loss, double* sums, int64_t* safe_target, void* neg_w, int64_t* bad, const void* x,
                            int64_t rs, int64_t cs, const int64_t* target, const void* weight, Elem type, int64_t M,
                            int64_t C, int64_t ignore_index, cudaStream_t stream);

// Pooling (pool.cu) of contiguous [N, C, H, W] (kernels/backend.h's slots). indices: i64, or
// (compact) u8 positions of 2x2 windows. Adaptive: x -> y over P planes, or backward: go -> gx.
cudaError_t launch_max_pool2d(void* y, void* indices, bool compact, const void* x, Elem type, const Window& w,
                              cudaStream_t stream);
cudaError_t launch_max_pool2d_backward(void* gx, const void* go, const void* indices, bool compact, Elem type,
                                       const Window& w, cudaStream_t stream);
cudaError_t launch_avg_pool2d(void* y, const void* x, Elem type, const Window& w, bool include_pad, int64_t div,
                              cudaStream_t stream);
cudaError_t launch_avg_pool2d_backward(void* gx, const void* go, Elem type, const Window& w, bool include_pad,
                                       int64_t div, cudaStream_t stream);
cudaError_t launch_adaptive_avg_pool2d(void* y, const void* x, Elem type, int64_t P, int64_t H, int64_t W, int64_t OH,
                                       int64_t OW, bool backward, cudaStream_t stream);

// Convolution's pieces (conv.cu): im2col of `images` images [C, H, W] into columns
// [C KH KW, OH OW] each, col2im back (written, not accumulated), and out [N, OC, S] += bias[oc].
cudaError_t launch_im2col(void* cols, const void* x, Elem type, const Window& w, int64_t images, cudaStream_t stream);
cudaError_t launch_col2im(void* gx, const void* cols, Elem type, const Window& w, int64_t images, cudaStream_t stream);
cudaError_t launch_add_bias(void* out, const void* bias, Elem type, int64_t N, int64_t OC, int64_t S,
                            cudaStream_t stream);

// Batch norm (batch_norm.cu) over contiguous [N, C, S]: the backward's per-channel sums, and
// out = x a[c] + b[c] (u null: channel_affine) or u a[c] + (x b[c] + c[c]) (channel_affine2).
cudaError_t launch_bn_backward_stats(void* sum_dy, void* sum_dy_xmu, const void* dy, const void* x, const void* mean,
                                     Elem type, int64_t N, int64_t C, int64_t S, cudaStream_t stream);
cudaError_t launch_channel_affine(void* out, const void* u, const void* x, const void* a, const void* b, const void* c,
                                  Elem type, int64_t N, int64_t C, int64_t S, cudaStream_t stream);

// Fused attention (attention.cu; kernels/backend.h's slots), f32/f64, rows of at most
// attention_max_keys() keys.
int64_t attention_max_keys();
cudaError_t launch_attention(const Strided& out, void* lse, const Strided& q, const Strided& k, const Strided& v,
                             Elem type, double scale, bool causal, cudaStream_t stream);
cudaError_t launch_attention_backward(const Strided& dq, const Strided& dk, const Strided& dv, const Strided& dout,
                                      const Strided& q, const Strided& k, const Strided& v, const Strided& out,
                                      const void* lse, Elem type, double scale, bool causal, cudaStream_t stream);

// out = op(in) (pointwise.cu), out and in of one shape, n elements. `type` is in's; out has it
// too except for logical_not (bool). a, b: UnaryParams.
cudaError_t launch_unary(UOp op, const Strided& out, const Strided& in, Elem type, double a, double b, int64_t n,
                         cudaStream_t stream);
// out = op(x, y), x and y of one type `type` broadcast to out's shape (stride 0), n elements;
// out is bool for the comparisons, else of `type`. alpha, a, b: BinaryParams.
cudaError_t launch_binary(BOp op, const Strided& out, const Strided& x, const Strided& y, Elem type, double alpha,
                          double a, double b, int64_t n, cudaStream_t stream);
// out = cond ? x : y, cond bool, x, y, out of `type`, all broadcast to out's shape.
cudaError_t launch_where(const Strided& out, const Strided& cond, const Strided& x, const Strided& y, Elem type,
                         int64_t n, cudaStream_t stream);

}  // namespace hpml::kernels::cuda
