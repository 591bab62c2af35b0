// The fault cases of data-parallel training, each under a real mpirun: a rank killed by SIGKILL,
// a rank stopped by SIGSTOP, ranks with different models, a rank whose forward leaves a
// parameter out, and a rank of `hpml train --nproc 2` killed mid-epoch. Each must end every
// rank, non-zero, within the timeout + 10 s, with a message naming what failed, and leave no
// process and no shared-memory segment behind. Then two ranks in two network namespaces (two
// "hosts" over TCP, launched through mpirun's remote agent: tests/distributed/two_hosts.sh).
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Ran {
  int status = -1;  // the exit status, or 128 + the signal
  std::string out;  // stdout and stderr
  double seconds = 0;
};

Ran run_shell(const std::string& cmd, int limit_s) {
  const auto t0 = Clock::now();
  const std::string full = "timeout -s KILL " + std::to_string(limit_s) + " " + cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  Ran r;
  if (!p) return r;
  std::array<char, 512> buf{};
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) r.out += buf.data();
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::set<std::string> entries(const std::string& dir, const std::string& prefix) {
  std::set<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.insert(e->d_name);
    closedir(d);
  }
  return out;
}

// Processes whose command line contains `needle` (other than this test).
std::vector<int> processes_with(const std::string& needle) {
  std::vector<int> out;
  for (const std::string& name : entries("/proc", "")) {
    const int pid = std::atoi(name.c_str());
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream f("/proc/" + name + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), {});
    if (has(cmd, needle)) out.push_back(pid);
  }
  return out;
}

// Waits up to `seconds` for every process matching `needle` to be gone.
bool all_gone(const std::string& needle, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (processes_with(needle).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return processes_with(needle).empty();
}

const std::string kMpirun = std::string(HPML_MPIEXEC) +
                            " --allow-run-as-root --oversubscribe --bind-to none --mca pml ob1 -np 2 ";

// The fault program under mpirun with a collective timeout of `timeout_s`.
Ran fault(const std::string& scenario, int timeout_s) {
  return run_shell("env HPML_FAULT_TIMEOUT=" + std::to_string(timeout_s) + " " + kMpirun + HPML_DDP_FAULT + " " +
                       scenario, timeout_s + 60);
}

class Faults : public ::testing::Test {
 protected:
  void SetUp() override { shm_before_ = entries("/dev/shm", "vader_segment"); }
  void TearDown() override {
    EXPECT_TRUE(all_gone(HPML_DDP_FAULT, 5)) << "ranks left running";
    std::set<std::string> after = entries("/dev/shm", "vader_segment");
    for (const std::string& e : after) EXPECT_TRUE(shm_before_.count(e)) << "left in /dev/shm: " << e;
  }
  std::set<std::string> shm_before_;
};

TEST_F(Faults, AKilledRankEndsEveryRank) {
  Ran r = fault("kill", 30);
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_LT(r.seconds, 30 + 10) << r.out;  // long before the timeout: mpirun sees the death
  EXPECT_TRUE(has(r.out, "exited on signal 9")) << r.out;  // mpirun names the rank that died
  // The survivor names the collective it was in and how long it waited.
  EXPECT_TRUE(std::regex_search(r.out, std::regex("rank 0: all_reduce: SIGTERM came while this rank waited [0-9.]+ s")))
      << r.out;
}

TEST_F(Faults, AStoppedRankTimesOutEveryRank) {
  Ran r = fault("stop", 3);
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_LT(r.seconds, 3 + 10) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("rank 0: all_reduce timed out on rank 0 \\(of 2 in its group, backend mpi\\) after 3\\.[0-9] s "
                        "\\(timeout 3\\.0 s\\)")))
      << r.out;
}

TEST_F(Faults, DifferentModelsNameTheParameterAndTheRanks) {
  Ran r = fault("shapes", 30);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_LT(r.seconds, 10) << r.out;
  for (const char* rank : {"rank 0: ", "rank 1: "})
    EXPECT_TRUE(has(r.out, std::string(rank) + "DistributedDataParallel: parameter 0 (a.weight on this rank) differs "
                           "across ranks: [16, 8] f32 on rank 0, [17, 8] f32 on rank 1"))
        << r.out;
}

TEST_F(Faults, AnUnusedParameterOnOneRankIsNamed) {
  Ran r = fault("unused", 30);
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_LT(r.seconds, 30 + 10) << r.out;
  EXPECT_TRUE(has(r.out, "rank 1: DistributedDataParallel: on rank 1, 2 of 6 parameters got no gradient in this "
                         "backward pass: b.weight, b.bias"))
      << r.out;
}

