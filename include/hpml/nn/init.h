// nn::init: PyTorch's weight initializers. Each fills a tensor in place (under no_grad, bumping
// its version) and returns it; random ones take an optional Generator.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"

namespace hpml::nn::init {

enum class FanMode { fan_in, fan_out };

// The recommended gain for a nonlinearity: linear/conv*/sigmoid 1, tanh 5/3, relu sqrt(2),
// leaky_relu sqrt(2 / (1 + slope^2)) with slope = param (default 0.01), selu 3/4.
double calculate_gain(std::string_view nonlinearity, std::optional<double> param = std::nullopt);
// (fan_in, fan_out) of a weight of shape [out, in, *kernel]: in * prod(kernel), out * prod(kernel).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor& uniform_(Tensor& t, double a = 0.0, double b = 1.0, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
Tensor& constant_(Tensor& t, const Scalar& value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& eye_(Tensor& t);  // 2-d only
// Glorot: std = gain * sqrt(2 / (fan_in + fan_out)); uniform on +-sqrt(3) std.
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// He: std = calculate_gain(nonlinearity, a) / sqrt(fan); uniform on +-sqrt(3) std.
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                         std::string_view nonlinearity = "leaky_relu", Generator* gen = nullptr);
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                        std::string_view nonlinearity = "leaky_relu", Generator* gen = nullptr);
// Normal(mean, std) truncated to [a, b], by inverting the normal CDF (as PyTorch).
Tensor& trunc_normal_(Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                      Generator* gen = nullptr);
// A (semi-)orthogonal matrix from the QR decomposition of a normal one, times gain; tensors with
// more than 2 dims are flattened to [size(0), rest].
Tensor& orthogonal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace hpml::nn::init
