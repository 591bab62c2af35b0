// The fused core of the class-index losses (nn::functional::nll_loss and cross_entropy): one
// kernel per call on any device, instead of the twenty ops the composed form takes.
#pragma once

#include "hpml/core/tensor.h"

namespace hpml {

enum class NllReduction { none, mean, sum };

// Whether nll_loss_rows takes these arguments: f32/f64 rows and a weight that needs no gradient
// (PyTorch's nll_loss has none for it); nn::functional composes the loss from ops otherwise.
bool nll_loss_rows_applies(const Tensor& x, const Tensor& weight);

// x [M, C], target [M] i64 (class indices, or ignore_index), weight [C] or undefined, all on one
// device -> the loss: [M] for none, 0-d otherwise (mean divides by the sum of the weights of the
// targets that are not ignored). Differentiable in x; a target outside [0, C) raises
// "nll_loss: target 7 is out of bounds for 5 classes".
Tensor nll_loss_rows(const Tensor& x, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     NllReduction reduction);

}  // namespace hpml
