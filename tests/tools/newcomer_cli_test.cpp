// What a new user of `hpml train` meets: a validation split that every choice is made on, a
// --resume that reuses the recorded options and refuses changed ones, a stop at the first
// non-finite loss, --config files, "did you mean", --version, a progress bar on a terminal,
// every worker start method, early stopping.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

using hpml::testing::CliRun;
using hpml::testing::run_cli_within;

const std::string kMlp = "train --model mlp --dataset blobs --hidden 16 --quiet";

bool has(const std::string& out, const std::string& s) { return out.find(s) != std::string::npos; }

// metrics.csv as columns by name.
std::map<std::string, std::vector<double>> metrics(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  std::vector<std::string> names;
  std::stringstream hs(line);
  for (std::string n; std::getline(hs, n, ',');) names.push_back(n);
  std::map<std::string, std::vector<double>> out;
  while (std::getline(f, line)) {
    std::stringstream ss(line);
    size_t i = 0;
    for (std::string v; std::getline(ss, v, ',') && i < names.size(); ++i) out[names[i]].push_back(std::stod(v));
  }
  return out;
}

std::string model_bytes(const std::string& path) {
  std::string out;
  for (auto& [name, t] : hpml::io::load_safetensors(path))
    if (name.rfind("model.", 0) == 0) out += name + std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

std::string read(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(NewcomerCli, BestCheckpointAndPlateauLookAtValidationNotTest) {
  hpml::testing::TempDir dir("hpml_newcomer");
  CliRun r = run_cli_within(kMlp + " --epochs 5 --lr 0.2 --schedule plateau --patience 0 --out " + dir.file("r"), 120);
  ASSERT_EQ(r.status, 0) << r.out;
  auto m = metrics(dir.file("r/metrics.csv"));
  for (const char* col : {"train_loss", "val_loss", "val_acc", "test_loss", "test_acc", "lr"})
    ASSERT_EQ(m[col].size(), 5u) << col;
  // best.safetensors is the first epoch with the highest validation accuracy.
  size_t best = 0;
  for (size_t e = 1; e < 5; ++e)
    if (m["val_acc"][e] > m["val_acc"][best]) best = e;
  hpml::io::CheckpointState b = hpml::io::load_checkpoint(dir.file("r/best.safetensors"));
  EXPECT_EQ(b.progress.epoch, static_cast<int64_t>(best) + 1);
  EXPECT_EQ(b.metadata.at("best_epoch"), std::to_string(best + 1));
  // Plateau with patience 0 cuts the lr (factor 0.1) after each epoch whose validation loss is no
  // better than the best before it, whatever the test loss did.
  double lr = m["lr"][0], best_val = m["val_loss"][0];
  for (size_t e = 1; e < 5; ++e) {
    if (m["val_loss"][e] >= best_val * (1 - 1e-4)) lr *= 0.1;  // ReduceLROnPlateau's default rel threshold
    best_val = std::min(best_val, m["val_loss"][e]);
    EXPECT_NEAR(m["lr"][e], lr, lr * 1e-9) << "epoch " << e + 1;
  }
  // 2000 blobs points: 400 test, and 10 % of the other 1600 for validation.
  CliRun v = run_cli_within("train --model mlp --dataset blobs --hidden 16 --epochs 1 --out " + dir.file("v"), 60);
  EXPECT_TRUE(has(v.out, "1440 train, 160 validation, 400 test")) << v.out;
  for (const char* f : {"loss.png", "accuracy.png", "lr.png", "lr.svg", "config.toml"})
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("v/") + f))) << f;
}

