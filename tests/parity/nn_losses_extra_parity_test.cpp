// Loss parity for the margin, embedding, likelihood and CTC losses (src/nn/losses_extra.cpp,
// src/nn/ctc_loss.cpp): each as a module and as a functional next to libtorch, in f32 and f64,
// for reductions none / mean / sum: the value and the gradient of every floating input PyTorch
// differentiates. gaussian_nll_loss has no libtorch functional in 1.13: its reference is
// PyTorch's Python code written with libtorch ops. CTC is compared through log_softmax (Note
// [ctc_loss is written directly]); CtcLoss.GradientIsPyTorchsMinusExpLogProbs pins the difference.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "parity/nn_loss_parity.h"

namespace hpml {
namespace {

using namespace nnparity;  // NOLINT: F, TF, T, tolerances, reduction helpers
using TT = std::vector<torch::Tensor>;

// One case: its inputs (those listed in `grads` are floating leaves on both sides), hpml's call as
// a module or a functional and libtorch's, for a reduction code (0 none, 1 mean, 2 sum).
struct ExtraCase {
  std::string name;
  std::function<TensorList(DType, Generator&)> data;
  std::vector<size_t> grads;
  std::function<Tensor(const TensorList&, int reduction, bool module)> hp;
  std::function<torch::Tensor(const TT&, int reduction)> ref;
};

void run_case(const ExtraCase& c, DType dt, int r, bool module) {
  const std::string what = c.name + " (" + dtype_name(dt) + ", reduction=" + reduction_name(r) + ", " +
                           (module ? "module" : "functional") + ")";
  Generator g(17 + (dt == kFloat64 ? 1000 : 0));
  TensorList d = c.data(dt, g);
  TensorList hd;
  TT td;
  for (size_t i = 0; i < d.size(); ++i) {
    const bool grad = std::find(c.grads.begin(), c.grads.end(), i) != c.grads.end();
    hd.push_back(grad ? d[i].detach().clone().requires_grad_(true) : d[i]);
    td.push_back(T(d[i], grad));
  }
  Tensor v;
  try {
    v = c.hp(hd, r, module);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": hpml raised: " << e.what();
    return;
  }
  torch::Tensor tv = c.ref(td, r);
  HPML_EXPECT_PARITY(what + ", value", v, tv, fwd_tol(dt));
  ASSERT_TRUE(v.requires_grad()) << what << ": the loss does not require grad";
  Tensor go = randn(v.sizes(), &g, dt);
  v.backward(go);
  tv.backward(T(go));
  for (size_t i : c.grads)
    HPML_EXPECT_PARITY(what + ", gradient of input " + std::to_string(i), hd[i].grad(), td[i].grad(), grad_tol(dt));
}

// ---- data: values kept away from the kinks of max(0, .) ----------------------------------------
// +-1 targets [n] (or [] for n = 0), with both signs present.
Tensor signs(Generator& g, std::vector<int64_t> shape, DType dt) {
  Tensor s = rand(shape, &g, kFloat64).gt(0.5).to(kFloat64) * 2 - 1;
  if (s.numel() >= 2) {
    s.view({-1}).data_ptr<double>()[0] = 1;
    s.view({-1}).data_ptr<double>()[1] = -1;
  }
  return s.to(dt);
}
// Uniform in [lo, hi) with values within `gap` of any of `kinks` pushed past them.
Tensor away_from(Generator& g, std::vector<int64_t> shape, DType dt, double lo, double hi, std::vector<double> kinks,
                 double gap = 0.05) {
  Tensor x = uniform(shape, lo, hi, &g, kFloat64).contiguous();
  double* p = x.data_ptr<double>();
  for (int64_t i = 0; i < x.numel(); ++i)
    for (double k : kinks)
      if (std::fabs(p[i] - k) < gap) p[i] = k + (p[i] < k ? -gap : gap);
  return x.to(dt);
}

template <typename O>
O red(O o, int r) {
  return torch_reduction(o, r);
}

// CTC: logits [T = 6, N = 3, C = 5] through log_softmax; padded targets with lengths [3, 1, 2]
// (row 0 repeats a label, which needs a blank between), or the same labels concatenated.
struct Ctc {
  std::string name;
  bool concatenated = false, impossible = false, zero_infinity = false, unbatched = false;
  int64_t blank = 0;
};

TensorList ctc_data(const Ctc& cc, DType dt, Generator& g) {
  // With blank = 4 the labels 0..3 stand in for 1..4.
  const int64_t shift = cc.blank == 0 ? 0 : -1;
  Tensor padded = tensor({{1, 1, 2}, {3, 0, 0}, {4, 2, 0}}) + shift;
  Tensor concat = tensor({1, 1, 2, 3, 4, 2}) + shift;
  Tensor il = tensor({6, 4, 5}), tl = tensor({3, 1, 2});
  if (cc.impossible) il = tensor({2, 4, 5});  // 3 labels, 2 with a repeat, cannot fit in 2 frames
  if (cc.blank != 0) padded = clamp_min(padded, 0);
  if (cc.unbatched)
    return TensorList{randn({6, 5}, &g, dt), tensor({1, 1, 2}) + shift, scalar_tensor(int64_t{6}, kInt64),
                      scalar_tensor(int64_t{3}, kInt64)};
  return TensorList{randn({6, 3, 5}, &g, dt), cc.concatenated ? concat : padded, il, tl};
}

void add_ctc_cases(std::vector<ExtraCase>& c) {
  for (const Ctc& cc : {Ctc{"", false, false, false, false, 0}, Ctc{"_concatenated", true, false, false, false, 0},
                        Ctc{"_blank_last", false, false, false, false, 4},
                        Ctc{"_impossible", false, true, false, false, 0},
                        Ctc{"_impossible_zero_infinity", true, true, true, false, 0},
                        Ctc{"_unbatched", false, false, false, true, 0}}) {
    c.push_back({"CTCLoss" + cc.name, [cc](DType dt, Generator& g) { return ctc_data(cc, dt, g); }, {0},
                 [cc](const TensorList& d, int r, bool m) {
                   F::CTCOptions o{.reduction = hp_reduction(r), .blank = cc.blank, .zero_infinity = cc.zero_infinity};
                   Tensor lp = log_softmax(d[0], -1);
                   return m ? nn::CTCLoss(o)(lp, d[1], d[2], d[3]) : F::ctc_loss(lp, d[1], d[2], d[3], o);
                 },
                 [cc](const TT& d, int r) {
                   auto o = TF::CTCLossFuncOptions().blank(cc.blank).zero_infinity(cc.zero_infinity);
                   return TF::ctc_loss(d[0].log_softmax(-1), d[1], d[2], d[3], red(o, r));
                 }});
  }
}

std::vector<ExtraCase> cases() {
  std::vector<ExtraCase> c;
  for (double margin : {1.0, 0.3}) {
    c.push_back({"HingeEmbeddingLoss_margin_" + std::to_string(static_cast<int>(margin * 10)),
                 [margin](DType dt, Generator& g) {
                   // margin - x is kept off 0; the last target is 0, which gets both terms (PyTorch).
                   Tensor t = signs(g, {4, 5}, dt).to(kFloat64).contiguous();
                   t.data_ptr<double>()[19] = 0;
                   return TensorList{away_from(g, {4, 5}, dt, -1.5, 1.5, {margin}), t.to(dt)};
                 },
                 {0},
                 [margin](const TensorList& d, int r, bool m) {
                   F::HingeEmbeddingOptions o{.reduction = hp_reduction(r), .margin = margin};
                   return m ? nn::HingeEmbeddingLoss(o)(d[0], d[1]) : F::hinge_embedding_loss(d[0], d[1], o);
                 },
                 [margin](const TT& d, int r) {
                   auto o = TF::HingeEmbeddingLossFuncOptions().margin(margin);
                   return TF::hinge_embedding_loss(d[0], d[1], red(o, r));
                 }});
  }
  for (double margin : {0.0, 0.5}) {
    c.push_back({"MarginRankingLoss_margin_" + std::to_string(static_cast<int>(margin * 10)),
                 [](DType dt, Generator& g) {
                   // x1 - x2 in +-[0.1, 1.5]: never at +-margin (0, 0.5) within 0.05 (margin 0.5: shifted).
                   Tensor x1 = randn({6}, &g, dt), diff = away_from(g, {6}, dt, -1.5, 1.5, {-0.5, 0.0, 0.5}, 0.1);
                   return TensorList{x1, x1 - diff, signs(g, {6}, dt)};
                 },
                 {0, 1, 2},
                 [margin](const TensorList& d, int r, bool m) {
                   F::MarginRankingOptions o{.reduction = hp_reduction(r), .margin = margin};
                   return m ? nn::MarginRankingLoss(o)(d[0], d[1], d[2]) : F::margin_ranking_loss(d[0], d[1], d[2], o);
                 },
                 [margin](const TT& d, int r) {
                   auto o = TF::MarginRankingLossFuncOptions().margin(margin);
                   return TF::margin_ranking_loss(d[0], d[1], d[2], red(o, r));
                 }});
  }
  struct Triplet {
    std::string name;
    double margin, p;
    bool swap;
    bool unbatched;
  };
  for (const Triplet& tc : {Triplet{"", 1.0, 2.0, false, false}, Triplet{"_p1_swap", 0.5, 1.0, true, false},
                            Triplet{"_p3_margin2", 2.0, 3.0, false, false},
                            Triplet{"_unbatched_swap", 1.0, 2.0, true, true}}) {
    c.push_back({"TripletMarginLoss" + tc.name,
                 [tc](DType dt, Generator& g) {
                   std::vector<int64_t> s = tc.unbatched ? std::vector<int64_t>{6} : std::vector<int64_t>{5, 6};
                   return TensorList{randn(s, &g, dt), randn(s, &g, dt), randn(s, &g, dt)};
                 },
                 {0, 1, 2},
                 [tc](const TensorList& d, int r, bool m) {
                   F::TripletMarginOptions o{
                       .reduction = hp_reduction(r), .margin = tc.margin, .p = tc.p, .swap = tc.swap};
                   return m ? nn::TripletMarginLoss(o)(d[0], d[1], d[2]) : F::triplet_margin_loss(d[0], d[1], d[2], o);
                 },
                 [tc](const TT& d, int r) {
                   auto o = TF::TripletMarginLossFuncOptions().margin(tc.margin).p(tc.p).swap(tc.swap);
                   return TF::triplet_margin_loss(d[0], d[1], d[2], red(o, r));
                 }});
  }
  for (double margin : {0.0, 0.4}) {
    for (bool unbatched : {false, true}) {
      c.push_back({std::string("CosineEmbeddingLoss") + (unbatched ? "_unbatched" : "") + "_margin_" +
                       std::to_string(static_cast<int>(margin * 10)),
                   [unbatched](DType dt, Generator& g) {
                     std::vector<int64_t> s = unbatched ? std::vector<int64_t>{5} : std::vector<int64_t>{6, 5};
                     Tensor t = unbatched ? scalar_tensor(-1.0, dt) : signs(g, {6}, dt);
                     return TensorList{randn(s, &g, dt), randn(s, &g, dt), t};
                   },
                   {0, 1},
                   [margin](const TensorList& d, int r, bool m) {
                     F::CosineEmbeddingOptions o{.reduction = hp_reduction(r), .margin = margin};
                     return m ? nn::CosineEmbeddingLoss(o)(d[0], d[1], d[2])
                              : F::cosine_embedding_loss(d[0], d[1], d[2], o);
                   },
                   [margin](const TT& d, int r) {
                     return TF::cosine_embedding_loss(d[0], d[1], d[2],
                                                      red(TF::CosineEmbeddingLossFuncOptions().margin(margin), r));
                   }});
    }
  }
  for (bool log_input : {true, false}) {
    for (bool full : {false, true}) {
      c.push_back({std::string("PoissonNLLLoss") + (log_input ? "_log_input" : "_rates") + (full ? "_full" : ""),
                   [log_input](DType dt, Generator& g) {
                     // Counts-like targets in (0.1, 4): both sides of the Stirling cut at 1, no 0.
                     Tensor x = log_input ? randn({4, 5}, &g, dt) : uniform({4, 5}, 0.2, 3.0, &g, dt);
                     return TensorList{x, away_from(g, {4, 5}, dt, 0.1, 4.0, {1.0})};
                   },
                   {0, 1},
                   [log_input, full](const TensorList& d, int r, bool m) {
                     F::PoissonNLLOptions o{.reduction = hp_reduction(r), .log_input = log_input, .full = full};
                     return m ? nn::PoissonNLLLoss(o)(d[0], d[1]) : F::poisson_nll_loss(d[0], d[1], o);
                   },
                   [log_input, full](const TT& d, int r) {
                     auto o = TF::PoissonNLLLossFuncOptions().log_input(log_input).full(full);
                     return TF::poisson_nll_loss(d[0], d[1], red(o, r));
                   }});
    }
  }
  // gaussian_nll_loss: var per element, per row (one dim fewer), per row with a last dim of 1, and
  // with entries under eps (clamped; the gradient passes through).
  struct Gauss {
    std::string name;
    std::vector<int64_t> var_shape;
    bool full, tiny;
  };
  for (const Gauss& gc : {Gauss{"", {4, 3}, false, false}, Gauss{"_full", {4, 3}, true, false},
                          Gauss{"_var_per_row", {4}, false, false}, Gauss{"_var_last_dim_1", {4, 1}, true, false},
                          Gauss{"_var_below_eps", {4, 3}, false, true}}) {
    c.push_back({"GaussianNLLLoss" + gc.name,
                 [gc](DType dt, Generator& g) {
                   Tensor var = uniform(gc.var_shape, 0.2, 2.0, &g, kFloat64).contiguous();
                   if (gc.tiny) var.data_ptr<double>()[0] = 1e-8, var.data_ptr<double>()[4] = 0.0;
                   return TensorList{randn({4, 3}, &g, dt), randn({4, 3}, &g, dt), var.to(dt)};
                 },
                 {0, 1, 2},
                 [gc](const TensorList& d, int r, bool m) {
                   F::GaussianNLLOptions o{.reduction = hp_reduction(r), .full = gc.full};
                   return m ? nn::GaussianNLLLoss(o)(d[0], d[1], d[2]) : F::gaussian_nll_loss(d[0], d[1], d[2], o);
                 },
                 [gc](const TT& d, int r) {
                   // torch/nn/functional.py (1.13), gaussian_nll_loss, eps = 1e-6.
                   torch::Tensor var = d[2];
                   if (var.sizes() != d[0].sizes() && var.dim() == d[0].dim() - 1) var = var.unsqueeze(-1);
                   var = var.clone();
                   {
                     torch::NoGradGuard ng;
                     var.clamp_(1e-6);
                   }
                   torch::Tensor loss = 0.5 * (torch::log(var) + (d[0] - d[1]).pow(2) / var);
                   if (gc.full) loss = loss + 0.5 * std::log(2 * std::numbers::pi);
                   return r == 0 ? loss : r == 2 ? loss.sum() : loss.mean();
                 }});
  }
  struct Multi {
    std::string name;
    int64_t p;
    double margin;
    bool weight, unbatched;
  };
  for (const Multi& mc : {Multi{"", 1, 1.0, false, false}, Multi{"_p2", 2, 1.0, false, false},
                          Multi{"_margin_weight", 1, 0.6, true, false}, Multi{"_p2_weight", 2, 1.3, true, false},
                          Multi{"_unbatched", 1, 1.0, false, true}}) {
    c.push_back({"MultiMarginLoss" + mc.name,
                 [mc](DType dt, Generator& g) {
                   // Distinct logits 0.37 apart: margin - x[y] + x[i] never near 0 for these margins.
                   const int64_t N = mc.unbatched ? 1 : 6, C = 5;
                   Tensor x = (randperm(N * C, &g).to(kFloat64) * 0.37 - 4.0).reshape({N, C});
                   if (mc.unbatched) x = x.reshape({C});
                   Tensor t = mc.unbatched ? scalar_tensor(int64_t{2}, kInt64) : randint(0, C, {N}, &g);
                   TensorList d{x.to(dt), t};
                   if (mc.weight) d.push_back(uniform({C}, 0.5, 2.0, &g, dt));
                   return d;
                 },
                 {0},
                 [mc](const TensorList& d, int r, bool m) {
                   F::MultiMarginOptions o{.reduction = hp_reduction(r), .p = mc.p, .margin = mc.margin,
                                           .weight = d.size() > 2 ? d[2] : Tensor()};
                   return m ? nn::MultiMarginLoss(o)(d[0], d[1]) : F::multi_margin_loss(d[0], d[1], o);
                 },
                 [mc](const TT& d, int r) {
                   auto o = TF::MultiMarginLossFuncOptions().p(mc.p).margin(mc.margin);
                   if (d.size() > 2) o.weight(d[2]);
                   return TF::multi_margin_loss(d[0], d[1], red(o, r));
                 }});
  }
  c.push_back({"SoftMarginLoss",
               [](DType dt, Generator& g) { return TensorList{randn({4, 5}, &g, dt) * 2.0, signs(g, {4, 5}, dt)}; },
               {0},  // PyTorch 1.13 refuses a target that requires grad (hpml's target gradient is gradchecked)
               [](const TensorList& d, int r, bool m) {
                 F::LossOptions o{.reduction = hp_reduction(r)};
                 return m ? nn::SoftMarginLoss(o)(d[0], d[1]) : F::soft_margin_loss(d[0], d[1], o);
               },
               [](const TT& d, int r) {
                 return TF::soft_margin_loss(d[0], d[1], red(TF::SoftMarginLossFuncOptions(), r));
               }});
  for (bool unbatched : {false, true}) {
    c.push_back({std::string("MultiLabelMarginLoss") + (unbatched ? "_unbatched" : ""),
                 [unbatched](DType dt, Generator& g) {
                   // Rows: targets {3, 0}; {1, 1, 4} (a repeat counts twice); {} (a leading -1);
                   // all five classes; {2} with entries after the -1 ignored.
                   Tensor t = tensor({{3, 0, -1, 2, 2}, {1, 1, 4, -1, 0}, {-1, 3, 3, 3, 3}, {4, 3, 2, 1, 0},
                                      {2, -1, 0, 1, 4}});
                   Tensor x = (randperm(25, &g).to(kFloat64) * 0.37 - 4.5).reshape({5, 5}).to(dt);
                   return unbatched ? TensorList{x[1], t[1].clone()} : TensorList{x, t};
                 },
                 {0},
                 [](const TensorList& d, int r, bool m) {
                   F::LossOptions o{.reduction = hp_reduction(r)};
                   return m ? nn::MultiLabelMarginLoss(o)(d[0], d[1]) : F::multilabel_margin_loss(d[0], d[1], o);
                 },
                 [](const TT& d, int r) {
                   return TF::multilabel_margin_loss(d[0], d[1], red(TF::MultilabelMarginLossFuncOptions(), r));
                 }});
  }
  add_ctc_cases(c);
  return c;
}

class LossExtraParity : public ::testing::TestWithParam<ExtraCase> {};

TEST_P(LossExtraParity, ValueAndGradientsMatchPyTorchForEveryReductionAsModuleAndFunctional) {
  for (DType dt : {kFloat32, kFloat64})
    for (int r : {0, 1, 2})
      for (bool module : {false, true}) run_case(GetParam(), dt, r, module);
}

INSTANTIATE_TEST_SUITE_P(NN, LossExtraParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<ExtraCase>& info) { return info.param.name; });

// Note [ctc_loss is written directly]: hpml's gradient with respect to log_probs is the true
// derivative; PyTorch 1.13's adds exp(log_probs) on every frame a sample uses.
TEST(CtcLoss, GradientIsPyTorchsMinusExpLogProbs) {
  for (DType dt : {kFloat32, kFloat64}) {
    Generator g(5);
    TensorList d = ctc_data(Ctc{}, dt, g);
    Tensor lp = log_softmax(d[0], -1).detach().requires_grad_(true);
    torch::Tensor tlp = T(lp, true);
    F::ctc_loss(lp, d[1], d[2], d[3], {.reduction = F::Reduction::sum}).backward();
    TF::ctc_loss(tlp, T(d[1]), T(d[2]), T(d[3]), TF::CTCLossFuncOptions().reduction(torch::kSum)).backward();
    // Frames past a sample's input length get 0 on both sides.
    torch::Tensor used = torch::arange(6).view({6, 1, 1}) < T(d[2]).view({1, 3, 1});
    torch::Tensor want = tlp.grad() - torch::where(used, tlp.detach().exp(), torch::zeros_like(tlp));
    HPML_EXPECT_PARITY(std::string("ctc_loss gradient, ") + dtype_name(dt), lp.grad(), want, grad_tol(dt));
  }
}

}  // namespace
}  // namespace hpml
