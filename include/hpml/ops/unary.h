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

// ---- more elementwise math (PyTorch's torch.erf, torch.tan, ...); integers give f32 ----------
Tensor erf(const Tensor& x);
Tensor erfc(const Tensor& x);
Tensor tan(const Tensor& x);
Tensor asin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor atan(const Tensor& x);
Tensor sinh(const Tensor& x);
Tensor cosh(const Tensor& x);
Tensor log2(const Tensor& x);
Tensor log10(const Tensor& x);
Tensor exp2(const Tensor& x);
Tensor trunc(const Tensor& x);  // not differentiable; integers keep their dtype
Tensor frac(const Tensor& x);   // x - trunc(x), the sign of x; floating only
// log(x / (1 - x)); with eps, x is clamped to [eps, 1 - eps] first (gradient 0 outside).
Tensor logit(const Tensor& x, std::optional<double> eps = std::nullopt);
// NaN -> nan (default 0), +inf -> posinf, -inf -> neginf (defaults: the dtype's largest and
// lowest finite values). The gradient passes where x is finite. Integers are copied.
Tensor nan_to_num(const Tensor& x, std::optional<double> nan = std::nullopt,
                  std::optional<double> posinf = std::nullopt, std::optional<double> neginf = std::nullopt);
// bool results; integer and bool tensors are never NaN or infinite.
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);

// ---- more activations (torch.nn.functional's; prelu is in binary.h) ----------------------
Tensor silu(const Tensor& x);         // x sigmoid(x)
Tensor mish(const Tensor& x);         // x tanh(softplus(x))
Tensor hardswish(const Tensor& x);    // x relu6(x + 3) / 6
Tensor hardsigmoid(const Tensor& x);  // relu6(x + 3) / 6
Tensor selu(const Tensor& x);         // scale elu(x, alpha) with SELU's fixed scale and alpha
Tensor celu(const Tensor& x, double alpha = 1.0);  // max(0, x) + min(0, alpha (exp(x / alpha) - 1))
Tensor logsigmoid(const Tensor& x);   // log(sigmoid(x)) = -softplus(-x), stable for large |x|
Tensor softsign(const Tensor& x);     // x / (1 + |x|)
// a sigmoid(b) where a, b are the halves of x along dim (its size must be even).
Tensor glu(const Tensor& x, int64_t dim = -1);
// x where x > threshold, else value (x's dtype).
Tensor threshold(const Tensor& x, const Scalar& threshold, const Scalar& value);

// In place.
Tensor& relu_(Tensor& x);
Tensor& neg_(Tensor& x);
Tensor& exp_(Tensor& x);
Tensor& sqrt_(Tensor& x);
Tensor& clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt);

}  // namespace hpml
