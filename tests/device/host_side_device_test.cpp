// The host side of a device: pinned memory from the device's runtime and non_blocking copies from
// it, bounds checked where the data lives and read back once (nll_loss), gradcheck on a device,
// collating device samples, and the Generator's state (always a cpu tensor).
#include <gtest/gtest.h>

#include <hpml/hpml.h>

#include "../core/test_helpers.h"

namespace hpml {
namespace {

const Device kSim0(DeviceType::Sim, 0);

TEST(PinnedMemory, ComesFromTheRuntimeOfTheDeviceItIsFor) {
  const DeviceRuntime* rt = device_runtime(DeviceType::Sim);
  ASSERT_NE(rt->pinned_allocator, nullptr);
  Tensor x = arange(0, 1000, 1, TensorOptions(kFloat32));
  Tensor p = data::pin_memory(x, kSim0);
  EXPECT_TRUE(p.device().is_cpu());
  EXPECT_EQ((p - x).abs().max().item<double>(), 0.0);
  // Locking may be refused (ulimit -l); the runtime then says the truth about the block.
  EXPECT_EQ(data::is_pinned(p), rt->is_pinned(p.data_ptr()));
  EXPECT_FALSE(data::is_pinned(x));
  EXPECT_HPML_ERROR(data::pin_memory(x.to(kSim0)), "only cpu tensors can be pinned");
  EXPECT_HPML_ERROR(data::pin_memory(x, Device(DeviceType::Sim, 5)), "sim:5");
}

TEST(PinnedMemory, ANonBlockingCopyFromItArrivesByTheNextWait) {
  Tensor p = data::pin_memory(arange(0, 64, 1, TensorOptions(kFloat64)), kSim0);
  Tensor d = p.to(kSim0, /*non_blocking=*/true);
  Tensor back = (d * 2).cpu();  // a blocking copy back waits for the stream, the copy included
  EXPECT_EQ((back - p * 2).abs().max().item<double>(), 0.0);
}

TEST(PinnedMemory, TheLoaderPinsForItsDevice) {
  auto ds = std::make_shared<data::TensorDataset>(std::vector<Tensor>{arange(0, 40, 1, TensorOptions(kFloat32))});
  data::DataLoader loader(ds, {.batch_size = 8, .pin_memory = true, .pin_memory_device = "sim:0"});
  double total = 0;
  for (data::Batch& b : loader) total += b[0].to(kSim0, true).sum().item<double>();
  EXPECT_EQ(total, 780.0);
  EXPECT_HPML_ERROR(data::DataLoader(ds, {.pin_memory = true, .pin_memory_device = "sim:9"}), "sim:9");
}

TEST(NllOnDevice, ABadTargetIsFoundWhereTheDataLivesWithPyTorchsMessage) {
  Tensor x = randn({4, 5}).to(kSim0), t = tensor({0, 4, 7, 1}).to(kSim0);
  EXPECT_HPML_ERROR(nn::functional::cross_entropy(x, t), "nll_loss: target 7 is out of bounds for 5 classes");
  Tensor ok = tensor({0, 4, -100, 1}).to(kSim0);  // ignore_index
  Tensor loss = nn::functional::cross_entropy(x, ok);
  EXPECT_EQ(loss.device(), kSim0);
  EXPECT_NEAR(loss.item<double>(), nn::functional::cross_entropy(x.cpu(), ok.cpu()).item<double>(), 1e-6);
}

TEST(GradcheckOnDevice, PerturbsDeviceInputsThroughKernels) {
  Tensor a = randn({3, 4}, nullptr, kFloat64).to(kSim0).requires_grad_(true);
  Tensor b = randn({4, 2}, nullptr, kFloat64).to(kSim0).requires_grad_(true);
  auto fn = [](const TensorList& in) { return TensorList{(in[0].matmul(in[1])).tanh()}; };
  autograd::GradcheckResult r = autograd::gradcheck(fn, {a, b});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(a.device(), kSim0);
  // and a wrong backward is caught there too: relu's gradient checked against abs.
  auto wrong = [](const TensorList& in) { return TensorList{in[0].abs() + (in[0].relu() - in[0].relu().detach())}; };
  EXPECT_FALSE(autograd::gradcheck(wrong, {a}, {.raise_exception = false}).ok);
}

TEST(CollateOnDevice, DeviceSamplesAreStackedThere) {
  std::vector<data::Sample> samples{{ones({2}).to(kSim0)}, {zeros({2}).to(kSim0)}};
  data::Batch b = data::default_collate(samples);
  EXPECT_EQ(b[0].device(), kSim0);
  EXPECT_EQ(b[0].sum().item<double>(), 2.0);
  samples[1][0] = zeros({2});
  EXPECT_HPML_ERROR(data::default_collate(samples), "hint: move with .to(sim:0) first");
}

TEST(GeneratorState, IsACpuTensorAndRefusesADeviceOne) {
  Generator g(5);
  Tensor s = g.state();
  EXPECT_TRUE(s.device().is_cpu());
  EXPECT_EQ(s.numel(), 16);
  EXPECT_HPML_ERROR(g.set_state(s.to(kSim0)), "expected a cpu tensor");
  g.set_state(s);
}

}  // namespace
}  // namespace hpml
