// batch_norm (checks, then the fused op of hpml/ops/normalization.h), layer_norm and group_norm
// (composed from ops; gradients come from autograd), instance_norm (F.instance_norm's order).
#include "hpml/autograd/grad_mode.h"
#include "hpml/core/record.h"
#include "hpml/nn/functional.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/checks.h"
#include "hpml/ops/normalization.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"

namespace hpml::nn::functional {

namespace {
// A per-channel tensor [C] viewed to broadcast over x [N, C, *].
Tensor per_channel(const Tensor& t, const Tensor& x) {
  DimVector shape(x.dim(), 1);
  shape[1] = x.sizes()[1];
  return t.view(shape);
}
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  HPML_RECORD_OP("batch_norm", x, running_mean, running_var, weight, bias);
  HPML_CHECK(x.defined() && x.dim() >= 2, "batch_norm: expected an input of shape [N, C, *], got ",
             x.defined() ? x.sizes() : IntArrayRef());
  HPML_CHECK(x.is_floating_point(), "batch_norm: expected a floating input, got ", x.dtype());
  ops::check_same_device("batch_norm", {{"input", &x}, {"running_mean", &running_mean}, {"running_var", &running_var},
                                        {"weight", &weight}, {"bias", &bias}});
  const int64_t C = x.sizes()[1];
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    if (t->defined())
      HPML_CHECK(t->dim() == 1 && t->sizes()[0] == C, "batch_norm: per-channel tensors must have shape [", C, "], got ",
                 t->sizes(), " for input of shape ", x.sizes());
  if (training) {
    const int64_t n = x.numel() / std::max<int64_t>(C, 1);
    HPML_CHECK(n > 1, "batch_norm: expected more than 1 value per channel when training, got input of shape ", x.sizes(),
               "\nhint: use a batch of more than one sample, or eval() mode");
  }
  return hpml::batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps);
}

namespace {
// An affine parameter in f32 for a 2-byte input's f32 normalization (differentiably; undefined stays so).
Tensor widened(const Tensor& t) { return t.defined() && is_reduced_float(t.dtype()) ? t.to(kFloat32) : t; }
}  // namespace

Tensor layer_norm(const Tensor& x, IntArrayRef normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  HPML_RECORD_OP("layer_norm", x, weight, bias);
  HPML_CHECK(x.defined() && x.is_floating_point(), "layer_norm: expected a floating input");
  ops::check_same_device("layer_norm", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  HPML_CHECK(k >= 1 && x.dim() >= k && IntArrayRef(x.sizes().data() + x.dim() - k, static_cast<size_t>(k)) == normalized_shape,
             "layer_norm: normalized_shape ", normalized_shape, " does not match the trailing dims of the input shape ",
             x.sizes());
  for (const Tensor* t : {&weight, &bias})
    if (t->defined())
      HPML_CHECK(t->sizes() == normalized_shape, "layer_norm: weight and bias must have shape ", normalized_shape,
                 ", got ", t->sizes());
  if (is_reduced_float(x.dtype()))  // bf16, f16: normalized in f32 (a 2-byte variance overflows), rounded once
    return layer_norm(x.to(kFloat32), normalized_shape, widened(weight), widened(bias), eps).to(x.dtype());
  DimVector dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  auto [var, mean] = var_mean(x, dims, 0, true);
  Tensor y = (x - mean) * rsqrt(var + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor group_norm(const Tensor& x, int64_t G, const Tensor& weight, const Tensor& bias, double eps) {
  HPML_RECORD_OP("group_norm", x, weight, bias);
  HPML_CHECK(x.defined() && x.dim() >= 2 && x.is_floating_point(), "group_norm: expected a floating input [N, C, *]");
  ops::check_same_device("group_norm", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  const int64_t N = x.sizes()[0], C = x.sizes()[1];
  HPML_CHECK(G > 0 && C % G == 0, "group_norm: num_groups (", G, ") must divide the number of channels (", C, ")");
  for (const Tensor* t : {&weight, &bias})
    if (t->defined())
      HPML_CHECK(t->dim() == 1 && t->sizes()[0] == C, "group_norm: weight and bias must have shape [", C, "], got ",
                 t->sizes());
  // Note [group_norm's one-value error]: PyTorch 1.13 (F.group_norm's _verify_batch_size) refuses
  // an input where N * (C / G) * prod(spatial) == 1: each group then holds a single value (and
  // there is one sample), so the output would be all zeros. It lets N > 1 through; so does hpml.
  int64_t per_group = N * (C / G);
  for (int64_t d = 2; d < x.dim(); ++d) per_group *= x.sizes()[d];
  HPML_CHECK(per_group != 1, "group_norm: expected more than 1 value per group, got input.shape=", x.sizes(),
             " with num_groups=", G, " (N * C/G * spatial = 1)");
  if (is_reduced_float(x.dtype()))  // as layer_norm
    return group_norm(x.to(kFloat32), G, widened(weight), widened(bias), eps).to(x.dtype());
  Tensor xr = x.reshape({N, G, -1});
  auto [var, mean] = var_mean(xr, {2}, 0, true);
  Tensor y = ((xr - mean) * rsqrt(var + eps)).reshape(x.sizes());
  if (weight.defined()) y = y * per_channel(weight, x);
  if (bias.defined()) y = y + per_channel(bias, x);
  return y;
}

Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                     const Tensor& bias, bool use_input_stats, double momentum, double eps) {
  HPML_RECORD_OP("instance_norm", x, running_mean, running_var, weight, bias);
  return hpml::instance_norm(x, weight, bias, running_mean, running_var, use_input_stats, momentum, eps);
}

}  // namespace hpml::nn::functional
