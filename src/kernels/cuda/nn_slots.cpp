// The CUDA table's pooling slots (pool.cu; the Window2d geometry handed to the kernels as their
// plain Window), batch norm's (batch_norm.cu, and var's kernel for the statistics) and fused
// attention (attention.cu).
// Status: compiled, not yet run on a GPU.
#include "hpml/core/device_runtime.h"
#include "kernels/cuda/slots.h"

namespace hpml::kernels::cuda_slots {

namespace {
cuda::Window window(const Window2d& w) {
  return {w.N, w.C, w.H, w.W, w.OC, w.OH, w.OW, w.KH, w.KW, w.SH, w.SW, w.PH, w.PW, w.DH, w.DW, w.groups};
}
// x [N, C, S...] -> N, C, S.
struct NCS {
  int64_t N, C, S;
};
NCS ncs(const TensorView& x) {
  NCS d{x.sizes[0], x.dim() > 1 ? x.sizes[1] : 1, 1};
  for (int64_t i = 2; i < x.dim(); ++i) d.S *= x.sizes[static_cast<size_t>(i)];
  return d;
}
}  // namespace

// mean and biased variance per channel: var's kernel over x seen as [C, N, S] (C kept).
void batch_norm_stats(const TensorView& mean, const TensorView& var, const TensorView& x) {
  const NCS d = ncs(x);
  if (d.C == 0) return;
  Launch l("batch_norm_stats", mean, {&var, &x});
  cuda::Strided v;
  v.data = x.data;
  v.ndim = 3;
  v.sizes[0] = d.C, v.sizes[1] = d.N, v.sizes[2] = d.S;
  v.strides[0] = d.S, v.strides[1] = d.C * d.S, v.strides[2] = 1;
  const cuda::Strided m = strided(mean, "batch_norm_stats");
  hpml::cuda::check(cuda::launch_var(strided(var, "batch_norm_stats"), &m, v, elem(x.dtype), 2, d.C, d.N * d.S, 0.0,
                                     stream_of(l.dev)),
                    "batch_norm_stats", l.dev);
}

void batch_norm_backward_stats(const TensorView& sum_dy, const TensorView& sum_dy_xmu, const TensorView& dy,
                               const TensorView& x, const TensorView& mean) {
  const NCS d = ncs(x);
  if (d.C == 0) return;
  Launch l("batch_norm_backward_stats", sum_dy, {&sum_dy_xmu, &dy, &x, &mean});
  hpml::cuda::check(cuda::launch_bn_backward_stats(sum_dy.data, sum_dy_xmu.data, dy.data, x.data, mean.data,
                                                   elem(x.dtype), d.N, d.C, d.S, stream_of(l.dev)),
                    "batch_norm_backward_stats", l.dev);
}

void channel_affine(const TensorView& out, const TensorView& x, const TensorView& scale, const TensorView& shift) {
  const NCS d = ncs(x);
  if (out.numel() == 0) return;
  Launch l("channel_affine", out, {&x, &scale, &shift});
  hpml::cuda::check(cuda::launch_channel_affine(out.data, nullptr, x.data, scale.data, shift.data, nullptr,
                                                elem(x.dtype), d.N, d.C, d.S, stream_of(l.dev)),
                    "channel_affine", l.dev);
}

void channel_affine2(const TensorView& out, const TensorView& u, const TensorView& x, const TensorView& a,
                     const TensorView& b, const TensorView& c) {
  const NCS d = ncs(x);
  if (out.numel() == 0) return;
  Launch l("channel_affine2", out, {&u, &x, &a, &b, &c});
  hpml::cuda::check(cuda::launch_channel_affine(out.data, u.data, x.data, a.data, b.data, c.data, elem(x.dtype), d.N,
                                                d.C, d.S, stream_of(l.dev)),
                    "channel_affine2", l.dev);
}

void attention(const TensorView& out, const TensorView& lse, const TensorView& q, const TensorView& k,
               const TensorView& v, double scale, bool causal) {
  if (out.numel() == 0 || lse.numel() == 0) return;
  Launch l("attention", out, {&lse, &q, &k, &v});
  HPML_CHECK(k.sizes[2] <= cuda::attention_max_keys(), "attention on cuda: ", k.sizes[2],
             " keys per row, more than the ", cuda::attention_max_keys(), " this kernel holds in shared memory");
  hpml::cuda::check(cuda::launch_attention(strided(out, "attention"), lse.data, strided(q, "attention"),
                                           strided(k, "attention"), strided(v, "attention"), elem(q.dtype), scale,
                                           causal, stream_of(l.dev)),
                    "attention", l.dev);
}

void attention_backward(const TensorView& dq, const TensorView& dk, const TensorView& dv, const TensorView& dout,
                        const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& lse, double scale, bool causal) {
  if (dq.numel() == 0 && dk.numel() == 0 && dv.numel() == 0) return;
  Launch l("attention_backward", dq.numel() ? dq : dk.numel() ? dk : dv, {&dk, &dv, &dout, &q, &k, &v, &out, &lse});
  HPML_CHECK(k.sizes[2] <= cuda::attention_max_keys(), "attention_backward on cuda: ", k.sizes[2],
             " keys per row, more than the ", cuda::attention_max_keys(), " this kernel holds in shared memory");
  const char* op = "attention_backward";
  hpml::cuda::check(cuda::launch_attention_backward(strided(dq, op), strided(dk, op), strided(dv, op),
                                                    strided(dout, op), strided(q, op), strided(k, op), strided(v, op),
                                                    strided(out, op), lse.data, elem(q.dtype), scale, causal,
                                                    stream_of(l.dev)),
                    op, l.dev);
}

void max_pool2d(const TensorView& out, const TensorView& indices, const TensorView& in, const Window2d& w) {
  if (out.numel() == 0) return;
  Launch l("max_pool2d", out, {&indices, &in});
  const bool compact = indices.dtype == DType::u8;
  HPML_CHECK(!compact || is_2x2_pool(w), "max_pool2d: u8 indices need 2x2 windows");
  hpml::cuda::check(cuda::launch_max_pool2d(out.data, indices.data, compact, in.data, elem(in.dtype), window(w),
                                            stream_of(l.dev)),
                    "max_pool2d", l.dev);
}

void max_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& indices,
                         const Window2d& w) {
  if (grad_in.numel() == 0) return;
  Launch l("max_pool2d_backward", grad_in, {&grad_out, &indices});
  const bool compact = indices.dtype == DType::u8;
  HPML_CHECK(!compact || is_2x2_pool(w), "max_pool2d_backward: u8 indices need 2x2 windows");
  hpml::cuda::check(cuda::launch_max_pool2d_backward(grad_in.data, grad_out.data, indices.data, compact,
                                                     elem(grad_out.dtype), window(w), stream_of(l.dev)),
                    "max_pool2d_backward", l.dev);
}

