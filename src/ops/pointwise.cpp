// Elementwise ops composed from other ops: frac, logit, nan_to_num, isnan/isinf/isfinite,
// logaddexp, lerp, addcmul, addcdiv, and clamp with tensor bounds (which records PyTorch's
// backward: Note [clamp with tensor bounds]). The kernel-backed ones are in unary.cpp/binary.cpp.
#include <cmath>
#include <limits>

#include "hpml/autograd/grad_mode.h"
#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/unary.h"
#include "ops/common.h"

namespace hpml {

Tensor frac(const Tensor& x) {
  HPML_RECORD_OP("frac", x);
  ops::check_defined("frac", x);
  HPML_CHECK(x.is_floating_point(), "frac: not supported for ", x.dtype(), " tensors (expected a floating dtype)");
  return x - trunc(x);  // trunc's gradient is 0: d frac = dx
}

Tensor logit(const Tensor& x, std::optional<double> eps) {
  HPML_RECORD_OP("logit", x);
  ops::check_defined("logit", x);
  Tensor z = x.is_floating_point() ? x : ops::cast(x, kDefaultFloat);
  // eps < 0 means no clamping, as in PyTorch. clamp passes the gradient on [eps, 1 - eps] only.
  if (eps && *eps >= 0) z = clamp(z, *eps, 1 - *eps);
  return log(z / (1 - z));
}

Tensor nan_to_num(const Tensor& x, std::optional<double> nan, std::optional<double> posinf,
                  std::optional<double> neginf) {
  HPML_RECORD_OP("nan_to_num", x);
  ops::check_defined("nan_to_num", x);
  if (!x.is_floating_point()) return x.clone();
  // The dtype's largest finite value (torch.finfo(dtype).max).
  const double big = x.dtype() == kFloat64    ? std::numeric_limits<double>::max()
                     : x.dtype() == kBFloat16 ? static_cast<double>(BFloat16::from_bits(0x7f7f))
                     : x.dtype() == kFloat16  ? 65504.0
                                              : std::numeric_limits<float>::max();
  const double inf = std::numeric_limits<double>::infinity();
  Tensor y = masked_fill(x, isnan(x), nan.value_or(0.0));  // masked_fill's gradient: 0 where filled
  y = masked_fill(y, eq(x, scalar_tensor(inf, x.dtype())), posinf.value_or(big));
  return masked_fill(y, eq(x, scalar_tensor(-inf, x.dtype())), neginf.value_or(-big));
}

Tensor isnan(const Tensor& x) {
  HPML_RECORD_OP("isnan", x);
  ops::check_defined("isnan", x);
  return ne(x, x);
}

Tensor isinf(const Tensor& x) {
  HPML_RECORD_OP("isinf", x);
  ops::check_defined("isinf", x);
  if (!x.is_floating_point()) return zeros_like(x, TensorOptions(kBool));
  NoGradGuard ng;  // |x| is only compared
  return eq(abs(x), scalar_tensor(std::numeric_limits<double>::infinity(), x.dtype()));
}

Tensor isfinite(const Tensor& x) {
  HPML_RECORD_OP("isfinite", x);
  ops::check_defined("isfinite", x);
  if (!x.is_floating_point()) return ones_like(x, TensorOptions(kBool));
  NoGradGuard ng;
  return eq(x - x, scalar_tensor(0, x.dtype()));  // x - x is NaN exactly for NaN and +-inf
}

Tensor logaddexp(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("logaddexp", a, b);
  ops::check_defined("logaddexp", a, "first input");
  ops::check_defined("logaddexp", b, "second input");
  ops::check_same_device("logaddexp", {{"input", &a}, {"other", &b}});
  Tensor m = maximum(a, b);
  Tensor r = m + log1p(exp(-abs(a - b)));  // at a == b maximum and abs split the gradient: 1/2 each, exact
  // Equal infinities make a - b NaN; the answer is that infinity, as in PyTorch.
  Tensor same_inf;
  {
    NoGradGuard ng;
    same_inf = logical_and(isinf(m), eq(a, b));
  }
  return where(same_inf, m, r);
}

namespace {
void check_lerp(const Tensor& start, const Tensor& end, const Tensor* weight) {
  ops::check_defined("lerp", start, "start");
  ops::check_defined("lerp", end, "end");
  ops::check_same_device("lerp", {{"start", &start}, {"end", &end}, {"weight", weight ? weight : &end}});
  HPML_CHECK(start.is_floating_point(), "lerp: expected floating tensors, got start of dtype ", start.dtype());
  HPML_CHECK(end.dtype() == start.dtype(), "lerp: expected dtype ", start.dtype(), " for end but got dtype ",
             end.dtype());
  if (!weight) return;
  ops::check_defined("lerp", *weight, "weight");
  HPML_CHECK(weight->dtype() == start.dtype(), "lerp: expected dtype ", start.dtype(), " for weight but got dtype ",
             weight->dtype());
}
}  // namespace

// PyTorch's two-sided formula: start + w (end - start) for |w| < 0.5, else end - (end - start) (1 - w),
// so that w = 0 gives start and w = 1 gives end exactly.
Tensor lerp(const Tensor& start, const Tensor& end, const Scalar& weight) {
  HPML_RECORD_OP("lerp", start, end);
  check_lerp(start, end, nullptr);
  const double w = weight.to_double();
  Tensor d = end - start;
  return std::fabs(w) < 0.5 ? start + d * w : end - d * (1 - w);
}

Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  HPML_RECORD_OP("lerp", start, end, weight);
  check_lerp(start, end, &weight);
  Tensor small;
  {
    NoGradGuard ng;
    small = lt(abs(weight), scalar_tensor(0.5, weight.dtype()));
  }
  Tensor d = end - start;
  return where(small, start + weight * d, end - d * (1 - weight));
}

