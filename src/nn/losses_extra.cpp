// nn::functional's margin, embedding and likelihood losses, composed from ops (autograd follows
// the parts): hinge_embedding, margin_ranking, triplet_margin, cosine_embedding, poisson_nll,
// gaussian_nll, multi_margin, soft_margin and multilabel_margin. ctc_loss is in ctc_loss.cpp.
#include <cmath>
#include <numbers>
#include <vector>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/nn/functional.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/checks.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "nn/loss_reduce.h"

namespace hpml::nn::functional {

namespace {

using detail::reduce;

void check_defined(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts) HPML_CHECK(t->defined(), op, ": every input must be defined");
}

// The elementwise losses take a target of the input's shape (no broadcasting, as in loss.cpp).
void check_same_shape(const char* op, const Tensor& input, const Tensor& other, const char* what) {
  HPML_CHECK(input.defined() && other.defined(), op, ": input and ", what, " must be defined");
  ops::check_same_device(op, {{"input", &input}, {what, &other}});
  HPML_CHECK(input.is_floating_point(), op, ": input must be floating point, got ", input.dtype());
  HPML_CHECK(input.sizes() == other.sizes(), op, ": ", what, " shape ", other.sizes(), " differs from input shape ",
             input.sizes(), "\nhint: reshape it; broadcasting here silently gives the wrong loss");
}

// [N, C] rows (or one [C] row) and their i64 targets: the shared checks of the margin losses.
// Returns input as [N, C].
Tensor rows_of(const char* op, const Tensor& input) {
  HPML_CHECK(input.defined(), op, ": input must be defined");
  HPML_CHECK(input.is_floating_point(), op, ": input must be floating point, got ", input.dtype());
  HPML_CHECK(input.dim() == 1 || input.dim() == 2, op, ": input must be [N, C] or [C], got shape ", input.sizes());
  return input.dim() == 1 ? input.unsqueeze(0) : input;
}

}  // namespace

Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, HingeEmbeddingOptions o) {
  HPML_RECORD_OP("hinge_embedding_loss", input, target);
  check_same_shape("hinge_embedding_loss", input, target, "target");
  // PyTorch's form: where(target != 1, max(0, margin - x), 0) + where(target != -1, x, 0), so a
  // target other than +-1 gets both terms.
  Tensor margin_term = clamp_min(o.margin - input, 0);
  return reduce(where(target.ne(1), margin_term, 0.0) + where(target.ne(-1), input, 0.0), o.reduction);
}

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           MarginRankingOptions o) {
  HPML_RECORD_OP("margin_ranking_loss", input1, input2, target);
  check_same_shape("margin_ranking_loss", input1, input2, "input2");
  ops::check_same_device("margin_ranking_loss", {{"input1", &input1}, {"input2", &input2}, {"target", &target}});
  check_same_shape("margin_ranking_loss", input1, target, "target");
  return reduce(clamp_min(-target * (input1 - input2) + o.margin, 0), o.reduction);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           TripletMarginOptions o) {
  HPML_RECORD_OP("triplet_margin_loss", anchor, positive, negative);
  check_defined("triplet_margin_loss", {&anchor, &positive, &negative});
  ops::check_same_device("triplet_margin_loss", {{"anchor", &anchor}, {"positive", &positive}, {"negative", &negative}});
  HPML_CHECK(anchor.is_floating_point(), "triplet_margin_loss: anchor must be floating point, got ", anchor.dtype());
  HPML_CHECK(anchor.dim() == positive.dim() && anchor.dim() == negative.dim() && anchor.dim() > 0,
             "triplet_margin_loss: anchor, positive and negative must have one number of dims (at least 1), got ",
             "shapes ", anchor.sizes(), ", ", positive.sizes(), " and ", negative.sizes());
  HPML_CHECK(o.p > 0, "triplet_margin_loss: p must be positive, got ", o.p);
  // PyTorch's pairwise_distance: ||x - y + eps||_p over the last dim.
  auto dist = [&](const Tensor& x, const Tensor& y) { return norm(x - y + o.eps, o.p, {-1}); };
  Tensor d_pos = dist(anchor, positive), d_neg = dist(anchor, negative);
  if (o.swap) d_neg = minimum(d_neg, dist(positive, negative));
  return reduce(clamp_min(d_pos - d_neg + o.margin, 0), o.reduction);
}

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             CosineEmbeddingOptions o) {
  HPML_RECORD_OP("cosine_embedding_loss", input1, input2, target);
  check_defined("cosine_embedding_loss", {&input1, &input2, &target});
  ops::check_same_device("cosine_embedding_loss", {{"input1", &input1}, {"input2", &input2}, {"target", &target}});
  check_same_shape("cosine_embedding_loss", input1, input2, "input2");
  const int64_t d = target.dim();
  HPML_CHECK(d <= 1, "cosine_embedding_loss: target must be 0-d or 1-d, got shape ", target.sizes());
  HPML_CHECK(input1.dim() == d + 1, "cosine_embedding_loss: a ", d, "-d target takes ", d + 1, "-d inputs, got shape ",
             input1.sizes());
  if (d == 1)
    HPML_CHECK(target.sizes()[0] == input1.sizes()[0], "cosine_embedding_loss: target shape ", target.sizes(),
               " does not match the inputs' batch of ", input1.sizes()[0]);
  // cos = <x1, x2> / sqrt((|x1|^2 + eps) (|x2|^2 + eps)), eps = 1e-12 as PyTorch.
  constexpr double eps = 1e-12;
  Tensor prod = (input1 * input2).sum({d});
  Tensor cos = prod / ((input1 * input1).sum({d}) + eps).mul((input2 * input2).sum({d}) + eps).sqrt();
  Tensor pos = 1 - cos, neg = clamp_min(cos - o.margin, 0);
  return reduce(where(target.eq(1), pos, 0.0) + where(target.eq(-1), neg, 0.0), o.reduction);
}

Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, PoissonNLLOptions o) {
  HPML_RECORD_OP("poisson_nll_loss", input, target);
  check_same_shape("poisson_nll_loss", input, target, "target");
  Tensor loss = o.log_input ? exp(input) - target * input : input - target * log(input + o.eps);
  if (o.full) {
    // Stirling's approximation of log(target!), only where target > 1.
    Tensor stirling = target * log(target) - target + 0.5 * log(2 * std::numbers::pi * target);
    loss = loss + masked_fill(stirling, target.le(1), 0.0);
  }
  return reduce(loss, o.reduction);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, GaussianNLLOptions o) {
  HPML_RECORD_OP("gaussian_nll_loss", input, target, var);
  check_same_shape("gaussian_nll_loss", input, target, "target");
  HPML_CHECK(var.defined(), "gaussian_nll_loss: var must be defined");
  ops::check_same_device("gaussian_nll_loss", {{"input", &input}, {"target", &target}, {"var", &var}});
  // var: the input's shape, or one variance per row: the shape without its last dim or with a
  // last dim of 1.
  Tensor v = var;
  if (var.sizes() != input.sizes()) {
    auto leading = [](IntArrayRef s) { return IntArrayRef(s.data(), s.size() - 1); };  // all dims but the last
    const bool lead = input.dim() >= 1 && var.sizes() == leading(input.sizes());
    const bool last1 = input.dim() >= 1 && var.dim() == input.dim() && var.sizes().back() == 1 &&
                       leading(var.sizes()) == leading(input.sizes());
    HPML_CHECK(lead || last1, "gaussian_nll_loss: var of shape ", var.sizes(), " must have the input's shape ",
               input.sizes(), ", or that shape without its last dim or with a last dim of 1");
    if (lead) v = var.unsqueeze(-1);
  }
  {
    NoGradGuard ng;
    HPML_CHECK(v.numel() == 0 || v.amin().item<double>() >= 0, "gaussian_nll_loss: var has negative entries");
  }
  // max(var, eps) in the forward, the identity in the backward (PyTorch clamps under no_grad).
  Tensor vc;
  {
    NoGradGuard ng;
    vc = clamp_min(v, o.eps);
  }
  if (autograd::should_record(v))
    autograd::record("gaussian_nll_loss", {v}, {vc}, {}, [](const autograd::Ctx& c) { return TensorList{c.g(0)}; });
  Tensor loss = 0.5 * (log(vc) + (input - target).square() / vc);
  if (o.full) loss = loss + 0.5 * std::log(2 * std::numbers::pi);
  return reduce(loss, o.reduction);
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, MultiMarginOptions o) {
  HPML_RECORD_OP("multi_margin_loss", input, target);
  Tensor x = rows_of("multi_margin_loss", input);
  ops::check_same_device("multi_margin_loss", {{"input", &input}, {"target", &target}, {"weight", &o.weight}});
  const int64_t N = x.sizes()[0], C = x.sizes()[1];
  HPML_CHECK(target.defined() && target.dtype() == kInt64, "multi_margin_loss: target must hold class indices (i64)");
  HPML_CHECK(target.numel() == N && target.dim() <= 1, "multi_margin_loss: expected ", N, " targets for input of ",
             "shape ", input.sizes(), ", got shape ", target.sizes());
  HPML_CHECK(o.p == 1 || o.p == 2, "multi_margin_loss: only p = 1 and p = 2 are supported, got ", o.p);
  if (o.weight.defined())
    HPML_CHECK(o.weight.dim() == 1 && o.weight.sizes()[0] == C, "multi_margin_loss: weight must have shape [", C,
               "], got ", o.weight.sizes());
  const Tensor t = target.reshape({-1}).contiguous();
  const Tensor th = t.cpu();  // host read: the targets, once, for the bounds check
  for (int64_t i = 0; i < N; ++i) {
    const int64_t y = th.data_ptr<int64_t>()[i];
    HPML_CHECK(y >= 0 && y < C, "multi_margin_loss: target ", y, " is not a class of ", C);
  }
  Tensor onehot = one_hot(t, C).eq(1);  // [N, C]: true at each row's target
  // [N, C]: max(0, margin - x[y] + x[i]) (^2 for p = 2), times weight[y], without i = y.
  Tensor z = clamp_min(o.margin - x.gather(1, t.unsqueeze(1)) + x, 0);
  if (o.p == 2) z = z.square();
  if (o.weight.defined()) z = z * o.weight.to(x.dtype()).index_select(0, t).unsqueeze(1);
  Tensor loss = masked_fill(z, onehot, 0.0).sum({1}) / static_cast<double>(C);
  return reduce(loss.reshape(target.sizes()), o.reduction);
}

