// Elementwise functions of one tensor: forward through the unary kernel, backward as one line
// each (activation gradients use fused kernels; see act_grad).
#include "hpml/ops/unary.h"

#include <cmath>
#include <limits>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::BinaryOp;
using kernels::UnaryOp;
using kernels::view_of;

namespace {

// Float-valued functions (exp, log, ...) give f32 for integer inputs, as in PyTorch.
Tensor unary_forward(UnaryOp op, const char* name, const Tensor& x, kernels::UnaryParams p, bool float_op) {
  ops::check_defined(name, x);
  DType dt = x.dtype();
  if (float_op && !is_floating(dt)) dt = kDefaultFloat;
  if (is_reduced_float(dt)) return ops::cast(unary_forward(op, name, ops::cast(x, kFloat32), p, float_op), dt);
  Tensor in = ops::cast(x, dt);
  Tensor out = ops::empty_tensor(x.sizes(), dt, x.device());
  ops::be(x, name).unary(op, view_of(out), view_of(in), p);
  return out;
}

void check_not_bool(const char* name, const Tensor& x, const char* hint) {
  HPML_CHECK(x.dtype() != kBool, name, ": not supported for bool tensors", hint);
}

// The gradient of an activation: a fused kernel when nothing records the backward, else the
// same formula from differentiable ops (for create_graph).
template <typename F>
Tensor act_grad(BinaryOp op, const Tensor& g, const Tensor& v, kernels::BinaryParams p, F composite) {
  if (autograd::GradMode::is_enabled()) return composite();
  if (is_reduced_float(g.dtype()))
    return ops::cast(act_grad(op, ops::cast(g, kFloat32), ops::cast(v, kFloat32), p, composite), g.dtype());
  Tensor out = ops::empty_tensor(g.sizes(), g.dtype(), g.device());
  ops::be(g, "backward").binary(op, view_of(out), view_of(g), kernels::broadcast_view(ops::cast(v, g.dtype()), g.sizes()), p);
  return out;
}

// Records `name` with a one-input backward `fn(g, x, y)`.
template <typename F>
Tensor finish(const char* name, const Tensor& x, const Tensor& out, bool save_x, bool save_y, F fn) {
  if (autograd::should_record(x)) {
    autograd::record(name, {x}, {out}, {save_x ? x : Tensor(), save_y ? out : Tensor()},
                     [fn](const Ctx& c) { return TensorList{fn(c.g(0), c.s(0), c.s(1))}; });
  }
  return out;
}

Tensor zero_grad_like(const Tensor& g) { return zeros_like(g); }

constexpr double kTwoOverSqrtPi = 1.12837916709551257390;  // erf'(0)
constexpr double kLn2 = 0.69314718055994530942, kLn10 = 2.30258509299404568402;

}  // namespace

