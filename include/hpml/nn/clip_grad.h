// Gradient clipping (torch.nn.utils): scale all gradients so their joint norm is at most max_norm,
// or clamp each gradient element into [-clip_value, clip_value]. Parameters without a gradient
// are skipped.
#pragma once

#include "hpml/core/tensor.h"

namespace hpml::nn::utils {

// The total norm of all gradients together (the norm of the per-gradient norms; norm_type may be
// infinity), returned as a 0-d tensor; if it exceeds max_norm every gradient is multiplied by
// max_norm / (total + 1e-6), as PyTorch. error_if_nonfinite: raise instead of scaling by a NaN or
// infinite norm.
Tensor clip_grad_norm_(const TensorList& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element into [-clip_value, clip_value] in place.
void clip_grad_value_(const TensorList& parameters, double clip_value);

}  // namespace hpml::nn::utils
