// nn::functional losses, composed from ops (so their gradients come from autograd), except
// binary_cross_entropy(_with_logits), whose closed-form gradients avoid 0 * inf at the edges.
#include <cmath>
#include <limits>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/nn/functional.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "nn/loss_reduce.h"

namespace hpml::nn::functional {

namespace {

using detail::reduce;

void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  HPML_CHECK(input.defined() && target.defined(), op, ": input and target must be defined");
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

// Note [Fused nll_loss]
// The loss of rows [M, C] with class targets [M] is one gather per row, yet composed from ops it
// took about twenty (masks for ignore_index, the bounds check, the weights, the mean's guard):
// a quarter of a small MLP's training step. For CPU f32/f64 input and a weight that needs no
// gradient (PyTorch's nll_loss has none for it), one loop computes the loss, checks the bounds
// and sums the weights, and the backward scatters -w_i * scale into a zero gradient, built from
// ops so that a double backward still works. Everything else takes the composed path below.
bool can_fuse_nll(const Tensor& x, const Tensor& weight) {
  return x.device().is_cpu() && (x.dtype() == kFloat32 || x.dtype() == kFloat64) &&
         (!weight.defined() || !weight.requires_grad());
}

// x [M, C] (any strides), t [M] i64 -> the reduced loss (none: [M]).
Tensor nll_fused(const Tensor& x, const Tensor& t, const Tensor& weight, int64_t ignore_index, Reduction reduction) {
  const int64_t M = x.sizes()[0], C = x.sizes()[1];
  const bool grad = autograd::should_record(x);
  Tensor tc = t.contiguous();
  Tensor wc = weight.defined() ? weight.to(x.dtype()).contiguous() : Tensor();
  const int64_t* tp = tc.data_ptr<int64_t>();
  // For the backward: each row's target (0 where ignored) and -weight (0 where ignored).
  Tensor safe_t = grad ? empty({M, 1}, kInt64) : Tensor(), neg_w = grad ? empty({M}, x.dtype()) : Tensor();
  int64_t* sp = grad ? safe_t.data_ptr<int64_t>() : nullptr;
  Tensor loss = reduction == Reduction::none ? empty({M}, x.dtype()) : Tensor();
  double sum = 0, total = 0;
  auto run = [&]<typename T>() {
    const T* xp = static_cast<const T*>(x.data_ptr());
    const T* wp = wc.defined() ? static_cast<const T*>(wc.data_ptr()) : nullptr;
    const int64_t rs = x.strides()[0], cs = x.strides()[1];
    T* nw = grad ? static_cast<T*>(neg_w.data_ptr()) : nullptr;
    T* rp = loss.defined() ? static_cast<T*>(loss.data_ptr()) : nullptr;
    for (int64_t i = 0; i < M; ++i) {
      const int64_t c = tp[i];
      const bool ignored = c == ignore_index;
      HPML_CHECK(ignored || (c >= 0 && c < C), "nll_loss: target ", c, " is out of bounds for ", C, " classes");
      const T w = ignored ? T(0) : wp ? wp[c] : T(1);
      const T li = ignored ? T(0) : -xp[i * rs + c * cs] * w;
      if (grad) sp[i] = ignored ? 0 : c, nw[i] = -w;
      if (rp) rp[i] = li;
      total += static_cast<double>(w);
      sum += static_cast<double>(li);
    }
  };
  if (x.dtype() == kFloat32) run.template operator()<float>();
  else run.template operator()<double>();
  if (reduction == Reduction::sum) loss = scalar_tensor(sum, x.dtype());
  if (reduction == Reduction::mean) loss = scalar_tensor(sum / total, x.dtype());  // 0 / 0 = NaN: every target ignored
  if (grad) {
    // Note [Mean over ignored targets]: with no weight at all the gradient is 0, not NaN.
    if (reduction == Reduction::mean) neg_w = total != 0 ? neg_w / total : zeros_like(neg_w);
    autograd::record("nll_loss", {x}, {loss}, {}, [=](const autograd::Ctx& c) {
      // grad x [M, C]: row i gets neg_w[i] * g (g [M] for none, a scalar otherwise) at column t_i.
      Tensor coef = (neg_w * c.g(0)).unsqueeze(1);  // [M, 1]
      return TensorList{scatter(zeros({M, C}, coef.dtype()), 1, safe_t, coef)};
    });
  }
  return loss;
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
  if (can_fuse_nll(x, o.weight)) {  // Note [Fused nll_loss]
    Tensor loss = nll_fused(x, t, o.weight, o.ignore_index, o.reduction);
    return o.reduction == Reduction::none ? loss.reshape(target.sizes()) : loss;
  }
  Tensor ignored = eq(t, scalar_tensor(o.ignore_index, kInt64));
  Tensor safe_t = masked_fill(t, ignored, 0);
  if (t.numel() > 0) {
    NoGradGuard ng;
    Tensor bad = logical_and(logical_not(ignored), logical_or(lt(t, scalar_tensor(0, kInt64)), ge(t, scalar_tensor(C, kInt64))));
    if (bad.any().item<bool>()) {
      int64_t v = masked_select(t, bad)[0].item<int64_t>();
      HPML_FAIL("nll_loss: target ", v, " is out of bounds for ", C, " classes");
    }
  }
  Tensor w = o.weight.defined() ? o.weight.to(x.dtype()).index_select(0, safe_t) : ones({t.numel()}, x.dtype());
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
