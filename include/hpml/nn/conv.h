// Convolution and pooling layers.
//   nn::Conv2d conv(1, 32, 3, {.padding = 1});   nn::MaxPool2d pool(2);
#pragma once

#include <optional>
#include <string>

#include "hpml/nn/module.h"
#include "hpml/ops/conv.h"

namespace hpml::nn {

struct ConvOptions {
  Dims stride = 1;
  Padding padding = 0;
  Dims dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

// weight [out, in / groups, kH, kW] and bias [out] ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// fan_in = in / groups * kH * kW (PyTorch's default: kaiming_uniform with a = sqrt(5)).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Dims kernel_size, ConvOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;
  const int64_t in_channels, out_channels;
  const ConvOptions options;

 private:
  Dims kernel_size_;
};

class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, ConvOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;
  const int64_t in_channels, out_channels, kernel_size;
  const ConvOptions options;
};

struct MaxPoolOptions {
  std::optional<Dims> stride = std::nullopt;  // default: the kernel size
  Dims padding = 0;
  Dims dilation = 1;
  bool ceil_mode = false;
};
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Dims kernel_size, MaxPoolOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const PoolOptions pool;
};

struct AvgPoolOptions {
  std::optional<Dims> stride = std::nullopt;
  Dims padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t divisor_override = 0;
};
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Dims kernel_size, AvgPoolOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const PoolOptions pool;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Dims output_size);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Dims output_size;
};

}  // namespace hpml::nn
