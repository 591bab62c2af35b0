// `hpml train`: a resumed run is bit for bit the uninterrupted one, SIGINT / SIGTERM write a
// checkpoint and exit 130 / 143, a damaged checkpoint is refused, bad options exit 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

extern char** environ;

namespace {

using Out = hpml::testing::CliRun;
Out hpml_cli(const std::string& args) { return hpml::testing::run_cli(args); }

// The model's tensors of a checkpoint, as raw bytes by name.
std::map<std::string, std::string> model_bytes(const std::string& path) {
  std::map<std::string, std::string> out;
  for (auto& [name, t] : hpml::io::load_safetensors(path))
    if (name.rfind("model.", 0) == 0)
      out[name] = std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

const std::string kBlobs = "--model mlp --dataset blobs --hidden 32 --dropout 0.1 --batch-size 16 --schedule step --quiet";

}  // namespace

TEST(TrainCli, ResumeContinuesBitForBit) {
  hpml::testing::TempDir dir("hpml_cli_test");
  Out a = hpml_cli("train " + kBlobs + " --epochs 4 --out " + dir.file("straight"));
  ASSERT_EQ(a.status, 0) << a.out;
  Out b = hpml_cli("train " + kBlobs + " --epochs 2 --out " + dir.file("split"));
  ASSERT_EQ(b.status, 0) << b.out;
  Out c = hpml_cli("train " + kBlobs + " --epochs 4 --out " + dir.file("split") + " --resume " +
                   dir.file("split/last.safetensors"));
  ASSERT_EQ(c.status, 0) << c.out;
  auto straight = model_bytes(dir.file("straight/last.safetensors"));
  auto resumed = model_bytes(dir.file("split/last.safetensors"));
  ASSERT_EQ(straight.size(), 4u);
  EXPECT_TRUE(straight == resumed) << "4 epochs straight and 2 + 2 with a resume differ";
  // metrics.csv: a header and one line per epoch, the resumed run's included.
  std::ifstream csv(dir.file("split/metrics.csv"));
  int lines = 0;
  for (std::string l; std::getline(csv, l);) ++lines;
  EXPECT_EQ(lines, 5);
  for (const char* f : {"loss.png", "loss.svg", "accuracy.png", "accuracy.svg", "metrics.jsonl", "best.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("split/") + f))) << f;
}

namespace {
// Starts hpml train, sends `sig` once its output shows `marker` (at most 30 s), and returns the
// exit status and output.
Out interrupted(const std::string& args, int sig, const std::string& marker) {
  const std::string out_file = args.substr(args.rfind(' ') + 1) + ".log";
  std::vector<std::string> argv_s{HPML_CLI_PATH};
  std::istringstream is(args);
  for (std::string w; is >> w;) argv_s.push_back(w);
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return {-1, "spawn failed"};
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < 3000; ++i) {
    std::ifstream f(out_file);
    std::stringstream ss;
    ss << f.rdbuf();
    if (ss.str().find(marker) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, sig);
  int st = 0;
  waitpid(pid, &st, 0);
  std::ifstream f(out_file);
  std::stringstream ss;
  ss << f.rdbuf();
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1000 - (WIFSIGNALED(st) ? WTERMSIG(st) : 0), ss.str()};
}
}  // namespace

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(TrainCli, SignalWritesACheckpointAndTheResumeMatches) {
  hpml::testing::TempDir dir("hpml_cli_test");
  const std::string opts = "train --model mlp --dataset fashion-mnist --hidden 64 --epochs 2 --batch-size 32 --threads 1";
  Out straight = hpml_cli(opts + " --quiet --out " + dir.file("straight"));
  ASSERT_EQ(straight.status, 0) << straight.out;
  for (int sig : {SIGINT, SIGTERM}) {
    const std::string out = dir.file(sig == SIGINT ? "int" : "term");
    Out r = interrupted(opts + " --out " + out, sig, "epoch 1/2  batch 100/");  // a signal mid-epoch
    ASSERT_EQ(r.status, 128 + sig) << r.out;
    EXPECT_NE(r.out.find("resume with: hpml train --resume"), std::string::npos) << r.out;
    ASSERT_TRUE(std::filesystem::exists(out + "/last.safetensors")) << r.out;
    Out resumed = hpml_cli(opts + " --quiet --out " + out + " --resume " + out + "/last.safetensors");
    ASSERT_EQ(resumed.status, 0) << resumed.out;
    EXPECT_TRUE(model_bytes(dir.file("straight/last.safetensors")) == model_bytes(out + "/last.safetensors"))
        << "interrupted by signal " << sig << " and resumed: the weights differ from the straight run\n"
        << r.out << resumed.out << slurp(dir.file("straight/metrics.csv")) << slurp(out + "/metrics.csv");
  }
}

TEST(TrainCli, DamagedCheckpointIsRefused) {
  hpml::testing::TempDir dir("hpml_cli_test");
  ASSERT_EQ(hpml_cli("train " + kBlobs + " --epochs 1 --out " + dir.file("r")).status, 0);
  const std::string ckpt = dir.file("r/last.safetensors");
  std::filesystem::resize_file(ckpt, std::filesystem::file_size(ckpt) - 10);
  Out r = hpml_cli("train " + kBlobs + " --epochs 2 --out " + dir.file("r") + " --resume " + ckpt);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(TrainCli, BadOptionsExitWithStatus2) {
  for (const char* args : {"train --model bogus", "train --batch-size -3", "train --dataset csv:/no/such.csv",
                           "train --optimizer sgdd", "train --schedule sometimes", "train --epochs"}) {
    Out r = hpml_cli(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
  }
}

TEST(TrainCli, EvalReportsAndPlotsTheConfusionMatrix) {
  hpml::testing::TempDir dir("hpml_cli_test");
  ASSERT_EQ(hpml_cli("train " + kBlobs + " --epochs 2 --out " + dir.file("r")).status, 0);
  Out r = hpml_cli("eval " + dir.file("r/best.safetensors"));
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* want : {"on the test split: accuracy", "precision", "confusion matrix"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  for (const char* f : {"confusion.csv", "confusion.png", "confusion.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("r/") + f))) << f;
  Out bad = hpml_cli("eval " + dir.file("r/best.safetensors") + " --split validation");
  EXPECT_EQ(bad.status, 2) << bad.out;
  Out missing = hpml_cli("eval " + dir.file("nothing.safetensors"));
  EXPECT_EQ(missing.status, 2) << missing.out;
  EXPECT_EQ(std::count(missing.out.begin(), missing.out.end(), '\n'), 1) << missing.out;
}

TEST(TrainCli, GraphWritesTheAutogradGraphAsDot) {
  hpml::testing::TempDir dir("hpml_cli_test");
  Out r = hpml_cli("graph --model mlp --dataset blobs --hidden 8 --out " + dir.file("g"));
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream f(dir.file("g/graph.dot"));
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str().rfind("digraph", 0), 0u) << ss.str().substr(0, 200);
  EXPECT_NE(ss.str().find("->"), std::string::npos);
}

TEST(ExperimentCli, WritesFiguresCsvAndATable) {
  hpml::testing::TempDir dir("hpml_cli_test");
  const std::vector<std::pair<std::string, int>> experiments{
      {"lr-decay", 4}, {"momentum", 4}, {"lr-range", 4}, {"batch-size", 3}, {"optimizers", 7}, {"batchnorm", 4}, {"init", 4}};
  for (const auto& [name, settings] : experiments) {
    Out r = hpml_cli("experiment " + name + " --epochs 3 --seeds 2 --out " + dir.path());
    ASSERT_EQ(r.status, 0) << name << ": " << r.out;
    EXPECT_NE(r.out.find("train acc"), std::string::npos) << r.out;
    for (const char* f : {"accuracy.png", "accuracy.svg", "loss.png", "results.csv"})
      EXPECT_TRUE(std::filesystem::exists(dir.file(name + "/" + f))) << name << "/" << f;
    std::ifstream csv(dir.file(name + "/results.csv"));
    int lines = 0;
    for (std::string l; std::getline(csv, l);) ++lines;
    EXPECT_EQ(lines, 1 + settings * 2 * 3) << name << ": a header, then settings x 2 seeds x 3 epochs";
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("lr-decay/lr.png")));
  // activations: per-layer gradient norms at initialization, 4 cases x 2 seeds x 9 layers.
  Out g = hpml_cli("experiment activations --seeds 2 --out " + dir.path());
  ASSERT_EQ(g.status, 0) << g.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("activations/grad-norms.png")));
  std::ifstream gcsv(dir.file("activations/results.csv"));
  int glines = 0;
  for (std::string l; std::getline(gcsv, l);) ++glines;
  EXPECT_EQ(glines, 1 + 4 * 2 * 9);
  // Accumulating four micro-batches of 25 gives the weights of one batch of 100, up to float
  // rounding (over many epochs the rounding differences grow: the task is not smooth).
  Out acc = hpml_cli("experiment batch-size --epochs 1 --out " + dir.path());
  ASSERT_EQ(acc.status, 0) << acc.out;
  const auto at = acc.out.find("largest |weight difference| between 100 and 25x4 (seed 0): ");
  ASSERT_NE(at, std::string::npos) << acc.out;
  EXPECT_LT(std::atof(acc.out.c_str() + at + 59), 1e-5) << acc.out;
  EXPECT_EQ(hpml_cli("experiment warp-speed").status, 2);
}
