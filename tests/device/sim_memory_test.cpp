// The simulated device's stream-ordered caching allocator at work (core/stream_allocator.h is
// tested alone in tests/core/stream_allocator_test.cpp): a training loop that stops asking the
// device for memory after its first step, record_stream (and the poison a kernel reads without
// it), the memory summary, and record_stream's errors.
#include <gtest/gtest.h>

#include <hpml/hpml.h>

#include <cmath>
#include <string>

#include "../core/test_helpers.h"

namespace hpml {
namespace {

namespace F = nn::functional;
const Device kSim0(DeviceType::Sim, 0), kSim1(DeviceType::Sim, 1);

TEST(SimMemory, TrainingStopsAskingTheDeviceForMemoryAfterTheFirstStep) {
  manual_seed(4);
  // 512 KiB activations from the small pool, a 2 MiB weight and its Adam state from the large
  // one: without reuse every step would need new segments.
  nn::Sequential net(nn::Linear(512, 1024), nn::ReLU(), nn::Linear(1024, 10));
  optim::Adam opt(net.parameters(), {.lr = 0.01});
  net.to(kSim1);
  const Tensor x = randn({128, 512}), y = randint(0, 10, {128});
  std::vector<uint64_t> segments_after_step;
  std::vector<size_t> allocated_after_step;
  for (int step = 0; step < 6; ++step) {
    Tensor loss = F::cross_entropy(net.forward(x.to(kSim1)), y.to(kSim1));
    opt.zero_grad();
    loss.backward();
    opt.step();
    EXPECT_TRUE(std::isfinite(loss.item<double>()));  // waits for the step
    loss = Tensor();
    segments_after_step.push_back(sim::memory_stats_detailed(1).raw_allocs);
    allocated_after_step.push_back(sim::memory_allocated(1));
  }
  for (size_t i = 1; i < segments_after_step.size(); ++i) {
    EXPECT_EQ(segments_after_step[i], segments_after_step[0]) << "step " << i + 1 << " asked the device for memory";
    EXPECT_EQ(allocated_after_step[i], allocated_after_step[1]) << "step " << i + 1;  // nothing leaks
  }
  const StreamAllocatorStats s = sim::memory_stats_detailed(1);
  EXPECT_GT(s.base.hits, 5u * 10u);  // every step's tensors came from the cache
  EXPECT_GE(s.reserved_bytes, s.base.allocated_bytes);
  EXPECT_EQ(s.ooms, 0u);
}

// A tensor read by a kernel on a side stream, then dropped on the host: its poisoning is queued
// on the stream it was allocated on, which may run it before the side stream's kernel.
Tensor read_on_side_stream_after_free(bool record) {
  sim::Stream side = sim::Stream::create(0);
  Tensor a = full({256}, 3.0f).to(kSim0);  // written on the default stream
  side.wait_stream(sim::default_stream(0));
  Tensor b;
  {
    sim::StreamGuard g(side);
    b = a * 2;  // queued on side; deferred, so not run yet
    if (record) sim::record_stream(a, side);
  }
  a = Tensor();                          // the host frees it at once
  sim::default_stream(0).synchronize();  // runs the default stream's queue: the poisoning too
  side.synchronize();
  sim::default_stream(0).wait_stream(side);  // b is read on the default stream
  return b.cpu();
}

TEST(SimMemory, AKernelOnAnotherStreamReadsPoisonWithoutRecordStream) {
  Tensor b = read_on_side_stream_after_free(/*record=*/false);
  EXPECT_TRUE(std::isnan(b[0].item<float>()));  // the bug a GPU would show now and then
}

TEST(SimMemory, RecordStreamKeepsTheBlockUntilTheOtherStreamHasRun) {
  Tensor b = read_on_side_stream_after_free(/*record=*/true);
  EXPECT_EQ(b.sum().item<float>(), 256 * 6.0f);
  sim::synchronize(0);
  EXPECT_EQ(sim::memory_stats_detailed(0).pending_frees, 0u);  // its events completed
}

TEST(SimMemory, RecordStreamChecksItsArguments) {
  sim::Stream side = sim::Stream::create(1);
  EXPECT_HPML_ERROR(sim::record_stream(ones({2}), side), "record_stream: expected a sim tensor, got cpu");
  EXPECT_HPML_ERROR(sim::record_stream(ones({2}).to(kSim0), side), "the tensor is on sim:0 but the stream is on sim:1");
  Tensor t = ones({2}).to(kSim1);
  EXPECT_NO_THROW(sim::record_stream(t, sim::default_stream(1)));  // its own stream: nothing to do
  EXPECT_NO_THROW(sim::record_stream(t, side));
  EXPECT_NO_THROW(sim::record_stream(t, side));  // again: accepted
}

TEST(SimMemory, SummaryShowsTheDeviceAndItsCounts) {
  Tensor t = ones({1000}).to(kSim1);
  sim::synchronize(1);
  const std::string s = sim::memory_summary(1);
  EXPECT_NE(s.find("device sim:1"), std::string::npos) << s;
  for (const char* row : {"Allocated memory", "Reserved memory", "Segments", "Device allocations", "Out-of-memory"})
    EXPECT_NE(s.find(row), std::string::npos) << row << "\n" << s;
  EXPECT_GE(sim::memory_reserved(1), size_t{2} << 20);  // at least one 2 MiB segment of the small pool
}

}  // namespace
}  // namespace hpml