// hpml train --nproc 2, one rank killed mid-epoch: the launcher exits non-zero, the survivor
// says where it was waiting, and the launcher's folder in /dev/shm is gone.
TEST(FaultsTrain, AKilledRankOfHpmlTrainEndsTheRun) {
  hpml::testing::TempDir dir("ddp_kill");
  const std::string out = dir.path() + "/run", log = dir.path() + "/log";
  const std::string cmd = std::string(HPML_CLI_PATH) + " train --nproc 2 --model mlp --dataset blobs --epochs 100000 "
                          "--quiet --dist-timeout 30 --out " + out;
  ASSERT_EQ(std::system(("(" + cmd + " > " + log + " 2>&1; echo \"status $?\" >> " + log + ") &").c_str()), 0);
  // Find rank 1 (its environment says OMPI_COMM_WORLD_RANK=1) once both ranks are training.
  int victim = -1;
  for (int i = 0; i < 400 && victim < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int pid : processes_with(out)) {
      std::ifstream f("/proc/" + std::to_string(pid) + "/environ");
      std::string env((std::istreambuf_iterator<char>(f)), {});
      if (has(env, std::string("OMPI_COMM_WORLD_RANK=1") + '\0') && std::filesystem::exists(out + "/config.toml"))
        victim = pid;
    }
  }
  ASSERT_GT(victim, 0) << "rank 1 never started";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto t0 = Clock::now();
  kill(victim, SIGKILL);
  std::string text;
  while (!has(text, "status ") && Clock::now() - t0 < std::chrono::seconds(40)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream f(log);
    text.assign((std::istreambuf_iterator<char>(f)), {});
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(has(text, "status ")) << "the run did not end within 40 s:\n" << text;
  EXPECT_LT(seconds, 30 + 10);
  EXPECT_FALSE(has(text, "status 0")) << text;
  EXPECT_TRUE(has(text, "exited on signal 9")) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("hpml: rank 0 of 2: [a-z_]+: SIGTERM came while this rank waited")))
      << text;
  EXPECT_TRUE(all_gone(out, 5)) << "processes left";
  for (const std::string& e : entries("/dev/shm", "hpml-mpi-")) {
    const int pid = std::atoi(e.c_str() + 9);
    EXPECT_EQ(kill(pid, 0), 0) << "/dev/shm/" << e << " left by a launcher that has ended";
  }
}

// ---- two hosts --------------------------------------------------------------------------------

Ran two_hosts(const std::string& program, const std::string& mpirun_args = "") {
  return run_shell("env TWO_HOSTS_TIMEOUT=120 TWO_HOSTS_MPIRUN_ARGS='" + mpirun_args + "' " +
                       std::string(HPML_TESTS_DIR) + "/distributed/two_hosts.sh " + program, 180);
}

void skip_loudly_if_no_namespaces(const Ran& r) {
  if (r.status != 77) return;
  std::fprintf(stderr, "\n##### SKIPPED: this machine cannot create network namespaces, so the two-hosts test "
               "cannot run:\n%s#####\n", r.out.c_str());
  GTEST_SKIP() << "no network namespaces here (see the message above)";
}

TEST(TwoHosts, RanksLiveInTwoNetworkNamespaces) {
  Ran r = two_hosts(std::string(HPML_DDP_FAULT) + " hosts");
  skip_loudly_if_no_namespaces(r);
  ASSERT_EQ(r.status, 0) << r.out;
  std::smatch m0, m1;
  ASSERT_TRUE(std::regex_search(r.out, m0, std::regex("netns of rank 0: ([0-9]+)"))) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, m1, std::regex("netns of rank 1: ([0-9]+)"))) << r.out;
  struct stat own {};
  stat("/proc/self/ns/net", &own);
  EXPECT_NE(m0[1], m1[1]);
  EXPECT_NE(m0[1].str(), std::to_string(own.st_ino));
  EXPECT_NE(m1[1].str(), std::to_string(own.st_ino));
}

TEST(TwoHosts, TheDistributedSuitePassesOverTcp) {
  Ran r = two_hosts(HPML_DIST_TESTS, "-x OMP_NUM_THREADS=1 -x ASAN_OPTIONS=detect_leaks=0");
  skip_loudly_if_no_namespaces(r);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(has(r.out, "PASSED")) << r.out;
}

}  // namespace
