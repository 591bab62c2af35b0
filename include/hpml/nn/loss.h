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
#undef HPML_LOSS

}  // namespace hpml::nn
