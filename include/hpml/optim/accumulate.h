// Batch size helpers (docs/concepts.md §6): gradient accumulation, so that n micro-batches update the
// weights as one batch n times larger would, and the linear scaling rule for the learning rate.
//
//   optim::GradientAccumulation acc(opt, 4);          // an update every 4 micro-batches
//   for (auto& [x, y] : micro_batches) acc.backward(loss_fn(model(x), y));  // steps on every 4th
//
// backward(loss) runs (loss / n).backward(), so the gradients sum to the mean over the n
// micro-batches: with a mean-reduced loss and equal micro-batches, exactly the gradient of the
// large batch. After the n-th call it steps the optimizer and zeroes the gradients. (BatchNorm
// sees the micro-batches' statistics, not the large batch's: that part cannot match.)
#pragma once

#include <cstdint>

#include "hpml/optim/optimizer.h"

namespace hpml::optim {

class GradientAccumulation {
 public:
  GradientAccumulation(Optimizer& optimizer, int64_t steps);
  // Backward of loss / steps; steps and zeroes the gradients on every steps-th call. Returns whether
  // it stepped.
  bool backward(const Tensor& loss);
  // Micro-batches seen since the last update (0 .. steps - 1).
  int64_t pending() const { return pending_; }
  int64_t steps() const { return steps_; }

 private:
  Optimizer& opt_;
  int64_t steps_, pending_ = 0;
};

// The linear scaling rule (Goyal et al. 2017): lr proportional to the batch size,
// base_lr * batch_size / base_batch_size. Use it with a linear warm-up (LinearLR) over the first
// epochs, as the rule prescribes for large batches.
double linear_scaled_lr(double base_lr, int64_t batch_size, int64_t base_batch_size = 256);

}  // namespace hpml::optim