TEST(NewcomerCli, NoValidationSplitMeansNoBestCheckpointAndNoPlateau) {
  hpml::testing::TempDir dir("hpml_newcomer");
  CliRun r = run_cli_within(kMlp + " --epochs 1 --val-split 0 --out " + dir.file("r"), 60);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("r/last.safetensors")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("r/best.safetensors")));
  for (const char* opt : {"--schedule plateau", "--early-stop 2"}) {
    CliRun bad = run_cli_within(kMlp + " --val-split 0 " + opt + " --out " + dir.file("p"), 60);
    EXPECT_EQ(bad.status, 2) << opt << bad.out;
    EXPECT_TRUE(has(bad.out, "--val-split 0")) << bad.out;
  }
  EXPECT_EQ(run_cli_within(kMlp + " --val-split 0.95", 30).status, 2);
  CliRun e = run_cli_within("eval " + dir.file("r/last.safetensors") + " --split val", 60);
  EXPECT_EQ(e.status, 2) << e.out;
  EXPECT_TRUE(has(e.out, "no validation split")) << e.out;
}

TEST(NewcomerCli, ResumeAloneReusesTheRecordedOptionsBitForBit) {
  hpml::testing::TempDir dir("hpml_newcomer");
  const std::string opts = kMlp + " --lr 0.2 --batch-size 32 --seed 7 --schedule step --epochs 4";
  ASSERT_EQ(run_cli_within(opts + " --out " + dir.file("straight"), 120).status, 0);
  ASSERT_EQ(run_cli_within(opts + " --stop-after 2 --out " + dir.file("split"), 120).status, 0);
  CliRun c = run_cli_within("train --resume " + dir.file("split/last.safetensors"), 120);
  ASSERT_EQ(c.status, 0) << c.out;
  EXPECT_TRUE(has(c.out, "resuming")) << c.out;
  EXPECT_EQ(model_bytes(dir.file("straight/last.safetensors")), model_bytes(dir.file("split/last.safetensors")));
  EXPECT_EQ(metrics(dir.file("split/metrics.csv"))["epoch"].size(), 4u);
  EXPECT_TRUE(has(read(dir.file("split/config.toml")), "seed = 7"));
  // The stop's hint is the whole command that continues it.
  CliRun loud = run_cli_within("train --model mlp --dataset blobs --hidden 16 --lr 0.2 --batch-size 32 --seed 7 "
                               "--schedule step --epochs 4 --stop-after 1 --out " + dir.file("hint3"), 120);
  EXPECT_TRUE(has(loud.out, "resume with: hpml train --resume " + dir.file("hint3/last.safetensors"))) << loud.out;
}

TEST(NewcomerCli, ResumeRefusesChangedOptionsAndExtendsOnlySchedulesThatAllowIt) {
  hpml::testing::TempDir dir("hpml_newcomer");
  ASSERT_EQ(run_cli_within(kMlp + " --epochs 2 --schedule step --out " + dir.file("s"), 60).status, 0);
  const std::string ckpt = dir.file("s/last.safetensors");
  CliRun changed = run_cli_within("train --resume " + ckpt + " --lr 0.5 --batch-size 32 --seed 7", 60);
  EXPECT_EQ(changed.status, 2) << changed.out;
  for (const char* want : {"3 option(s) differ", "--lr was '0.05', now '0.5'", "--batch-size was '128', now '32'",
                           "--seed was '0', now '7'", "--resume " })
    EXPECT_TRUE(has(changed.out, want)) << want << "\n" << changed.out;
  // A longer --epochs under a step schedule is the longer run, bit for bit.
  ASSERT_EQ(run_cli_within(kMlp + " --epochs 4 --schedule step --out " + dir.file("long"), 60).status, 0);
  ASSERT_EQ(run_cli_within("train --resume " + ckpt + " --epochs 4", 60).status, 0);
  EXPECT_EQ(model_bytes(dir.file("long/last.safetensors")), model_bytes(ckpt));
  // Under cosine (its length is --epochs) a changed --epochs is refused with the reason.
  ASSERT_EQ(run_cli_within(kMlp + " --epochs 2 --schedule cosine --out " + dir.file("c"), 60).status, 0);
  CliRun cos = run_cli_within("train --resume " + dir.file("c/last.safetensors") + " --epochs 4", 60);
  EXPECT_EQ(cos.status, 2) << cos.out;
  EXPECT_TRUE(has(cos.out, "--epochs was 2, now 4: --schedule cosine spans the run")) << cos.out;
  CliRun done = run_cli_within("train --resume " + ckpt + " --epochs 1", 60);
  EXPECT_EQ(done.status, 2) << done.out;
}

