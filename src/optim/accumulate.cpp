// GradientAccumulation and the linear scaling rule.
#include "hpml/optim/accumulate.h"

#include "hpml/ops/binary.h"

namespace hpml::optim {

GradientAccumulation::GradientAccumulation(Optimizer& optimizer, int64_t steps) : opt_(optimizer), steps_(steps) {
  HPML_CHECK(steps >= 1, "GradientAccumulation: the number of micro-batches per update must be at least 1, got ", steps);
}

bool GradientAccumulation::backward(const Tensor& loss) {
  HPML_CHECK(loss.defined() && loss.numel() == 1, "GradientAccumulation.backward: expected a scalar loss, got shape ",
             loss.defined() ? loss.sizes() : IntArrayRef());
  (loss / static_cast<double>(steps_)).backward();
  if (++pending_ < steps_) return false;
  opt_.step();
  opt_.zero_grad();
  pending_ = 0;
  return true;
}

double linear_scaled_lr(double base_lr, int64_t batch_size, int64_t base_batch_size) {
  HPML_CHECK(batch_size > 0 && base_batch_size > 0, "linear_scaled_lr: batch sizes must be positive, got ", batch_size,
             " and ", base_batch_size);
  return base_lr * static_cast<double>(batch_size) / static_cast<double>(base_batch_size);
}

}  // namespace hpml::optim