#define HPML_UNARY(name, float_op, save_x, save_y, formula)                                           \
  Tensor name(const Tensor& x) {                                                                      \
    HPML_RECORD_OP(#name, x);                                                                         \
    Tensor out = unary_forward(UnaryOp::name, #name, x, {}, float_op);                                \
    return finish(#name, x, out, save_x, save_y,                                                      \
                  []([[maybe_unused]] const Tensor& g, [[maybe_unused]] const Tensor& x,              \
                     [[maybe_unused]] const Tensor& y) { return formula; });                          \
  }

// name, float-valued, saves x, saves y, gradient (g: grad of y = f(x), both of x's shape)
HPML_UNARY(exp, true, false, true, g * y)
HPML_UNARY(log, true, true, false, g / x)
HPML_UNARY(log1p, true, true, false, g / (x + 1))
HPML_UNARY(expm1, true, false, true, g * (y + 1))
HPML_UNARY(sqrt, true, false, true, g / (2 * y))
HPML_UNARY(rsqrt, true, false, true, g * (-0.5) * y * y * y)
HPML_UNARY(reciprocal, true, false, true, -g * y * y)
HPML_UNARY(sin, true, true, false, g * cos(x))
HPML_UNARY(cos, true, true, false, -g * sin(x))
HPML_UNARY(floor, false, false, false, zero_grad_like(g))
HPML_UNARY(ceil, false, false, false, zero_grad_like(g))
HPML_UNARY(round, false, false, false, zero_grad_like(g))
HPML_UNARY(trunc, false, false, false, zero_grad_like(g))
HPML_UNARY(erf, true, true, false, g * kTwoOverSqrtPi * exp(-x * x))
HPML_UNARY(erfc, true, true, false, g * (-kTwoOverSqrtPi) * exp(-x * x))
HPML_UNARY(tan, true, false, true, g * (y * y + 1))
HPML_UNARY(asin, true, true, false, g * rsqrt(1 - x * x))
HPML_UNARY(acos, true, true, false, -g * rsqrt(1 - x * x))
HPML_UNARY(atan, true, true, false, g / (x * x + 1))
HPML_UNARY(sinh, true, true, false, g * cosh(x))
HPML_UNARY(cosh, true, true, false, g * sinh(x))
HPML_UNARY(log2, true, true, false, g / (x * kLn2))
HPML_UNARY(log10, true, true, false, g / (x * kLn10))
HPML_UNARY(exp2, true, false, true, g * y * kLn2)
#undef HPML_UNARY

Tensor neg(const Tensor& x) {
  HPML_RECORD_OP("neg", x);
  ops::check_defined("neg", x);
  check_not_bool("neg", x, "\nhint: use logical_not() to invert a bool tensor");
  Tensor out = unary_forward(UnaryOp::neg, "neg", x, {}, false);
  return finish("neg", x, out, false, false, [](const Tensor& g, const Tensor&, const Tensor&) { return -g; });
}

Tensor abs(const Tensor& x) {
  HPML_RECORD_OP("abs", x);
  ops::check_defined("abs", x);
  check_not_bool("abs", x, "");
  Tensor out = unary_forward(UnaryOp::abs, "abs", x, {}, false);
  return finish("abs", x, out, true, false, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * sign(x); });
}

Tensor sign(const Tensor& x) {
  HPML_RECORD_OP("sign", x);
  Tensor out = unary_forward(UnaryOp::sign, "sign", x, {}, false);
  return finish("sign", x, out, false, false, [](const Tensor& g, const Tensor&, const Tensor&) { return zeros_like(g); });
}

Tensor square(const Tensor& x) {
  HPML_RECORD_OP("square", x);
  ops::check_defined("square", x);
  Tensor in = x.dtype() == kBool ? ops::cast(x, kInt64) : x;  // PyTorch: bool squares to i64
  Tensor out = unary_forward(UnaryOp::square, "square", in, {}, false);
  return finish("square", x, out, true, false, [](const Tensor& g, const Tensor& x, const Tensor&) { return 2 * g * x; });
}

Tensor tanh(const Tensor& x) {
  HPML_RECORD_OP("tanh", x);
  Tensor out = unary_forward(UnaryOp::tanh, "tanh", x, {}, true);
  return finish("tanh", x, out, false, true, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return act_grad(BinaryOp::tanh_backward, g, y, {}, [&] { return g * (1 - y * y); });
  });
}

Tensor sigmoid(const Tensor& x) {
  HPML_RECORD_OP("sigmoid", x);
  Tensor out = unary_forward(UnaryOp::sigmoid, "sigmoid", x, {}, true);
  return finish("sigmoid", x, out, false, true, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return act_grad(BinaryOp::sigmoid_backward, g, y, {}, [&] { return g * y * (1 - y); });
  });
}

