// Normalization layers. BatchNorm follows PyTorch exactly: batch mean and biased variance to
// normalize in training, running mean and unbiased running variance updated with `momentum`
// (or, with momentum = nullopt, a cumulative average over the batches seen), running statistics
// used unchanged in eval mode. InstanceNorm1d/2d normalize each sample separately.
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

// PyTorch's InstanceNorm defaults: no affine parameters, no running statistics.
struct InstanceNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = false;
  bool track_running_stats = false;
};

// Normalizes each sample's channels with their own statistics (in training, or always without
// running statistics); with track_running_stats, running_mean / running_var are updated in
// training and used in eval mode. num_batches_tracked is registered (as PyTorch) but never counts.
class InstanceNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  Tensor weight, bias;                                    // [C], if affine
  Tensor running_mean, running_var, num_batches_tracked;  // if track_running_stats
  const int64_t num_features;
  const InstanceNormOptions options;

 protected:
  InstanceNormBase(const char* type, int64_t num_features, InstanceNormOptions options, int64_t spatial_dims);
  const int64_t spatial_dims_;  // 1: [N, C, L] or [C, L]; 2: [N, C, H, W] or [C, H, W]
};
class InstanceNorm1d : public InstanceNormBase {
 public:
  explicit InstanceNorm1d(int64_t num_features, InstanceNormOptions options = {});
};
class InstanceNorm2d : public InstanceNormBase {
 public:
  explicit InstanceNorm2d(int64_t num_features, InstanceNormOptions options = {});
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
