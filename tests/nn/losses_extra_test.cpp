// The margin, embedding, likelihood and CTC losses: f64 finite-difference gradcheck of every
// differentiable input for each reduction, hand-computed values (PyTorch's documented examples
// and small CTC alignments counted by hand), and the errors they raise. Parity with libtorch is
// in tests/parity/nn_losses_extra_parity_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

namespace F = nn::functional;
using Fn = std::function<Tensor(const TensorList&, F::Reduction)>;

const F::Reduction kReductions[] = {F::Reduction::none, F::Reduction::mean, F::Reduction::sum};

// gradcheck of fn over `in` (the floating ones require grad) for every reduction.
void expect_gradcheck(const std::string& what, const Fn& fn, TensorList in) {
  for (Tensor& x : in)
    if (x.is_floating_point()) x = x.to(kFloat64).requires_grad_(true);
  for (F::Reduction r : kReductions) {
    SCOPED_TRACE(what + ", reduction " + std::to_string(static_cast<int>(r)));
    autograd::GradcheckResult res = autograd::gradcheck(
        [&](const TensorList& x) { return TensorList{fn(x, r)}; }, in, {.raise_exception = false});
    EXPECT_TRUE(res.ok) << res.message;
  }
}

// Uniform in [lo, hi), f64.
Tensor u(Generator& g, std::vector<int64_t> shape, double lo, double hi) {
  return uniform(shape, lo, hi, &g, kFloat64);
}
Tensor pm1(std::vector<double> v) { return tensor(v, kFloat64); }

TEST(LossGradcheck, HingeMarginRankingSoftMargin) {
  Generator g(1);
  // Values kept off the kinks: margin - x != 0 (margin 1), -t (x1 - x2) + margin != 0.
  Tensor x = tensor({0.3, -0.7, 1.6, 0.2, -1.2, 0.5}, kFloat64), t = pm1({1, -1, -1, 1, -1, 0});
  expect_gradcheck("hinge_embedding_loss",
                   [](const TensorList& a, F::Reduction r) {
                     return F::hinge_embedding_loss(a[0], a[1], {.reduction = r, .margin = 1.0});
                   },
                   {x, t});
  Tensor x1 = u(g, {6}, -1, 1), diff = tensor({0.4, -0.3, 0.9, -1.1, 0.25, -0.6}, kFloat64);
  expect_gradcheck("margin_ranking_loss",
                   [](const TensorList& a, F::Reduction r) {
                     return F::margin_ranking_loss(a[0], a[1], a[2], {.reduction = r, .margin = 0.1});
                   },
                   {x1, x1 - diff, pm1({1, -1, -1, 1, 1, -1})});
  expect_gradcheck("soft_margin_loss",
                   [](const TensorList& a, F::Reduction r) {
                     return F::soft_margin_loss(a[0], a[1], {.reduction = r});
                   },
                   {u(g, {3, 4}, -2, 2), u(g, {3, 4}, -1, 1)});
}

TEST(LossGradcheck, TripletAndCosineEmbedding) {
  Generator g(2);
  for (bool swap : {false, true})
    for (double p : {1.0, 2.0, 3.0})
      expect_gradcheck("triplet_margin_loss p=" + std::to_string(p) + (swap ? " swap" : ""),
                       [=](const TensorList& a, F::Reduction r) {
                         return F::triplet_margin_loss(a[0], a[1], a[2],
                                                       {.reduction = r, .margin = 2.0, .p = p, .swap = swap});
                       },
                       {u(g, {4, 3}, -1, 1), u(g, {4, 3}, -1, 1), u(g, {4, 3}, -1, 1)});
  for (double margin : {0.0, -0.5})
    expect_gradcheck("cosine_embedding_loss margin=" + std::to_string(margin),
                     [=](const TensorList& a, F::Reduction r) {
                       return F::cosine_embedding_loss(a[0], a[1], a[2], {.reduction = r, .margin = margin});
                     },
                     {u(g, {4, 3}, -1, 1), u(g, {4, 3}, -1, 1), pm1({1, -1, 1, -1})});
}

TEST(LossGradcheck, PoissonAndGaussianNLL) {
  Generator g(3);
  for (bool log_input : {true, false})
    for (bool full : {false, true})
      expect_gradcheck(std::string("poisson_nll_loss") + (log_input ? " log_input" : "") + (full ? " full" : ""),
                       [=](const TensorList& a, F::Reduction r) {
                         return F::poisson_nll_loss(a[0], a[1], {.reduction = r, .log_input = log_input, .full = full});
                       },
                       {u(g, {3, 4}, 0.2, 2.0), tensor({0.3, 1.5, 2.5, 0.7, 3.2, 1.2, 0.5, 2.1, 1.8, 0.1, 4.0, 2.9},
                                                       kFloat64).view({3, 4})});
  for (std::vector<int64_t> vs : {std::vector<int64_t>{4, 3}, std::vector<int64_t>{4}, std::vector<int64_t>{4, 1}})
    for (bool full : {false, true})
      expect_gradcheck("gaussian_nll_loss, " + std::to_string(vs.size()) + "-d var" + (full ? ", full" : ""),
                       [=](const TensorList& a, F::Reduction r) {
                         return F::gaussian_nll_loss(a[0], a[1], a[2], {.reduction = r, .full = full});
                       },
                       {u(g, {4, 3}, -1, 1), u(g, {4, 3}, -1, 1), u(g, vs, 0.3, 2.0)});
}

