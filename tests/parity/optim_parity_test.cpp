// The optimizers that libtorch 1.13's C++ API has (SGD, Adagrad, RMSprop, Adam, AdamW), with every
// one-group option set it supports (it has no `maximize`), for 20 steps against libtorch's
// optimizer on the same parameters and gradients: largest relative difference <= 1e-10 in f64.
// (tests/optim/torch_fixture_test.cpp checks every option set, Adadelta and groups included,
// against torch.optim itself.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <memory>

#include "optim/optim_test_util.h"
#include "parity/torch_ops.h"

namespace hpml {
namespace {

using optimtest::Case;

double opt_value(const optim::OptionValues& v, const std::string& key) {
  for (const auto& [k, x] : v)
    if (k == key) return x;
  ADD_FAILURE() << "no option " << key;
  return 0;
}

// libtorch's optimizer with the options the hpml one was built with; null if libtorch lacks it.
std::unique_ptr<torch::optim::Optimizer> make_torch(const Case& c, const optim::OptionValues& v,
                                                    std::vector<torch::Tensor> params) {
  namespace to = torch::optim;
  if (c.sizes.size() != 1 || opt_value(v, "maximize") != 0 || c.optimizer == "Adadelta") return nullptr;
  const double lr = opt_value(v, "lr");
  if (c.optimizer == "SGD")
    return std::make_unique<to::SGD>(params, to::SGDOptions(lr)
                                                 .momentum(opt_value(v, "momentum"))
                                                 .dampening(opt_value(v, "dampening"))
                                                 .weight_decay(opt_value(v, "weight_decay"))
                                                 .nesterov(opt_value(v, "nesterov") != 0));
  if (c.optimizer == "Adagrad")
    return std::make_unique<to::Adagrad>(params, to::AdagradOptions(lr)
                                                     .lr_decay(opt_value(v, "lr_decay"))
                                                     .weight_decay(opt_value(v, "weight_decay"))
                                                     .initial_accumulator_value(opt_value(v, "initial_accumulator_value"))
                                                     .eps(opt_value(v, "eps")));
  if (c.optimizer == "RMSprop")
    return std::make_unique<to::RMSprop>(params, to::RMSpropOptions(lr)
                                                     .alpha(opt_value(v, "alpha"))
                                                     .eps(opt_value(v, "eps"))
                                                     .weight_decay(opt_value(v, "weight_decay"))
                                                     .momentum(opt_value(v, "momentum"))
                                                     .centered(opt_value(v, "centered") != 0));
  const auto betas = std::make_tuple(opt_value(v, "beta1"), opt_value(v, "beta2"));
  if (c.optimizer == "Adam")
    return std::make_unique<to::Adam>(params, to::AdamOptions(lr).betas(betas).eps(opt_value(v, "eps"))
                                                  .weight_decay(opt_value(v, "weight_decay"))
                                                  .amsgrad(opt_value(v, "amsgrad") != 0));
  if (c.optimizer == "AdamW")
    return std::make_unique<to::AdamW>(params, to::AdamWOptions(lr).betas(betas).eps(opt_value(v, "eps"))
                                                   .weight_decay(opt_value(v, "weight_decay"))
                                                   .amsgrad(opt_value(v, "amsgrad") != 0));
  return nullptr;
}

TEST(OptimLibtorch, EveryOptionSetLibtorchHasMatchesForTwentySteps) {
  int compared = 0;
  for (const Case& c : optimtest::all_cases()) {
    TensorList ps = optimtest::make_params(c);
    auto opt = c.make(ps);
    torch::Tensor tp = testing::to_torch(ps[0]).detach().clone().requires_grad_(true);
    auto topt = make_torch(c, opt->options(0), {tp});
    if (!topt) continue;
    ++compared;
    for (int64_t k = 0; k < 20; ++k) {
      optimtest::set_grads(ps, k);
      tp.mutable_grad() = testing::to_torch(ps[0].grad()).clone();
      opt->step();
      topt->step();
      const double d = optimtest::max_rel_diff(ps[0], Tensor(testing::from_torch(tp.detach())));
      ASSERT_LE(d, 1e-10) << c.name << ": after step " << k + 1 << " hpml and libtorch differ";
    }
  }
  // SGD 5, Adagrad 4, RMSprop 4, Adam 4, AdamW 2: every one-group option set without maximize.
  EXPECT_EQ(compared, 19);
}

}  // namespace
}  // namespace hpml
