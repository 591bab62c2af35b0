// nn::Module system: registration, PyTorch dotted names, modes, zero_grad, to(dtype), apply, errors, moves, state dicts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using nntest::error_of;
using nntest::vals;
using Names = std::vector<std::string>;

// A user model as PyTorch users write it: member layers registered by reference.
struct Net : nn::Module {
  nn::Sequential features{nn::Conv2d(1, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(), nn::Conv2d(4, 8, 3),
                          nn::MaxPool2d(2)};
  nn::BatchNorm2d bn{8};
  nn::Linear fc{72, 10};
  Net() : Module("Net") {
    register_module("features", features);
    register_module("bn", bn);
    register_module("fc", fc);
  }
  Tensor forward(const Tensor& x) override { return fc(bn(features(x)).flatten(1)); }
};

template <typename Pairs>
Names names_of(const Pairs& pairs) {
  Names out;
  for (const auto& p : pairs) out.push_back(p.first);
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Tensor param(const nn::Module& m, const std::string& name) {
  for (auto& [n, t] : m.state_dict())
    if (n == name) return t;
  ADD_FAILURE() << "no entry " << name;
  return Tensor();
}

// Expected names below were written down from PyTorch 1.13 running the same model in Python.
TEST(ModuleNames, NamedParametersBuffersModulesMatchPyTorch) {
  Net net;
  EXPECT_EQ(names_of(net.named_parameters()),
            (Names{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "features.3.weight",
                   "features.3.bias", "bn.weight", "bn.bias", "fc.weight", "fc.bias"}));
  EXPECT_EQ(names_of(net.named_buffers()),
            (Names{"features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
                   "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}));
  EXPECT_EQ(names_of(net.named_modules()),
            (Names{"", "features", "features.0", "features.1", "features.2", "features.3", "features.4", "bn", "fc"}));
  EXPECT_EQ(names_of(net.named_children()), (Names{"features", "bn", "fc"}));
  EXPECT_EQ(names_of(net.state_dict()),
            (Names{"features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                   "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
                   "features.3.weight", "features.3.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                   "bn.num_batches_tracked", "fc.weight", "fc.bias"}));
  EXPECT_EQ(names_of(net.named_parameters(/*recurse=*/false)), Names{});
  EXPECT_EQ(names_of(net.fc.named_parameters(false)), (Names{"weight", "bias"}));
  // The handles the model holds are the registered tensors.
  EXPECT_TRUE(net.named_parameters().back().second.is_same(net.fc.bias));
  EXPECT_EQ(net.features[3].type_name(), "Conv2d");
  EXPECT_EQ(net.features[3].path(), "features.3");
}

TEST(ModuleNames, ParameterCount) {
  Net net;
  TensorList ps = net.parameters();
  EXPECT_EQ(ps.size(), 10u);
  int64_t total = 0;
  for (const Tensor& p : ps) total += p.numel();
  EXPECT_EQ(total, 40 + 8 + 296 + 16 + 730);  // PyTorch: sum(p.numel()) == 1090
  for (const Tensor& p : ps) EXPECT_TRUE(p.requires_grad() && p.is_leaf());
  EXPECT_EQ(net.buffers().size(), 6u);
  EXPECT_EQ(net.modules().size(), 9u);
}

TEST(ModuleNames, ContainersNameChildrenLikePyTorch) {
  nn::ModuleList list;
  list.emplace_back<nn::Linear>(2, 3);
  list.emplace_back<nn::Tanh>();
  list.emplace_back<nn::Linear>(3, 4);
  EXPECT_EQ(names_of(list.named_parameters()), (Names{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list[1].type_name(), "Tanh");

  nn::ModuleDict dict;
  dict.insert("enc", std::make_shared<nn::Linear>(2, 3));
  dict.insert("act", std::make_shared<nn::ReLU>());
  dict.insert("dec", std::make_shared<nn::Linear>(3, 2));
  EXPECT_EQ(names_of(dict.named_parameters()), (Names{"enc.weight", "enc.bias", "dec.weight", "dec.bias"}));
  EXPECT_EQ(dict.keys(), (Names{"enc", "act", "dec"}));
  EXPECT_TRUE(dict.contains("dec"));
  EXPECT_EQ(dict["act"].type_name(), "ReLU");
  EXPECT_NE(error_of([&] { dict.insert("enc", std::make_shared<nn::ReLU>()); }).find("enc"), std::string::npos);

  // Nested Sequential: "2.0.weight".
  nn::Sequential seq(nn::Linear(4, 8), nn::Dropout(0.25));
  seq.push_back(std::make_shared<nn::Sequential>(nn::Linear(8, 2), nn::Softplus(2.0, 10.0)));
  EXPECT_EQ(names_of(seq.named_parameters()), (Names{"0.weight", "0.bias", "2.0.weight", "2.0.bias"}));
  EXPECT_EQ(names_of(seq.named_modules()), (Names{"", "0", "1", "2", "2.0", "2.1"}));
}

struct Holder : nn::Module {
  Tensor w;
  explicit Holder(const Tensor& t) : Module("Holder") { w = register_parameter("w", t); }
};
struct Tied : nn::Module {
  Holder a, b;
  explicit Tied(const Tensor& t) : Module("Tied"), a(t), b(t) {
    register_module("a", a);
    register_module("b", b);
  }
};

TEST(ModuleNames, SharedParameterIsListedOnce) {
  Tied tied(zeros({3}));
  EXPECT_EQ(names_of(tied.named_parameters()), Names{"a.w"});
  EXPECT_EQ(tied.parameters().size(), 1u);
  // PyTorch's state_dict keeps both names of a tied weight.
  EXPECT_EQ(names_of(tied.state_dict()), (Names{"a.w", "b.w"}));
}

struct SharedChild : nn::Module {
  nn::Linear l{2, 2};
  SharedChild() : Module("SharedChild") {
    register_module("l", l);
    register_module("a", l);
  }
};

TEST(ModuleNames, SharedChildModuleIsListedOnce) {
  SharedChild m;
  // PyTorch: named_modules() == ['', 'l'], named_parameters() == ['l.weight', 'l.bias'], state_dict has all four.
  EXPECT_EQ(names_of(m.named_modules()), (Names{"", "l"}));
  EXPECT_EQ(names_of(m.named_parameters()), (Names{"l.weight", "l.bias"}));
  EXPECT_EQ(names_of(m.state_dict()), (Names{"l.weight", "l.bias", "a.weight", "a.bias"}));
}

TEST(ModuleModes, TrainEvalPropagate) {
  Net net;
  for (nn::Module* m : net.modules()) EXPECT_TRUE(m->is_training());
  net.eval();
  for (nn::Module* m : net.modules()) EXPECT_FALSE(m->is_training()) << m->path();
  net.train();
  for (nn::Module* m : net.modules()) EXPECT_TRUE(m->is_training()) << m->path();
  net.features.eval();  // only that subtree
  EXPECT_TRUE(net.is_training());
  EXPECT_TRUE(net.fc.is_training());
  EXPECT_FALSE(net.features[1].is_training());
  net.train(false);
  EXPECT_FALSE(net.fc.is_training());
}

TEST(ModuleModes, DropoutFollowsTheMode) {
  nn::Sequential seq(nn::Identity(), nn::Dropout(0.5));
  Tensor x = ones({1000});
  seq.eval();
  for (double v : vals(seq(x))) EXPECT_EQ(v, 1.0);
  seq.train();
  int zeros_seen = 0;
  for (double v : vals(seq(x))) {
    EXPECT_TRUE(v == 0.0 || v == 2.0) << v;
    zeros_seen += v == 0.0;
  }
  EXPECT_GT(zeros_seen, 400);
  EXPECT_LT(zeros_seen, 600);
}

TEST(ModuleGrad, ZeroGradSetToNoneAndZeros) {
  manual_seed(1);
  Net net;
  net(randn({2, 1, 8, 8})).sum().backward();
  for (auto& [n, p] : net.named_parameters()) ASSERT_TRUE(p.grad().defined()) << n;
  net.zero_grad(/*set_to_none=*/false);
  for (auto& [n, p] : net.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << n;
    EXPECT_EQ(p.grad().sizes(), p.sizes()) << n;
    for (double v : vals(p.grad())) EXPECT_EQ(v, 0.0) << n;
  }
  net.zero_grad();
  for (auto& [n, p] : net.named_parameters()) EXPECT_FALSE(p.grad().defined()) << n;
}

TEST(ModuleConvert, ToFloat64InPlaceKeepsHandlesAndConvertsGrads) {
  manual_seed(2);
  Net net;
  Tensor x = randn({2, 1, 8, 8});
  net(x).sum().backward();
  Tensor w = net.fc.weight;  // a handle held by the caller
  Tensor held = net.named_parameters()[0].second;
  const std::vector<double> w_before = vals(w), g_before = vals(w.grad()), rm_before = vals(net.bn.running_mean);
  net.to(kFloat64);
  EXPECT_EQ(w.dtype(), kFloat64);
  EXPECT_EQ(held.dtype(), kFloat64);
  EXPECT_EQ(vals(w), w_before);  // f32 -> f64 is exact
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().dtype(), kFloat64);
  EXPECT_EQ(vals(w.grad()), g_before);
  EXPECT_TRUE(w.requires_grad());
  for (auto& [n, p] : net.named_parameters()) {
    EXPECT_EQ(p.dtype(), kFloat64) << n;
    EXPECT_EQ(p.grad().dtype(), kFloat64) << n;
  }
  EXPECT_EQ(net.bn.running_mean.dtype(), kFloat64);
  EXPECT_EQ(vals(net.bn.running_mean), rm_before);
  EXPECT_EQ(net.bn.num_batches_tracked.dtype(), kInt64);  // integer buffers stay
  // Still trains: gradients arrive in f64.
  net.zero_grad();
  net(x.to(kFloat64)).sum().backward();
  EXPECT_EQ(w.grad().dtype(), kFloat64);
  EXPECT_EQ(vals(net.bn.num_batches_tracked), std::vector<double>{2});
}

TEST(ModuleApply, VisitsChildrenFirst) {
  Net net;
  Names order;
  net.apply([&](nn::Module& m) { order.push_back(m.path() + ":" + m.type_name()); });
  EXPECT_EQ(order, (Names{"features.0:Conv2d", "features.1:BatchNorm2d", "features.2:ReLU", "features.3:Conv2d",
                          "features.4:MaxPool2d", "features:Sequential", "bn:BatchNorm2d", "fc:Linear", ":Net"}));
}

std::string repr(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

// Every expected string is PyTorch 1.13's print() of the same module.
TEST(ModulePrint, SmallCnnMatchesPyTorch) {
  Net net;
  EXPECT_EQ(repr(net),
            "Net(\n"
            "  (features): Sequential(\n"
            "    (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "    (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "    (2): ReLU()\n"
            "    (3): Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1))\n"
            "    (4): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "  )\n"
            "  (bn): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (fc): Linear(in_features=72, out_features=10, bias=True)\n"
            ")");
  nn::Sequential seq(nn::Linear(4, 8), nn::Dropout(0.25));
  seq.push_back(std::make_shared<nn::Sequential>(nn::Linear(8, 2), nn::Softplus(2.0, 10.0)));
  EXPECT_EQ(repr(seq),
            "Sequential(\n"
            "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
            "  (1): Dropout(p=0.25, inplace=False)\n"
            "  (2): Sequential(\n"
            "    (0): Linear(in_features=8, out_features=2, bias=True)\n"
            "    (1): Softplus(beta=2.0, threshold=10.0)\n"
            "  )\n"
            ")");
  nn::ModuleDict dict;
  dict.insert("enc", std::make_shared<nn::Linear>(2, 3));
  dict.insert("act", std::make_shared<nn::ReLU>());
  EXPECT_EQ(repr(dict),
            "ModuleDict(\n"
            "  (enc): Linear(in_features=2, out_features=3, bias=True)\n"
            "  (act): ReLU()\n"
            ")");
}

TEST(ModulePrint, LayersMatchPyTorch) {
  EXPECT_EQ(repr(nn::BatchNorm2d(4)), "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  EXPECT_EQ(repr(nn::BatchNorm1d(4, {.momentum = std::nullopt, .affine = false})),
            "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, track_running_stats=True)");
  EXPECT_EQ(repr(nn::LayerNorm({10})), "LayerNorm((10,), eps=1e-05, elementwise_affine=True)");
  EXPECT_EQ(repr(nn::LayerNorm({4, 5}, 1e-6, false)), "LayerNorm((4, 5), eps=1e-06, elementwise_affine=False)");
  EXPECT_EQ(repr(nn::GroupNorm(2, 4)), "GroupNorm(2, 4, eps=1e-05, affine=True)");
  EXPECT_EQ(repr(nn::Dropout()), "Dropout(p=0.5, inplace=False)");
  EXPECT_EQ(repr(nn::Dropout(0.25)), "Dropout(p=0.25, inplace=False)");
  EXPECT_EQ(repr(nn::Embedding(10, 3)), "Embedding(10, 3)");
  EXPECT_EQ(repr(nn::Embedding(10, 3, 0)), "Embedding(10, 3, padding_idx=0)");
  EXPECT_EQ(repr(nn::Embedding(10, 3, -1)), "Embedding(10, 3, padding_idx=9)");  // stored non-negative, as PyTorch
  EXPECT_EQ(repr(nn::LeakyReLU()), "LeakyReLU(negative_slope=0.01)");
  EXPECT_EQ(repr(nn::LeakyReLU(0.2)), "LeakyReLU(negative_slope=0.2)");
  EXPECT_EQ(repr(nn::GELU()), "GELU(approximate='none')");
  EXPECT_EQ(repr(nn::GELU("tanh")), "GELU(approximate='tanh')");
  // PyTorch >= 2.1 declares float defaults and prints 1.0 / 20.0 (1.13 kept ints: "beta=1, threshold=20").
  EXPECT_EQ(repr(nn::Softplus()), "Softplus(beta=1.0, threshold=20.0)");
  EXPECT_EQ(repr(nn::Softplus(2.0, 10.0)), "Softplus(beta=2.0, threshold=10.0)");
  EXPECT_EQ(repr(nn::Hardtanh()), "Hardtanh(min_val=-1.0, max_val=1.0)");
  EXPECT_EQ(repr(nn::Hardtanh(-2.0, 0.5)), "Hardtanh(min_val=-2.0, max_val=0.5)");
  EXPECT_EQ(repr(nn::ELU()), "ELU(alpha=1.0)");
  EXPECT_EQ(repr(nn::Identity()), "Identity()");
  EXPECT_EQ(repr(nn::Sigmoid()), "Sigmoid()");
  EXPECT_EQ(repr(nn::Softmax(1)), "Softmax(dim=1)");
  EXPECT_EQ(repr(nn::Flatten()), "Flatten(start_dim=1, end_dim=-1)");
  EXPECT_EQ(repr(nn::Unflatten(1, {2, 3})), "Unflatten(dim=1, unflattened_size=(2, 3))");
  EXPECT_EQ(repr(nn::Linear(4, 2, false)), "Linear(in_features=4, out_features=2, bias=False)");
  EXPECT_EQ(repr(nn::MaxPool2d(3, {.stride = 2, .padding = 1})),
            "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
  EXPECT_EQ(repr(nn::AvgPool2d(2)), "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  EXPECT_EQ(repr(nn::AdaptiveAvgPool2d({1, 1})), "AdaptiveAvgPool2d(output_size=(1, 1))");
}

TEST(ModulePrint, ConvOptionsMatchPyTorch) {
  EXPECT_EQ(repr(nn::Conv2d(1, 32, 3, {.padding = 1})), "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(repr(nn::Conv2d(4, 8, 3, {.padding = "same", .dilation = 2, .groups = 2, .bias = false})),
            "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, dilation=(2, 2), groups=2, bias=False)");
  EXPECT_EQ(repr(nn::Conv2d(4, 8, {3, 5}, {.stride = 2, .padding = {1, 2}, .dilation = {1, 2}})),
            "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(1, 2))");
  EXPECT_EQ(repr(nn::Conv2d(3, 6, 1, {.stride = {2, 1}})), "Conv2d(3, 6, kernel_size=(1, 1), stride=(2, 1))");
  EXPECT_EQ(repr(nn::Conv1d(2, 4, 3)), "Conv1d(2, 4, kernel_size=(3,), stride=(1,))");
}

TEST(ModuleErrors, OnlyTheInnermostModulePrefixes) {
  Net net;
  // 2x2 images reach features.3 (a 3x3 convolution without padding) at 2x2: too small.
  const std::string e = error_of([&] { net(randn({2, 1, 2, 2})); });
  EXPECT_EQ(e.rfind("in features.3 (Conv2d): ", 0), 0u) << e;
  EXPECT_EQ(e.find("in features (Sequential)"), std::string::npos) << e;
  EXPECT_EQ(e.find("in Net"), std::string::npos) << e;
  EXPECT_EQ(e.find("(Conv2d): ", e.find("(Conv2d): ") + 1), std::string::npos) << e;  // once
  // The thrown type is ModuleError (an hpml::Error).
  EXPECT_THROW(net(randn({2, 1, 2, 2})), nn::ModuleError);
  // A root module names its type.
  nn::Linear lin(3, 2);
  const std::string root = error_of([&] { lin(randn({4, 5})); });
  EXPECT_EQ(root.rfind("in Linear: ", 0), 0u) << root;
  // An error in the last layer of the user model.
  Net net2;
  net2.fc.eval();
  const std::string fc = error_of([&] { net2.fc(randn({2, 71})); });
  EXPECT_EQ(fc.rfind("in fc (Linear): ", 0), 0u) << fc;
}

TEST(ModuleMove, MovingAModuleWithAReferenceChildThrows) {
  Net a;
  const std::string e = error_of([&] { Net b(std::move(a)); });
  EXPECT_NE(e.find("cannot move"), std::string::npos) << e;
  EXPECT_NE(e.find("features"), std::string::npos) << e;
}

TEST(ModuleMove, MovingARegisteredChildThrowsAndLeavesItIntact) {
  Net net;
  const std::string e = error_of([&] { nn::Linear moved(std::move(net.fc)); });
  EXPECT_NE(e.find("cannot move"), std::string::npos) << e;
  // The failed move must not strip the child of its parameters (strong exception guarantee).
  EXPECT_EQ(names_of(net.fc.named_parameters()), (Names{"weight", "bias"}));
  EXPECT_EQ(net.parameters().size(), 10u);
  EXPECT_EQ(net.fc.type_name(), "Linear");
}

TEST(ModuleMove, LeafLayersAndContainersMove) {
  nn::Linear l(2, 3);
  Tensor w = l.weight;
  nn::Linear m(std::move(l));
  EXPECT_TRUE(m.named_parameters()[0].second.is_same(w));
  nn::Sequential s(nn::Linear(2, 3), nn::Linear(4, 1));
  nn::Sequential t(std::move(s));
  EXPECT_EQ(names_of(t.named_parameters()), (Names{"0.weight", "0.bias", "1.weight", "1.bias"}));
  // The children now report their path under the new container.
  const std::string e = error_of([&] { t(randn({1, 2})); });
  EXPECT_EQ(e.rfind("in 1 (Linear): ", 0), 0u) << e;
}

TEST(ModuleRegister, BadNamesThrow) {
  nn::Module m("Custom");
  m.register_parameter("w", zeros({2}));
  EXPECT_NE(error_of([&] { m.register_parameter("w", zeros({2})); }).find("'w'"), std::string::npos);
  EXPECT_NE(error_of([&] { m.register_parameter("a.b", zeros({2})); }).find("a.b"), std::string::npos);
  EXPECT_NE(error_of([&] { m.register_parameter("", zeros({2})); }), "<no error>");
  EXPECT_NE(error_of([&] { m.register_buffer("w", zeros({2})); }).find("'w'"), std::string::npos);
  nn::Linear child(2, 2);
  EXPECT_NE(error_of([&] { m.register_module("w", child); }).find("'w'"), std::string::npos);
  EXPECT_NE(error_of([&] { m.register_module("x.y", child); }).find("x.y"), std::string::npos);
  EXPECT_EQ(names_of(m.named_parameters()), Names{"w"});
  // An undefined buffer is absent, as PyTorch's register_buffer(name, None).
  m.register_buffer("absent", Tensor());
  EXPECT_EQ(names_of(m.state_dict()), Names{"w"});
}

TEST(StateDict, RoundTripCopiesValues) {
  manual_seed(3);
  Net a;
  a(randn({4, 1, 8, 8}));  // non-trivial running statistics
  Net b;
  EXPECT_NE(vals(param(b, "fc.weight")), vals(param(a, "fc.weight")));
  b.load_state_dict(a.state_dict());
  for (auto& [n, t] : a.state_dict()) EXPECT_EQ(vals(param(b, n)), vals(t)) << n;
  EXPECT_EQ(vals(b.bn.num_batches_tracked), std::vector<double>{1});
  // Copies, not aliases: changing a afterwards leaves b alone.
  {
    NoGradGuard ng;
    a.fc.weight.fill_(7.0);
  }
  EXPECT_NE(vals(b.fc.weight)[0], 7.0);
  EXPECT_FALSE(b.fc.weight.is_same(a.fc.weight));
}

TEST(StateDict, StrictListsMissingAndUnexpectedKeys) {
  Net a, b;
  nn::StateDict sd;
  for (auto& e : a.state_dict())
    if (e.first != "fc.bias" && e.first != "bn.running_var") sd.push_back(e);
  sd.emplace_back("extra.weight", zeros({1}));
  const std::string e = error_of([&] { b.load_state_dict(sd); });
  const std::string le = lower(e);
  EXPECT_NE(le.find("missing"), std::string::npos) << e;
  EXPECT_NE(le.find("unexpected"), std::string::npos) << e;
  EXPECT_NE(e.find("fc.bias"), std::string::npos) << e;
  EXPECT_NE(e.find("bn.running_var"), std::string::npos) << e;
  EXPECT_NE(e.find("extra.weight"), std::string::npos) << e;
  // Missing keys only / unexpected keys only.
  nn::StateDict only_extra = a.state_dict();
  only_extra.emplace_back("fc.extra", zeros({1}));
  EXPECT_NE(error_of([&] { b.load_state_dict(only_extra); }).find("fc.extra"), std::string::npos);
}

TEST(StateDict, SizeMismatchNamesKeyAndBothShapes) {
  Net a, b;
  nn::StateDict sd = a.state_dict();
  for (auto& e : sd)
    if (e.first == "fc.weight") e.second = zeros({10, 5});
  for (bool strict : {true, false}) {  // PyTorch raises size mismatches even with strict=False
    const std::string e = error_of([&] { b.load_state_dict(sd, strict); });
    EXPECT_NE(e.find("fc.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("[10, 5]"), std::string::npos) << e;
    EXPECT_NE(e.find("[10, 72]"), std::string::npos) << e;
  }
}

TEST(StateDict, NonStrictLoadsWhatMatches) {
  Net a, b;
  const std::vector<double> bias_before = vals(b.fc.bias), bn_before = vals(b.bn.running_mean);
  nn::StateDict sd{{"fc.weight", a.fc.weight}, {"nonsense.key", zeros({3})}};
  EXPECT_NO_THROW(b.load_state_dict(sd, /*strict=*/false));
  EXPECT_EQ(vals(b.fc.weight), vals(a.fc.weight));
  EXPECT_EQ(vals(b.fc.bias), bias_before);
  EXPECT_EQ(vals(b.bn.running_mean), bn_before);
  EXPECT_NE(error_of([&] { b.load_state_dict(sd, true); }), "<no error>");
}

}  // namespace
}  // namespace hpml
