// Loss parity: every hpml loss, as a module and as a functional, next to libtorch's
// torch::nn::functional, in f32 and f64, for reductions none / mean / sum (and batchmean for
// kl_div): the value and the gradient of the input (and of a floating target where PyTorch
// has one). Edge cases (all targets ignored, extreme logits, BCE at 0 and 1) are in
// nn_loss_edges_parity_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "parity/nn_loss_parity.h"

namespace hpml {
namespace {

using namespace nnparity;  // NOLINT: LossCase, LossData, F, TF, T, ...
using TFTensor = torch::Tensor;

// ---- data -------------------------------------------------------------------------------------
// Regression pairs [4, 5]: input == target at element 0 (the |d| kink), |d| = 1 at element 1.
LossData regression(DType dt, Generator& g) {
  Tensor x = randn({4, 5}, &g, kFloat64) * 2.0, y = randn({4, 5}, &g, kFloat64) * 2.0;
  y.data_ptr<double>()[0] = x.data_ptr<double>()[0];
  y.data_ptr<double>()[1] = x.data_ptr<double>()[1] + 1.0;
  return {x.to(dt), y.to(dt), {}, {}};
}
// Probabilities in (0, 1) with soft targets, or hard 0/1 targets; weight [5] or [4, 5].
LossData probabilities(DType dt, Generator& g, bool hard, int weight_dims) {
  LossData d{uniform({4, 5}, 0.02, 0.98, &g, dt), rand({4, 5}, &g, dt), {}, {}};
  if (hard) d.target = d.target.gt(0.5).to(dt);
  if (weight_dims == 1) d.weight = uniform({5}, 0.5, 2.0, &g, dt);
  if (weight_dims == 2) d.weight = uniform({4, 5}, 0.5, 2.0, &g, dt);
  return d;
}
LossData logits(DType dt, Generator& g, bool pos_weight, bool weight) {
  LossData d{randn({4, 5}, &g, dt) * 3.0, rand({4, 5}, &g, dt), {}, {}};
  if (pos_weight) d.pos_weight = uniform({5}, 0.5, 3.0, &g, dt);
  if (weight) d.weight = uniform({4, 5}, 0.5, 2.0, &g, dt);
  return d;
}
// Class indices: logits of `shape` ([N, C, *] or [C]); targets in [0, C), with `ignore` planted at
// two positions when ignore != no_ignore; weight [C] if asked.
constexpr int64_t no_ignore = -12345;
LossData classes(DType dt, Generator& g, std::vector<int64_t> shape, int64_t ignore, bool weight) {
  const int64_t C = shape.size() == 1 ? shape[0] : shape[1];
  std::vector<int64_t> tshape = shape;
  tshape.erase(tshape.begin() + (shape.size() == 1 ? 0 : 1));
  LossData d{randn(shape, &g, dt) * 2.0, randint(0, C, tshape, &g), {}, {}};
  if (ignore != no_ignore && d.target.numel() > 3) {
    d.target.data_ptr<int64_t>()[1] = ignore;
    d.target.data_ptr<int64_t>()[3] = ignore;
  }
  if (weight) d.weight = uniform({C}, 0.5, 2.0, &g, dt);
  return d;
}
// Class probabilities: rows of rand normalized over the class dim (dim 1).
LossData class_probabilities(DType dt, Generator& g, std::vector<int64_t> shape, bool weight) {
  Tensor p = rand(shape, &g, dt) + 0.05;
  LossData d{randn(shape, &g, dt) * 2.0, p / p.sum({1}, true), {}, {}};
  if (weight) d.weight = uniform({shape[1]}, 0.5, 2.0, &g, dt);
  return d;
}
// kl_div: input log-probability-like (negative), target probabilities (with exact zeros) or log-probabilities.
LossData kl(DType dt, Generator& g, bool log_target, bool zeros) {
  LossData d{rand({4, 5}, &g, dt) * -3.0 - 0.01, rand({4, 5}, &g, dt) + 0.01, {}, {}};
  if (log_target) d.target = randn({4, 5}, &g, dt) - 1.0;
  if (zeros) {
    Tensor t = d.target.to(kFloat64);
    for (int i : {0, 6, 7, 19}) t.data_ptr<double>()[i] = 0.0;
    d.target = t.to(dt);
  }
  return d;
}

// ---- cases ------------------------------------------------------------------------------------
std::vector<LossCase> cases() {
  std::vector<LossCase> c;
  c.push_back({"MSELoss", regression,
               [](const LossData& d, int r, bool m) { return call_loss<nn::MSELoss>(m, F::mse_loss, d, F::LossOptions{.reduction = hp_reduction(r)}); },
               [](const TFTensor& x, const TFTensor& y, const LossData&, int r) { return TF::mse_loss(x, y, torch_reduction(TF::MSELossFuncOptions(), r)); },
               true});
  c.push_back({"L1Loss", regression,
               [](const LossData& d, int r, bool m) { return call_loss<nn::L1Loss>(m, F::l1_loss, d, F::LossOptions{.reduction = hp_reduction(r)}); },
               [](const TFTensor& x, const TFTensor& y, const LossData&, int r) { return TF::l1_loss(x, y, torch_reduction(TF::L1LossFuncOptions(), r)); },
               true});
  for (double beta : {1.0, 0.5, 0.0}) {
    c.push_back({"SmoothL1Loss_beta_" + std::to_string(static_cast<int>(beta * 10)), regression,
                 [beta](const LossData& d, int r, bool m) {
                   return call_loss<nn::SmoothL1Loss>(m, F::smooth_l1_loss, d, F::SmoothL1Options{.reduction = hp_reduction(r), .beta = beta});
                 },
                 [beta](const TFTensor& x, const TFTensor& y, const LossData&, int r) {
                   // libtorch 1.13's functional takes beta as a separate argument (the option is ignored).
                   return TF::smooth_l1_loss(x, y, torch_reduction(TF::SmoothL1LossFuncOptions(), r), beta);
                 },
                 true});
  }
  for (double delta : {1.0, 2.5, 0.3}) {
    c.push_back({"HuberLoss_delta_" + std::to_string(static_cast<int>(delta * 10)), regression,
                 [delta](const LossData& d, int r, bool m) {
                   return call_loss<nn::HuberLoss>(m, F::huber_loss, d, F::HuberOptions{.reduction = hp_reduction(r), .delta = delta});
                 },
                 [delta](const TFTensor& x, const TFTensor& y, const LossData&, int r) {
                   return TF::huber_loss(x, y, torch_reduction(TF::HuberLossFuncOptions().delta(delta), r));
                 },
                 true});
  }
  auto bce_hp = [](const LossData& d, int r, bool m) {
    return call_loss<nn::BCELoss>(m, F::binary_cross_entropy, d, F::BCEOptions{.reduction = hp_reduction(r), .weight = d.weight});
  };
  auto bce_torch = [](const TFTensor& x, const TFTensor& y, const LossData& d, int r) {
    return TF::binary_cross_entropy(x, y, torch_reduction(TF::BinaryCrossEntropyFuncOptions().weight(T_or_none(d.weight)), r));
  };
  c.push_back({"BCELoss", [](DType dt, Generator& g) { return probabilities(dt, g, false, 0); }, bce_hp, bce_torch, true});
  c.push_back({"BCELoss_weight", [](DType dt, Generator& g) { return probabilities(dt, g, false, 1); }, bce_hp, bce_torch, true});
  c.push_back({"BCELoss_hard_targets_weight_2d", [](DType dt, Generator& g) { return probabilities(dt, g, true, 2); }, bce_hp,
               bce_torch, true});
  auto bcel_hp = [](const LossData& d, int r, bool m) {
    return call_loss<nn::BCEWithLogitsLoss>(m, F::binary_cross_entropy_with_logits, d,
                                            F::BCEOptions{.reduction = hp_reduction(r), .weight = d.weight, .pos_weight = d.pos_weight});
  };
  auto bcel_torch = [](const TFTensor& x, const TFTensor& y, const LossData& d, int r) {
    return TF::binary_cross_entropy_with_logits(
        x, y, torch_reduction(TF::BinaryCrossEntropyWithLogitsFuncOptions().weight(T_or_none(d.weight)).pos_weight(T_or_none(d.pos_weight)), r));
  };
  const std::vector<std::tuple<std::string, bool, bool>> bcel_variants = {
      {"", false, false}, {"_pos_weight", true, false}, {"_weight", false, true}, {"_pos_weight_and_weight", true, true}};
  for (const auto& [name, pw, w] : bcel_variants)
    c.push_back({"BCEWithLogitsLoss" + name, [pw = pw, w = w](DType dt, Generator& g) { return logits(dt, g, pw, w); },
                 bcel_hp, bcel_torch, true});

  auto ce_case = [](const std::string& name, std::function<LossData(DType, Generator&)> data, int64_t ignore, double smoothing) {
    const int64_t ii = ignore == no_ignore ? -100 : ignore;
    return LossCase{name, data,
                    [ii, smoothing](const LossData& d, int r, bool m) {
                      return call_loss<nn::CrossEntropyLoss>(
                          m, F::cross_entropy, d,
                          F::CrossEntropyOptions{.reduction = hp_reduction(r), .weight = d.weight, .ignore_index = ii, .label_smoothing = smoothing});
                    },
                    [ii, smoothing](const TFTensor& x, const TFTensor& y, const LossData& d, int r) {
                      return TF::cross_entropy(x, y, torch_reduction(TF::CrossEntropyFuncOptions().weight(T_or_none(d.weight)).ignore_index(ii).label_smoothing(smoothing), r));
                    },
                    true};
  };
  auto idx = [](std::vector<int64_t> shape, int64_t ignore, bool weight) {
    return [=](DType dt, Generator& g) { return classes(dt, g, shape, ignore, weight); };
  };
  auto prob = [](std::vector<int64_t> shape, bool weight) {
    return [=](DType dt, Generator& g) { return class_probabilities(dt, g, shape, weight); };
  };
  c.push_back(ce_case("CrossEntropyLoss_indices", idx({6, 5}, no_ignore, false), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_indices_weight", idx({6, 5}, no_ignore, true), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_indices_ignore_index", idx({6, 5}, 2, false), 2, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_indices_default_ignore_index_planted", idx({6, 5}, -100, false), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_indices_label_smoothing", idx({6, 5}, no_ignore, false), no_ignore, 0.15));
  c.push_back(ce_case("CrossEntropyLoss_indices_weight_label_smoothing", idx({6, 5}, no_ignore, true), no_ignore, 0.2));
  c.push_back(ce_case("CrossEntropyLoss_indices_ignore_label_smoothing", idx({6, 5}, 4, false), 4, 0.1));
  c.push_back(ce_case("CrossEntropyLoss_indices_weight_ignore_label_smoothing", idx({6, 5}, 1, true), 1, 0.3));
  c.push_back(ce_case("CrossEntropyLoss_spatial", idx({3, 5, 2, 4}, no_ignore, false), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_spatial_weight_ignore", idx({3, 5, 2, 4}, 0, true), 0, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_spatial_weight_ignore_label_smoothing", idx({3, 5, 2, 4}, 3, true), 3, 0.25));
  c.push_back(ce_case("CrossEntropyLoss_unbatched", idx({5}, no_ignore, false), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_unbatched_weight_label_smoothing", idx({5}, no_ignore, true), no_ignore, 0.1));
  c.push_back(ce_case("CrossEntropyLoss_probabilities", prob({6, 5}, false), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_probabilities_weight", prob({6, 5}, true), no_ignore, 0.0));
  c.push_back(ce_case("CrossEntropyLoss_probabilities_label_smoothing", prob({6, 5}, false), no_ignore, 0.2));
  c.push_back(ce_case("CrossEntropyLoss_probabilities_weight_label_smoothing", prob({6, 5}, true), no_ignore, 0.1));
  c.push_back(ce_case("CrossEntropyLoss_probabilities_spatial_weight", prob({3, 5, 2, 4}, true), no_ignore, 0.0));

  auto nll_case = [](const std::string& name, std::function<LossData(DType, Generator&)> data, int64_t ignore) {
    const int64_t ii = ignore == no_ignore ? -100 : ignore;
    return LossCase{name, data,
                    [ii](const LossData& d, int r, bool m) {
                      return call_loss<nn::NLLLoss>(m, F::nll_loss, d,
                                                    F::NLLOptions{.reduction = hp_reduction(r), .weight = d.weight, .ignore_index = ii});
                    },
                    [ii](const TFTensor& x, const TFTensor& y, const LossData& d, int r) {
                      return TF::nll_loss(x, y, torch_reduction(TF::NLLLossFuncOptions().weight(T_or_none(d.weight)).ignore_index(ii), r));
                    }};
  };
  c.push_back(nll_case("NLLLoss", idx({6, 5}, no_ignore, false), no_ignore));
  c.push_back(nll_case("NLLLoss_weight", idx({6, 5}, no_ignore, true), no_ignore));
  c.push_back(nll_case("NLLLoss_default_ignore_index_planted", idx({6, 5}, -100, false), no_ignore));
  c.push_back(nll_case("NLLLoss_weight_ignore_index", idx({6, 5}, 3, true), 3));
  c.push_back(nll_case("NLLLoss_spatial_weight_ignore_index", idx({3, 5, 2, 4}, 2, true), 2));

  const std::vector<std::tuple<std::string, bool, bool>> kl_variants = {
      {"KLDivLoss", false, false}, {"KLDivLoss_log_target", true, false}, {"KLDivLoss_zero_targets", false, true}};
  for (const auto& [name, log_target, zeros] : kl_variants) {
    LossCase k{name, [lt = log_target, z = zeros](DType dt, Generator& g) { return kl(dt, g, lt, z); },
               [lt = log_target](const LossData& d, int r, bool m) {
                 const F::KLReduction kr[] = {F::KLReduction::none, F::KLReduction::mean, F::KLReduction::sum, F::KLReduction::batchmean};
                 return call_loss<nn::KLDivLoss>(m, F::kl_div, d, F::KLDivOptions{.reduction = kr[r], .log_target = lt});
               },
               [lt = log_target](const TFTensor& x, const TFTensor& y, const LossData&, int r) {
                 TF::KLDivFuncOptions o;
                 o.log_target(lt);
                 if (r == 0) o.reduction(torch::kNone);
                 if (r == 1) o.reduction(torch::kMean);
                 if (r == 2) o.reduction(torch::kSum);
                 if (r == 3) o.reduction(torch::kBatchMean);
                 return TF::kl_div(x, y, o);
               },
               !zeros,  // the target gradient of t log t is not finite at t = 0: compared only without zeros
               {0, 1, 2, 3}};
    c.push_back(k);
  }
  return c;
}

class LossParity : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossParity, ValueAndGradientsMatchPyTorchForEveryReductionAsModuleAndFunctional) {
  const LossCase& c = GetParam();
  for (DType dt : {kFloat32, kFloat64})
    for (int r : c.reductions)
      for (bool module : {false, true}) run_loss_case(c, dt, r, module);
}

INSTANTIATE_TEST_SUITE_P(NN, LossParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<LossCase>& info) { return info.param.name; });

}  // namespace
}  // namespace hpml
