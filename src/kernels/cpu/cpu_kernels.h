// The CPU kernels that fill the backend table (kernels/backend.h documents each slot).
#pragma once

#include "kernels/backend.h"

namespace hpml::kernels::cpu {

void copy(const TensorView& dst, const TensorView& src);
void fill(const TensorView& dst, const Scalar& value);
void unary(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p);
void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p);
void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b);
void reduce(ReduceOp op, const TensorView& out, const TensorView& in, int nreduce);
void var(const TensorView& out, const TensorView* mean_out, const TensorView& in, int nreduce, double correction);
void arg_reduce(bool is_max, const TensorView* values, const TensorView& indices, const TensorView& in);
void softmax(const TensorView& out, const TensorView& in, int64_t dim, bool log);
void softmax_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& y, int64_t dim, bool log);
void gemm(DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
          const void* b, int64_t ldb, double beta, void* c, int64_t ldc);
void bmm(const TensorView& out, const TensorView& a, const TensorView& b, double alpha, double beta);
void attention(const TensorView& out, const TensorView& lse, const TensorView& q, const TensorView& k,
               const TensorView& v, double scale, bool causal);
void attention_backward(const TensorView& dq, const TensorView& dk, const TensorView& dv, const TensorView& dout,
                        const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& lse, double scale, bool causal);
void index_select(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index);
void gather(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index);
void scatter(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, bool add);
void index_add(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, double alpha);
void masked_select(const TensorView& out, const TensorView& in, const TensorView& mask);
void tri(const TensorView& out, const TensorView& in, int64_t diagonal, bool lower);
void arange(const TensorView& out, double start, double step);
void uniform(const TensorView& out, Generator& gen, double lo, double hi);
void normal(const TensorView& out, Generator& gen, double mean, double std);
void randint(const TensorView& out, Generator& gen, int64_t lo, int64_t hi);
void conv2d(const TensorView& out, const TensorView& in, const TensorView& weight, const TensorView* bias, const Window2d& w);
void conv2d_backward_input(const TensorView& grad_in, const TensorView& grad_out, const TensorView& weight, const Window2d& w);
void conv2d_backward_weight(const TensorView& grad_weight, const TensorView* grad_bias, const TensorView& grad_out,
                            const TensorView& in, const Window2d& w);
void max_pool2d(const TensorView& out, const TensorView& indices, const TensorView& in, const Window2d& w);
void max_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& indices, const Window2d& w);
void avg_pool2d(const TensorView& out, const TensorView& in, const Window2d& w, bool count_include_pad, int64_t divisor_override);
void avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const Window2d& w, bool count_include_pad,
                         int64_t divisor_override);
void adaptive_avg_pool2d(const TensorView& out, const TensorView& in);
void batch_norm_stats(const TensorView& mean, const TensorView& var, const TensorView& x);
void batch_norm_backward_stats(const TensorView& sum_dy, const TensorView& sum_dy_xmu, const TensorView& dy,
                               const TensorView& x, const TensorView& mean);
void channel_affine(const TensorView& out, const TensorView& x, const TensorView& scale, const TensorView& shift);
void channel_affine2(const TensorView& out, const TensorView& u, const TensorView& x, const TensorView& a,
                     const TensorView& b, const TensorView& c);
void optim_step(OptimKind kind, const OptimParams& p, const TensorView& param, const TensorView& grad, const TensorView* s0,
                const TensorView* s1, const TensorView* s2);
void check_range(const TensorView& range, int64_t size, const char* op, int64_t dim);
void nll_loss(const TensorView* loss, const TensorView& sums, const TensorView* safe_target, const TensorView* neg_w,
              const TensorView& bad, const TensorView& x, const TensorView& target, const TensorView* weight,
              int64_t ignore_index);
void adaptive_avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out);

}  // namespace hpml::kernels::cpu