Tensor soft_margin_loss(const Tensor& input, const Tensor& target, LossOptions o) {
  HPML_RECORD_OP("soft_margin_loss", input, target);
  check_same_shape("soft_margin_loss", input, target, "target");
  return reduce(log1p(exp(-input * target)), o.reduction);  // PyTorch's formula (overflows as it does)
}

Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target, LossOptions o) {
  HPML_RECORD_OP("multilabel_margin_loss", input, target);
  Tensor x = rows_of("multilabel_margin_loss", input);
  ops::check_same_device("multilabel_margin_loss", {{"input", &input}, {"target", &target}});
  HPML_CHECK(target.defined() && target.dtype() == kInt64, "multilabel_margin_loss: target must hold class indices ",
             "(i64)");
  HPML_CHECK(target.sizes() == input.sizes(), "multilabel_margin_loss: target shape ", target.sizes(),
             " differs from input shape ", input.sizes());
  const int64_t N = x.sizes()[0], C = x.sizes()[1];
  // Each row's targets are its entries up to the first -1. count[n][j]: how often j is one of
  // them (a repeated target counts again, as in PyTorch); other[n][i]: i is not a target.
  std::vector<double> count(static_cast<size_t>(N * C), 0.0), other(static_cast<size_t>(N * C), 1.0);
  const Tensor tc = target.reshape({N, C}).contiguous().cpu();  // host read: the targets, once
  const int64_t* tp = tc.data_ptr<int64_t>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < C; ++k) {
      const int64_t j = tp[n * C + k];
      HPML_CHECK(j >= -1 && j < C, "multilabel_margin_loss: target ", j, " is not a class of ", C, " (or -1)");
      if (j < 0) break;
      count[static_cast<size_t>(n * C + j)] += 1;
      other[static_cast<size_t>(n * C + j)] = 0;
    }
  Tensor cnt = tensor(count, kFloat64).reshape({N, C}).to(x.dtype()).to(x.device());
  Tensor oth = tensor(other, kFloat64).reshape({N, C}).to(x.dtype()).to(x.device());
  // [N, C (target j), C (other i)]: max(0, 1 - x[j] + x[i]) weighted by count[j] * other[i].
  Tensor pair = clamp_min(1 - x.unsqueeze(2) + x.unsqueeze(1), 0) * (cnt.unsqueeze(2) * oth.unsqueeze(1));
  Tensor loss = pair.sum({1, 2}) / static_cast<double>(C);
  return reduce(input.dim() == 1 ? loss.reshape({}) : loss, o.reduction);
}

}  // namespace hpml::nn::functional