TEST(NewcomerCli, ANonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint) {
  hpml::testing::TempDir dir("hpml_newcomer");
  CliRun at_once = run_cli_within(kMlp + " --lr 1000 --epochs 3 --out " + dir.file("a"), 60);
  EXPECT_EQ(at_once.status, 1) << at_once.out;
  EXPECT_TRUE(has(at_once.out, "lr 1000")) << at_once.out;
  EXPECT_TRUE(has(at_once.out, "No checkpoint was written")) << at_once.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("a/last.safetensors")));
  // lr 0.05 for epoch 1, then x30 each epoch: the loss blows up after a good epoch or more, whose
  // checkpoint stays.
  CliRun later = run_cli_within(kMlp + " --schedule exponential --gamma 30 --epochs 6 --out " + dir.file("b"), 60);
  EXPECT_EQ(later.status, 1) << later.out;
  EXPECT_TRUE(has(later.out, "hint: a smaller --lr")) << later.out;
  auto m = metrics(dir.file("b/metrics.csv"));
  const auto good = static_cast<int64_t>(m["epoch"].size());
  ASSERT_GE(good, 1);
  EXPECT_TRUE(std::isfinite(m["val_loss"].back()) && std::isfinite(m["train_loss"].back()));
  EXPECT_EQ(hpml::io::load_checkpoint(dir.file("b/last.safetensors")).progress.epoch, good);
  EXPECT_TRUE(has(later.out, "(after epoch " + std::to_string(good) + ") is the last good checkpoint")) << later.out;
}

TEST(NewcomerCli, ConfigFileUnderTheCommandLineAndTheResolvedConfigKept) {
  hpml::testing::TempDir dir("hpml_newcomer");
  std::ofstream(dir.file("run.toml")) << "model = \"mlp\"\nhidden = [24, 12]\ndataset = \"blobs\"\nepochs = 3\n"
                                         "lr = 0.1\nbatchnorm = true\nquiet = true\n";
  CliRun r = run_cli_within("train --config " + dir.file("run.toml") + " --epochs 2 --out " + dir.file("r"), 60);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(metrics(dir.file("r/metrics.csv"))["epoch"].size(), 2u);  // the command line won
  const std::string resolved = read(dir.file("r/config.toml"));
  for (const char* want : {"hidden = [24, 12]", "epochs = 2", "lr = 0.1", "batchnorm = true", "optimizer = 'sgd'"})
    EXPECT_TRUE(has(resolved, want)) << want << "\n" << resolved;
  // The kept file repeats the run.
  ASSERT_EQ(run_cli_within("train --config " + dir.file("r/config.toml") + " --out " + dir.file("again") + " --quiet",
                           60).status, 0);
  EXPECT_EQ(model_bytes(dir.file("r/last.safetensors")), model_bytes(dir.file("again/last.safetensors")));
  struct Bad {
    std::string toml, says;
  };
  for (const Bad& b : std::vector<Bad>{{"epoch = 3\n", "unknown option 'epoch' (did you mean epochs?)"},
                                       {"epochs = \"3\"\n", "'epochs' must be a number"},
                                       {"batchnorm = 1\n", "'batchnorm' is a switch"},
                                       {"hidden = [1, \"a\"]\n", "integers only"},
                                       {"epochs = 0\n", "is not an integer in [1, 1000000]"},
                                       {"[model]\nx = 1\n", "'model' is a table"},
                                       {"epochs = \n", "not valid TOML at line 1"}}) {
    std::ofstream(dir.file("bad.toml"), std::ios::trunc) << b.toml;
    CliRun e = run_cli_within("train --config " + dir.file("bad.toml"), 30);
    EXPECT_EQ(e.status, 2) << b.toml << e.out;
    EXPECT_TRUE(has(e.out, b.says)) << b.says << "\n" << e.out;
  }
}