TEST(LossGradcheck, MultiMarginAndMultiLabelMargin) {
  Generator g(4);
  // Logits 0.37 apart, so no margin - x[y] + x[i] lies near 0.
  Tensor x = (randperm(15, &g).to(kFloat64) * 0.37 - 2.5).view({3, 5});
  for (int64_t p : {1, 2})
    for (bool weight : {false, true})
      expect_gradcheck("multi_margin_loss p=" + std::to_string(p) + (weight ? " weight" : ""),
                       [=](const TensorList& a, F::Reduction r) {
                         Tensor w = weight ? tensor({0.5, 1.0, 2.0, 1.5, 0.7}, kFloat64) : Tensor();
                         return F::multi_margin_loss(a[0], a[1], {.reduction = r, .p = p, .margin = 1.0, .weight = w});
                       },
                       {x, tensor({4, 0, 2})});
  expect_gradcheck("multilabel_margin_loss",
                   [](const TensorList& a, F::Reduction r) {
                     return F::multilabel_margin_loss(a[0], a[1], {.reduction = r});
                   },
                   {x, tensor({{3, 0, -1, 1, 1}, {1, 1, 4, -1, 0}, {-1, 2, 2, 2, 2}})});
}

TEST(LossGradcheck, CtcTrueDerivativeOfAnyLogProbs) {
  // Not normalized log-probabilities: the gradient is d loss / d log_probs itself (Note [ctc_loss
  // is written directly]), so finite differences of arbitrary inputs agree with it.
  Generator g(5);
  Tensor lp = u(g, {5, 3, 4}, -2.5, -0.2);
  for (bool zero_infinity : {false, true})
    expect_gradcheck(std::string("ctc_loss") + (zero_infinity ? " zero_infinity" : ""),
                     [=](const TensorList& a, F::Reduction r) {
                       // Sample 2 (target 3, 3, 3 in 4 frames) is impossible: with zero_infinity it gives 0.
                       Tensor il = zero_infinity ? tensor({5, 3, 4}) : tensor({5, 3, 5});
                       return F::ctc_loss(a[0], a[1], il, tensor({2, 1, 3}),
                                          {.reduction = r, .zero_infinity = zero_infinity});
                     },
                     {lp, tensor({{1, 1, 0}, {2, 0, 0}, {3, 3, 3}})});
  expect_gradcheck("ctc_loss concatenated, blank 3",
                   [](const TensorList& a, F::Reduction r) {
                     return F::ctc_loss(a[0], a[1], tensor({5, 4, 5}), tensor({3, 0, 2}), {.reduction = r, .blank = 3});
                   },
                   {lp, tensor({0, 2, 0, 1, 1})});
}

TEST(LossValues, HandComputed) {
  // PyTorch's documentation example for multilabel_margin_loss: 0.85.
  Tensor x = tensor({{0.1, 0.2, 0.4, 0.8}}, kFloat64);
  EXPECT_NEAR(F::multilabel_margin_loss(x, tensor({{3, 0, -1, 1}})).item<double>(), 0.85, 1e-12);
  // multi_margin: x = [0.1, 0.2, 0.4, 0.8], y = 3: (max(0, 1 - 0.7) + (1 - 0.6) + (1 - 0.4)) / 4 = 0.325.
  EXPECT_NEAR(F::multi_margin_loss(x, tensor({3})).item<double>(), 0.325, 1e-12);
  // CTC, one frame, target [1]: -log p(1).
  Tensor lp1 = tensor({{{std::log(0.3), std::log(0.7)}}}, kFloat64);
  Tensor l1 = F::ctc_loss(lp1, tensor({{1}}), tensor({1}), tensor({1}), {.reduction = F::Reduction::sum});
  EXPECT_NEAR(l1.item<double>(), -std::log(0.7), 1e-12);
  // Two frames, target [1]: alignments (1, 1), (b, 1), (1, b).
  const double p0b = 0.4, p01 = 0.6, p1b = 0.2, p11 = 0.5;
  Tensor lp2 = tensor({{{std::log(p0b), std::log(p01)}}, {{std::log(p1b), std::log(p11)}}}, kFloat64);
  const double want = -std::log(p01 * p11 + p0b * p11 + p01 * p1b);
  EXPECT_NEAR(F::ctc_loss(lp2, tensor({1}), tensor({2}), tensor({1}), {.reduction = F::Reduction::none})[0]
                  .item<double>(), want, 1e-12);
  // mean divides by the target length: target [1, 1] needs (1, b, 1) in three frames exactly.
  Tensor lp3 = log(full({3, 1, 2}, 0.5, kFloat64));
  EXPECT_NEAR(F::ctc_loss(lp3, tensor({{1, 1}}), tensor({3}), tensor({2})).item<double>(), 3 * std::log(2.0) / 2,
              1e-12);
  // An impossible alignment: inf, or 0 with zero_infinity.
  EXPECT_TRUE(std::isinf(F::ctc_loss(lp3, tensor({{1, 1}}), tensor({2}), tensor({2})).item<double>()));
  EXPECT_EQ(F::ctc_loss(lp3, tensor({{1, 1}}), tensor({2}), tensor({2}), {.zero_infinity = true}).item<double>(), 0.0);
}

