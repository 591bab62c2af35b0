// The fused optimizer step as an op (hpml/ops/optim_step.h): its argument checks (one device, with
// the hint; dtypes, shapes, the buffers each kind needs; no in-place write into a leaf that
// requires grad outside a NoGradGuard), and the optimizers stepping parameters on the simulated
// device exactly as on the cpu (their state buffers made on the parameter's device).
#include <gtest/gtest.h>

#include <memory>

#include "nn/nn_test_util.h"
#include "optim/optim_test_util.h"

namespace hpml {
namespace {

using ops::OptimizerKind;

const Device kSim0(DeviceType::Sim, 0);

Tensor f64(int64_t n, Device d = kCPU) { return zeros({n}, TensorOptions(kFloat64).device(d)); }

TEST(FusedOptimizerStep, RefusesTensorsOnTwoDevicesNamingEach) {
  Tensor p = f64(3), m = f64(3), v = f64(3);
  const std::string grad_elsewhere =
      nntest::error_of([&] { ops::fused_optimizer_step_(OptimizerKind::adam, {.lr = 0.1}, p, f64(3, kSim0), &m, &v); });
  EXPECT_CONTAINS(grad_elsewhere,
                  "fused_optimizer_step_: the parameter, its gradient and its state buffers must be on "
                  "one device, got param on cpu, grad on sim:0, state 0 on cpu, state 1 on cpu");
  EXPECT_TRUE(grad_elsewhere.ends_with("hint: move with .to(...)")) << grad_elsewhere;
  Tensor on_sim = f64(3, kSim0);
  EXPECT_CONTAINS(
      nntest::error_of([&] { ops::fused_optimizer_step_(OptimizerKind::adam, {.lr = 0.1}, p, f64(3), &m, &on_sim); }),
      "got param on cpu, grad on cpu, state 0 on cpu, state 1 on sim:0");
}

TEST(FusedOptimizerStep, RefusesBadDtypesShapesAndBuffers) {
  Tensor p = f64(3), m = f64(3);
  auto error = [&](OptimizerKind k, const Tensor& grad, const Tensor* s0, const Tensor* s1 = nullptr) {
    return nntest::error_of([&] { ops::fused_optimizer_step_(k, {.lr = 0.1}, p, grad, s0, s1); });
  };
  EXPECT_CONTAINS(error(OptimizerKind::sgd, f64(4), nullptr),
                  "fused_optimizer_step_: grad is f64 of shape [4], its parameter f64 of shape [3]");
  EXPECT_CONTAINS(error(OptimizerKind::sgd, zeros({3}, kFloat32), nullptr), "grad is f32 of shape [3]");
  EXPECT_CONTAINS(error(OptimizerKind::adam, f64(3), &m), "adam needs at least 2 state buffer(s), state 1 is null");
  EXPECT_CONTAINS(error(OptimizerKind::adagrad, f64(3), &m, &m),
                  "adagrad takes at most 1 state buffer(s), got state 1");
  Tensor wide = f64(6), strided = wide.slice(0, 0, 6, 2);
  EXPECT_CONTAINS(error(OptimizerKind::adagrad, f64(3), &strided), "state 0 must be a contiguous f64 tensor");
  Tensor bad = f64(4);
  EXPECT_CONTAINS(error(OptimizerKind::adagrad, f64(3), &bad), "of shape [3], got f64 of shape [4]");
  Tensor i64 = zeros({3}, kInt64);
  EXPECT_CONTAINS(nntest::error_of([&] { ops::fused_optimizer_step_(OptimizerKind::sgd, {}, i64, i64); }),
                  "param must be f32 or f64, got i64");
  Tensor leaf = f64(3).requires_grad_();
  EXPECT_CONTAINS(nntest::error_of([&] { ops::fused_optimizer_step_(OptimizerKind::sgd, {}, leaf, f64(3)); }),
                  "hint: wrap the update in a NoGradGuard");
}

// The same kernels run on the simulated device, so every step gives the cpu's values to the bit.
TEST(FusedOptimizerStep, OptimizersStepOnTheSimDeviceAsOnTheCpu) {
  using Make = std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)>;
  const std::vector<Make> makes = {
      [](const TensorList& ps) {
        return std::make_unique<optim::SGD>(ps, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
      },
      [](const TensorList& ps) { return std::make_unique<optim::Adagrad>(ps, optim::AdagradOptions{}); },
      [](const TensorList& ps) { return std::make_unique<optim::Adadelta>(ps, optim::AdadeltaOptions{}); },
      [](const TensorList& ps) {
        return std::make_unique<optim::RMSprop>(ps, optim::RMSpropOptions{.momentum = 0.5, .centered = true});
      },
      [](const TensorList& ps) { return std::make_unique<optim::Adam>(ps, optim::AdamOptions{.amsgrad = true}); },
  };
  for (size_t i = 0; i < makes.size(); ++i) {
    Tensor cpu = optimtest::initial_param(5, 0), sim = cpu.detach().to(kSim0).requires_grad_();
    auto a = makes[i]({cpu}), b = makes[i]({sim});
    for (int64_t k = 0; k < 3; ++k) {
      cpu.mutable_grad() = optimtest::gradient(5, 0, k);
      sim.mutable_grad() = optimtest::gradient(5, 0, k).to(kSim0);
      a->step();
      b->step();
    }
    EXPECT_EQ(optimtest::max_rel_diff(sim.to(kCPU), cpu), 0.0) << b->name();
    for (const auto& [key, t] : b->state_dict()) {
      if (key.starts_with("state.") && t.dim() > 0) {
        EXPECT_EQ(t.device(), kSim0) << b->name() << " " << key;
      }
    }
  }
}

}  // namespace
}  // namespace hpml
