// Elementwise functions of one tensor, activations included. Integer inputs to float-valued
// functions (exp, log, sigmoid, ...) give f32, as in PyTorch.
#pragma once

#include <optional>
#include <string_view>

#include "hpml/core/tensor.h"

namespace hpml {

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
// approximate: "none" (exact, with erf) or "tanh".
Tensor gelu(const Tensor& x, std::string_view approximate = "none");
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt);
Tensor clamp_min(const Tensor& x, const Scalar& min);
Tensor clamp_max(const Tensor& x, const Scalar& max);
Tensor pow(const Tensor& x, const Scalar& exponent);
// Not differentiable (their gradient is zero almost everywhere; PyTorch returns zeros).
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);
Tensor logical_not(const Tensor& x);

// In place.
Tensor& relu_(Tensor& x);
Tensor& neg_(Tensor& x);
Tensor& exp_(Tensor& x);
Tensor& sqrt_(Tensor& x);
Tensor& clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt);

}  // namespace hpml