TEST(LossErrors, ShapesTargetsAndOptions) {
  Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_HPML_ERROR(F::hinge_embedding_loss(x, zeros({3}, kFloat64)), "hinge_embedding_loss", "[3]", "[2, 3]");
  EXPECT_HPML_ERROR(F::margin_ranking_loss(x, x, zeros({2}, kFloat64)), "margin_ranking_loss", "target");
  EXPECT_HPML_ERROR(F::triplet_margin_loss(x, zeros({3}, kFloat64), x), "triplet_margin_loss", "[3]");
  EXPECT_HPML_ERROR(F::cosine_embedding_loss(x, x, zeros({2, 1}, kFloat64)), "cosine_embedding_loss", "0-d or 1-d");
  EXPECT_HPML_ERROR(F::cosine_embedding_loss(x, x, zeros({}, kFloat64)), "cosine_embedding_loss", "1-d inputs");
  EXPECT_HPML_ERROR(F::gaussian_nll_loss(x, x, zeros({3}, kFloat64)), "gaussian_nll_loss", "var", "[3]");
  EXPECT_HPML_ERROR(F::gaussian_nll_loss(x, x, full({2, 3}, -1.0, kFloat64)), "gaussian_nll_loss", "negative");
  EXPECT_HPML_ERROR(F::multi_margin_loss(x, tensor({0, 3})), "multi_margin_loss", "3");
  EXPECT_HPML_ERROR(F::multi_margin_loss(x, tensor({0, 1}), {.p = 3}), "multi_margin_loss", "p = 1 and p = 2");
  EXPECT_HPML_ERROR(F::multilabel_margin_loss(x, tensor({{0, 5, -1}, {1, -1, 0}})), "multilabel_margin_loss", "5");
  EXPECT_HPML_ERROR(F::poisson_nll_loss(x, zeros({2}, kFloat64)), "poisson_nll_loss", "[2]");
}

TEST(LossErrors, Ctc) {
  Tensor lp = zeros({4, 2, 3}, kFloat64);
  Tensor t = tensor({{1, 2}, {2, 2}}), il = tensor({4, 4}), tl = tensor({2, 1});
  EXPECT_HPML_ERROR(F::ctc_loss(lp, t, tensor({5, 4}), tl), "ctc_loss", "input_lengths[0] = 5", "T = 4");
  EXPECT_HPML_ERROR(F::ctc_loss(lp, t, il, tensor({3, 1})), "ctc_loss", "target_lengths[0] = 3");
  EXPECT_HPML_ERROR(F::ctc_loss(lp, tensor({1, 2, 2, 1}), il, tl), "ctc_loss", "4", "sum to 3");
  EXPECT_HPML_ERROR(F::ctc_loss(lp, tensor({{1, 3}, {2, 2}}), il, tl), "ctc_loss", "label 3");
  EXPECT_HPML_ERROR(F::ctc_loss(lp, t, il, tl, {.blank = 3}), "ctc_loss", "blank 3");
  EXPECT_HPML_ERROR(F::ctc_loss(lp, t, tensor({4}), tl), "ctc_loss", "one entry per sample");
  EXPECT_HPML_ERROR(F::ctc_loss(zeros({4, 3}, kFloat64), t, il, tl), "ctc_loss", "1-d targets");
  EXPECT_HPML_ERROR(F::ctc_loss(lp, t, il.to(kFloat64), tl), "ctc_loss", "integer");
  // The backward is not differentiable: create_graph raises instead of giving a wrong second derivative.
  Tensor x = zeros({4, 2, 3}, kFloat64).requires_grad_(true);
  Tensor l = F::ctc_loss(log_softmax(x, 2), t, il, tl);
  autograd::GradOptions create_graph;
  create_graph.create_graph = true;
  EXPECT_HPML_ERROR(autograd::grad({l}, {x}, create_graph), "ctc_loss", "double backward");
}

}  // namespace
}  // namespace hpml