void avg_pool2d(const TensorView& out, const TensorView& in, const Window2d& w, bool include_pad, int64_t div) {
  if (out.numel() == 0) return;
  Launch l("avg_pool2d", out, {&in});
  hpml::cuda::check(cuda::launch_avg_pool2d(out.data, in.data, elem(in.dtype), window(w), include_pad, div,
                                            stream_of(l.dev)),
                    "avg_pool2d", l.dev);
}

void avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const Window2d& w, bool include_pad,
                         int64_t div) {
  if (grad_in.numel() == 0) return;
  Launch l("avg_pool2d_backward", grad_in, {&grad_out});
  hpml::cuda::check(cuda::launch_avg_pool2d_backward(grad_in.data, grad_out.data, elem(grad_out.dtype), window(w),
                                                     include_pad, div, stream_of(l.dev)),
                    "avg_pool2d_backward", l.dev);
}

void adaptive_avg_pool2d(const TensorView& out, const TensorView& in) {
  if (out.numel() == 0) return;
  Launch l("adaptive_avg_pool2d", out, {&in});
  hpml::cuda::check(cuda::launch_adaptive_avg_pool2d(out.data, in.data, elem(in.dtype), in.sizes[0] * in.sizes[1],
                                                     in.sizes[2], in.sizes[3], out.sizes[2], out.sizes[3], false,
                                                     stream_of(l.dev)),
                    "adaptive_avg_pool2d", l.dev);
}

void adaptive_avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out) {
  if (grad_in.numel() == 0) return;
  Launch l("adaptive_avg_pool2d_backward", grad_in, {&grad_out});
  hpml::cuda::check(cuda::launch_adaptive_avg_pool2d(grad_in.data, grad_out.data, elem(grad_out.dtype),
                                                     grad_in.sizes[0] * grad_in.sizes[1], grad_in.sizes[2],
                                                     grad_in.sizes[3], grad_out.sizes[2], grad_out.sizes[3], true,
                                                     stream_of(l.dev)),
                    "adaptive_avg_pool2d_backward", l.dev);
}

}  // namespace hpml::kernels::cuda_slots
