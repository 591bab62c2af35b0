// The fused optimizer step as an op: one pass over a parameter, its gradient and its state buffers,
// each element read once and written once, by the rules of PyTorch 1.13 (torch/optim/*.py,
// single-tensor form). The optimizers (hpml/optim/optimizers.h) call it once per parameter with
// the per-step scalars they compute (bias corrections, the decayed lr):
//
//   ops::fused_optimizer_step_(ops::OptimizerKind::sgd, {.lr = 0.1, .momentum = 0.9}, p, p.grad(), &buf);
//
// Not differentiable: call it under a NoGradGuard (the optimizers do).
#pragma once

#include <cstdint>

#include "hpml/core/tensor.h"

namespace hpml::ops {

enum class OptimizerKind : uint8_t { sgd, adagrad, adadelta, rmsprop, adam };

// The scalars of one step; each kind reads the fields its comment names.
struct OptimizerStepParams {
  double lr = 0, weight_decay = 0;
  bool maximize = false;
  double momentum = 0, dampening = 0;  // sgd, rmsprop (momentum)
  bool nesterov = false;               // sgd
  bool first_step = false;             // sgd: the momentum buffer starts as the gradient
  double eps = 0;                      // adagrad, adadelta, rmsprop, adam
  double rho = 0;                      // adadelta (rmsprop's alpha goes here too)
  bool centered = false;               // rmsprop
  double beta1 = 0, beta2 = 0;         // adam
  double step_size = 0;                // adam: lr / (1 - beta1^t);  adagrad: lr / (1 + (t - 1) lr_decay)
  double bias_correction2_sqrt = 1;    // adam: sqrt(1 - beta2^t)
  bool amsgrad = false, decoupled_weight_decay = false;  // adam (AdamW: decoupled)
};

// Updates `param` and the state buffers in place from `grad`. param is f32 or f64; grad and every
// buffer have its dtype and shape, and all are on one device; the buffers are contiguous (the
// optimizers make them so). The buffers by kind (null where the comment allows it):
//   sgd {momentum_buffer or null (no momentum)}, adagrad {sum}, adadelta {square_avg, acc_delta},
//   rmsprop {square_avg, momentum_buffer or null, grad_avg or null (not centered)},
//   adam {exp_avg, exp_avg_sq, max_exp_avg_sq or null (no amsgrad)}.
void fused_optimizer_step_(OptimizerKind kind, const OptimizerStepParams& p, const Tensor& param, const Tensor& grad,
                           const Tensor* s0 = nullptr, const Tensor* s1 = nullptr, const Tensor* s2 = nullptr);

}  // namespace hpml::ops
