// mp::Process with fork, spawn and forkserver: exit codes, exceptions, signals, arguments, and
// shared tensors updated by children.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "child_process.h"
#include "hpml/hpml.h"
#include "mp/mp_test_util.h"

using namespace hpml;
using mp::StartMethod;

namespace {

// Entry points for spawned and forkserver children. args: "<in queue>,<out queue>|<what>".
void child_job(const std::string& args) {
  const auto bar = args.find('|');
  const std::string what = args.substr(bar + 1);
  if (what == "throw") throw std::runtime_error("child job failed: bad input 42");
  if (what == "exit3") _exit(3);
  if (what == "sleep") {
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return;
  }
  // "add": take a shared tensor from the queue, add 1 in place, and answer with our pid.
  const std::string queues = args.substr(0, bar);
  const auto comma = queues.find(',');
  mp::SimpleQueue in = mp::SimpleQueue::from_handle(queues.substr(0, comma));
  mp::SimpleQueue out = mp::SimpleQueue::from_handle(queues.substr(comma + 1));
  auto m = in.get(30);
  HPML_CHECK(m.has_value(), "child: no message");
  m->tensors[0].add_(1);
  out.put(std::vector<Tensor>{}, "done " + std::to_string(getpid()));
  std::fflush(nullptr);
}
HPML_MP_ENTRY(child_job, child_job);

class StartMethods : public ::testing::TestWithParam<StartMethod> {
 protected:
  mp::Process make(const std::string& args, std::vector<int> fds = {}) {
    return mp::Process("child_job", args, {.start_method = GetParam(), .pass_fds = std::move(fds)});
  }
};

}  // namespace

TEST_P(StartMethods, ChildUpdatesASharedTensor) {
  mp::SimpleQueue in, out;
  Tensor t = zeros({1000});
  std::vector<int> fds = in.fds();
  for (int f : out.fds()) fds.push_back(f);
  mp::Process p("child_job", in.handle() + "," + out.handle() + "|add",
                {.start_method = GetParam(), .pass_fds = fds});
  p.start();
  in.put(t);
  auto m = out.get(30);
  ASSERT_TRUE(m.has_value()) << p.error();
  ASSERT_TRUE(p.join(30)) << mp::start_method_name(GetParam());
  EXPECT_EQ(p.exitcode(), 0) << p.error();
  EXPECT_EQ(m->text, "done " + std::to_string(p.pid()));
  EXPECT_TRUE(hpml::testing::same(t, ones({1000})));
}

TEST_P(StartMethods, ExceptionReachesTheParent) {
  mp::Process p = make("x|throw");
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(p.error().find("bad input 42"), std::string::npos) << p.error();
}

TEST_P(StartMethods, ExitCodeAndSignal) {
  mp::Process a = make("x|exit3");
  a.start();
  ASSERT_TRUE(a.join(30));
  EXPECT_EQ(a.exitcode(), 3);
  mp::Process b = make("x|sleep");
  b.start();
  EXPECT_FALSE(b.join(0.2));
  EXPECT_TRUE(b.is_alive());
  EXPECT_FALSE(b.exitcode().has_value());
  b.kill();
  ASSERT_TRUE(b.join(30));
  EXPECT_EQ(b.exitcode(), -SIGKILL);
  EXPECT_FALSE(b.is_alive());
}

TEST_P(StartMethods, UnknownEntryPointIsReported) {
  mp::Process p("no_such_entry", "", {.start_method = GetParam(), .pass_fds = {}});
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(p.error().find("no_such_entry"), std::string::npos) << p.error();
}

INSTANTIATE_TEST_SUITE_P(All, StartMethods,
                         ::testing::Values(StartMethod::fork, StartMethod::spawn, StartMethod::forkserver),
                         [](const auto& info) { return std::string(mp::start_method_name(info.param)); });

TEST(Process, ForkRunsAFunction) {
  Tensor t = zeros({4});
  t.share_memory_();
  mp::Process p([t]() mutable { t.fill_(5); });
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(hpml::testing::same(t, full({4}, 5)));
}

TEST(Process, ForkChildRunsSingleThreaded) {
  Tensor out = zeros({1}, kInt64);
  out.share_memory_();
  mp::Process p([out]() mutable { out.fill_(get_num_threads()); });
  p.start();
  ASSERT_TRUE(p.join(30));
  EXPECT_EQ(out.item<int64_t>(), 1);
}

TEST(Process, DestroyingARunningProcessKillsIt) {
  pid_t pid;
  {
    mp::Process p("child_job", "x|sleep", {.start_method = StartMethod::spawn, .pass_fds = {}});
    p.start();
    pid = p.pid();
  }
  EXPECT_NE(::kill(pid, 0), 0) << "the child should be gone (killed and reaped)";
}

TEST(Process, BadUse) {
  EXPECT_THROW(mp::parse_start_method("threads"), Error);
  mp::Process p([] {});
  p.start();
  EXPECT_THROW(p.start(), Error);
  p.join();
  EXPECT_THROW(mp::register_entry("child_job", [](const std::string&) {}), Error);
  mp::Process s([] {});  // a function cannot be spawned
  EXPECT_EQ(s.start_method(), StartMethod::fork);
}

TEST(ProcessChild, DISABLED_ForkAfterThreads) {
  Tensor big = rand({1 << 22});
  Tensor s = big.sum();  // a parallel reduction: hpml's OpenMP pool now has its threads
  (void)s;
  mp::Process p([] {});
  p.start();
  p.join(30);
}

TEST(Process, ForkWarnsWhenTheParentRunsThreads) {
  const std::string out = hpml::testing::run_test_in_child("OMP_NUM_THREADS=2", "ProcessChild.DISABLED_ForkAfterThreads");
  EXPECT_NE(out.find("warning: fork() from a process running"), std::string::npos) << out;
}

// Run in a child of its own: once the sim device has started its stream threads, every later
// fork in this process would be refused too.
TEST(ProcessChild, DISABLED_ForkAfterTheSimDeviceStarted) {
  mp::Process before([] {});
  before.start();  // nothing initialised yet: fork is fine
  ASSERT_TRUE(before.join(30));
  Tensor on_sim = ones({4}).to(Device(DeviceType::Sim, 0));
  (void)on_sim;
  mp::Process p([] {});
  try {
    p.start();
    std::printf("RESULT: fork was allowed\n");
  } catch (const Error& e) {
    std::printf("RESULT: %s\n", e.what());
  }
  mp::Process spawned("child_job", "x|exit3", {.start_method = StartMethod::spawn, .pass_fds = {}});
  spawned.start();  // spawn is still allowed
  if (spawned.join(30)) std::printf("SPAWN EXIT: %d\n", spawned.exitcode().value_or(-1));
}

TEST(Process, ForkIsRefusedOnceADeviceIsInitialized) {
  const std::string out = hpml::testing::run_test_in_child("", "ProcessChild.DISABLED_ForkAfterTheSimDeviceStarted");
  EXPECT_NE(out.find("RESULT: mp::Process(fork): the sim device is initialised"), std::string::npos) << out;
  EXPECT_NE(out.find("spawn or forkserver"), std::string::npos) << out;
  EXPECT_NE(out.find("SPAWN EXIT: 3"), std::string::npos) << out;
}
