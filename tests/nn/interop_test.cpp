// PyTorch interop through safetensors: files written by PyTorch load into hpml and the reverse (tests/python/safetensors_torch.py).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "nn/nn_test_util.h"
#include "nn/python_run.h"

namespace hpml {
namespace {

using nntest::TempDir;
using nntest::vals;

constexpr const char* kPython = "/usr/bin/python3";

// tests/python/safetensors_torch.py, found from this source file's path.
std::string script_path() {
  std::filesystem::path p = std::filesystem::path(HPML_TESTS_DIR) / "python" / "safetensors_torch.py";
  return p.string();
}

using nntest::RunResult;
RunResult run(const std::string& cmd) { return nntest::run_command(cmd); }

// Fails the test (never skips) when the PyTorch side is unavailable.
::testing::AssertionResult torch_available() {
  if (!std::filesystem::exists(kPython))
    return ::testing::AssertionFailure() << kPython << " is missing: the PyTorch interop test needs Python 3 with torch "
                                         << "(Debian: apt-get install python3-torch)";
  if (!std::filesystem::exists(script_path()))
    return ::testing::AssertionFailure() << "cannot find the interop script at " << script_path();
  RunResult r = run(std::string(kPython) + " -c 'import torch'");
  if (r.status != 0)
    return ::testing::AssertionFailure() << kPython << " cannot import torch (Debian: apt-get install python3-torch):\n"
                                         << r.output;
  return ::testing::AssertionSuccess();
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

RunResult run_script(const std::string& mode, const std::string& path) {
  return run(std::string(kPython) + " " + quote(script_path()) + " " + mode + " " + quote(path));
}

// The same model as the script's make_model().
nn::Sequential make_model() {
  return nn::Sequential(nn::Conv2d(1, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Flatten(), nn::Linear(64, 3));
}

// Splits "input" and "output" off a loaded file; the rest is the state dict.
struct Checkpoint {
  nn::StateDict state;
  Tensor input, output;
};
Checkpoint split(const io::NamedTensors& all) {
  Checkpoint c;
  for (const auto& [name, t] : all) {
    if (name == "input") c.input = t;
    else if (name == "output") c.output = t;
    else c.state.emplace_back(name, t);
  }
  return c;
}

TEST(TorchInterop, PyTorchFileLoadsIntoHpmlAndGivesTheSameOutput) {
  ASSERT_TRUE(torch_available());
  TempDir dir;
  const std::string path = dir.file("from_torch.safetensors");
  RunResult w = run_script("write", path);
  ASSERT_EQ(w.status, 0) << w.output;
  Checkpoint c = split(io::load_safetensors(path));
  ASSERT_TRUE(c.input.defined() && c.output.defined());
  EXPECT_EQ(c.input.sizes().vec(), (std::vector<int64_t>{2, 1, 8, 8}));
  EXPECT_EQ(c.output.sizes().vec(), (std::vector<int64_t>{2, 3}));

  nn::Sequential model = make_model();
  std::vector<std::string> keys;
  for (auto& [n, t] : c.state) keys.push_back(n);
  std::vector<std::string> own;
  for (auto& [n, t] : model.state_dict()) own.push_back(n);
  std::sort(keys.begin(), keys.end());
  std::sort(own.begin(), own.end());
  EXPECT_EQ(keys, own) << "PyTorch's state-dict keys";
  model.load_state_dict(c.state, /*strict=*/true);
  EXPECT_EQ(vals(dynamic_cast<nn::BatchNorm2d&>(model[1]).num_batches_tracked), std::vector<double>{1});
  const std::vector<double> rm = vals(dynamic_cast<nn::BatchNorm2d&>(model[1]).running_mean);
  EXPECT_NE(rm, std::vector<double>(4, 0.0)) << "the file should carry non-trivial running statistics";

  model.eval();
  Tensor y;
  {
    NoGradGuard ng;
    y = model(c.input);
  }
  ASSERT_EQ(y.sizes(), c.output.sizes());
  nntest::expect_near(vals(y), vals(c.output), 1e-5, 1e-4, "hpml vs PyTorch eval output");
  // Eval mode used the loaded running statistics unchanged.
  EXPECT_EQ(vals(dynamic_cast<nn::BatchNorm2d&>(model[1]).running_mean), rm);
}

TEST(TorchInterop, HpmlFileLoadsIntoPyTorchAndGivesTheSameOutput) {
  ASSERT_TRUE(torch_available());
  TempDir dir;
  const std::string path = dir.file("from_hpml.safetensors");
  manual_seed(77);
  nn::Sequential model = make_model();  // hpml's own initialization
  model.train();
  model(randn({8, 1, 8, 8}) * 1.5 + 0.25);  // one training forward: running stats move
  model.eval();
  Tensor x = randn({3, 1, 8, 8});
  Tensor y;
  {
    NoGradGuard ng;
    y = model(x);
  }
  io::NamedTensors all = model.state_dict();
  all.emplace_back("input", x);
  all.emplace_back("output", y);
  io::save_safetensors(path, all, {{"format", "pt"}});
  RunResult r = run_script("check", path);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("max abs error"), std::string::npos) << r.output;

  // The check can fail: a perturbed output must be rejected.
  Tensor wrong = y.detach().clone();
  {
    NoGradGuard ng;
    wrong.add_(1e-2);
  }
  all.back().second = wrong;
  io::save_safetensors(path, all);
  RunResult bad = run_script("check", path);
  EXPECT_NE(bad.status, 0) << "the script accepted a wrong output:\n" << bad.output;
}

}  // namespace
}  // namespace hpml
