// Normalization layers. BatchNorm follows PyTorch exactly: batch mean and biased variance to
// normalize in training, running mean and unbiased running variance updated with `momentum`
// (or, with momentum = nullopt, a cumulative average over the batches seen), running statistics
// used unchanged in eval mode.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hpml/nn/module.h"

namespace hpml::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;  // nullopt: cumulative moving average
  bool affine = true;
  bool track_running_stats = true;
};

class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_running_stats();
  Tensor weight, bias;                                     // [C], if affine
  Tensor running_mean, running_var, num_batches_tracked;   // if track_running_stats
  const int64_t num_features;
  const BatchNormOptions options;

 protected:
  BatchNormBase(const char* type, int64_t num_features, BatchNormOptions options);
  virtual void check_input(const Tensor& x) const = 0;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {});

 protected:
  void check_input(const Tensor& x) const override;
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {});

 protected:
  void check_input(const Tensor& x) const override;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::vector<int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;
  const std::vector<int64_t> normalized_shape;
  const double eps;
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;
  const int64_t num_groups, num_channels;
  const double eps;
};

}  // namespace hpml::nn
