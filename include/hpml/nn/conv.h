// Convolution and pooling layers, and the image layers around them (Upsample, Unfold, Fold,
// PixelShuffle, PixelUnshuffle). Those added with the transposed convolutions are defined in
// src/nn/conv3d_image_layers.cpp.
//   nn::Conv2d conv(1, 32, 3, {.padding = 1});   nn::MaxPool2d pool(2);
#pragma once

#include <optional>
#include <string>
#include <utility>

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

// weight [out, in / groups, kD, kH, kW], bias [out], initialized as Conv2d's.
class Conv3d : public Module {
 public:
  Conv3d(int64_t in_channels, int64_t out_channels, Dims kernel_size, ConvOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;
  const int64_t in_channels, out_channels;
  const ConvOptions options;

 private:
  Dims kernel_size_;
};

// PyTorch's ConvTranspose2d arguments after kernel_size, in its order.
struct ConvTransposeOptions {
  Dims stride = 1;
  Dims padding = 0;
  Dims output_padding = 0;
  int64_t groups = 1;
  bool bias = true;
  Dims dilation = 1;
};
// weight [in, out / groups, kH, kW] ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = out / groups
// * kH * kW (PyTorch computes it from the weight's dims 1 and up), bias [out] likewise.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Dims kernel_size, ConvTransposeOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;
  const int64_t in_channels, out_channels;
  const ConvTransposeOptions options;

 private:
  Dims kernel_size_;
};
class ConvTranspose1d : public Module {
 public:
  ConvTranspose1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, ConvTransposeOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;
  const int64_t in_channels, out_channels, kernel_size;
  const ConvTransposeOptions options;
};

// Over [N, C, L] or [C, L].
class MaxPool1d : public Module {
 public:
  explicit MaxPool1d(int64_t kernel_size, MaxPoolOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const PoolOptions pool;
};
class AvgPool1d : public Module {
 public:
  explicit AvgPool1d(int64_t kernel_size, AvgPoolOptions options = {});  // divisor_override must stay 0
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const PoolOptions pool;
};
class AdaptiveAvgPool1d : public Module {
 public:
  explicit AdaptiveAvgPool1d(int64_t output_size);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const int64_t output_size;
};
// forward gives the values; forward_with_indices also the flat index within each H x W plane
// (PyTorch's return_indices = True).
class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(Dims output_size);
  Tensor forward(const Tensor& x) override;
  std::pair<Tensor, Tensor> forward_with_indices(const Tensor& x);
  std::string extra_repr() const override;
  const Dims output_size;
};

// interpolate(x, options) as a layer: nn::Upsample up({.scale_factor = {2.0}, .mode = "bilinear"}).
class Upsample : public Module {
 public:
  explicit Upsample(InterpolateOptions options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const InterpolateOptions options;
};

class Unfold : public Module {
 public:
  explicit Unfold(Dims kernel_size, FoldOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Dims kernel_size;
  const FoldOptions options;
};
class Fold : public Module {
 public:
  Fold(Dims output_size, Dims kernel_size, FoldOptions options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Dims output_size, kernel_size;
  const FoldOptions options;
};

class PixelShuffle : public Module {
 public:
  explicit PixelShuffle(int64_t upscale_factor);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const int64_t upscale_factor;
};
class PixelUnshuffle : public Module {
 public:
  explicit PixelUnshuffle(int64_t downscale_factor);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const int64_t downscale_factor;
};

}  // namespace hpml::nn
