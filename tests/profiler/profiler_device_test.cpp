// Device time in the profiler (Note [Device time] in src/profiler/averages.cpp): kernels on the
// simulated device become kernel events on their stream's row, each charged to the op that
// launched it; the table grows device columns only when there are kernels.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "hpml/hpml.h"

namespace hpml {
namespace {

using profiler::Profile;
using record::Kind;

const profiler::FunctionStats* row(const profiler::EventAverages& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.name == name) return &r;
  return nullptr;
}

// c = a + b and d = a @ b on sim:0, in one user scope, inputs made before the profile starts.
// Deferred launches (the simulated device's default, set here to say so): kernels run only when
// the host waits, so the frees at the end of run() run after the profile stops.
struct TwoOps {
  Tensor a, b;
  TwoOps() {
    sim::detail::set_deferred(true);
    manual_seed(5);
    a = randn({256, 256}).to(Device("sim:0"));
    b = randn({256, 256}).to(Device("sim:0"));
    sim::synchronize();
  }
  void run() {
    RECORD_FUNCTION("block");
    Tensor c = a + b;
    Tensor d = mm(a, b);
    sim::synchronize();
  }
};

TEST(ProfilerDevice, SimKernelsAreTimedOnTheirStreamAndChargedToTheirOp) {
  TwoOps ops;
  Profile p;
  p.start();
  ops.run();
  p.stop();
  const auto& ev = p.events();
  const auto main_tid = std::find_if(ev.begin(), ev.end(), [](const auto& e) { return e.name == "add"; })->tid;
  std::map<std::string, int> kernels;
  int64_t kernel_ns = 0;
  for (const auto& e : ev) {
    if (e.kind != Kind::kernel) continue;
    ++kernels[e.name];
    kernel_ns += e.end_ns - e.start_ns;
    EXPECT_EQ(e.device, Device("sim:0")) << e.name;
    EXPECT_NE(e.tid, main_tid) << e.name << " ran on the launching thread";
    EXPECT_EQ(e.launch_tid, main_tid) << e.name;
    EXPECT_GT(e.launch_ns, 0) << e.name << " has no launch site";
    EXPECT_GE(e.start_ns, e.launch_ns) << e.name << " ran before the op that launched it began";
  }
  // One binary kernel for add, one bmm for mm, and the simulated allocator's own device work
  // (an output's canaries and poison: Note [Canaries and poison]).
  EXPECT_EQ(kernels["binary"], 1);
  EXPECT_EQ(kernels["bmm"], 1);
  for (const auto& [name, n] : kernels)
    EXPECT_TRUE(name == "binary" || name == "bmm" || name == "allocate" || name == "free") << name;
  const profiler::EventAverages rows = p.key_averages();
  const auto *add = row(rows, "add"), *mm_row = row(rows, "mm"), *block = row(rows, "block");
  const auto *binary = row(rows, "binary"), *bmm = row(rows, "bmm");
  ASSERT_TRUE(add && mm_row && block && binary && bmm) << rows.table();
  EXPECT_EQ(binary->kind, Kind::kernel);
  EXPECT_EQ(binary->self_ns, 0) << "a kernel's time is device time, not CPU time";
  EXPECT_GT(binary->self_device_ns, 0);
  EXPECT_GE(add->self_device_ns, binary->self_device_ns);
  EXPECT_GE(mm_row->self_device_ns, bmm->self_device_ns);
  EXPECT_EQ(add->self_device_ns + mm_row->self_device_ns, kernel_ns) << "every kernel is charged to its op";
  EXPECT_EQ(block->self_device_ns, 0) << "block launched nothing itself";
  EXPECT_EQ(block->device_total_ns, kernel_ns);
  // The stream's worker thread has its row's name in the trace.
  const auto& names = p.result().thread_names;
  EXPECT_TRUE(std::any_of(names.begin(), names.end(), [](const auto& n) { return n.second == "sim:0 stream 0"; }));
}

TEST(ProfilerDevice, TheTableHasDeviceColumnsOnlyWithKernels) {
  TwoOps ops;
  Profile sim;
  sim.start();
  ops.run();
  sim.stop();
  const std::string table = sim.key_averages().table("self_cuda_time_total");
  EXPECT_NE(table.find("Self device"), std::string::npos) << table;
  EXPECT_NE(table.find("Self device time total"), std::string::npos) << table;
  // Sorted by self device time, the 256^3 matmul comes before the 256^2 add.
  ASSERT_NE(table.find("\nmm "), std::string::npos) << table;
  ASSERT_NE(table.find("\nadd "), std::string::npos) << table;
  EXPECT_LT(table.find("\nmm "), table.find("\nadd ")) << table;
  Profile cpu;
  cpu.start();
  Tensor x = ones({8}) + ones({8});
  cpu.stop();
  EXPECT_EQ(cpu.key_averages().table().find("Self device"), std::string::npos);
  EXPECT_THROW(cpu.key_averages().table("self_gpu_time"), Error);
}

// A kernel launched in one recording and run in the next (at its synchronize) is dropped, not
// charged to the second one.
TEST(ProfilerDevice, KernelsOfAnEarlierRecordingStayOutOfTheNext) {
  TwoOps ops;
  Profile first;
  first.start();
  Tensor c = ops.a + ops.b;  // queued: nothing runs before a wait
  first.stop();
  Profile second;
  second.start();
  sim::synchronize();  // the add's kernel (and its allocation's poisoning) run now
  Tensor d = ops.a * ops.b;
  sim::synchronize();
  second.stop();
  int mul_kernels = 0;
  for (const auto& e : second.events()) {
    if (e.kind != Kind::kernel) continue;
    EXPECT_GE(e.launch_ns, second.result().start_ns) << e.name << " was launched in the first recording";
    mul_kernels += e.name == "binary";
  }
  EXPECT_EQ(mul_kernels, 1) << "the mul's own kernel is there";
}

// Memory per device: an add on sim:0 allocates its output there, in the device columns and the
// device's own timeline, not the cpu's.
TEST(ProfilerDevice, DeviceMemoryHasItsOwnColumnsAndTimeline) {
  TwoOps ops;
  Profile p(profiler::ProfileOptions{.profile_memory = true});
  const size_t before = sim::memory_allocated(0);
  p.start();
  Tensor c = ops.a + ops.b;  // 256 x 256 f32: 262144 bytes, and the simulated device's canaries
  Tensor host = ones({1000});
  p.stop();
  // The device's allocator's own count of what the add took (Note [Canaries and poison]).
  const auto took = static_cast<int64_t>(sim::memory_allocated(0) - before);
  EXPECT_GE(took, 262144);
  const Device sim0("sim:0");
  const std::vector<Device> devices = p.memory_devices();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0], kCPU);
  EXPECT_EQ(devices[1], sim0);
  const auto sim_timeline = p.memory_timeline(sim0);
  ASSERT_FALSE(sim_timeline.empty());
  EXPECT_EQ(sim_timeline.back().bytes, took);
  const profiler::EventAverages rows = p.key_averages();
  const auto* add = row(rows, "add");
  ASSERT_TRUE(add);
  EXPECT_EQ(add->self_device_bytes, took);
  EXPECT_EQ(add->self_bytes, 0) << "the cpu columns count host memory only";
  const std::string table = rows.table("self_cpu_time_total", 100, true);
  EXPECT_NE(table.find("Self Dev Mem"), std::string::npos) << table;
  // The cpu's timeline has the host tensor and none of the device's bytes.
  const auto cpu_timeline = p.memory_timeline(kCPU);
  ASSERT_FALSE(cpu_timeline.empty());
  EXPECT_LT(cpu_timeline.back().bytes - p.result().memory_at_start, took);
}

}  // namespace
}  // namespace hpml
