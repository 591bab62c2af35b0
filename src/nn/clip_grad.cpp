// clip_grad_norm_ and clip_grad_value_, following torch.nn.utils (PyTorch 1.13).
#include "hpml/nn/clip_grad.h"

#include <cmath>
#include <limits>

#include "hpml/autograd/grad_mode.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"

namespace hpml::nn::utils {

Tensor clip_grad_norm_(const TensorList& parameters, double max_norm, double norm_type, bool error_if_nonfinite) {
  NoGradGuard ng;
  HPML_CHECK(!std::isnan(norm_type) && norm_type > 0, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  TensorList grads;
  for (const Tensor& p : parameters)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return scalar_tensor(0.0, kFloat32);
  const bool inf = std::isinf(norm_type);
  TensorList norms;
  for (const Tensor& g : grads) norms.push_back(inf ? g.abs().amax() : norm(g, norm_type));
  // One dtype for the stack: the first gradient's (as PyTorch, whose norms keep their dtypes).
  for (Tensor& n : norms) n = n.to(norms[0].dtype());
  Tensor total = norms.size() == 1 ? norms[0] : (inf ? stack(norms).amax() : norm(stack(norms), norm_type));
  // Only error_if_nonfinite reads the norm on the host (a wait for the device, refused inside a
  // graph's capture); the scaling below stays on the device, as PyTorch's.
  if (error_if_nonfinite) {
    const double t = total.to(kFloat64).item<double>();
    HPML_CHECK(std::isfinite(t), "clip_grad_norm_: the total norm of order ", norm_type,
               " for gradients from `parameters` is non-finite, so it cannot be clipped (total ", t,
               ")\nhint: to scale the gradients by the non-finite norm anyway, pass error_if_nonfinite = false");
  }
  // clip_coef = max_norm / (total + 1e-6), clamped at 1 (a NaN total gives NaN gradients, as PyTorch)
  Tensor coef = clamp_max(scalar_tensor(max_norm, total.dtype()) / (total + 1e-6), 1.0);
  for (Tensor g : grads) g.mul_(coef.to(g.dtype()));
  return total;
}

void clip_grad_value_(const TensorList& parameters, double clip_value) {
  NoGradGuard ng;
  HPML_CHECK(!std::isnan(clip_value), "clip_grad_value_: clip_value must not be NaN");
  const double c = clip_value;  // clamp(-c, c), as PyTorch (a negative c clamps everything to c)
  for (const Tensor& p : parameters)
    if (p.defined() && p.grad().defined()) {
      Tensor g = p.grad();
      g.copy_(clamp(g, -c, c));
    }
}

}  // namespace hpml::nn::utils
