// Loss edge cases next to libtorch: a batch where every target is ignored (mean is 0/0 = NaN in
// both; compared NaN-aware, gradients included), label smoothing with ignore_index and weight
// together, extreme logits (+-1e4: finite values and gradients, equal to PyTorch's), and BCE at
// probabilities exactly 0 and 1 (log clamped at -100).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "parity/nn_loss_parity.h"

namespace hpml {
namespace {

using namespace nnparity;  // NOLINT
using TFTensor = torch::Tensor;

LossCase cross_entropy_case(const std::string& name, std::function<LossData(DType, Generator&)> data, int64_t ignore,
                            double smoothing) {
  return LossCase{name, std::move(data),
                  [=](const LossData& d, int r, bool m) {
                    return call_loss<nn::CrossEntropyLoss>(
                        m, F::cross_entropy, d,
                        F::CrossEntropyOptions{.reduction = hp_reduction(r), .weight = d.weight, .ignore_index = ignore, .label_smoothing = smoothing});
                  },
                  [=](const TFTensor& x, const TFTensor& y, const LossData& d, int r) {
                    return TF::cross_entropy(
                        x, y, torch_reduction(TF::CrossEntropyFuncOptions().weight(T_or_none(d.weight)).ignore_index(ignore).label_smoothing(smoothing), r));
                  }};
}

LossCase nll_case(const std::string& name, std::function<LossData(DType, Generator&)> data, int64_t ignore) {
  return LossCase{name, std::move(data),
                  [=](const LossData& d, int r, bool m) {
                    return call_loss<nn::NLLLoss>(m, F::nll_loss, d, F::NLLOptions{.reduction = hp_reduction(r), .weight = d.weight, .ignore_index = ignore});
                  },
                  [=](const TFTensor& x, const TFTensor& y, const LossData& d, int r) {
                    return TF::nll_loss(x, y, torch_reduction(TF::NLLLossFuncOptions().weight(T_or_none(d.weight)).ignore_index(ignore), r));
                  }};
}

// Logits of `shape` and targets all equal to `ignore`; weight [C] if asked.
std::function<LossData(DType, Generator&)> all_ignored(std::vector<int64_t> shape, int64_t ignore, bool weight) {
  return [=](DType dt, Generator& g) {
    std::vector<int64_t> tshape = shape;
    tshape.erase(tshape.begin() + 1);
    LossData d{randn(shape, &g, dt), full(tshape, ignore, kInt64), {}, {}};
    if (weight) d.weight = uniform({shape[1]}, 0.5, 2.0, &g, dt);
    return d;
  };
}

// Logits [6, 4], targets with class 2 (ignored by the cross_entropy case) at rows 1 and 4, weight [4].
LossData classes_for_double_backward(DType dt, Generator& g) {
  LossData d{randn({6, 4}, &g, dt) * 2.0, randint(0, 4, {6}, &g), uniform({4}, 0.5, 2.0, &g, dt), {}};
  d.target.data_ptr<int64_t>()[1] = 2;
  d.target.data_ptr<int64_t>()[4] = 2;
  return d;
}

bool all_finite(const torch::Tensor& t) { return t.defined() && torch::isfinite(t).all().item<bool>(); }

TEST(LossEdgeCases, EveryTargetIgnoredGivesNaNMeanAndTheSameGradientsAsPyTorch) {
  std::vector<LossCase> cases = {
      cross_entropy_case("CrossEntropyLoss_all_ignored", all_ignored({4, 5}, -100, false), -100, 0.0),
      cross_entropy_case("CrossEntropyLoss_all_ignored_weight", all_ignored({4, 5}, 2, true), 2, 0.0),
      cross_entropy_case("CrossEntropyLoss_all_ignored_label_smoothing", all_ignored({4, 5}, -100, false), -100, 0.1),
      cross_entropy_case("CrossEntropyLoss_all_ignored_weight_label_smoothing", all_ignored({4, 5}, 1, true), 1, 0.2),
      cross_entropy_case("CrossEntropyLoss_all_ignored_spatial", all_ignored({2, 3, 2, 2}, -100, true), -100, 0.0),
      nll_case("NLLLoss_all_ignored", all_ignored({4, 5}, -100, false), -100),
      nll_case("NLLLoss_all_ignored_weight", all_ignored({4, 5}, 0, true), 0),
  };
  for (const LossCase& c : cases)
    for (DType dt : {kFloat32, kFloat64})
      for (int r : {0, 1, 2})
        for (bool module : {false, true}) {
          LossResult res = run_loss_case(c, dt, r, module);
          if (r != 1 || !res.value.defined()) continue;
          // The mean over no targets is 0/0.
          EXPECT_TRUE(std::isnan(res.torch_value.item<double>())) << c.name << ": PyTorch's mean is NaN";
          EXPECT_TRUE(std::isnan(res.value.item<double>())) << c.name << " (" << dtype_name(dt) << "): hpml's mean is "
                                                            << res.value.item<double>() << ", PyTorch's NaN";
        }
}

TEST(LossEdgeCases, LabelSmoothingWithIgnoreIndexAndWeightTogether) {
  auto data = [](std::vector<int64_t> shape, int64_t ignore) {
    return [=](DType dt, Generator& g) {
      const int64_t C = shape[1];
      std::vector<int64_t> tshape = shape;
      tshape.erase(tshape.begin() + 1);
      LossData d{randn(shape, &g, dt) * 2.0, randint(0, C, tshape, &g), uniform({C}, 0.2, 3.0, &g, dt), {}};
      for (int64_t i = 0; i < d.target.numel(); i += 3) d.target.data_ptr<int64_t>()[i] = ignore;  // a third ignored
      return d;
    };
  };
  std::vector<LossCase> cases = {
      cross_entropy_case("CrossEntropyLoss_smoothing_0_1_ignore_2_weight", data({9, 4}, 2), 2, 0.1),
      cross_entropy_case("CrossEntropyLoss_smoothing_0_5_ignore_minus_100_weight", data({9, 4}, -100), -100, 0.5),
      cross_entropy_case("CrossEntropyLoss_smoothing_1_ignore_0_weight", data({9, 4}, 0), 0, 1.0),
      cross_entropy_case("CrossEntropyLoss_spatial_smoothing_0_3_ignore_3_weight", data({2, 4, 3, 3}, 3), 3, 0.3),
  };
  for (const LossCase& c : cases)
    for (DType dt : {kFloat32, kFloat64})
      for (int r : {0, 1, 2})
        for (bool module : {false, true})
          for (uint64_t seed : {1, 2, 3}) run_loss_case(c, dt, r, module, seed);
}

// Values from a list, as a [rows, cols] tensor of dtype dt.
LossData fixed(std::vector<int64_t> shape, std::vector<double> input, Tensor target, DType dt) {
  return {make(shape, input, dt), target, {}, {}};
}

TEST(LossEdgeCases, ExtremeLogitsGiveFiniteValuesAndGradientsEqualToPyTorch) {
  const std::vector<double> x = {1e4, -1e4, 0, 3, -2,    //
                                 -1e4, -1e4, 1e4, 1e4, 0,  //
                                 0, 0, 0, -1e4, 0,         //
                                 -1e4, 5, 1e4, -1e4, 1e4};
  auto indices = [x](DType dt, Generator&) {
    // Targets at a +1e4 logit (loss 0 or log 2), at a -1e4 one (loss 2e4), and at 0 in a row with no large logit.
    return fixed({4, 5}, x, tensor(std::vector<int64_t>{1, 7 % 5, 2, 0}), dt);
  };
  auto indices_weight = [indices](DType dt, Generator& g) {
    LossData d = indices(dt, g);
    d.weight = make({5}, {0.5, 2.0, 1.0, 1.5, 0.25}, dt);
    return d;
  };
  auto probs = [x](DType dt, Generator& g) {
    Tensor p = rand({4, 5}, &g, dt) + 0.1;
    return fixed({4, 5}, x, p / p.sum({1}, true), dt);
  };
  auto binary = [x](DType dt, Generator&) {
    std::vector<double> y;
    for (size_t i = 0; i < x.size(); ++i) y.push_back(i % 3 == 0 ? 0.0 : i % 3 == 1 ? 1.0 : 0.5);
    return fixed({4, 5}, x, make({4, 5}, y, dt), dt);
  };
  auto binary_pos_weight = [binary](DType dt, Generator& g) {
    LossData d = binary(dt, g);
    d.pos_weight = make({5}, {0.5, 2.0, 1.0, 3.0, 0.1}, dt);
    d.weight = make({5}, {1.0, 0.5, 2.0, 1.0, 1.5}, dt);
    return d;
  };
  auto bcel = [](const std::string& name, std::function<LossData(DType, Generator&)> data) {
    return LossCase{name, std::move(data),
                    [](const LossData& d, int r, bool m) {
                      return call_loss<nn::BCEWithLogitsLoss>(
                          m, F::binary_cross_entropy_with_logits, d,
                          F::BCEOptions{.reduction = hp_reduction(r), .weight = d.weight, .pos_weight = d.pos_weight});
                    },
                    [](const TFTensor& xt, const TFTensor& y, const LossData& d, int r) {
                      return TF::binary_cross_entropy_with_logits(
                          xt, y,
                          torch_reduction(TF::BinaryCrossEntropyWithLogitsFuncOptions().weight(T_or_none(d.weight)).pos_weight(T_or_none(d.pos_weight)), r));
                    },
                    true};
  };
  std::vector<LossCase> cases = {
      cross_entropy_case("CrossEntropyLoss_extreme_logits", indices, -100, 0.0),
      cross_entropy_case("CrossEntropyLoss_extreme_logits_weight_label_smoothing", indices_weight, -100, 0.1),
      cross_entropy_case("CrossEntropyLoss_extreme_logits_probabilities", probs, -100, 0.0),
      cross_entropy_case("CrossEntropyLoss_extreme_logits_probabilities_label_smoothing", probs, -100, 0.2),
      bcel("BCEWithLogitsLoss_extreme_logits", binary),
      bcel("BCEWithLogitsLoss_extreme_logits_pos_weight_weight", binary_pos_weight),
  };
  for (const LossCase& c : cases)
    for (DType dt : {kFloat32, kFloat64})
      for (int r : {0, 1, 2})
        for (bool module : {false, true}) {
          LossResult res = run_loss_case(c, dt, r, module);
          if (!res.value.defined()) continue;
          const std::string what = c.name + " (" + dtype_name(dt) + ", reduction=" + reduction_name(r) + ")";
          EXPECT_TRUE(all_finite(T(res.value))) << what << ": value not finite: " << res.value;
          EXPECT_TRUE(all_finite(res.torch_value)) << what << ": PyTorch's value not finite";
          EXPECT_TRUE(res.input_grad.defined() && all_finite(T(res.input_grad))) << what << ": gradient not finite";
          EXPECT_TRUE(all_finite(res.torch_input_grad)) << what << ": PyTorch's gradient not finite";
        }
}

TEST(LossEdgeCases, BCEAtProbabilitiesExactlyZeroAndOneIsClampedLikePyTorch) {
  // Every (input, target) pair of {0, 1, 0.5, 0.25} x {0, 1, 0.5}: log(0) is clamped at -100 in the value,
  // and the gradient (x - y) / max(x (1 - x), 1e-12) is finite.
  auto data = [](bool weight) {
    return [weight](DType dt, Generator& g) {
      std::vector<double> x, y;
      for (double xi : {0.0, 1.0, 0.5, 0.25})
        for (double yi : {0.0, 1.0, 0.5}) x.push_back(xi), y.push_back(yi);
      LossData d{make({4, 3}, x, dt), make({4, 3}, y, dt), {}, {}};
      if (weight) d.weight = uniform({4, 3}, 0.5, 2.0, &g, dt);
      return d;
    };
  };
  auto bce = [](const std::string& name, std::function<LossData(DType, Generator&)> d) {
    return LossCase{name, std::move(d),
                    [](const LossData& dd, int r, bool m) {
                      return call_loss<nn::BCELoss>(m, F::binary_cross_entropy, dd, F::BCEOptions{.reduction = hp_reduction(r), .weight = dd.weight});
                    },
                    [](const TFTensor& x, const TFTensor& y, const LossData& dd, int r) {
                      return TF::binary_cross_entropy(x, y, torch_reduction(TF::BinaryCrossEntropyFuncOptions().weight(T_or_none(dd.weight)), r));
                    }};
  };
  for (const LossCase& c : {bce("BCELoss_at_0_and_1", data(false)), bce("BCELoss_at_0_and_1_weight", data(true))})
    for (DType dt : {kFloat32, kFloat64})
      for (int r : {0, 1, 2})
        for (bool module : {false, true}) {
          LossResult res = run_loss_case(c, dt, r, module);
          if (!res.value.defined()) continue;
          const std::string what = c.name + " (" + dtype_name(dt) + ", reduction=" + reduction_name(r) + ")";
          EXPECT_TRUE(all_finite(T(res.value))) << what << ": value not finite: " << res.value;
          EXPECT_TRUE(res.input_grad.defined() && all_finite(T(res.input_grad))) << what << ": gradient not finite";
          if (r == 0 && c.name == "BCELoss_at_0_and_1") {
            // x = 0, y = 1 and x = 1, y = 0: -log clamped to 100 (libtorch computes the same; checked independently here).
            const std::vector<double> v = values(res.value);
            EXPECT_NEAR(v[1], 100.0, 1e-4) << what;
            EXPECT_NEAR(v[3], 100.0, 1e-4) << what;
            EXPECT_NEAR(v[0], 0.0, 1e-6) << what;
            EXPECT_NEAR(v[2], 50.0, 1e-4) << what;
          }
        }
}

// A gradient penalty differentiates the loss's gradient again: hpml's nll_loss backward (a
// scatter, Note [Fused nll_loss]) must itself be differentiable, in the input and in the
// gradient it receives. The loss is scaled by v (one per row for 'none') that requires grad;
// then d/dx and d/dv of sum((dL/dx)^2) next to libtorch, for cross_entropy with an ignored
// target and nll_loss with a weight, every reduction.
TEST(LossEdgeCases, DoubleBackwardThroughCrossEntropyAndNllMatchesPyTorch) {
  Generator g(7);
  for (DType dt : {kFloat32, kFloat64})
    for (int r : {0, 1, 2})
      for (bool nll : {false, true}) {
        LossData d = classes_for_double_backward(dt, g);
        Tensor v0 = r == 0 ? arange(1, 7, 1, dt) : full({}, 1.5, dt);
        Tensor x = d.input.detach().requires_grad_(true), v = v0.detach().requires_grad_(true);
        Tensor loss = nll ? F::nll_loss(log_softmax(x, 1), d.target, F::NLLOptions{.reduction = hp_reduction(r), .weight = d.weight})
                          : F::cross_entropy(x, d.target, F::CrossEntropyOptions{.reduction = hp_reduction(r), .ignore_index = 2});
        Tensor gx = autograd::grad({(loss * v).sum()}, {x}, {.create_graph = true})[0];
        (gx * gx).sum().backward();

        torch::Tensor tx = T(d.input, true), tv = T(v0, true);
        auto tr = [&](auto o) { return torch_reduction(o, r); };
        torch::Tensor tl = nll ? TF::nll_loss(torch::log_softmax(tx, 1), T(d.target), tr(TF::NLLLossFuncOptions().weight(T(d.weight))))
                               : TF::cross_entropy(tx, T(d.target), tr(TF::CrossEntropyFuncOptions().ignore_index(2)));
        torch::Tensor tg = torch::autograd::grad({(tl * tv).sum()}, {tx}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
        (tg * tg).sum().backward();
        const std::string what = std::string(nll ? "nll_loss" : "cross_entropy") + " (" + dtype_name(dt) +
                                 ", reduction=" + reduction_name(r) + ")";
        EXPECT_EQ(compare(gx, tg, grad_tol(dt)), "") << what << ": first gradient";
        EXPECT_EQ(compare(x.grad(), tx.grad(), grad_tol(dt)), "") << what << ": gradient of the penalty in x";
        EXPECT_EQ(compare(v.grad(), tv.grad(), grad_tol(dt)), "") << what << ": gradient of the penalty in v";
      }
}
}  // namespace
}  // namespace hpml
