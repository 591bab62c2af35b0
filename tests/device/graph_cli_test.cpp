// `hpml train --cuda-graph` on the simulated device: the run with the training step replayed from a
// graph writes the checkpoint the eager run writes, tensor for tensor (weights, batch-norm
// statistics, momentum buffers), captures again when an epoch schedule changes the lr, resumes,
// and refuses by name what a graph cannot do.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

using hpml::testing::CliRun;
using hpml::testing::run_cli_within;

// blobs: 1440 training samples after the validation and test splits, so batch 64 leaves a short
// last batch (32), which runs eagerly. Not --quiet: the run's last line counts its replays.
const std::string kBase = "train --model mlp --dataset blobs --hidden 16 --batchnorm --clip 1.0 --seed 3 "
                          "--epochs 3 --batch-size 64";
const std::string kRun = kBase + " --device sim";

bool has(const std::string& out, const std::string& s) { return out.find(s) != std::string::npos; }

// Every tensor of a checkpoint (model, optimizer state, generators), by name, as bytes.
std::string tensor_bytes(const std::string& path) {
  std::string out;
  for (auto& [name, t] : hpml::io::load_safetensors(path))
    out += name + std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

TEST(GraphCli, TheGraphedRunWritesTheEagerRunsCheckpoint) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  CliRun eager = run_cli_within(kRun + " --out " + dir.file("eager"), 180);
  ASSERT_EQ(eager.status, 0) << eager.out;
  CliRun graphed = run_cli_within(kRun + " --cuda-graph --out " + dir.file("graph"), 180);
  ASSERT_EQ(graphed.status, 0) << graphed.out;
  const std::string e = tensor_bytes(dir.file("eager/last.safetensors"));
  EXPECT_GT(e.size(), 1000u);
  EXPECT_EQ(tensor_bytes(dir.file("graph/last.safetensors")), e);
  EXPECT_TRUE(has(graphed.out, "--cuda-graph: ")) << graphed.out;
  EXPECT_TRUE(has(graphed.out, "from 1 capture(s)")) << graphed.out;
  EXPECT_FALSE(has(graphed.out, " 0 steps replayed")) << graphed.out;
  EXPECT_TRUE(has(graphed.out, ", 4 eager")) << graphed.out;  // the warm-up and each epoch's short batch
}

// --profile: the replayed steps are a phase of their own in profile.txt.
TEST(GraphCli, AProfiledGraphedRunShowsItsReplaysAsAPhase) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  CliRun r = run_cli_within(kRun + " --cuda-graph --profile --out " + dir.file("p"), 180);
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream in(dir.file("p/profile.txt"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(\n  graph replay +([0-9.]+) ms)"))) << text;
  EXPECT_GT(std::stod(m[1].str()), 0.0) << text;
}

// Dropout inside the graph: each replay draws the numbers the eager step draws.
TEST(GraphCli, DropoutInsideTheGraphDropsWhatTheEagerRunDrops) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  const std::string run = kRun + " --dropout 0.2";
  CliRun eager = run_cli_within(run + " --out " + dir.file("eager"), 180);
  ASSERT_EQ(eager.status, 0) << eager.out;
  CliRun graphed = run_cli_within(run + " --cuda-graph --out " + dir.file("graph"), 180);
  ASSERT_EQ(graphed.status, 0) << graphed.out;
  EXPECT_TRUE(has(graphed.out, "from 1 capture(s)")) << graphed.out;
  EXPECT_EQ(tensor_bytes(dir.file("graph/last.safetensors")), tensor_bytes(dir.file("eager/last.safetensors")));
}

TEST(GraphCli, AnEpochScheduleCapturesAgainAndAResumedRunAgrees) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  const std::string run = kRun + " --schedule step --step-size 1 --gamma 0.5";
  CliRun eager = run_cli_within(run + " --out " + dir.file("eager"), 180);
  ASSERT_EQ(eager.status, 0) << eager.out;
  CliRun graphed = run_cli_within(run + " --cuda-graph --out " + dir.file("graph"), 180);
  ASSERT_EQ(graphed.status, 0) << graphed.out;
  EXPECT_TRUE(has(graphed.out, "from 3 capture(s)")) << graphed.out;  // one lr per epoch
  EXPECT_EQ(tensor_bytes(dir.file("graph/last.safetensors")), tensor_bytes(dir.file("eager/last.safetensors")));
  // Stopped after an epoch and resumed with the graph: the same numbers again.
  CliRun half = run_cli_within(run + " --cuda-graph --stop-after 1 --out " + dir.file("half"), 180);
  ASSERT_EQ(half.status, 0) << half.out;
  CliRun rest = run_cli_within("train --resume " + dir.file("half/last.safetensors"), 180);
  ASSERT_EQ(rest.status, 0) << rest.out;
  EXPECT_TRUE(has(rest.out, "--cuda-graph: ")) << rest.out;  // recorded, so resumed with it
  EXPECT_EQ(tensor_bytes(dir.file("half/last.safetensors")), tensor_bytes(dir.file("eager/last.safetensors")));
}

