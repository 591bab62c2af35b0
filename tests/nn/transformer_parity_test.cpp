// MultiheadAttention and the Transformer layers against PyTorch 1.13 (tests/python/transformer_torch.py),
// in float64, through safetensors both ways: PyTorch's state dict, inputs, outputs and gradients
// load into hpml's module, which must give the same outputs and gradients; hpml's own state dict
// and outputs load strictly into PyTorch's module, which must give the same outputs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "nn/nn_test_util.h"
#include "nn/python_run.h"

namespace hpml {
namespace {

using nntest::TempDir;
using nntest::vals;

constexpr const char* kPython = "/usr/bin/python3";
constexpr int64_t E = 8, H = 2;  // the script's sizes

using nntest::RunResult;

RunResult run_script(const std::string& mode, const std::string& name, const std::string& path) {
  const std::string script = (std::filesystem::path(HPML_TESTS_DIR) / "python" / "transformer_torch.py").string();
  return nntest::run_command(std::string(kPython) + " '" + script + "' " + mode + " " + name + " '" + path + "'");
}

using Tensors = std::map<std::string, Tensor>;

// One case: its module and how it is called, as the script's case() builds and calls PyTorch's.
struct Case {
  std::shared_ptr<nn::Module> module;
  std::function<Tensors(nn::Module&, const Tensors&)> run;
};

nn::TransformerLayerOptions layer(bool pre, const char* act) {
  return {.dim_feedforward = 16, .dropout = 0.0, .activation = act, .batch_first = pre, .norm_first = pre};
}

Case make_case(const std::string& name) {
  using MHA = nn::MultiheadAttention;
  if (name == "mha_cross" || name == "mha_heads")
    return {std::make_shared<MHA>(E, H), [name](nn::Module& m, const Tensors& i) {
              nn::MHAArgs a;
              if (name == "mha_cross") a = {.key_padding_mask = i.at("key_padding_mask"), .attn_mask = i.at("attn_mask")};
              else a.average_attn_weights = false;
              nn::MHAOutput o = dynamic_cast<MHA&>(m).forward(i.at("query"), i.at("key"), i.at("value"), a);
              return Tensors{{"output", o.output}, {"weights", o.weights}};
            }};
  if (name == "mha_self_causal")
    return {std::make_shared<MHA>(E, H, 0.0, true, /*batch_first=*/true), [](nn::Module& m, const Tensors& i) {
              const Tensor& x = i.at("x");
              nn::MHAOutput o = dynamic_cast<MHA&>(m).forward(x, x, x, {.need_weights = false, .is_causal = true});
              return Tensors{{"output", o.output}};
            }};
  if (name == "encoder_post" || name == "encoder_pre") {
    const bool pre = name == "encoder_pre";
    return {std::make_shared<nn::TransformerEncoderLayer>(E, H, layer(pre, pre ? "gelu" : "relu")),
            [pre](nn::Module& m, const Tensors& i) {
              auto& l = dynamic_cast<nn::TransformerEncoderLayer&>(m);
              nn::EncoderMasks k;
              if (pre) k.is_causal = true;
              else k.src_key_padding_mask = i.at("src_key_padding_mask");
              return Tensors{{"output", l.forward(i.at("src"), k)}};
            }};
  }
  const bool pre = name == "decoder_pre";
  return {std::make_shared<nn::TransformerDecoderLayer>(E, H, layer(pre, "relu")), [](nn::Module& m, const Tensors& i) {
            auto& l = dynamic_cast<nn::TransformerDecoderLayer&>(m);
            nn::DecoderMasks k{.memory_key_padding_mask = i.at("memory_key_padding_mask"), .tgt_is_causal = true};
            return Tensors{{"output", l.forward(i.at("tgt"), i.at("memory"), k)}};
          }};
}

// The file's tensors under `prefix`, the prefix cut off.
Tensors part(const io::NamedTensors& all, const std::string& prefix) {
  Tensors out;
  for (const auto& [name, t] : all)
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

constexpr double kTol = 1e-10;

class TransformerParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TransformerParity, PyTorchStateGivesItsOutputsAndGradients) {
  const std::string name = GetParam();
  TempDir dir;
  const std::string path = dir.file(name + ".safetensors");
  RunResult w = run_script("write", name, path);
  ASSERT_EQ(w.status, 0) << "the PyTorch side (/usr/bin/python3 with Debian's python3-torch) failed:\n" << w.output;
  const io::NamedTensors all = io::load_safetensors(path);
  Case c = make_case(name);
  c.module->to(kFloat64);
  nn::StateDict state;
  for (auto& [k, t] : part(all, "state.")) state.emplace_back(k, t);
  c.module->load_state_dict(state, /*strict=*/true);
  Tensors in = part(all, "in.");
  for (auto& [k, t] : in)
    if (t.is_floating_point()) t = t.clone().requires_grad_(true);
  Tensors out = c.run(*c.module, in);
  const Tensors want = part(all, "out."), gout = part(all, "gout.");
  TensorList outs, grads;
  ASSERT_EQ(out.size(), want.size());
  for (const auto& [k, t] : want) {
    ASSERT_EQ(out.at(k).sizes(), t.sizes()) << k;
    nntest::expect_near(vals(out.at(k)), vals(t), kTol, kTol, name + " " + k);
    outs.push_back(out.at(k));
    grads.push_back(gout.at(k));
  }
  autograd::backward(outs, grads);
  for (const auto& [k, g] : part(all, "grad.in.")) {
    ASSERT_TRUE(in.at(k).grad().defined()) << k;
    nntest::expect_near(vals(in.at(k).grad()), vals(g), kTol, kTol, name + " d/d " + k);
  }
  const Tensors pg = part(all, "grad.state.");
  ASSERT_FALSE(pg.empty());
  for (const auto& [k, p] : c.module->named_parameters()) {
    ASSERT_TRUE(pg.count(k)) << "PyTorch has no gradient for " << k;
    ASSERT_TRUE(p.grad().defined()) << k;
    nntest::expect_near(vals(p.grad()), vals(pg.at(k)), kTol, kTol, name + " d/d " + k);
  }
}

TEST_P(TransformerParity, HpmlStateLoadsIntoPyTorchAndGivesTheSameOutputs) {
  const std::string name = GetParam();
  TempDir dir;
  const std::string from_torch = dir.file("inputs.safetensors"), to_torch = dir.file("hpml.safetensors");
  RunResult w = run_script("write", name, from_torch);  // for the inputs and masks only
  ASSERT_EQ(w.status, 0) << w.output;
  const io::NamedTensors all = io::load_safetensors(from_torch);
  manual_seed(99);
  Case c = make_case(name);  // hpml's own initialization
  c.module->to(kFloat64);
  const Tensors in = part(all, "in.");
  Tensors out;
  {
    NoGradGuard ng;
    out = c.run(*c.module, in);
  }
  io::NamedTensors file;
  for (const auto& [k, t] : c.module->state_dict()) file.emplace_back("state." + k, t);
  for (const auto& [k, t] : in) file.emplace_back("in." + k, t);
  for (const auto& [k, t] : out) file.emplace_back("out." + k, t);
  io::save_safetensors(to_torch, file);
  RunResult r = run_script("check", name, to_torch);
  EXPECT_EQ(r.status, 0) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Layers, TransformerParity,
                         ::testing::Values("mha_cross", "mha_self_causal", "mha_heads", "encoder_post", "encoder_pre",
                                           "decoder_post", "decoder_pre"));

}  // namespace
}  // namespace hpml
