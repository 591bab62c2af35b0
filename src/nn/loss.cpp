// nn::functional losses, composed from ops (so their gradients come from autograd), except
// binary_cross_entropy(_with_logits), whose closed-form gradients avoid 0 * inf at the edges.
#include <cmath>
#include <limits>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/nn/functional.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/checks.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/loss.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "nn/loss_reduce.h"

namespace hpml::nn::functional {

namespace {

using detail::reduce;

void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  HPML_CHECK(input.defined() && target.defined(), op, ": input and target must be defined");
  ops::check_same_device(op, {{"input", &input}, {"target", &target}});
  HPML_CHECK(input.is_floating_point(), op, ": input must be floating point, got ", input.dtype());
  HPML_CHECK(input.sizes() == target.sizes(), op, ": target shape ", target.sizes(), " differs from input shape ",
             input.sizes(), "\nhint: reshape the target; broadcasting here silently gives the wrong loss");
}

// Sets every element of `t` where `mask` holds to `value`, keeping the gradient elsewhere.
Tensor fill_where(const Tensor& t, const Tensor& mask, double value) { return masked_fill(t, mask, value); }

// Note [Mean over ignored targets]
// A mean reduction divides by the total weight of the targets that are not ignored. When every
// target is ignored PyTorch's value is 0/0 = NaN, but its gradient is 0 (its backward only touches
// the rows that count). A plain `sum / total` would give NaN gradients too (inf * 0), so the
// division uses a denominator of 1 when the total is 0 and adds a constant NaN to the value.
Tensor divide_by_total_weight(const Tensor& sum, const Tensor& total) {
  Tensor zero = eq(total, scalar_tensor(0, total.dtype()));
  Tensor nan_if_zero;
  {
    NoGradGuard ng;
    nan_if_zero = fill_where(zeros_like(total), zero, std::numeric_limits<double>::quiet_NaN());
  }
  return sum / fill_where(total, zero, 1.0) + nan_if_zero;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions o) {
  HPML_RECORD_OP("mse_loss", input, target);
  check_pair("mse_loss", input, target);
  return reduce((input - target).square(), o.reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions o) {
  HPML_RECORD_OP("l1_loss", input, target);
  check_pair("l1_loss", input, target);
  return reduce((input - target).abs(), o.reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1Options o) {
  HPML_RECORD_OP("smooth_l1_loss", input, target);
  check_pair("smooth_l1_loss", input, target);
  HPML_CHECK(o.beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", o.beta);
  if (o.beta == 0) {
    // The L1 loss, with PyTorch's smooth_l1 gradient at a zero difference: its backward tests
    // `x <= -beta` first, so x = 0 gives -1 for the input, and since the target's gradient is the
    // same function with input and target swapped, -1 for the target as well (l1_loss gives 0).
    Tensor loss;
    {
      NoGradGuard ng;
      loss = (input - target).abs();
    }
    if (autograd::should_record(input, target)) {
      autograd::record("smooth_l1_loss", {input, target}, {loss}, {input, target}, [](const autograd::Ctx& c) {
        const Tensor &x = c.s(0), &y = c.s(1), &g = c.g(0);
        auto side = [&](const Tensor& a, const Tensor& b) { return where(le(a, b), -g, g); };
        return TensorList{c.needs(0) ? side(x, y) : Tensor(), c.needs(1) ? side(y, x) : Tensor()};
      });
    }
    return reduce(loss, o.reduction);
  }
  Tensor d = (input - target).abs();
  // 0.5 d^2 / beta below beta, d - beta / 2 above.
  return reduce(where(lt(d, scalar_tensor(o.beta, kFloat64)), d.square() * (0.5 / o.beta), d - 0.5 * o.beta), o.reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, HuberOptions o) {
  HPML_RECORD_OP("huber_loss", input, target);
  check_pair("huber_loss", input, target);
  HPML_CHECK(o.delta > 0, "huber_loss: delta must be positive, got ", o.delta);
  Tensor d = (input - target).abs();
  return reduce(where(lt(d, scalar_tensor(o.delta, kFloat64)), d.square() * 0.5, (d - 0.5 * o.delta) * o.delta),
                o.reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, BCEOptions o) {
  HPML_RECORD_OP("binary_cross_entropy", input, target);
  check_pair("binary_cross_entropy", input, target);
  ops::check_same_device("binary_cross_entropy", {{"input", &input}, {"weight", &o.weight}});
  {
    NoGradGuard ng;
    const bool in_range = input.numel() == 0 || (input.amin().item<double>() >= 0 && input.amax().item<double>() <= 1);
    HPML_CHECK(in_range, "binary_cross_entropy: all elements of input should be between 0 and 1"
               "\nhint: apply sigmoid first, or use binary_cross_entropy_with_logits on the logits");
  }
  Tensor loss;
  {
    // -(y log x + (1 - y) log(1 - x)), each log clamped at -100 (PyTorch): finite at x = 0 and 1.
    NoGradGuard ng;
    Tensor lx = clamp_min(log(input), -100), l1x = clamp_min(log(1 - input), -100);
    loss = -(target * lx + (1 - target) * l1x);
  }
  if (autograd::should_record(input, target)) {
    autograd::record("binary_cross_entropy", {input, target}, {loss}, {input, target}, [](const autograd::Ctx& c) {
      const Tensor &x = c.s(0), &y = c.s(1), &g = c.g(0);
      // d/dx = (x - y) / max(x (1 - x), eps);  d/dy = log(1 - x) - log(x), clamped like the forward.
      // eps is PyTorch's `float EPSILON = 1e-12` (so 9.9999999600e-13 in f64 too): at x = 0 or 1 the
      // gradient is +-1.000000004e12 exactly as PyTorch's.
      constexpr double eps = static_cast<double>(1e-12f);
      Tensor gx = c.needs(0) ? g * (x - y) / clamp_min(x * (1 - x), eps) : Tensor();
      Tensor gy = c.needs(1) ? g * (clamp_min(log(1 - x), -100) - clamp_min(log(x), -100)) : Tensor();
      return TensorList{gx, gy};
    });
  }
  if (o.weight.defined()) loss = loss * o.weight;
  return reduce(loss, o.reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, BCEOptions o) {
  HPML_RECORD_OP("binary_cross_entropy_with_logits", input, target);
  check_pair("binary_cross_entropy_with_logits", input, target);
  ops::check_same_device("binary_cross_entropy_with_logits",
                         {{"input", &input}, {"weight", &o.weight}, {"pos_weight", &o.pos_weight}});
  const Tensor& pw = o.pos_weight;
  Tensor loss;
  {
    // (1 - y) x + (1 + (pw - 1) y) softplus(-x), softplus(-x) = log1p(exp(-|x|)) + max(-x, 0).
    NoGradGuard ng;
    Tensor sp = log1p(exp(-input.abs())) + clamp_min(-input, 0);
    Tensor lw = pw.defined() ? (pw - 1) * target + 1 : Tensor();
    loss = (1 - target) * input + (pw.defined() ? lw * sp : sp);
  }
  if (autograd::should_record(input, target, pw)) {
    autograd::record("binary_cross_entropy_with_logits", {input, target, pw}, {loss}, {input, target, pw},
                     [](const autograd::Ctx& c) {
      const Tensor &x = c.s(0), &y = c.s(1), &w = c.s(2), &g = c.g(0);
      Tensor sig = sigmoid(x);
      Tensor gx, gy, gw;
      Tensor sp = log1p(exp(-x.abs())) + clamp_min(-x, 0);
      if (c.needs(0)) gx = g * (w.defined() ? (w * y + 1 - y) * sig - w * y : sig - y);
      if (c.needs(1)) gy = g * (-x + (w.defined() ? (w - 1) * sp : sp * 0.0));
      if (c.needs(2)) gw = g * y * sp;
      return TensorList{gx, gy, gw};
    });
  }
  if (o.weight.defined()) loss = loss * o.weight;
  return reduce(loss, o.reduction);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, NLLOptions o) {
  HPML_RECORD_OP("nll_loss", input, target);
  HPML_CHECK(input.defined() && target.defined(), "nll_loss: input and target must be defined");
  ops::check_same_device("nll_loss", {{"input", &input}, {"target", &target}, {"weight", &o.weight}});
  HPML_CHECK(input.dim() >= 1, "nll_loss: input must have at least 1 dimension, got a 0-d tensor");
  HPML_CHECK(target.dtype() == kInt64, "nll_loss: target must hold class indices (i64), got ", target.dtype(),
             "\nhint: for class probabilities use cross_entropy");
  const int64_t C = input.dim() == 1 ? input.sizes()[0] : input.sizes()[1];
  // Expected target shape: the input's without the class dim.
  DimVector want(input.sizes());
  want.erase(input.dim() == 1 ? 0 : 1);
  HPML_CHECK(target.sizes() == IntArrayRef(want), "nll_loss: expected target of shape ", want, " for input of shape ",
             input.sizes(), ", got ", target.sizes());
  if (o.weight.defined())
    HPML_CHECK(o.weight.dim() == 1 && o.weight.sizes()[0] == C, "nll_loss: weight must have shape [", C, "], got ",
               o.weight.sizes());
  // [N, C, d1, ...] -> [N * d1 * ..., C]; target -> [N * d1 * ...]
  Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
  if (x.dim() > 2) x = x.movedim(1, -1);
  if (x.dim() != 2) x = x.reshape({-1, C});
  Tensor t = target.dim() == 1 ? target : target.reshape({-1});
  if (nll_loss_rows_applies(x, o.weight)) {  // one kernel: Note [Fused nll_loss] in ops/nll.cpp
    const NllReduction r = o.reduction == Reduction::none  ? NllReduction::none
                           : o.reduction == Reduction::sum ? NllReduction::sum
                                                           : NllReduction::mean;
    Tensor loss = nll_loss_rows(x, t, o.weight, o.ignore_index, r);
    return o.reduction == Reduction::none ? loss.reshape(target.sizes()) : loss;
  }
  Tensor ignored = eq(t, scalar_tensor(o.ignore_index, kInt64));
  Tensor safe_t = masked_fill(t, ignored, 0);
  if (t.numel() > 0) {
    NoGradGuard ng;
    Tensor bad = logical_and(logical_not(ignored), logical_or(lt(t, scalar_tensor(0, kInt64)), ge(t, scalar_tensor(C, kInt64))));
    if (bad.any().item<bool>()) {  // host reads: whether a target is bad, and which
      int64_t v = masked_select(t, bad)[0].item<int64_t>();
      HPML_FAIL("nll_loss: target ", v, " is out of bounds for ", C, " classes");
    }
  }
  Tensor w = o.weight.defined() ? o.weight.to(x.dtype()).index_select(0, safe_t)
                               : ones({t.numel()}, TensorOptions(x.dtype()).device(x.device()));
  w = fill_where(w, ignored, 0.0);
  Tensor loss = -x.gather(1, safe_t.unsqueeze(1)).squeeze(1) * w;
  switch (o.reduction) {
    case Reduction::none: return loss.reshape(target.sizes());
    case Reduction::sum: return loss.sum();
    case Reduction::mean: return divide_by_total_weight(loss.sum(), w.sum());  // Note [Mean over ignored targets]
  }
  return loss;
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, CrossEntropyOptions o) {
  HPML_RECORD_OP("cross_entropy", input, target);
  HPML_CHECK(input.defined() && target.defined(), "cross_entropy: input and target must be defined");
  ops::check_same_device("cross_entropy", {{"input", &input}, {"target", &target}, {"weight", &o.weight}});
  HPML_CHECK(input.is_floating_point(), "cross_entropy: input (logits) must be floating point, got ", input.dtype());
  HPML_CHECK(o.label_smoothing >= 0 && o.label_smoothing <= 1,
             "cross_entropy: label_smoothing must be between 0 and 1, got ", o.label_smoothing);
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const int64_t C = input.sizes()[class_dim];
  Tensor lsm = hpml::log_softmax(input, class_dim);
  // weight viewed along the class dim: [C] -> [1, C, 1, ...]
  auto class_view = [&](const Tensor& w) {
    DimVector shape(input.dim(), 1);
    shape[class_dim] = C;
    return w.to(input.dtype()).view(shape);
  };
  if (target.is_floating_point()) {  // class probabilities
    HPML_CHECK(target.sizes() == input.sizes(), "cross_entropy: probability targets must have the input's shape ",
               input.sizes(), ", got ", target.sizes());
    Tensor p = o.label_smoothing > 0 ? target * (1 - o.label_smoothing) + o.label_smoothing / static_cast<double>(C) : target;
    Tensor term = lsm * p;
    if (o.weight.defined()) term = term * class_view(o.weight);
    switch (o.reduction) {
      case Reduction::none: return -term.sum({class_dim});
      case Reduction::sum: return -term.sum();
      case Reduction::mean: return -term.sum() / static_cast<double>(input.numel() / std::max<int64_t>(C, 1));
    }
  }
  Tensor nll = nll_loss(lsm, target, {.reduction = o.reduction, .weight = o.weight, .ignore_index = o.ignore_index});
  if (o.label_smoothing == 0) return nll;
  // Label smoothing (PyTorch 1.13): (1 - eps) nll + eps / C * smooth, smooth = -sum_c w_c lsm_c.
  Tensor ignored = eq(target, scalar_tensor(o.ignore_index, kInt64));
  Tensor smooth = o.weight.defined() ? -(lsm * class_view(o.weight)).sum({class_dim}) : -lsm.sum({class_dim});
  smooth = masked_fill(smooth, ignored, 0.0);
  Tensor r;
  switch (o.reduction) {
    case Reduction::none: r = smooth; break;
    case Reduction::sum: r = smooth.sum(); break;
    case Reduction::mean:
      if (o.weight.defined()) {
        Tensor kept = masked_select(target, logical_not(ignored));
        r = divide_by_total_weight(smooth.sum(), o.weight.to(input.dtype()).index_select(0, kept).sum());
      } else {
        r = divide_by_total_weight(smooth.sum(), logical_not(ignored).sum().to(input.dtype()));
      }
      break;
  }
  return nll * (1 - o.label_smoothing) + r * (o.label_smoothing / static_cast<double>(C));
}

Tensor kl_div(const Tensor& input, const Tensor& target, KLDivOptions o) {
  HPML_RECORD_OP("kl_div", input, target);
  check_pair("kl_div", input, target);
  // target (log target - input), with 0 log 0 = 0
  Tensor loss = o.log_target ? exp(target) * (target - input)
                             : masked_fill(target * log(target), eq(target, scalar_tensor(0, target.dtype())), 0.0) -
                                   target * input;
  switch (o.reduction) {
    case KLReduction::none: return loss;
    case KLReduction::sum: return loss.sum();
    case KLReduction::mean: return loss.mean();
    case KLReduction::batchmean:
      return input.dim() == 0 ? loss.sum() : loss.sum() / static_cast<double>(input.sizes()[0]);
  }
  return loss;
}

}  // namespace hpml::nn::functional
