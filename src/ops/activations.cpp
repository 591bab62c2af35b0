// The activations of torch.nn.functional beyond relu/gelu/elu (silu, mish, hardswish, ...),
// composed from existing ops so autograd follows the parts; only hardswish records its own
// backward (Note [hardswish at the kinks]). relu, gelu, softplus, elu live in unary.cpp.
#include <cmath>

#include "hpml/autograd/grad_mode.h"
#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

namespace {
// SELU's constants (Klambauer et al. 2017), as PyTorch spells them.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

Tensor zero_like_dtype(const Tensor& x) { return scalar_tensor(0, x.dtype()); }
}  // namespace

Tensor silu(const Tensor& x) {
  HPML_RECORD_OP("silu", x);
  ops::check_defined("silu", x);
  return x * sigmoid(x);
}

Tensor mish(const Tensor& x) {
  HPML_RECORD_OP("mish", x);
  ops::check_defined("mish", x);
  return x * tanh(softplus(x));
}

Tensor hardsigmoid(const Tensor& x) {
  HPML_RECORD_OP("hardsigmoid", x);
  ops::check_defined("hardsigmoid", x);
  // hardtanh's gradient is 0 at both ends, as PyTorch's hardsigmoid_backward (-3 < x < 3).
  return hardtanh(x + 3, 0, 6) / 6;
}

// Note [hardswish at the kinks]
// x hardtanh(x + 3, 0, 6) / 6 has PyTorch's values, but autograd through it would give the
// gradient 0 at x = -3, where PyTorch's hardswish_backward gives x / 3 + 0.5 = -0.5. Its
// vectorized kernel, which does all but a tail shorter than a SIMD vector, takes that middle
// branch on -3 <= x < 3 (1 at x = 3; the scalar tail says 1.5 there, an inconsistency of
// PyTorch 1.13's). Activations are often evaluated at exactly such round numbers, so the
// backward is the vectorized kernel's formula, written with ops so that it is differentiable.
Tensor hardswish(const Tensor& x) {
  HPML_RECORD_OP("hardswish", x);
  ops::check_defined("hardswish", x);
  Tensor out;
  {
    NoGradGuard ng;
    out = x * hardtanh(x + 3, 0, 6) / 6;
  }
  if (autograd::should_record(x)) {
    autograd::record("hardswish", {x}, {out}, {x}, [](const autograd::Ctx& c) {
      const Tensor &g = c.g(0), &x = c.s(0);  // both [x's shape]
      Tensor mid = where(lt(x, scalar_tensor(3, x.dtype())), g * (x / 3 + 0.5), g);
      return TensorList{masked_fill(mid, lt(x, scalar_tensor(-3, x.dtype())), 0)};
    });
  }
  return out;
}

Tensor selu(const Tensor& x) {
  HPML_RECORD_OP("selu", x);
  ops::check_defined("selu", x);
  return elu(x, kSeluAlpha) * kSeluScale;
}

Tensor celu(const Tensor& x, double alpha) {
  HPML_RECORD_OP("celu", x);
  ops::check_defined("celu", x);
  HPML_CHECK(alpha != 0, "celu: alpha cannot be 0 (x is divided by it)");
  // x > 0 ? x : alpha (exp(x / alpha) - 1). For alpha > 0 that is alpha elu(x / alpha) (a fused
  // kernel and backward); a negative alpha flips the sign of x / alpha, so elu's branch would be wrong.
  if (alpha > 0) return elu(x / alpha, 1.0) * alpha;
  return where(gt(x, zero_like_dtype(x)), x, expm1(x / alpha) * alpha);
}

Tensor logsigmoid(const Tensor& x) {
  HPML_RECORD_OP("logsigmoid", x);
  ops::check_defined("logsigmoid", x);
  // min(x, 0) - log1p(exp(-|x|)): exact for large |x| of either sign (PyTorch's formula).
  return minimum(x, zero_like_dtype(x)) - log1p(exp(-abs(x)));
}

Tensor softsign(const Tensor& x) {
  HPML_RECORD_OP("softsign", x);
  ops::check_defined("softsign", x);
  return x / (abs(x) + 1);
}

Tensor glu(const Tensor& x, int64_t dim) {
  HPML_RECORD_OP("glu", x);
  ops::check_defined("glu", x);
  HPML_CHECK(x.dim() > 0, "glu: does not support 0-d tensors (the halved dimension must have an even size)");
  const int64_t d = ops::wrap_dim(dim, x.dim(), "glu");
  HPML_CHECK(x.size(d) % 2 == 0, "glu: halving dimension must be even, but dimension ", d, " of ", x.sizes(),
             " has size ", x.size(d));
  const int64_t half = x.size(d) / 2;
  return x.narrow(d, 0, half) * sigmoid(x.narrow(d, half, half));  // [..., half, ...]
}

Tensor threshold(const Tensor& x, const Scalar& threshold, const Scalar& value) {
  HPML_RECORD_OP("threshold", x);
  ops::check_defined("threshold", x);
  HPML_CHECK(x.dtype() != kBool, "threshold: not supported for bool tensors");
  // x <= threshold ? value : x, as PyTorch (NaN stays NaN); value takes x's dtype.
  Tensor v = ops::cast(ops::wrap_scalar(value, x.device()), x.dtype());
  return where(le(x, ops::wrap_scalar(threshold, x.device())), v, x);
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  HPML_RECORD_OP("prelu", x, weight);
  ops::check_defined("prelu", x);
  ops::check_defined("prelu", weight, "weight");
  ops::check_same_device("prelu", {{"input", &x}, {"weight", &weight}});
  HPML_CHECK(weight.dim() <= 1, "prelu: weight must be 0-d or 1-d, got shape ", weight.sizes());
  HPML_CHECK(weight.dtype() == x.dtype(), "prelu: weight has dtype ", weight.dtype(), " but the input has ",
             x.dtype());
  const int64_t n = weight.numel(), channels = x.dim() >= 2 ? x.size(1) : 1;
  HPML_CHECK(n == 1 || x.dim() > 0, "prelu: a 0-d input takes a weight of 1 element, got ", n);
  HPML_CHECK(n == 1 || n == channels, "prelu: weight has ", n, " elements but the input ", x.sizes(), " has ",
             channels, " channels (dim 1)\nhint: give the weight 1 or ", channels, " elements");
  // One weight for everything (0-d, so a 0-d input stays 0-d), or one per channel: [C, 1, ..., 1].
  DimVector shape(static_cast<size_t>(x.dim()), 1);
  if (n > 1) shape[1] = n;
  Tensor w = n > 1 ? weight.reshape(shape) : weight.reshape({});
  return where(gt(x, zero_like_dtype(x)), x, w * x);
}

}  // namespace hpml
