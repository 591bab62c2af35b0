// Recurrent layers exchanged with PyTorch through safetensors (tests/python/rnn_torch.py): an LSTM and
// GRU state dict written by PyTorch loads into hpml and gives PyTorch's outputs, and the reverse.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "nn/nn_test_util.h"
#include "nn/python_run.h"

namespace hpml {
namespace {

using nntest::TempDir;
using nntest::vals;

constexpr const char* kPython = "/usr/bin/python3";

std::string script_path() { return (std::filesystem::path(HPML_TESTS_DIR) / "python" / "rnn_torch.py").string(); }

using nntest::RunResult;
RunResult run(const std::string& cmd) { return nntest::run_command(cmd); }

// Fails the test (never skips) when the PyTorch side is unavailable.
::testing::AssertionResult torch_available() {
  if (!std::filesystem::exists(kPython))
    return ::testing::AssertionFailure() << kPython << " is missing (Debian: apt-get install python3-torch)";
  if (!std::filesystem::exists(script_path()))
    return ::testing::AssertionFailure() << "cannot find the interop script at " << script_path();
  RunResult r = run(std::string(kPython) + " -c 'import torch'");
  if (r.status != 0) return ::testing::AssertionFailure() << kPython << " cannot import torch:\n" << r.output;
  return ::testing::AssertionSuccess();
}

RunResult run_script(const std::string& mode, const std::string& path) {
  return run(std::string(kPython) + " '" + script_path() + "' " + mode + " '" + path + "'");
}

// The script's Net: the same modules under the same names.
struct Net : nn::Module {
  nn::LSTM lstm{3, 5, {.num_layers = 2, .batch_first = true, .bidirectional = true}};
  nn::GRU gru{4, 3, {.num_layers = 2}};
  Net() : Module("Net") {
    register_module("lstm", lstm);
    register_module("gru", gru);
  }
  std::map<std::string, Tensor> run(const std::map<std::string, Tensor>& t) {
    NoGradGuard ng;
    nn::RNNOutput l = lstm.forward_with_state(t.at("lstm_input"), t.at("lstm_h0"), t.at("lstm_c0"));
    nn::RNNOutput g = gru.forward_with_state(t.at("gru_input"));
    return {{"lstm_output", l.output}, {"lstm_h_n", l.h_n}, {"lstm_c_n", l.c_n}, {"gru_output", g.output},
            {"gru_h_n", g.h_n}};
  }
};

const std::vector<std::string> kInputs = {"lstm_input", "lstm_h0", "lstm_c0", "gru_input"};
const std::vector<std::string> kOutputs = {"lstm_output", "lstm_h_n", "lstm_c_n", "gru_output", "gru_h_n"};

TEST(RnnTorchInterop, PyTorchStateDictLoadsIntoHpmlAndGivesTheSameOutputs) {
  ASSERT_TRUE(torch_available());
  TempDir dir;
  const std::string path = dir.file("rnn_from_torch.safetensors");
  RunResult w = run_script("write", path);
  ASSERT_EQ(w.status, 0) << w.output;
  std::map<std::string, Tensor> io_tensors;
  nn::StateDict state;
  for (const auto& [name, t] : io::load_safetensors(path)) {
    auto listed = [&](const std::vector<std::string>& v) { return std::count(v.begin(), v.end(), name) > 0; };
    if (listed(kInputs) || listed(kOutputs)) io_tensors[name] = t;
    else state.emplace_back(name, t);
  }
  ASSERT_EQ(io_tensors.size(), kInputs.size() + kOutputs.size());
  Net net;
  EXPECT_EQ(state.size(), net.state_dict().size());
  net.load_state_dict(state, /*strict=*/true);
  std::map<std::string, Tensor> out = net.run(io_tensors);
  for (const std::string& k : kOutputs) {
    ASSERT_EQ(out[k].sizes(), io_tensors[k].sizes()) << k;
    nntest::expect_near(vals(out[k]), vals(io_tensors[k]), 1e-5, 1e-4, "hpml vs PyTorch " + k);
  }
}

TEST(RnnTorchInterop, HpmlStateDictLoadsIntoPyTorchAndGivesTheSameOutputs) {
  ASSERT_TRUE(torch_available());
  TempDir dir;
  const std::string path = dir.file("rnn_from_hpml.safetensors");
  manual_seed(99);
  Net net;  // hpml's own initialization
  std::map<std::string, Tensor> t = {{"lstm_input", randn({2, 6, 3})}, {"lstm_h0", randn({4, 2, 5}) * 0.5},
                                     {"lstm_c0", randn({4, 2, 5}) * 0.5}, {"gru_input", randn({7, 3, 4})}};
  std::map<std::string, Tensor> out = net.run(t);
  io::NamedTensors all = net.state_dict();
  for (const std::string& k : kInputs) all.emplace_back(k, t[k]);
  for (const std::string& k : kOutputs) all.emplace_back(k, out[k].contiguous());
  io::save_safetensors(path, all, {{"format", "pt"}});
  RunResult r = run_script("check", path);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("gru_h_n: max abs error"), std::string::npos) << r.output;

  // The check can fail: a perturbed output must be rejected.
  {
    NoGradGuard ng;
    all.back().second = out["gru_h_n"] + 1e-2;
  }
  io::save_safetensors(path, all);
  RunResult bad = run_script("check", path);
  EXPECT_NE(bad.status, 0) << "the script accepted a wrong output:\n" << bad.output;
}

}  // namespace
}  // namespace hpml
