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
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
    Out r = interrupted(opts + " --out " + out, sig, "epoch 1/2 10% ");  // a signal mid-epoch
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
  // Each error must be the one about the bad option (on a small dataset, so that nothing else
  // can fail first), in one line.
  const std::string ok = "train --model mlp --dataset blobs --epochs 1 ";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"train --model bogus --dataset blobs", "unknown model 'bogus'"},
      {ok + "--batch-size -3", "--batch-size: '-3' is not an integer in [1, 1048576]"},
      {"train --model mlp --dataset csv:/no/such.csv", "cannot open /no/such.csv"},
      {ok + "--optimizer sgdd", "unknown optimizer 'sgdd'"},
      {ok + "--schedule sometimes", "unknown schedule 'sometimes'"},
      {"train --epochs", "--epochs"},
      {ok + "--schedule multistep --milestones 3 1", "milestones"},
      {"train --model mlp --dataset blobs --schedule warmup-cosine --epochs 2 --warmup-epochs 2",
       "needs --epochs (2) greater than --warmup-epochs (2)"},
  };
  for (const auto& [args, says] : cases) {
    Out r = hpml_cli(args);
    EXPECT_EQ(r.status, 2) << args << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << ": " << r.out;
    EXPECT_NE(r.out.find(says), std::string::npos) << args << ": expected \"" << says << "\" in: " << r.out;
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
  // The PNG needs Graphviz's dot, which scripts/setup installs.
  if (std::system("command -v dot >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "SKIPPED the PNG half: Graphviz's `dot` is not installed (scripts/setup installs it)";
  EXPECT_NE(r.out.find("graph.png"), std::string::npos) << r.out;
  std::ifstream png(dir.file("g/graph.png"), std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG") << "graph.png is not a PNG file";
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

namespace {
// The lr column of a run's metrics.csv: the lr after each epoch's schedule step.
std::vector<double> lr_column(const std::string& csv_path) {
  std::ifstream csv(csv_path);
  std::vector<double> lrs;
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    std::stringstream ss(line);
    std::string field;
    for (int i = 0; i < 8; ++i) std::getline(ss, field, ',');  // epoch, train, val, test loss and acc, lr
    lrs.push_back(std::stod(field));
  }
  return lrs;
}
}  // namespace

// Each per-epoch schedule's lr after epochs 1..4, from PyTorch's documented closed forms (lr 0.05).
TEST(TrainCli, SchedulesFollowTheirClosedForms) {
  hpml::testing::TempDir dir("hpml_cli_test");
  const double pi = 3.14159265358979323846, lr = 0.05;
  auto cosine = [&](double t, double T, double base) { return base * (1 + std::cos(pi * t / T)) / 2; };
  const std::vector<std::pair<std::string, std::vector<double>>> cases{
      {"step --step-size 2 --gamma 0.5", {lr, lr * 0.5, lr * 0.5, lr * 0.25}},
      {"multistep --milestones 1 3 --gamma 0.1", {lr * 0.1, lr * 0.1, lr * 0.01, lr * 0.01}},
      {"exponential --gamma 0.9", {lr * 0.9, lr * 0.81, lr * 0.729, lr * 0.6561}},
      {"multiplicative --gamma 0.9", {lr * 0.9, lr * 0.81, lr * 0.729, lr * 0.6561}},
      {"constant --factor 0.5 --warmup-epochs 2", {lr * 0.5, lr, lr, lr}},
      {"linear --factor 0.2", {lr * 0.8, lr * 0.6, lr * 0.4, lr * 0.2}},
      {"warmup --warmup-epochs 2", {lr * 0.55, lr, lr, lr}},
      {"polynomial --power 2", {lr * 0.5625, lr * 0.25, lr * 0.0625, 0}},
      {"cosine", {cosine(1, 4, lr), cosine(2, 4, lr), cosine(3, 4, lr), 0}},
      {"cosine-restarts --t0 2", {cosine(1, 2, lr), lr, cosine(1, 2, lr), lr}},
      {"inverse-time --decay 0.5", {lr / 1.5, lr / 2, lr / 2.5, lr / 3}},
      {"warmup-cosine --warmup-epochs 2", {lr * 0.55, lr, cosine(1, 2, lr), 0}},
      {"chained --factor 0.5 --warmup-epochs 1 --gamma 0.9", {lr * 0.9, lr * 0.81, lr * 0.729, lr * 0.6561}},
  };
  for (const auto& [schedule, want] : cases) {
    const std::string out = dir.file("s");
    Out r = hpml_cli("train --model mlp --dataset blobs --hidden 8 --epochs 4 --lr 0.05 --quiet --out " + out +
                     " --schedule " + schedule);
    ASSERT_EQ(r.status, 0) << schedule << ": " << r.out;
    std::vector<double> got = lr_column(out + "/metrics.csv");
    ASSERT_EQ(got.size(), want.size()) << schedule;
    for (size_t e = 0; e < want.size(); ++e) EXPECT_NEAR(got[e], want[e], 1e-6) << schedule << ", epoch " << e + 1;
  }
}

// The schedules with state beyond the epoch (plateau's best and bad epochs, the sub-schedulers of
// warmup-cosine, the per-step cyclic and onecycle) resume bit for bit too.
TEST(TrainCli, StatefulSchedulesResumeBitForBit) {
  hpml::testing::TempDir dir("hpml_cli_test");
  for (const char* schedule : {"plateau --patience 0 --factor 0.5", "warmup-cosine --warmup-epochs 2", "cyclic",
                               "onecycle", "chained --gamma 0.7"}) {
    const std::string opts = std::string("train --model mlp --dataset blobs --hidden 16 --batch-size 16 --quiet --schedule ") + schedule;
    Out a = hpml_cli(opts + " --epochs 4 --out " + dir.file("straight"));
    ASSERT_EQ(a.status, 0) << schedule << ": " << a.out;
    Out b = hpml_cli(opts + " --epochs 4 --stop-after 2 --out " + dir.file("split"));
    ASSERT_EQ(b.status, 0) << schedule << ": " << b.out;
    ASSERT_EQ(lr_column(dir.file("split/metrics.csv")).size(), 2u) << schedule;
    Out c = hpml_cli(opts + " --epochs 4 --out " + dir.file("split") + " --resume " + dir.file("split/last.safetensors"));
    ASSERT_EQ(c.status, 0) << schedule << ": " << c.out;
    EXPECT_TRUE(model_bytes(dir.file("straight/last.safetensors")) == model_bytes(dir.file("split/last.safetensors")))
        << schedule << ": 4 epochs straight and 2 + 2 with a resume differ";
    EXPECT_EQ(lr_column(dir.file("straight/metrics.csv")), lr_column(dir.file("split/metrics.csv"))) << schedule;
  }
}

// Worker threads and forked worker processes load the same batches in the same order as the
// training thread alone, so the trained weights are the same bytes.
TEST(TrainCli, WorkersDoNotChangeTheWeights) {
  hpml::testing::TempDir dir("hpml_cli_test");
  const std::string opts = "train " + kBlobs + " --epochs 2";
  ASSERT_EQ(hpml_cli(opts + " --out " + dir.file("w0")).status, 0);
  for (const char* workers : {"--workers 2 --worker-mode thread", "--workers 2 --worker-mode process"}) {
    Out r = hpml_cli(opts + " " + workers + " --out " + dir.file("w2"));
    ASSERT_EQ(r.status, 0) << workers << ": " << r.out;
    EXPECT_TRUE(model_bytes(dir.file("w0/last.safetensors")) == model_bytes(dir.file("w2/last.safetensors")))
        << workers << ": the weights differ from a run without workers";
  }
  EXPECT_EQ(hpml_cli(opts + " --workers 2 --worker-mode fiber").status, 2);
}