TEST(NewcomerCli, MisspeltNamesGetTheNearestOneAndVersionPrints) {
  CliRun cmd = run_cli_within("trian", 10);
  EXPECT_EQ(cmd.status, 2);
  EXPECT_TRUE(has(cmd.out, "unknown command 'trian' (did you mean train?); see hpml --help")) << cmd.out;
  CliRun opt = run_cli_within("train --epoch 3", 10);
  EXPECT_EQ(opt.status, 2);
  EXPECT_TRUE(has(opt.out, "unknown option '--epoch' for hpml train (did you mean --epochs?); see hpml train --help"))
      << opt.out;
  CliRun value = run_cli_within("train --model cnnn --quiet", 30);
  EXPECT_EQ(value.status, 2);
  EXPECT_TRUE(has(value.out, "unknown model 'cnnn' (did you mean cnn?)")) << value.out;
  CliRun sched = run_cli_within("train --model mlp --dataset blobs --schedule cosin --quiet", 30);
  EXPECT_TRUE(has(sched.out, "unknown schedule 'cosin' (did you mean cosine?)")) << sched.out;
  CliRun far = run_cli_within("eval x --frobnicate", 10);
  EXPECT_TRUE(has(far.out, "unknown option '--frobnicate' for hpml eval; see hpml eval --help")) << far.out;
  CliRun v = run_cli_within("--version", 10);
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out, "hpml " + hpml::build_info().version + "\n");
}

TEST(NewcomerCli, EvalOnAFileThatIsNotACheckpointSaysSo) {
  hpml::testing::TempDir dir("hpml_newcomer");
  std::ofstream(dir.file("data.csv")) << "1.0,2.0,0\n3.0,4.0,1\n";
  CliRun csv = run_cli_within("eval " + dir.file("data.csv"), 10);
  EXPECT_EQ(csv.status, 2);
  EXPECT_TRUE(has(csv.out, "is not an hpml checkpoint")) << csv.out;
  EXPECT_TRUE(has(csv.out, "looks like text")) << csv.out;
  std::ofstream(dir.file("x.png"), std::ios::binary) << "\x89PNG\r\n\x1a\n and then some bytes";
  CliRun png = run_cli_within("eval " + dir.file("x.png"), 10);
  EXPECT_TRUE(has(png.out, "looks like a PNG image")) << png.out;
}

TEST(NewcomerCli, ProgressBarOnATerminalPlainLinesElsewhere) {
  hpml::testing::TempDir dir("hpml_newcomer");
  // script(1) gives the command a pseudo-terminal; its output comes back through the pipe.
  const std::string cmd = "script -qec \"" + std::string(HPML_CLI_PATH) + " train --model mlp --dataset blobs "
                          "--hidden 16 --epochs 2 --batch-size 8 --accumulate 4 --out " + dir.file("t") + "\" /dev/null";
  CliRun tty;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  for (int c; (c = std::fgetc(p)) != EOF;) tty.out += static_cast<char>(c);
  const int st = pclose(p);
  tty.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  ASSERT_EQ(tty.status, 0) << tty.out;
  for (const char* want : {"\repoch 1/2 [", "] 100%", "batches/s", "ETA ", "\033[K"})
    EXPECT_TRUE(has(tty.out, want)) << want << "\n" << tty.out;
  CliRun pipe = run_cli_within("train --model mlp --dataset blobs --hidden 16 --epochs 1 --out " + dir.file("p"), 60);
  ASSERT_EQ(pipe.status, 0) << pipe.out;
  EXPECT_FALSE(has(pipe.out, "\r")) << pipe.out;
  EXPECT_TRUE(has(pipe.out, "epoch 1: train loss")) << pipe.out;
}

