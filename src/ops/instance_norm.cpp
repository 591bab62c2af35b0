// instance_norm: batch_norm over [1, N C, *spatial] with the per-channel tensors repeated N
// times, then the running statistics averaged back over the batch (PyTorch's own composition,
// aten/src/ATen/native/Normalization.cpp), so it shares batch_norm's fused kernels and backward.
#include "hpml/autograd/grad_mode.h"
#include "hpml/core/record.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/normalization.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

Tensor instance_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                     const Tensor& running_var, bool use_input_stats, double momentum, double eps) {
  HPML_RECORD_OP("instance_norm", input, weight, bias, running_mean, running_var);
  ops::check_defined("instance_norm", input);
  ops::check_same_device("instance_norm", {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                           {"running_mean", &running_mean}, {"running_var", &running_var}});
  HPML_CHECK(input.dim() >= 3, "instance_norm: expected an input of shape [N, C, *spatial] (at least 3-d), got shape ",
             input.sizes());
  HPML_CHECK(input.is_floating_point(), "instance_norm: expected a floating input, got ", input.dtype());
  const int64_t N = input.sizes()[0], C = input.sizes()[1];
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var})
    if (t->defined())
      HPML_CHECK(t->dim() == 1 && t->sizes()[0] == C, "instance_norm: weight, bias and running statistics must have ",
                 "shape [", C, "] for input of shape ", input.sizes(), ", got ", t->sizes());
  HPML_CHECK(running_mean.defined() == running_var.defined(), "instance_norm: running_mean and running_var must be ",
             "given together");
  HPML_CHECK(use_input_stats || running_mean.defined(), "instance_norm: running_mean and running_var must be defined ",
             "when use_input_stats is false");
  if (use_input_stats)
    HPML_CHECK(N * C == 0 || input.numel() / (N * C) > 1, "instance_norm: expected more than 1 spatial element ",
               "when using the input's statistics (training), got input of shape ", input.sizes());
  DimVector folded(input.sizes());
  folded[0] = 1, folded[1] = N * C;
  const bool stats = running_mean.defined();
  Tensor rm, rv;
  if (stats) {
    NoGradGuard ng;
    rm = repeat(running_mean, {N}), rv = repeat(running_var, {N});
  }
  Tensor w = weight.defined() ? repeat(weight, {N}) : Tensor(), b = bias.defined() ? repeat(bias, {N}) : Tensor();
  Tensor out = batch_norm(input.reshape(folded), w, b, rm, rv, use_input_stats, momentum, eps);
  if (stats && use_input_stats && N > 0) {  // an empty batch leaves them alone (PyTorch would write NaN)
    NoGradGuard ng;
    Tensor m = running_mean, v = running_var;  // handles on the caller's tensors: updated in place
    m.copy_(mean(rm.view({N, C}), {0}));
    v.copy_(mean(rv.view({N, C}), {0}));
  }
  return out.view(input.sizes());
}

}  // namespace hpml
