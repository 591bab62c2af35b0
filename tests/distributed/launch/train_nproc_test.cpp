// hpml train on several processes: --nproc 2 trains to the accuracy of one process, the ranks'
// weights stay identical, only rank 0 writes, the checkpoint records the world size, and
// --resume works at the same and at another world size, and SIGTERM stops every rank.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "hpml/hpml.h"
#include "temp_dir.h"

namespace {

struct Out {
  int status;
  std::string text;
};
Out hpml_cli_env(const std::string& env, const std::string& args, int limit_s = 240) {
  const std::string cmd =
      "timeout -s KILL " + std::to_string(limit_s) + " env " + env + " " + HPML_CLI_PATH + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Out o{-1, ""};
  std::array<char, 512> buf{};
  while (p && fgets(buf.data(), static_cast<int>(buf.size()), p)) o.text += buf.data();
  const int st = p ? pclose(p) : -1;
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

Out hpml_cli(const std::string& args, int limit_s = 240) { return hpml_cli_env("", args, limit_s); }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The test accuracy of the last epoch in metrics.csv.
double last_test_acc(const std::string& dir) {
  std::ifstream f(dir + "/metrics.csv");
  std::string line, last;
  while (std::getline(f, line)) last = line;
  std::vector<std::string> cols;
  std::stringstream ss(last);
  for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
  return cols.size() > 6 ? std::stod(cols[6]) : -1;
}

const std::string kBlobs = "train --model mlp --dataset blobs --hidden 32 --batch-size 16 --epochs 3 --seed 3 ";

TEST(TrainNproc, TwoProcessesTrainLikeOneWithIdenticalReplicas) {
  hpml::testing::TempDir dir("nproc");
  Out one = hpml_cli(kBlobs + "--out " + dir.path() + "/one");
  ASSERT_EQ(one.status, 0) << one.text;
  // Batch 8 per process: the same 16 samples per step as the single process.
  Out two = hpml_cli("train --model mlp --dataset blobs --hidden 32 --batch-size 8 --epochs 3 --seed 3 --nproc 2 --out " +
                     dir.path() + "/two");
  ASSERT_EQ(two.status, 0) << two.text;
  EXPECT_TRUE(has(two.text, "data-parallel on 2 processes (mpi): batch 8 per process, 16 per step")) << two.text;
  EXPECT_TRUE(std::regex_search(two.text, std::regex("replicas: the weights of all 2 processes were identical after "
                                                     "every epoch \\(checksum [0-9a-f]{16}\\)")))
      << two.text;
  // One rank printed: each epoch's line once.
  EXPECT_EQ(std::regex_search(two.text, std::regex("epoch 3: .*\n(.|\n)*epoch 3: ")), false) << two.text;
  EXPECT_TRUE(has(two.text, "epoch 3: ")) << two.text;
  const double a1 = last_test_acc(dir.path() + "/one"), a2 = last_test_acc(dir.path() + "/two");
  EXPECT_GT(a1, 0.7);
  EXPECT_NEAR(a2, a1, 0.04) << "one process: " << a1 << ", two: " << a2;
  hpml::io::Metadata meta;
  hpml::io::load_safetensors(dir.path() + "/two/last.safetensors", &meta);
  EXPECT_EQ(meta["world_size"], "2");
}

TEST(TrainNproc, ResumesAtTheSameAndAtAnotherWorldSize) {
  hpml::testing::TempDir dir("nproc_resume");
  const std::string out = dir.path() + "/run";
  Out first = hpml_cli(kBlobs + "--nproc 2 --stop-after 1 --out " + out);
  ASSERT_EQ(first.status, 0) << first.text;
  Out same = hpml_cli("train --nproc 2 --stop-after 2 --resume " + out + "/last.safetensors");
  ASSERT_EQ(same.status, 0) << same.text;
  EXPECT_FALSE(has(same.text, "was written by")) << same.text;
  Out other = hpml_cli("train --resume " + out + "/last.safetensors");  // one process
  ASSERT_EQ(other.status, 0) << other.text;
  EXPECT_TRUE(has(other.text, "was written by 2 processes and this run has 1: from here each process draws another "
                              "shard of every epoch, and a step sees 16 samples instead of 32"))
      << other.text;
  std::ifstream f(out + "/metrics.csv");
  int lines = 0;
  for (std::string l; std::getline(f, l);) ++lines;
  EXPECT_EQ(lines, 4);  // the header and three epochs, written by rank 0 alone
}

// SIGTERM to the launcher: mpirun passes it to the ranks, which agree on the step to stop at;
// rank 0 writes the checkpoint, and the launcher exits 143 as hpml train alone would.
TEST(TrainNproc, SigtermStopsEveryRankAtOneStepWithACheckpoint) {
  hpml::testing::TempDir dir("nproc_sigterm");
  const std::string out = dir.path() + "/run", log = dir.path() + "/log";
  const std::string cmd = std::string(HPML_CLI_PATH) + " train --nproc 2 --model mlp --dataset blobs --epochs 100000 "
                          "--quiet --out " + out;
  ASSERT_EQ(std::system(("(" + cmd + " > " + log + " 2>&1 & echo $! > " + log + ".pid; wait $!; echo \"status $?\" >> " +
                         log + ") &").c_str()), 0);
  for (int i = 0; i < 400 && !std::filesystem::exists(out + "/metrics.csv"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // a few epochs in
  std::ifstream pid_file(log + ".pid");
  int pid = 0;
  pid_file >> pid;
  ASSERT_GT(pid, 0);
  kill(pid, SIGTERM);
  std::string text;
  for (int i = 0; i < 300 && !has(text, "status "); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream f(log);
    text.assign((std::istreambuf_iterator<char>(f)), {});
  }
  EXPECT_TRUE(has(text, "status 143")) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex("SIGTERM: stopped after (epoch|batch) [0-9]+"))) << text;
  EXPECT_TRUE(std::filesystem::exists(out + "/last.safetensors")) << text;
  EXPECT_FALSE(std::filesystem::exists("/dev/shm/hpml-mpi-" + std::to_string(pid)));
}

TEST(TrainNproc, RefusesNprocUnderALauncherAndBadCounts) {
  Out zero = hpml_cli(kBlobs + "--nproc 0");
  EXPECT_EQ(zero.status, 2) << zero.text;
  EXPECT_TRUE(has(zero.text, "--nproc")) << zero.text;
  Out under = hpml_cli_env("OMPI_COMM_WORLD_SIZE=2", kBlobs + "--nproc 2");
  EXPECT_EQ(under.status, 2) << under.text;
  EXPECT_TRUE(has(under.text, "this process was itself started by a launcher")) << under.text;
}

}  // namespace
