// DataLoader worker processes under faults: a worker killed or stopped, the main process killed,
// a Ctrl-C to the whole process group, a batch slot /dev/shm cannot hold, and the signal mask
// of worker threads. Scenarios that kill or signal a main process run in a child program.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "child_process.h"
#include "data/dataloader_test_util.h"
#include "hpml/hpml.h"
#include "mp/mp_test_util.h"

using namespace hpml;
using data::DataLoader;
using data::WorkerMode;
using hpml::testing::ProbeDataset;

namespace {

// ProbeDataset that takes `ms` per sample, and `stuck_s` seconds on sample `stuck_at`.
struct SlowProbe : ProbeDataset {
  SlowProbe(int64_t n, int ms, int64_t stuck_at = -1, int stuck_s = 0)
      : ProbeDataset(n), ms_(ms), stuck_at_(stuck_at), stuck_s_(stuck_s) {}
  data::Sample get(int64_t i) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(i == stuck_at_ ? 1000 * stuck_s_ : ms_));
    return ProbeDataset::get(i);
  }
  int ms_;
  int64_t stuck_at_;
  int stuck_s_;
};

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t worker_pid(const data::Batch& b) { return b[2].data_ptr<int64_t>()[0]; }

}  // namespace

// Batches 0 and 1 (workers 0 and 1, their pids), then `act(pid of worker `victim`)`, then the rest
// of the epoch; returns the error it ended with.
template <typename F>
std::string epoch_error(DataLoader& loader, int victim, std::vector<int64_t>& pids, F act) {
  try {
    auto it = loader.begin();
    pids.push_back(worker_pid(*it));
    ++it;
    pids.push_back(worker_pid(*it));
    act(static_cast<pid_t>(pids[static_cast<size_t>(victim)]));
    for (++it; it != loader.end(); ++it) {
    }
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(DataLoaderFaults, AKilledWorkerIsNamedWithItsPidAndTheWait) {
  auto ds = std::make_shared<SlowProbe>(60, 20);
  DataLoader loader(ds, {.batch_size = 2, .num_workers = 2, .worker_mode = WorkerMode::process});
  std::vector<int64_t> pids;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string what = epoch_error(loader, 0, pids, [](pid_t pid) { ::kill(pid, SIGKILL); });
  EXPECT_LT(since(t0), 10.0) << what;
  ASSERT_EQ(pids.size(), 2u) << what;
  EXPECT_NE(what.find("worker 0 (pid " + std::to_string(pids[0]) + ")"), std::string::npos) << what;
  EXPECT_NE(what.find("signal 9"), std::string::npos) << what;
  EXPECT_NE(what.find(" s for batch"), std::string::npos) << "the seconds waited: " << what;
  for (int64_t pid : pids) EXPECT_FALSE(hpml::testing::process_alive(static_cast<int>(pid))) << pid;
}

TEST(DataLoaderFaults, AStoppedWorkerTimesOutNamingItsPid) {
  auto ds = std::make_shared<SlowProbe>(80, 20);
  DataLoader loader(ds, {.batch_size = 2, .num_workers = 2, .worker_mode = WorkerMode::process,
                         .persistent_workers = true, .timeout = 1.0});
  std::vector<int64_t> pids;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string what = epoch_error(loader, 1, pids, [](pid_t pid) { ::kill(pid, SIGSTOP); });
  EXPECT_LT(since(t0), 10.0) << what;
  ASSERT_EQ(pids.size(), 2u) << what;
  EXPECT_NE(what.find("timed out after 1 s"), std::string::npos) << what;
  EXPECT_NE(what.find("worker 1 (pid " + std::to_string(pids[1]) + ")"), std::string::npos) << what;
  EXPECT_NE(what.find("stopped"), std::string::npos) << "the worker's state: " << what;
  for (int64_t pid : pids) EXPECT_FALSE(hpml::testing::process_alive(static_cast<int>(pid))) << "not reaped: " << pid;
  ::kill(static_cast<pid_t>(pids[1]), SIGCONT);
}

TEST(DataLoaderFaults, WorkerThreadsBlockSigintAndSigterm) {
  struct MaskProbe : data::Dataset {
    int64_t size() const override { return 4; }
    data::Sample get(int64_t) const override {
      sigset_t cur;
      sigemptyset(&cur);
      pthread_sigmask(SIG_SETMASK, nullptr, &cur);
      return {scalar_tensor(static_cast<int64_t>(sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM)), kInt64)};
    }
  };
  DataLoader loader(std::make_shared<MaskProbe>(), {.batch_size = 1, .num_workers = 2, .pin_memory = true});
  for (data::Batch& b : loader) EXPECT_EQ(b[0].item<int64_t>(), 1) << "a worker thread must block SIGINT and SIGTERM";
}

// ---- the main process killed: nothing may be left ----

TEST(DataLoaderFaultsChild, DISABLED_MainKilled) {
  // Worker 1 gets stuck for two minutes on sample 2 (batch 1): the main process waits on it.
  auto ds = std::make_shared<SlowProbe>(40, 1, 2, 120);
  DataLoader loader(ds, {.batch_size = 2, .num_workers = 2, .worker_mode = WorkerMode::process,
                         .persistent_workers = true});
  DataLoader other(std::make_shared<ProbeDataset>(8), {.batch_size = 2, .num_workers = 1,
                                                       .worker_mode = WorkerMode::process,
                                                       .persistent_workers = true});
  for (data::Batch& b : other) (void)b;  // a second loader's worker, idle between epochs
  auto it = loader.begin();
  std::printf("READY tracker %d\n", mp::resource_tracker_pid());
  std::fflush(stdout);
  ++it;  // blocks on the stuck worker until the parent kills us
}

TEST(DataLoaderFaults, KillingTheMainProcessLeavesNoWorkerTrackerOrSegment) {
  hpml::testing::TestChild c;
  hpml::testing::start_test_child(c, "DataLoaderFaultsChild.DISABLED_MainKilled");
  ASSERT_GT(c.pid, 0);
  const std::string ready = hpml::testing::read_line_starting(c, "READY", 60);
  ASSERT_FALSE(ready.empty()) << c.output;
  const int tracker = std::atoi(ready.substr(ready.rfind(' ') + 1).c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<int> pids = hpml::testing::children_of(c.pid);  // workers (and the tracker, a spawned child)
  ASSERT_GE(pids.size(), 3u) << c.output;
  pids.push_back(tracker);
  pids.push_back(c.pid);
  const size_t shm_before = mp::list_segments().size();
  ::kill(c.pid, SIGKILL);
  hpml::testing::wait_test_child(c, 10);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int> alive;
  std::vector<std::string> segments;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    alive.clear();
    for (int pid : pids)
      if (hpml::testing::process_alive(pid)) alive.push_back(pid);
    segments = hpml::testing::segments_of(pids);
  } while ((!alive.empty() || !segments.empty()) && since(t0) < 5.0);
  EXPECT_TRUE(alive.empty()) << alive.size() << " process(es) of the killed program still alive 5 s later, first pid "
                             << alive.front();
  EXPECT_TRUE(segments.empty()) << segments.size() << " segment(s) left, first " << segments.front()
                                << " (/dev/shm held " << shm_before << " hpml segments before the kill, "
                                << mp::list_segments().size() << " after)";
  for (int pid : alive) ::kill(pid, SIGKILL);
}

// ---- Ctrl-C to the whole process group ----

namespace {
volatile sig_atomic_t g_sigint = 0;
void on_sigint(int) { g_sigint = 1; }
}  // namespace

TEST(DataLoaderFaultsChild, DISABLED_GroupSigint) {
  auto ds = std::make_shared<SlowProbe>(24, 5);
  DataLoader loader(ds, {.batch_size = 2, .num_workers = 2, .worker_mode = WorkerMode::process,
                         .persistent_workers = true, .timeout = 30});
  auto pids = [&] {
    std::set<int64_t> s;
    for (data::Batch& b : loader) s.insert(worker_pid(b));
    return s;
  };
  const auto before = pids();
  // The program takes Ctrl-C itself (as hpml train does: it writes a checkpoint, then stops).
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  std::printf("READY\n");
  std::fflush(stdout);
  for (int i = 0; i < 3000 && !g_sigint; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(g_sigint) << "no SIGINT came";
  const auto after = pids();  // the "checkpoint" epoch: the workers must still be there
  EXPECT_EQ(before, after);
  for (int64_t pid : before) std::printf("WORKER %lld\n", static_cast<long long>(pid));
  std::printf("SURVIVED\n");
}

TEST(DataLoaderFaults, CtrlCToTheProcessGroupSparesTheWorkers) {
  hpml::testing::TestChild c;
  hpml::testing::start_test_child(c, "DataLoaderFaultsChild.DISABLED_GroupSigint", {}, /*new_group=*/true);
  ASSERT_GT(c.pid, 0);
  ASSERT_FALSE(hpml::testing::read_line_starting(c, "READY", 60).empty()) << c.output;
  const int group = c.pid;
  ASSERT_EQ(::kill(-group, SIGINT), 0);
  const int st = hpml::testing::wait_test_child(c, 60);
  EXPECT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st << "\n" << c.output;
  EXPECT_NE(c.output.find("SURVIVED"), std::string::npos) << c.output;
  std::vector<int> workers;
  std::istringstream is(c.output);
  for (std::string line; std::getline(is, line);)
    if (line.rfind("WORKER ", 0) == 0) workers.push_back(std::atoi(line.c_str() + 7));
  EXPECT_EQ(workers.size(), 2u) << c.output;
  for (int pid : workers) EXPECT_FALSE(hpml::testing::process_alive(pid)) << "worker " << pid << " outlived its loader";
  EXPECT_TRUE(hpml::testing::segments_of(workers).empty());
}

// ---- a batch slot that /dev/shm cannot hold ----

TEST(DataLoaderFaultsChild, DISABLED_SlotDoesNotFit) {
  // A batch of 64 rows of 8192 f32 is 2 MiB; /dev/shm is a 1 MiB tmpfs here.
  Tensor x = ones({256, 8192});
  auto ds = std::make_shared<data::TensorDataset>(std::vector<Tensor>{x});
  DataLoader loader(ds, {.batch_size = 64, .num_workers = 1, .worker_mode = WorkerMode::process});
  try {
    for (data::Batch& b : loader) (void)b;
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("worker 0"), std::string::npos) << what;
    EXPECT_NE(what.find("free in /dev/shm"), std::string::npos) << what;
  }
  EXPECT_TRUE(mp::list_segments().empty()) << mp::list_segments().front();
  std::printf("SLOT CHECKED\n");
}

TEST(DataLoaderFaults, ABatchSlotThatDoesNotFitIsAnError) {
  if (!hpml::testing::can_unshare_mounts())
    GTEST_SKIP() << "cannot create a user + mount namespace here (unshare -Urm), so no small /dev/shm to fill";
  const std::string out = hpml::testing::run_test_with_small_shm("DataLoaderFaultsChild.DISABLED_SlotDoesNotFit");
  EXPECT_NE(out.find("SLOT CHECKED"), std::string::npos) << out;
  EXPECT_NE(out.find("EXIT 0"), std::string::npos) << out;
}