Tensor relu(const Tensor& x) {
  HPML_RECORD_OP("relu", x);
  ops::check_defined("relu", x);
  check_not_bool("relu", x, "");
  Tensor out = unary_forward(UnaryOp::relu, "relu", x, {}, false);
  return finish("relu", x, out, false, true, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return act_grad(BinaryOp::threshold_backward, g, y, {}, [&] { return g * gt(y, scalar_tensor(0, y.dtype())); });
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  HPML_RECORD_OP("leaky_relu", x);
  Tensor out = unary_forward(UnaryOp::leaky_relu, "leaky_relu", x, {slope, 0}, true);
  return finish("leaky_relu", x, out, true, false, [slope](const Tensor& g, const Tensor& x, const Tensor&) {
    return act_grad(BinaryOp::leaky_relu_backward, g, x, {slope, 0, 0},
                    [&] { return where(gt(x, scalar_tensor(0, x.dtype())), g, g * slope); });
  });
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  HPML_RECORD_OP("hardtanh", x);
  HPML_CHECK(min_val <= max_val, "hardtanh: min_val (", min_val, ") cannot be greater than max_val (", max_val, ")");
  Tensor out = unary_forward(UnaryOp::hardtanh, "hardtanh", x, {min_val, max_val}, true);
  return finish("hardtanh", x, out, true, false, [min_val, max_val](const Tensor& g, const Tensor& x, const Tensor&) {
    return act_grad(BinaryOp::hardtanh_backward, g, x, {1, min_val, max_val}, [&] {
      return g * logical_and(gt(x, scalar_tensor(min_val, x.dtype())), lt(x, scalar_tensor(max_val, x.dtype())));
    });
  });
}

Tensor gelu(const Tensor& x, std::string_view approximate) {
  HPML_RECORD_OP("gelu", x);
  HPML_CHECK(approximate == "none" || approximate == "tanh", "gelu: approximate must be \"none\" or \"tanh\", got \"",
             approximate, "\"");
  const double approx = approximate == "tanh" ? 1.0 : 0.0;
  Tensor out = unary_forward(UnaryOp::gelu, "gelu", x, {approx, 0}, true);
  return finish("gelu", x, out, true, false, [approx](const Tensor& g, const Tensor& x, const Tensor&) {
    return act_grad(BinaryOp::gelu_backward, g, x, {1, approx, 0}, [&]() -> Tensor {
      HPML_FAIL("gelu: double backward (create_graph) is not supported yet");
    });
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  HPML_RECORD_OP("softplus", x);
  Tensor out = unary_forward(UnaryOp::softplus, "softplus", x, {beta, threshold}, true);
  return finish("softplus", x, out, true, false, [beta, threshold](const Tensor& g, const Tensor& x, const Tensor&) {
    return act_grad(BinaryOp::softplus_backward, g, x, {1, beta, threshold}, [&] {
      return where(gt(x * beta, scalar_tensor(threshold, x.dtype())), g, g * sigmoid(x * beta));
    });
  });
}

Tensor elu(const Tensor& x, double alpha) {
  HPML_RECORD_OP("elu", x);
  Tensor out = unary_forward(UnaryOp::elu, "elu", x, {alpha, 0}, true);
  return finish("elu", x, out, true, false, [alpha](const Tensor& g, const Tensor& x, const Tensor&) {
    return act_grad(BinaryOp::elu_backward, g, x, {alpha, 0, 0},
                    [&] { return where(gt(x, scalar_tensor(0, x.dtype())), g, g * alpha * exp(x)); });
  });
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  HPML_RECORD_OP("clamp", x);
  ops::check_defined("clamp", x);
  HPML_CHECK(min || max, "clamp: at least one of min or max must be given");
  check_not_bool("clamp", x, "");
  const double inf = std::numeric_limits<double>::infinity();
  const double lo = min ? min->to_double() : -inf, hi = max ? max->to_double() : inf;
  HPML_CHECK(!std::isnan(lo) && !std::isnan(hi), "clamp: min and max must not be NaN");
  // A float bound on an integer tensor promotes it, as in PyTorch.
  bool float_bound = (min && min->is_floating()) || (max && max->is_floating());
  Tensor in = float_bound && !x.is_floating_point() ? ops::cast(x, kDefaultFloat) : x;
  Tensor out = unary_forward(UnaryOp::clamp, "clamp", in, {lo, hi}, false);
  return finish("clamp", x, out, true, false, [lo, hi](const Tensor& g, const Tensor& x, const Tensor&) {
    Tensor keep = logical_and(ge(x, scalar_tensor(lo, kFloat64)), le(x, scalar_tensor(hi, kFloat64)));
    return g * keep;
  });
}
Tensor clamp_min(const Tensor& x, const Scalar& min) {
  HPML_RECORD_OP("clamp_min", x);
  return clamp(x, min, std::nullopt);
}
Tensor clamp_max(const Tensor& x, const Scalar& max) {
  HPML_RECORD_OP("clamp_max", x);
  return clamp(x, std::nullopt, max);
}

Tensor pow(const Tensor& x, const Scalar& exponent) {
  HPML_RECORD_OP("pow", x);
  ops::check_defined("pow", x);
  check_not_bool("pow", x, "");
  const double e = exponent.to_double();
  bool to_float = exponent.is_floating() && !x.is_floating_point();
  HPML_CHECK(to_float || x.is_floating_point() || exponent.to_int() >= 0,
             "pow: integers to negative integer powers are not allowed (exponent ", exponent, ")");
  Tensor out = unary_forward(UnaryOp::pow, "pow", x, {e, 0}, to_float);
  return finish("pow", x, out, true, false, [e](const Tensor& g, const Tensor& x, const Tensor&) {
    if (e == 0) return zeros_like(g);
    if (e == 1) return g;
    if (e == 2) return g * 2 * x;
    return g * e * pow(x, e - 1);
  });
}

Tensor logical_not(const Tensor& x) {
  HPML_RECORD_OP("logical_not", x);
  ops::check_defined("logical_not", x);
  Tensor out = ops::empty_tensor(x.sizes(), kBool, x.device());
  ops::be(x, "logical_not").unary(UnaryOp::logical_not, view_of(out), view_of(ops::cast(x, ops::compute_dtype(x.dtype()))), {});
  return out;
}

// In place: the kernel writes into x, or (when recording) the out-of-place op runs on a clone.
#define HPML_UNARY_INPLACE(name, op, params, call)                                                         \
  Tensor& name##_(Tensor& x) {                                                                             \
    HPML_RECORD_OP(#name "_", x);                                                                          \
    return ops::apply_inplace(#name "_", x, {}, [&] {                                                     \
      check_not_bool(#name "_", x, "");                                                                    \
      HPML_CHECK(x.is_floating_point() || UnaryOp::op == UnaryOp::relu || UnaryOp::op == UnaryOp::neg,    \
                 #name "_: result type f32 can't be cast to the desired output type ", x.dtype());         \
      if (is_reduced_float(x.dtype())) ops::be(x, #name "_").copy(view_of(x), view_of(call(x)));         \
      else ops::be(x, #name "_").unary(UnaryOp::op, view_of(x), view_of(x), params);                     \
    }, [&](const Tensor& old) { return call(old); });                                                     \
  }
HPML_UNARY_INPLACE(relu, relu, {}, relu)
HPML_UNARY_INPLACE(neg, neg, {}, neg)
HPML_UNARY_INPLACE(exp, exp, {}, exp)
HPML_UNARY_INPLACE(sqrt, sqrt, {}, sqrt)
#undef HPML_UNARY_INPLACE

Tensor& clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  HPML_RECORD_OP("clamp_", x);
  return ops::apply_inplace("clamp_", x, {}, [&] {
    Tensor r = clamp(x, min, max);
    HPML_CHECK(r.dtype() == x.dtype(), "clamp_: result type ", r.dtype(), " can't be cast to the desired output type ",
               x.dtype());
    ops::be(x, "clamp_").copy(view_of(x), view_of(r));
  }, [&](const Tensor& old) { return clamp(old, min, max); });
}

}  // namespace hpml
