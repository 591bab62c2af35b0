// Normalization ops. batch_norm is one op with its own kernels (rather than a composition of
// var_mean, sub, mul and add) because it is memory-bound: see Note [Fused batch norm].
#pragma once

#include "hpml/core/tensor.h"

namespace hpml {

// torch.batch_norm: input [N, C, *] normalized per channel c,
//   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c
// with the batch's mean and biased variance when `training`, otherwise running_mean / running_var
// (which must then be defined). In training with running statistics defined,
// they are updated in place: r = (1 - momentum) r + momentum * batch statistic, the variance
// unbiased (n / (n - 1)) for the running estimate. weight, bias, running_mean, running_var are [C]
// or undefined; they are not differentiated through the running statistics.
Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps);

// torch.instance_norm: input [N, C, *spatial] normalized per sample and channel (batch_norm over
// [1, N C, *spatial], as PyTorch computes it). With use_input_stats and running statistics [C]
// defined, those are updated with the mean over the batch of each sample's statistics; without
// use_input_stats the running statistics normalize (and must be defined). src/ops/instance_norm.cpp
Tensor instance_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                     const Tensor& running_var, bool use_input_stats, double momentum, double eps);

}  // namespace hpml
