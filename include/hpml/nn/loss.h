// Loss modules: each holds its options and is called as loss(input, target).
//   nn::CrossEntropyLoss ce({.label_smoothing = 0.1});  Tensor l = ce(logits, labels);
#pragma once

#include <string>

#include "hpml/nn/functional.h"
#include "hpml/nn/module.h"

namespace hpml::nn {

// A module around a functional loss f(input, target, options).
template <typename Options, Tensor (*Fn)(const Tensor&, const Tensor&, Options)>
class Loss : public Module {
 public:
  explicit Loss(const char* name, Options o = {}) : Module(name), options(std::move(o)) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return Fn(input, target, options); }
  Tensor operator()(const Tensor& input, const Tensor& target) {
    return with_context([&] { return forward(input, target); });
  }
  Options options;
};

#define HPML_LOSS(Name, Options, fn)                                          \
  class Name : public Loss<functional::Options, functional::fn> {             \
   public:                                                                    \
    explicit Name(functional::Options o = {}) : Loss(#Name, std::move(o)) {} \
  };
HPML_LOSS(MSELoss, LossOptions, mse_loss)
HPML_LOSS(L1Loss, LossOptions, l1_loss)
HPML_LOSS(SmoothL1Loss, SmoothL1Options, smooth_l1_loss)
HPML_LOSS(HuberLoss, HuberOptions, huber_loss)
HPML_LOSS(BCELoss, BCEOptions, binary_cross_entropy)
HPML_LOSS(BCEWithLogitsLoss, BCEOptions, binary_cross_entropy_with_logits)
HPML_LOSS(NLLLoss, NLLOptions, nll_loss)
HPML_LOSS(CrossEntropyLoss, CrossEntropyOptions, cross_entropy)
HPML_LOSS(KLDivLoss, KLDivOptions, kl_div)
HPML_LOSS(HingeEmbeddingLoss, HingeEmbeddingOptions, hinge_embedding_loss)
HPML_LOSS(PoissonNLLLoss, PoissonNLLOptions, poisson_nll_loss)
HPML_LOSS(MultiMarginLoss, MultiMarginOptions, multi_margin_loss)
HPML_LOSS(SoftMarginLoss, LossOptions, soft_margin_loss)
HPML_LOSS(MultiLabelMarginLoss, LossOptions, multilabel_margin_loss)
#undef HPML_LOSS

// A module around a functional loss of three tensors, f(a, b, c, options): called as loss(a, b, c).
template <typename Options, Tensor (*Fn)(const Tensor&, const Tensor&, const Tensor&, Options)>
class Loss3 : public Module {
 public:
  explicit Loss3(const char* name, Options o = {}) : Module(name), options(std::move(o)) {}
  Tensor forward(const Tensor& a, const Tensor& b, const Tensor& c) { return Fn(a, b, c, options); }
  Tensor operator()(const Tensor& a, const Tensor& b, const Tensor& c) {
    return with_context([&] { return forward(a, b, c); });
  }
  Options options;
};

#define HPML_LOSS3(Name, Options, fn)                                          \
  class Name : public Loss3<functional::Options, functional::fn> {             \
   public:                                                                     \
    explicit Name(functional::Options o = {}) : Loss3(#Name, std::move(o)) {} \
  };
HPML_LOSS3(MarginRankingLoss, MarginRankingOptions, margin_ranking_loss)     // (input1, input2, target)
HPML_LOSS3(TripletMarginLoss, TripletMarginOptions, triplet_margin_loss)     // (anchor, positive, negative)
HPML_LOSS3(CosineEmbeddingLoss, CosineEmbeddingOptions, cosine_embedding_loss)  // (input1, input2, target)
HPML_LOSS3(GaussianNLLLoss, GaussianNLLOptions, gaussian_nll_loss)           // (input, target, var)
#undef HPML_LOSS3

// ctc_loss as a module: ctc(log_probs, targets, input_lengths, target_lengths).
class CTCLoss : public Module {
 public:
  explicit CTCLoss(functional::CTCOptions o = {}) : Module("CTCLoss"), options(std::move(o)) {}
  Tensor forward(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                 const Tensor& target_lengths) {
    return functional::ctc_loss(log_probs, targets, input_lengths, target_lengths, options);
  }
  Tensor operator()(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                    const Tensor& target_lengths) {
    return with_context([&] { return forward(log_probs, targets, input_lengths, target_lengths); });
  }
  functional::CTCOptions options;
};

}  // namespace hpml::nn
