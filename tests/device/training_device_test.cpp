// Training on the simulated device against the same training on the cpu: Module::to (identity
// kept, gradients moved), optimizers built before the move, their state on the parameter's
// device, a DataLoader with pinned batches copied with non_blocking, and checkpoints saved from
// the device and loaded back to either device.
#include <gtest/gtest.h>

#include <hpml/hpml.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include "hpml/io/checkpoint.h"

namespace hpml {
namespace {

namespace F = nn::functional;
const Device kSim0(DeviceType::Sim, 0);

double max_diff(const Tensor& a, const Tensor& b) {
  return a.numel() == 0 ? 0.0 : (a.cpu().to(kFloat64) - b.cpu().to(kFloat64)).abs().max().item<double>();
}

data::DatasetPtr blobs() {
  static const data::Blobs b = data::make_blobs({.n_samples = 96, .n_features = 4, .n_centers = 3, .seed = 3});
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{b.X, b.y});
}

nn::Sequential mlp() {
  manual_seed(11);
  return nn::Sequential(nn::Linear(4, 16), nn::ReLU(), nn::Linear(16, 3));
}

// Trains `net` for one epoch on `device` (the optimizer made before the net moves there).
template <typename Opt, typename Options>
std::vector<double> train(Device device, Options o, bool pin) {
  nn::Sequential net = mlp();
  Opt opt(net.parameters(), o);
  net.to(device);
  auto gen = std::make_shared<Generator>(5);
  data::DataLoader loader(blobs(), {.batch_size = 16, .shuffle = true, .pin_memory = pin, .generator = gen});
  std::vector<double> losses;
  for (data::Batch& b : loader) {
    const Tensor x = b[0].to(device, /*non_blocking=*/pin), y = b[1].to(device, pin);
    Tensor loss = F::cross_entropy(net.forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    losses.push_back(loss.item<double>());
  }
  for (const Tensor& p : net.parameters()) EXPECT_EQ(p.device(), device);
  return losses;
}

TEST(ModuleTo, KeepsTheTensorsAndMovesTheirValuesAndGradients) {
  nn::Sequential net = mlp();
  std::vector<Tensor> before = net.parameters();
  F::cross_entropy(net.forward(ones({2, 4})), tensor({0, 2})).backward();
  const Tensor g0 = before[0].grad().clone();
  net.to(kSim0);
  std::vector<Tensor> after = net.parameters();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].impl(), after[i].impl());  // the same tensor: optimizers keep working
    EXPECT_EQ(after[i].device(), kSim0);
    EXPECT_EQ(after[i].grad().device(), kSim0);
    EXPECT_TRUE(after[i].requires_grad());
  }
  EXPECT_EQ(max_diff(after[0].grad(), g0), 0.0);
  net.to(kCPU);
  EXPECT_TRUE(before[0].device().is_cpu());
}

TEST(TrainOnDevice, SgdWithMomentumMatchesTheCpuStepByStep) {
  const optim::SGDOptions o{.lr = 0.1, .momentum = 0.9};
  const auto cpu = train<optim::SGD>(kCPU, o, false), sim = train<optim::SGD>(kSim0, o, false);
  ASSERT_EQ(cpu.size(), sim.size());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(sim[i], cpu[i], 1e-5) << "step " << i;
}

TEST(TrainOnDevice, AdamWithPinnedNonBlockingBatchesMatchesTheCpu) {
  const optim::AdamOptions o{.lr = 0.01};
  const auto cpu = train<optim::Adam>(kCPU, o, false), sim = train<optim::Adam>(kSim0, o, true);
  ASSERT_EQ(cpu.size(), sim.size());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(sim[i], cpu[i], 1e-5) << "step " << i;
}

// Dropout draws its mask where the input lives, from the same counters as on the cpu: a seed
// drops the same units on both devices (dropout once drew its mask on the cpu and refused).
TEST(TrainOnDevice, DropoutDropsTheCpusUnitsForASeed) {
  const Tensor x = randn({6, 40});
  for (const bool two_d : {false, true}) {
    auto drop = [&](const Tensor& in) {
      manual_seed(21);
      return two_d ? F::dropout2d(in.reshape({6, 4, 10}), 0.3) : F::dropout(in, 0.3);
    };
    const Tensor cpu = drop(x), sim = drop(x.to(kSim0));
    EXPECT_EQ(sim.device(), kSim0);
    EXPECT_EQ(max_diff(sim, cpu), 0.0) << (two_d ? "dropout2d" : "dropout");
    EXPECT_GT(cpu.eq(0).sum().item<int64_t>(), 0);  // something was dropped
  }
}

TEST(TrainOnDevice, OptimizerStateLivesWithItsParameterAndLoadsThere) {
  nn::Sequential net = mlp();
  net.to(kSim0);
  optim::Adam opt(net.parameters(), {.lr = 0.01});
  F::cross_entropy(net.forward(ones({3, 4}).to(kSim0)), tensor({0, 1, 2}).to(kSim0)).backward();
  opt.step();
  optim::StateDict sd = opt.state_dict();
  for (const auto& [k, t] : sd) {
    if (k.find("exp_avg") != std::string::npos) {
      EXPECT_EQ(t.device(), kSim0) << k;
    }
  }
  // A state dict from the cpu (as a checkpoint gives it) lands on the parameters' device.
  optim::StateDict on_cpu;
  for (const auto& [k, t] : sd) on_cpu.emplace_back(k, t.cpu());
  opt.load_state_dict(on_cpu);
  for (const auto& [k, t] : opt.state_dict()) {
    if (k.find("exp_avg") != std::string::npos) {
      EXPECT_EQ(t.device(), kSim0) << k;
    }
  }
  opt.step();  // and the next step runs there
}

TEST(CheckpointOnDevice, SavedFromTheDeviceLoadsOnEither) {
  char dir[] = "/tmp/hpml-device-ckpt-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/model.ckpt";
  nn::Sequential net = mlp();
  net.to(kSim0);
  optim::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  F::cross_entropy(net.forward(ones({3, 4}).to(kSim0)), tensor({0, 1, 2}).to(kSim0)).backward();
  opt.step();
  io::save_checkpoint(path, {.model = &net, .optimizer = &opt}, {.epoch = 1});

  nn::Sequential back_cpu = mlp();
  optim::SGD opt_cpu(back_cpu.parameters(), {.lr = 0.1, .momentum = 0.9});
  io::load_checkpoint(path, {.model = &back_cpu, .optimizer = &opt_cpu});
  nn::Sequential back_sim = mlp();
  back_sim.to(kSim0);
  optim::SGD opt_sim(back_sim.parameters(), {.lr = 0.1, .momentum = 0.9});
  io::load_checkpoint(path, {.model = &back_sim, .optimizer = &opt_sim});
  const auto want = net.parameters(), a = back_cpu.parameters(), b = back_sim.parameters();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(a[i].device().is_cpu());
    EXPECT_EQ(b[i].device(), kSim0);
    EXPECT_EQ(max_diff(a[i], want[i]), 0.0);
    EXPECT_EQ(max_diff(b[i], want[i]), 0.0);
  }
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace hpml