namespace {
void check_value(const char* name, const Tensor& self, const Tensor& t, const Scalar& value) {
  HPML_CHECK(is_floating(ops::result_type(self, t)) || !value.is_floating(), name,
             ": for integer tensors, value must not be a floating point number (got ", value, ")");
}
}  // namespace

Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  HPML_RECORD_OP("addcmul", self, t1, t2);
  ops::check_defined("addcmul", self, "self");
  ops::check_defined("addcmul", t1, "tensor1");
  ops::check_defined("addcmul", t2, "tensor2");
  ops::check_same_device("addcmul", {{"input", &self}, {"tensor1", &t1}, {"tensor2", &t2}});
  Tensor p = t1 * t2;
  check_value("addcmul", self, p, value);
  return add(self, p, value);
}

Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  HPML_RECORD_OP("addcdiv", self, t1, t2);
  ops::check_defined("addcdiv", self, "self");
  ops::check_defined("addcdiv", t1, "tensor1");
  ops::check_defined("addcdiv", t2, "tensor2");
  ops::check_same_device("addcdiv", {{"input", &self}, {"tensor1", &t1}, {"tensor2", &t2}});
  HPML_CHECK(t1.is_floating_point() || t2.is_floating_point(),
             "addcdiv: integer division is not supported (tensor1 ", t1.dtype(), ", tensor2 ", t2.dtype(),
             ")\nhint: convert one of them to a floating dtype, or use addcmul with div(..., \"trunc\")");
  return add(self, div(t1, t2), value);
}

// Note [clamp with tensor bounds]
// The forward is maximum(x, min) then minimum(., max) (so NaN anywhere gives NaN, and min > max
// gives max, as in PyTorch). Their own gradients split ties in half; PyTorch's clamp gives x the
// whole gradient on the closed interval [min, max] and a bound only where x is strictly outside
// it (clamp_backward / clamp_backward_min_max in derivatives.yaml), so that is recorded instead.
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max) {
  HPML_RECORD_OP("clamp", x, min, max);
  ops::check_defined("clamp", x);
  HPML_CHECK(min.defined() || max.defined(), "clamp: at least one of min or max must be defined");
  ops::check_same_device("clamp", {{"input", &x}, {"min", &min}, {"max", &max}});
  Tensor out;
  {
    NoGradGuard ng;
    out = min.defined() ? maximum(x, min) : x;
    if (max.defined()) out = minimum(out, max);
  }
  if (autograd::should_record(x, min, max)) {
    autograd::record("clamp", {x, min, max}, {out}, {x, min, max}, [](const autograd::Ctx& c) {
      // g, and each gradient: [broadcast shape]; the engine sums them to each input's shape.
      const Tensor &g = c.g(0), &x = c.s(0), &lo = c.s(1), &hi = c.s(2);
      Tensor gx, glo, ghi;
      if (lo.defined() && hi.defined()) {
        if (c.needs(0)) gx = where(logical_and(ge(x, lo), le(x, hi)), g, 0);
        if (c.needs(1)) glo = where(logical_and(lt(x, lo), lt(lo, hi)), g, 0);
        if (c.needs(2)) ghi = where(logical_or(gt(x, hi), lt(hi, lo)), g, 0);
      } else if (lo.defined()) {
        if (c.needs(0)) gx = where(ge(x, lo), g, 0);
        if (c.needs(1)) glo = where(lt(x, lo), g, 0);
      } else {
        if (c.needs(0)) gx = where(le(x, hi), g, 0);
        if (c.needs(2)) ghi = where(gt(x, hi), g, 0);
      }
      return TensorList{gx, glo, ghi};
    });
  }
  return out;
}

}  // namespace hpml
