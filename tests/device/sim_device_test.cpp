// The simulated device itself: streams, events, guards, its allocator (statistics, poison,
// canaries), copies between devices, the one-device-per-op rule, and the proof that a missing
// synchronisation gives a wrong result here rather than later on a GPU.
#include <gtest/gtest.h>

#include <hpml/hpml.h>

#include <cmath>
#include <cstring>

#include "../core/test_helpers.h"
#include "kernels/backend.h"

namespace hpml {
namespace {

const Device kSim0(DeviceType::Sim, 0), kSim1(DeviceType::Sim, 1);

// a and b (both on the cpu) of one shape, no element further apart than tol.
bool close(const Tensor& a, const Tensor& b, double tol = 0) {
  if (a.sizes() != b.sizes()) return false;
  return a.numel() == 0 || (a.to(kFloat64) - b.to(kFloat64)).abs().max().item<double>() <= tol;
}

TEST(SimDevice, ParsesAndResolvesItsName) {
  EXPECT_EQ(Device("sim:1"), kSim1);
  EXPECT_EQ(Device("sim").str(), "sim");
  EXPECT_TRUE(Device("sim").is_sim());
  EXPECT_EQ(ones({2}, TensorOptions().device("sim")).device(), kSim0);  // the current device
  {
    sim::DeviceGuard g(1);
    EXPECT_EQ(sim::current_device(), 1);
    EXPECT_EQ(ones({2}, TensorOptions().device("sim")).device(), kSim1);
  }
  EXPECT_EQ(sim::current_device(), 0);
  EXPECT_HPML_ERROR(ones({2}, TensorOptions().device("sim:2")), "this process has 2 sim devices");
  EXPECT_HPML_ERROR(sim::set_device(5), "invalid sim device index 5");
  EXPECT_HPML_ERROR(Device("sim:x"), "invalid device string 'sim:x'");
}

TEST(SimDevice, CopiesThereAndBack) {
  Tensor x = arange(0, 12, 1, TensorOptions(kFloat32)).reshape({3, 4});
  Tensor s = x.to(kSim0);
  EXPECT_EQ(s.device(), kSim0);
  Tensor back = (s * 2 + 1).cpu();
  EXPECT_TRUE(close(back, x * 2 + 1));
  // sim:0 -> sim:1 -> cpu, and a non-contiguous source.
  Tensor t = s.t().to(kSim1);
  EXPECT_EQ(t.device(), kSim1);
  EXPECT_TRUE(close(t.cpu(), x.t()));
  EXPECT_DOUBLE_EQ((s.sum()).item<double>(), 66.0);
}

TEST(SimDevice, GradientsFlowBackAcrossTheCopy) {
  Tensor x = arange(0, 6, 1, TensorOptions(kFloat64)).requires_grad_(true);
  Tensor y = (x.to(kSim0) * 3).sum();
  y.backward();
  EXPECT_TRUE(x.grad().device().is_cpu());
  EXPECT_TRUE(close(x.grad(), full({6}, 3.0, TensorOptions(kFloat64))));
}

TEST(SimDevice, OneDevicePerOp) {
  Tensor a = ones({3}), b = ones({3}).to(kSim0);
  EXPECT_HPML_ERROR(a + b, "add: expected all tensors on the same device, but input is on cpu and other is on sim:0");
  EXPECT_HPML_ERROR(b.to(kSim1) + b, "hint: move with .to(sim:1) first");
  // A 0-d cpu tensor is a scalar: it may meet a tensor of any device, as in PyTorch.
  EXPECT_TRUE(close((b + scalar_tensor(2.0)).cpu(), full({3}, 3.0)));
}

// The point of the simulated device: reading device memory without waiting shows poison.
TEST(SimDevice, ASkippedSynchronisationReadsPoisonNotTheResult) {
  Tensor a = full({256}, 2.0f).to(kSim0);
  sim::synchronize();
  Tensor b = a * 3;  // queued, not run (Note [Deferred launches])
  float unsynced = 0;
  std::memcpy(&unsynced, b.data_ptr(), sizeof(float));  // the bug: a host read with no copy or wait
  EXPECT_TRUE(std::isnan(unsynced)) << "read " << unsynced << " before the kernel ran";
  sim::synchronize();
  float synced = 0;
  std::memcpy(&synced, b.data_ptr(), sizeof(float));
  EXPECT_EQ(synced, 6.0f);
  // The right way needs no explicit synchronize: item() and cpu() copy (and wait).
  EXPECT_EQ((a * 4)[0].item<float>(), 8.0f);
}

TEST(SimDevice, TypedHostAccessToDeviceMemoryIsRefused) {
  Tensor a = ones({4}).to(kSim0);
  EXPECT_HPML_ERROR(a.data_ptr<float>(), "tensor is on sim:0; hint: copy it to cpu first");
}

TEST(SimDevice, AKernelGivenHostMemoryIsRefused) {
  Tensor cpu = ones({4});
  kernels::TensorView v = kernels::view_of(cpu);
  EXPECT_HPML_ERROR(kernels::backend(kSim0, "test").fill(v, Scalar(1.0)), "not memory of a live sim tensor");
}

TEST(SimDevice, AnOutOfBoundsWriteHitsACanary) {
  sim::synchronize();
  {
    Tensor a = zeros({4}).to(kSim0);
    // A launch checks its views against their blocks, so the overrun happens inside a kernel, as
    // a kernel with an indexing bug would do it: one element past the end.
    float* p = static_cast<float*>(a.data_ptr());
    sim::detail::launch(0, "overrun", [p] { p[4] = 1.0f; });
  }  // a's free is queued after the kernel: it finds the canary changed
  EXPECT_HPML_ERROR(sim::synchronize(), "wrote past the end of a block of 16 bytes");
  sim::synchronize();  // the error was reported once
}

TEST(SimDevice, AFreedBlockIsPoisoned) {
  Tensor a = full({64}, 1.0f).to(kSim0);
  sim::synchronize();
  const float* p = static_cast<const float*>(a.data_ptr());
  a = Tensor();
  sim::synchronize();  // the free ran: the bytes are poison now
  float v = 0;
  std::memcpy(&v, p, sizeof v);
  EXPECT_TRUE(std::isnan(v));
}

TEST(SimDevice, KernelErrorsSurfaceAtTheNextWait) {
  sim::detail::launch(0, "failing kernel", [] { HPML_FAIL("boom"); });
  EXPECT_HPML_ERROR(sim::synchronize(), "failing kernel on sim:0 failed: boom");
}

TEST(SimDevice, AllocatorCountsPerDevice) {
  sim::synchronize(sim::kAll);
  sim::empty_cache(1);
  const AllocatorStats before = sim::memory_stats(1);
  EXPECT_EQ(before.cached_bytes, 0u);
  sim::reset_peak_memory_stats(1);
  const size_t on_sim0 = sim::memory_allocated(0);
  {
    Tensor a = ones({1 << 16}).to(kSim1);  // 256 KiB
    EXPECT_GE(sim::memory_allocated(1), before.allocated_bytes + (size_t{1} << 18));
    EXPECT_GE(sim::max_memory_allocated(1), sim::memory_allocated(1));
    EXPECT_EQ(sim::memory_allocated(0), on_sim0);  // per device: sim:0 did not see it
    EXPECT_EQ(memory_stats(kSim1).allocated_bytes, sim::memory_allocated(1));  // the generic entry
  }
  sim::synchronize(1);  // the free is stream-ordered
  EXPECT_EQ(sim::memory_allocated(1), before.allocated_bytes);
  EXPECT_GE(sim::memory_reserved(1), size_t{1} << 18);  // cached, not returned
  const uint64_t raw = sim::memory_stats(1).misses;
  { Tensor b = ones({1 << 16}).to(kSim1); }
  EXPECT_EQ(sim::memory_stats(1).misses, raw);  // the cached block was reused
  empty_cache(kSim1);
  EXPECT_EQ(sim::memory_reserved(1), sim::memory_allocated(1));
}

TEST(SimStreams, WorkOnAStreamRunsInOrderAndEventsOrderStreams) {
  sim::Stream side = sim::Stream::create(0);
  EXPECT_NE(side.id(), 0u);
  EXPECT_EQ(sim::current_stream(0), sim::default_stream(0));
  Tensor a = full({1000}, 1.0, TensorOptions(kFloat64)).to(kSim0);
  Tensor b;
  sim::Event done(/*enable_timing=*/true), start(true);
  {
    sim::StreamGuard g(side);
    EXPECT_EQ(sim::current_stream(0), side);
    side.wait_stream(sim::default_stream(0));  // a was written on the default stream
    start.record();
    b = a.exp().sum();
    done.record();
  }
  EXPECT_EQ(sim::current_stream(0), sim::default_stream(0));
  done.wait(sim::default_stream(0));
  EXPECT_NEAR(b.item<double>(), 1000 * std::exp(1.0), 1e-9);
  done.synchronize();
  EXPECT_TRUE(done.query());
  EXPECT_GE(start.elapsed_time(done), 0.0);
  EXPECT_TRUE(side.query());
  sim::Event never;
  EXPECT_TRUE(never.query());
  EXPECT_HPML_ERROR(never.elapsed_time(done), "enable_timing");
}

TEST(SimStreams, EagerWorkersGiveTheSameResults) {
  sim::detail::set_deferred(false);  // kernels run as soon as their worker is free
  Tensor x = randn({64, 32});
  Tensor w = randn({32, 16});
  Tensor want = matmul(x, w).relu().sum(0);
  Tensor got = matmul(x.to(kSim0), w.to(kSim0)).relu().sum(0).cpu();
  sim::detail::set_deferred(true);
  EXPECT_TRUE(close(got, want, 1e-4));
}

TEST(SimRandom, ASeedGivesTheCpuNumbers) {
  manual_seed(99);
  Tensor c = randn({1001});
  manual_seed(99);
  Tensor s = randn({1001}, TensorOptions(kFloat32).device(kSim0)).cpu();
  EXPECT_TRUE(close(c, s));
}

TEST(Backends, EveryRegisteredTableFillsEverySlot) {
  std::vector<kernels::NamedBackend> tables = kernels::registered_backends();
  ASSERT_GE(tables.size(), 2u);  // the cpu and the simulated device at least
  tables.push_back({"stub", &kernels::stub_backend()});
  for (const kernels::NamedBackend& b : tables) {
    const char* name = b.table->name;
    EXPECT_NE(name, nullptr);
    void* slots[kernels::kBackendSlots];
    std::memcpy(slots, reinterpret_cast<const char*>(b.table) + sizeof(void*), sizeof slots);
    for (size_t i = 0; i < kernels::kBackendSlots; ++i) EXPECT_NE(slots[i], nullptr) << b.device << " slot " << i;
  }
}

TEST(Backends, TheStubRefusesEverySlotByName) {
  const kernels::Backend& stub = kernels::stub_backend();
  Tensor t = ones({2});
  EXPECT_HPML_ERROR(stub.fill(kernels::view_of(t), Scalar(1.0)), "fill is not implemented on stub");
  EXPECT_HPML_ERROR(stub.gemm(kFloat32, false, false, 1, 1, 1, 1.0, nullptr, 1, nullptr, 1, 0.0, nullptr, 1),
                    "gemm is not implemented on stub");
}

}  // namespace
}  // namespace hpml
