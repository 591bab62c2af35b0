// The optimizers that libtorch 1.13's C++ API has (SGD, Adagrad, RMSprop, Adam, AdamW), with every
// one-group option set it supports (it has no `maximize`), for 20 steps against libtorch's
// optimizer on the same parameters and gradients: largest relative difference <= 1e-10 in f64.
// (tests/optim/torch_fixture_test.cpp checks every option set, Adadelta and groups included,
// against torch.optim itself.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
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
  // SGD 5, Adagrad 4, RMSprop 4, Adam 5 (one capturable), AdamW 2: every one-group option set
  // without maximize.
  EXPECT_EQ(compared, 20);
}

}  // namespace
}  // namespace hpml

namespace hpml {
namespace {

// clip_grad_norm_ (norm types 2, 1, 3, inf; clipping and not) and clip_grad_value_ against
// torch::nn::utils, on three gradients of different shapes; the returned total norm too.
TEST(ClipGrad, NormAndValueMatchLibtorch) {
  for (DType dt : {kFloat32, kFloat64}) {
    for (double norm_type : {2.0, 1.0, 3.0, std::numeric_limits<double>::infinity()})
      for (double max_norm : {0.5, 1e3}) {
        Generator g(3);
        TensorList ps = {randn({3, 4}, &g, dt).requires_grad_(), randn({5}, &g, dt).requires_grad_(),
                         randn({2, 2, 2}, &g, dt).requires_grad_()};
        std::vector<torch::Tensor> tps;
        for (Tensor& p : ps) {
          p.mutable_grad() = randn(p.sizes(), &g, dt);
          torch::Tensor t = testing::to_torch(p).detach().clone().requires_grad_(true);
          t.mutable_grad() = testing::to_torch(p.grad()).clone();
          tps.push_back(t);
        }
        Tensor total = nn::utils::clip_grad_norm_(ps, max_norm, norm_type);
        const double ttotal = torch::nn::utils::clip_grad_norm_(tps, max_norm, norm_type);
        EXPECT_NEAR(total.to(kFloat64).item<double>(), ttotal, 1e-5 * ttotal) << "norm_type " << norm_type;
        for (size_t i = 0; i < ps.size(); ++i)
          EXPECT_LT(optimtest::max_rel_diff(ps[i].grad(), testing::from_torch(tps[i].grad())), 1e-5)
              << "norm_type " << norm_type << " max_norm " << max_norm << " gradient " << i;
      }
    Generator g(4);
    Tensor p = randn({20}, &g, dt).requires_grad_();
    p.mutable_grad() = randn({20}, &g, dt) * 2;
    torch::Tensor t = testing::to_torch(p).detach().clone().requires_grad_(true);
    t.mutable_grad() = testing::to_torch(p.grad()).clone();
    nn::utils::clip_grad_value_({p}, 0.7);
    torch::nn::utils::clip_grad_value_({t}, 0.7);
    EXPECT_TRUE(testing::to_torch(p.grad()).equal(t.grad()));
  }
}

TEST(ClipGrad, NonFiniteTotalRaisesWhenAskedElseScalesLikePyTorch) {
  Tensor p = zeros({3}).requires_grad_();
  p.mutable_grad() = tensor({1.0f, INFINITY, 2.0f});
  try {
    nn::utils::clip_grad_norm_({p}, 1.0, 2.0, /*error_if_nonfinite=*/true);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
  torch::Tensor t = torch::zeros({3}).requires_grad_(true);
  t.mutable_grad() = torch::tensor({1.0f, INFINITY, 2.0f});
  nn::utils::clip_grad_norm_({p}, 1.0);
  torch::nn::utils::clip_grad_norm_({t}, 1.0);
  // inf * 0 = NaN, finite * 0 = 0: both sides alike.
  EXPECT_TRUE(testing::to_torch(p.grad()).equal(t.grad()) || torch::allclose(testing::to_torch(p.grad()), t.grad(), 0, 0, true));
}

}  // namespace
}  // namespace hpml
