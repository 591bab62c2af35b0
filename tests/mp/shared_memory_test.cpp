// Shared-memory storage: share_memory_ in place, handles, and that no segment outlives its
// process tree (normal exit, an exception in a child, a child killed with SIGKILL).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "child_process.h"
#include "hpml/hpml.h"
#include "mp/mp_test_util.h"

using namespace hpml;

TEST(SharedMemory, ShareMemoryMovesTheStorageInPlace) {
  Tensor t = arange(0, 12, 1, kFloat32).reshape({3, 4});
  Tensor view = t.select(0, 1);
  EXPECT_FALSE(t.is_shared());
  t.share_memory_();
  EXPECT_TRUE(t.is_shared());
  EXPECT_TRUE(view.is_shared());  // views follow: they share the StorageImpl
  EXPECT_EQ(view.data_ptr<float>()[0], 4.0f);
  const std::string name = t.impl()->storage()->shared_name();
  EXPECT_TRUE(hpml::testing::shm_exists(name));
  view.fill_(7);
  EXPECT_EQ(t.data_ptr<float>()[5], 7.0f);
  const void* before = t.data_ptr();
  t.share_memory_();  // already shared: nothing moves
  EXPECT_EQ(t.data_ptr(), before);
  t = Tensor();
  view = Tensor();
  EXPECT_FALSE(hpml::testing::shm_exists(name)) << "the owner's last reference unlinks the segment";
}

TEST(SharedMemory, HandleRoundTripMapsTheSameMemory) {
  Tensor t = randn({4, 5});
  Tensor col = t.transpose(0, 1).select(0, 2);  // strided view with an offset
  mp::TensorHandle h = mp::share(col);
  mp::TensorHandle back = mp::TensorHandle::deserialize(h.serialize());
  EXPECT_EQ(back.segment, h.segment);
  EXPECT_EQ(back.sizes, h.sizes);
  EXPECT_EQ(back.strides, h.strides);
  Tensor mapped = mp::from_handle(back);
  EXPECT_TRUE(hpml::testing::same(mapped, col));
  col.fill_(3);  // one memory, two mappings
  EXPECT_EQ(mapped.data_ptr<float>()[0], 3.0f);
}

TEST(SharedMemory, HandlesOutsideTheSegmentAreRefused) {
  Tensor t = zeros({8});
  mp::TensorHandle h = mp::share(t);
  h.sizes = {1000};
  try {
    mp::from_handle(h);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside segment"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mp::TensorHandle::deserialize("garbage"), Error);
  EXPECT_THROW(mp::SharedSegment::open("/hpml.does-not-exist"), Error);
  EXPECT_THROW(mp::SharedSegment::open("../etc/passwd"), Error);
}

TEST(SharedMemory, ModuleShareMemoryMovesEveryParameter) {
  nn::Linear lin(3, 2);
  lin.share_memory();
  for (const Tensor& p : lin.parameters()) EXPECT_TRUE(p.is_shared());
}

TEST(SharedMemory, ResourceTrackerRuns) {
  const int pid = mp::resource_tracker_pid();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0);
}

// ---- leak scenarios: each runs in a child program; the parent checks /dev/shm afterwards ----

namespace {
void print_segment(const Tensor& t) {
  std::printf("SEGMENT %s\n", t.impl()->storage()->shared_name().c_str());
  std::fflush(stdout);
}
}  // namespace

TEST(SharedMemoryChild, DISABLED_LeakOnNormalExit) {
  // Shared tensors that are never freed: the process exits with their names still registered.
  for (int i = 0; i < 3; ++i) {
    auto* t = new Tensor(ones({100}));
    t->share_memory_();
    print_segment(*t);
  }
}

TEST(SharedMemoryChild, DISABLED_ExceptionInAChild) {
  mp::Process p([] {
    for (int i = 0; i < 2; ++i) {
      auto* t = new Tensor(ones({100}));
      t->share_memory_();
      print_segment(*t);
    }
    throw std::runtime_error("worker failed on purpose");
  });
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(p.error().find("on purpose"), std::string::npos);
}

TEST(SharedMemoryChild, DISABLED_ChildKilled) {
  mp::Process p([] {
    for (int i = 0; i < 2; ++i) {
      auto* t = new Tensor(ones({100}));
      t->share_memory_();
      print_segment(*t);
    }
    ::raise(SIGKILL);
  });
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

class SegmentsNeverLeak : public ::testing::TestWithParam<const char*> {};

TEST_P(SegmentsNeverLeak, AfterTheProcessTreeExits) {
  const std::string out = hpml::testing::run_test_in_child("", std::string("SharedMemoryChild.DISABLED_") + GetParam());
  const auto names = hpml::testing::printed_segments(out);
  ASSERT_GE(names.size(), 2u) << out;
  const auto left = hpml::testing::wait_until_gone(names, 10.0);
  EXPECT_TRUE(left.empty()) << left.size() << " segment(s) left in /dev/shm, first " << left.front() << "\n" << out;
  EXPECT_NE(out.find("resource tracker: removed"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, SegmentsNeverLeak,
                         ::testing::Values("LeakOnNormalExit", "ExceptionInAChild", "ChildKilled"));

TEST(SharedMemoryChild, DISABLED_TrackerKilled) {
  const int pid = mp::resource_tracker_pid();
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  ::usleep(100 * 1000);
  Tensor t = ones({10});
  t.share_memory_();  // would die of SIGPIPE if the tracker channel were a plain pipe
  t = Tensor();       // unlink + unregister
  std::printf("SURVIVED\n");
}

TEST(SharedMemory, KilledTrackerIsAWarningNotACrash) {
  const std::string out = hpml::testing::run_test_in_child("", "SharedMemoryChild.DISABLED_TrackerKilled");
  EXPECT_NE(out.find("SURVIVED"), std::string::npos) << out;
  EXPECT_NE(out.find("resource tracker is gone"), std::string::npos) << out;
}

TEST(SharedMemory, ForkChildDroppingASharedTensorKeepsTheParentsSegment) {
  auto* t = new Tensor(ones({8}));
  t->share_memory_();
  const std::string name = t->impl()->storage()->shared_name();
  mp::Process p([t] { delete t; });  // the child's copy of the last reference dies
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(hpml::testing::shm_exists(name)) << "a fork child must not unlink its parent's segment";
  delete t;
  EXPECT_FALSE(hpml::testing::shm_exists(name));
}