// Adam under a graph runs capturable (Note [Capturable Adam]): the step count on the device, so
// the replays advance the bias correction. Its numbers are the eager (fused) Adam's to rounding.
TEST(GraphCli, AdamRunsCapturableAndTrainsAsTheEagerRun) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  // No --batchnorm here: the bias before a batch norm has no gradient but rounding noise, which
  // Adam scales up to lr-sized steps whose signs any change of rounding flips.
  const std::string run = "train --model mlp --dataset blobs --hidden 16 --clip 1.0 --seed 3 --epochs 3 --batch-size 64 "
                          "--device sim --optimizer adamw --lr 0.01";
  CliRun eager = run_cli_within(run + " --out " + dir.file("eager"), 180);
  ASSERT_EQ(eager.status, 0) << eager.out;
  CliRun graphed = run_cli_within(run + " --cuda-graph --out " + dir.file("graph"), 180);
  ASSERT_EQ(graphed.status, 0) << graphed.out;
  EXPECT_TRUE(has(graphed.out, "from 1 capture(s)")) << graphed.out;
  const auto read = [](const std::string& path) {
    std::map<std::string, hpml::Tensor> m;
    for (auto& [name, t] : hpml::io::load_safetensors(path)) m.emplace(name, t);
    return m;
  };
  const auto e = read(dir.file("eager/last.safetensors")), g = read(dir.file("graph/last.safetensors"));
  size_t compared = 0;
  for (const auto& [name, t] : e) {
    if (name.rfind("model.", 0) != 0 || !hpml::is_floating(t.dtype())) continue;
    ASSERT_TRUE(g.count(name)) << name;
    const hpml::Tensor want = t.to(hpml::kFloat64);
    const double d = (g.at(name).to(hpml::kFloat64) - want).abs().max().item<double>();
    const double scale = std::max(1.0, want.abs().max().item<double>());
    EXPECT_LT(d / scale, 1e-3) << name;  // 69 Adam steps in f32: rounding, not a different run
    ++compared;
  }
  EXPECT_GE(compared, 4u);
  // The step count went on: 69 steps (3 epochs of 23), stored on the cpu as always.
  const hpml::Tensor step = g.at("optimizer.state.0.step");
  EXPECT_EQ(step.device(), hpml::kCPU);
  EXPECT_EQ(step.to(hpml::kFloat64).item<double>(), 69.0);
}

// A small gpt: embeddings (their bounds checked at each replay), causal attention, layer norm.
// On the simulated device it trains to the cpu's weights (its arange once stayed on the cpu),
// and with the graph to the eager numbers.
TEST(GraphCli, AGptOnTheSimDeviceTrainsAsOnTheCpuAndReplaysToItsNumbers) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  {
    std::ofstream text(dir.file("tiny.txt"));
    const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran"};
    uint64_t s = 1;
    for (int i = 0; i < 2000; ++i) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      text << words[(s >> 33) % 8] << ' ';
    }
  }
  const std::string run = "train --model gpt --dataset text:" + dir.file("tiny.txt") +
                          " --layers 1 --width 32 --heads 2 --block-size 16 --epochs 1 --batch-size 32 --seed 2";
  CliRun cpu = run_cli_within(run + " --out " + dir.file("cpu"), 180);
  ASSERT_EQ(cpu.status, 0) << cpu.out;
  CliRun sim = run_cli_within(run + " --device sim --out " + dir.file("sim"), 180);
  ASSERT_EQ(sim.status, 0) << sim.out;
  CliRun graphed = run_cli_within(run + " --device sim --cuda-graph --out " + dir.file("graph"), 180);
  ASSERT_EQ(graphed.status, 0) << graphed.out;
  EXPECT_TRUE(has(graphed.out, "from 1 capture(s)")) << graphed.out;
  const std::string s = tensor_bytes(dir.file("sim/last.safetensors"));
  EXPECT_EQ(tensor_bytes(dir.file("cpu/last.safetensors")), s);
  EXPECT_EQ(tensor_bytes(dir.file("graph/last.safetensors")), s);
}

TEST(GraphCli, WhatAGraphCannotDoIsRefusedByName) {
  hpml::testing::TempDir dir("hpml_graph_cli");
  struct Case {
    std::string args, says;
  };
  const Case cases[] = {
      {" --device cpu", "--cuda-graph captures the training step on a device, and --device is cpu"},
      {" --accumulate 2", "--accumulate 2 splits it into micro-batches"},
      {" --schedule onecycle", "--schedule onecycle changes it after every step"},
      {" --optimizer rmsprop", "--optimizer rmsprop counts its steps on the host (the step in its state)"},
  };
  CliRun gpt = run_cli_within("train --model gpt --dataset text:" + dir.file("none.txt") + " --device cuda --cuda-graph "
                              "--out " + dir.file("g"), 60);
  EXPECT_EQ(gpt.status, 2) << gpt.out;
  EXPECT_TRUE(has(gpt.out, "bounds check inside a CUDA graph is not done yet")) << gpt.out;
  for (const Case& c : cases) {
    const bool own_device = c.args.rfind(" --device", 0) == 0;
    CliRun r = run_cli_within(kBase + (own_device ? "" : " --device sim") + " --cuda-graph" + c.args + " --out " +
                              dir.file("r"), 60);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.out;
    EXPECT_TRUE(has(r.out, c.says)) << c.args << "\n" << r.out;
  }
}

}  // namespace