TEST(NewcomerCli, EveryWorkerStartMethodTrainsTheSameModel) {
  hpml::testing::TempDir dir("hpml_newcomer");
  const std::string opts = kMlp + " --epochs 1 --batch-size 64";
  ASSERT_EQ(run_cli_within(opts + " --out " + dir.file("main"), 60).status, 0);
  const std::string want = model_bytes(dir.file("main/last.safetensors"));
  for (const char* mode : {"thread", "fork", "spawn", "forkserver"}) {
    const std::string out = dir.file(std::string("w_") + mode);
    CliRun r = run_cli_within(opts + " --workers 2 --worker-mode " + mode + " --out " + out, 120);
    ASSERT_EQ(r.status, 0) << mode << "\n" << r.out;
    EXPECT_EQ(model_bytes(out + "/last.safetensors"), want) << mode;
  }
}

TEST(NewcomerCli, EarlyStoppingEndsTheRunOnTheValidationScore) {
  hpml::testing::TempDir dir("hpml_newcomer");
  CliRun r = run_cli_within(kMlp + " --epochs 100 --lr 0.01 --early-stop 2 --out " + dir.file("r"), 120);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(has(r.out, "early stop: no better validation accuracy for 2 epochs")) << r.out;
  auto m = metrics(dir.file("r/metrics.csv"));
  const size_t n = m["epoch"].size();
  ASSERT_LT(n, 100u);
  ASSERT_GE(n, 3u);
  double best = -1;
  for (size_t e = 0; e + 2 < n; ++e) best = std::max(best, m["val_acc"][e]);
  EXPECT_LE(m["val_acc"][n - 1], best);  // the last two epochs did not beat what came before
  EXPECT_LE(m["val_acc"][n - 2], best);
}

TEST(NewcomerCli, TensorBoardReadsTheRunsScalarsAndHistograms) {
  hpml::testing::TempDir dir("hpml_newcomer");
  CliRun r = run_cli_within(kMlp + " --epochs 2 --tensorboard --out " + dir.file("r"), 60);
  ASSERT_EQ(r.status, 0) << r.out;
  std::string event;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("r/tensorboard")))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) event = e.path().string();
  ASSERT_FALSE(event.empty()) << "no event file in r/tensorboard";
  const std::string py = std::string(HPML_TESTS_DIR) + "/../build/python-tensorboard/bin/python3";
  ASSERT_TRUE(std::filesystem::exists(py)) << "TensorBoard's Python reader is missing: no " << py
                                           << "; run scripts/setup (it installs PyPI tensorboard there)";
  CliRun read;
  FILE* p = popen((py + " " + HPML_TESTS_DIR + "/python/tensorboard_read.py " + event + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  for (int c; (c = std::fgetc(p)) != EOF;) read.out += static_cast<char>(c);
  ASSERT_EQ(pclose(p), 0) << read.out;
  // Every scalar of metrics.csv at steps 1 and 2, with metrics.csv's values (float32), and a
  // histogram of each weight and each gradient per epoch.
  auto m = metrics(dir.file("r/metrics.csv"));
  const std::map<std::string, std::string> column{{"loss/train", "train_loss"}, {"loss/val", "val_loss"},
                                                  {"loss/test", "test_loss"},   {"accuracy/val", "val_acc"},
                                                  {"lr", "lr"}};
  for (const auto& [tag, col] : column) {
    const size_t at = read.out.find("\"" + tag + "\": [");
    ASSERT_NE(at, std::string::npos) << tag << "\n" << read.out.substr(0, 2000);
    for (int e = 0; e < 2; ++e) {
      const size_t v = read.out.find("\"value\": ", read.out.find("\"step\": " + std::to_string(e + 1), at));
      ASSERT_NE(v, std::string::npos) << tag;
      const double got = std::stod(read.out.substr(v + 9, 30));
      EXPECT_NEAR(got, m[col][static_cast<size_t>(e)], 1e-5 * std::max(1.0, std::fabs(got))) << tag << " epoch " << e + 1;
    }
  }
  for (const char* tag : {"\"weights/1.weight\": [", "\"weights/3.bias\": [", "\"gradients/1.weight\": ["})
    EXPECT_TRUE(has(read.out, tag)) << tag;
}
