// The recurrent layers without libtorch: f64 finite-difference gradchecks of small LSTM, GRU, RNN and
// the cells (inputs, initial states and every parameter), one step worked by hand, PyTorch's
// parameter names, shapes and printing (copied from PyTorch 1.13), initialization, dropout between
// layers, and the errors for bad input. Values against PyTorch: tests/parity/nn_rnn_parity_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using nntest::error_of;
using nntest::vals;

#define EXPECT_HAS(text, sub) \
  EXPECT_NE(std::string(text).find(sub), std::string::npos) << "expected \"" << (sub) << "\" in: " << (text)

// Passes x, the states and every parameter of m to gradcheck (which perturbs them in place, so the
// module sees each perturbation); fn returns the outputs to differentiate.
void check_module_grads(nn::Module& m, TensorList inputs, const std::function<TensorList(const TensorList&)>& fn) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  autograd::GradcheckResult r = autograd::gradcheck(fn, inputs, {.raise_exception = false});
  EXPECT_TRUE(r.ok) << m.repr() << ": " << r.message;
}

Tensor leaf(std::vector<int64_t> shape, Generator& g, double scale = 1.0) {
  return (randn(shape, &g, kFloat64) * scale).detach().requires_grad_(true);
}

TEST(RnnGradcheck, LstmTwoLayersBidirectionalWithInitialState) {
  Generator g(1);
  manual_seed(1);
  nn::LSTM m(2, 3, {.num_layers = 2, .bidirectional = true});
  m.to(kFloat64);
  Tensor x = leaf({3, 2, 2}, g), h0 = leaf({4, 2, 3}, g, 0.5), c0 = leaf({4, 2, 3}, g, 0.5);
  check_module_grads(m, {x, h0, c0}, [&](const TensorList& in) {
    nn::RNNOutput r = m.forward_with_state(in[0], in[1], in[2]);
    return TensorList{r.output, r.h_n, r.c_n};
  });
}

TEST(RnnGradcheck, LstmBatchFirstUnbatchedNoBias) {
  Generator g(2);
  manual_seed(2);
  nn::LSTM m(3, 2, {.bias = false, .batch_first = true});
  m.to(kFloat64);
  Tensor x = leaf({4, 3}, g);  // unbatched [T, in]
  check_module_grads(m, {x}, [&](const TensorList& in) {
    nn::RNNOutput r = m.forward_with_state(in[0]);
    return TensorList{r.output, r.h_n, r.c_n};
  });
}

TEST(RnnGradcheck, GruTwoLayersBidirectionalBatchFirstWithInitialState) {
  Generator g(3);
  manual_seed(3);
  nn::GRU m(2, 3, {.num_layers = 2, .batch_first = true, .bidirectional = true});
  m.to(kFloat64);
  Tensor x = leaf({2, 3, 2}, g), h0 = leaf({4, 2, 3}, g, 0.5);
  check_module_grads(m, {x, h0}, [&](const TensorList& in) {
    nn::RNNOutput r = m.forward_with_state(in[0], in[1]);
    return TensorList{r.output, r.h_n};
  });
}

TEST(RnnGradcheck, RnnTanhAndRelu) {
  for (const char* nl : {"tanh", "relu"}) {
    Generator g(4);
    manual_seed(4);
    nn::RNN m(2, 3, {.num_layers = 2, .nonlinearity = nl});
    m.to(kFloat64);
    Tensor x = leaf({4, 2, 2}, g), h0 = leaf({2, 2, 3}, g, 0.5);
    check_module_grads(m, {x, h0}, [&](const TensorList& in) {
      nn::RNNOutput r = m.forward_with_state(in[0], in[1]);
      return TensorList{r.output, r.h_n};
    });
  }
}

TEST(RnnGradcheck, Cells) {
  Generator g(5);
  manual_seed(5);
  nn::LSTMCell lstm(3, 2);
  nn::GRUCell gru(3, 2);
  nn::RNNCell rnn(3, 2, true, "tanh");
  for (nn::Module* m : std::vector<nn::Module*>{&lstm, &gru, &rnn}) m->to(kFloat64);
  Tensor x = leaf({2, 3}, g), h = leaf({2, 2}, g), c = leaf({2, 2}, g);
  check_module_grads(lstm, {x, h, c}, [&](const TensorList& in) {
    nn::LSTMCellState s = lstm.forward_with_state(in[0], in[1], in[2]);
    return TensorList{s.h, s.c};
  });
  check_module_grads(gru, {x, h}, [&](const TensorList& in) { return TensorList{gru(in[0], in[1])}; });
  check_module_grads(rnn, {x, h}, [&](const TensorList& in) { return TensorList{rnn(in[0], in[1])}; });
}

// Second order: the gradient with respect to the input (create_graph) is itself gradchecked, through
// the time-steps node of Note [Time steps without a quadratic backward] (src/nn/rnn.cpp).
TEST(RnnGradcheck, GruDoubleBackward) {
  Generator g(6);
  manual_seed(6);
  nn::GRU m(2, 2, {.bidirectional = true});
  m.to(kFloat64);
  Tensor x = leaf({3, 2, 2}, g);
  check_module_grads(m, {x}, [&](const TensorList& in) {
    EnableGradGuard eg;  // gradcheck's finite differences run fn without grad mode
    Tensor y = m(in[0]);
    autograd::GradOptions o;
    o.create_graph = true;
    return autograd::grad({(y * y).sum()}, {in[0]}, o);
  });
}

// ---- values worked by hand (hidden size 1) ------------------------------------------------------

void set(nn::Module& m, const std::vector<std::pair<std::string, std::vector<double>>>& values) {
  NoGradGuard ng;
  for (const auto& [name, v] : values) {
    bool found = false;
    for (auto& [n, p] : m.named_parameters())
      if (n == name) p.copy_(tensor(v, kFloat32).reshape(p.sizes())), found = true;
    ASSERT_TRUE(found) << name;
  }
}

double sig(double v) { return 1.0 / (1.0 + std::exp(-v)); }

Tensor one(double v) { return full({1, 1}, v, kFloat32); }

TEST(RnnValues, OneStepOfEachCellByHand) {
  const double x = 2.0, h = 0.3, c = -0.4;
  nn::RNNCell rnn(1, 1);
  set(rnn, {{"weight_ih", {0.5}}, {"weight_hh", {-1.0}}, {"bias_ih", {0.1}}, {"bias_hh", {0.2}}});
  EXPECT_NEAR(vals(rnn(one(x), one(h)))[0], std::tanh(0.5 * x + 0.1 - h + 0.2), 1e-6);

  // LSTM gates in the order i, f, g, o.
  nn::LSTMCell lstm(1, 1);
  const std::vector<double> wi = {0.1, 0.2, 0.3, 0.4}, wh = {-0.5, 0.6, -0.7, 0.8};
  const std::vector<double> bi = {0.01, 0.02, 0.03, 0.04}, bh = {0.05, -0.06, 0.07, -0.08};
  set(lstm, {{"weight_ih", wi}, {"weight_hh", wh}, {"bias_ih", bi}, {"bias_hh", bh}});
  auto pre = [&](size_t k) { return wi[k] * x + bi[k] + wh[k] * h + bh[k]; };
  const double c1 = sig(pre(1)) * c + sig(pre(0)) * std::tanh(pre(2)), h1 = sig(pre(3)) * std::tanh(c1);
  nn::LSTMCellState s = lstm.forward_with_state(one(x), one(h), one(c));
  EXPECT_NEAR(vals(s.c)[0], c1, 1e-6);
  EXPECT_NEAR(vals(s.h)[0], h1, 1e-6);

  // GRU gates r, z, n; b_hn inside the reset gate's product.
  nn::GRUCell gru(1, 1);
  const std::vector<double> gi = {0.3, -0.2, 0.5}, gh = {0.4, 0.1, -0.6};
  const std::vector<double> gbi = {0.1, 0.2, 0.3}, gbh = {-0.1, 0.0, 0.25};
  set(gru, {{"weight_ih", gi}, {"weight_hh", gh}, {"bias_ih", gbi}, {"bias_hh", gbh}});
  const double r = sig(gi[0] * x + gbi[0] + gh[0] * h + gbh[0]);
  const double z = sig(gi[1] * x + gbi[1] + gh[1] * h + gbh[1]);
  const double n = std::tanh(gi[2] * x + gbi[2] + r * (gh[2] * h + gbh[2]));
  EXPECT_NEAR(vals(gru(one(x), one(h)))[0], (1 - z) * n + z * h, 1e-6);
}

// A two-step bidirectional RNN over [x0, x1]: forward reads x0 then x1, reverse x1 then x0.
TEST(RnnValues, BidirectionalOutputsAndFinalStatesByHand) {
  nn::RNN m(1, 1, {.bias = false, .bidirectional = true});
  set(m, {{"weight_ih_l0", {0.5}}, {"weight_hh_l0", {0.25}}, {"weight_ih_l0_reverse", {-1.0}},
          {"weight_hh_l0_reverse", {0.75}}});
  nn::RNNOutput r = m.forward_with_state(tensor(std::vector<double>{1.0, -2.0}, kFloat32).reshape({2, 1, 1}));
  const double f0 = std::tanh(0.5), f1 = std::tanh(-1.0 + 0.25 * f0);
  const double b1 = std::tanh(2.0), b0 = std::tanh(-1.0 + 0.75 * b1);
  EXPECT_EQ(r.output.sizes().vec(), (std::vector<int64_t>{2, 1, 2}));
  nntest::expect_near(vals(r.output), {f0, b0, f1, b1}, 1e-6, 0, "output [T, N, 2]");
  nntest::expect_near(vals(r.h_n), {f1, b0}, 1e-6, 0, "h_n: last forward step, first reverse step");
}

// ---- structure -------------------------------------------------------------------------------

TEST(RnnModules, ParameterNamesAndShapesArePyTorchs) {
  // PyTorch 1.13: [(n, tuple(p.shape)) for n, p in nn.LSTM(3, 4, num_layers=2, bidirectional=True).named_parameters()]
  nn::LSTM m(3, 4, {.num_layers = 2, .bidirectional = true});
  const std::vector<std::pair<std::string, std::vector<int64_t>>> want = {
      {"weight_ih_l0", {16, 3}},         {"weight_hh_l0", {16, 4}},         {"bias_ih_l0", {16}},
      {"bias_hh_l0", {16}},              {"weight_ih_l0_reverse", {16, 3}}, {"weight_hh_l0_reverse", {16, 4}},
      {"bias_ih_l0_reverse", {16}},      {"bias_hh_l0_reverse", {16}},      {"weight_ih_l1", {16, 8}},
      {"weight_hh_l1", {16, 4}},         {"bias_ih_l1", {16}},              {"bias_hh_l1", {16}},
      {"weight_ih_l1_reverse", {16, 8}}, {"weight_hh_l1_reverse", {16, 4}}, {"bias_ih_l1_reverse", {16}},
      {"bias_hh_l1_reverse", {16}}};
  std::vector<std::pair<std::string, std::vector<int64_t>>> got;
  for (const auto& [n, p] : m.named_parameters()) got.emplace_back(n, p.sizes().vec());
  EXPECT_EQ(got, want);

  nn::GRU gru(3, 4, {.bias = false});
  std::vector<std::pair<std::string, std::vector<int64_t>>> g;
  for (const auto& [n, p] : gru.named_parameters()) g.emplace_back(n, p.sizes().vec());
  EXPECT_EQ(g, (std::vector<std::pair<std::string, std::vector<int64_t>>>{{"weight_ih_l0", {12, 3}},
                                                                          {"weight_hh_l0", {12, 4}}}));
  nn::LSTMCell cell(3, 4);
  std::vector<std::string> names;
  for (const auto& [n, p] : cell.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
}

TEST(RnnModules, PrintLikePyTorch) {  // the strings are PyTorch 1.13's print() of the same modules
  EXPECT_EQ(nn::LSTM(3, 4, {.num_layers = 2, .batch_first = true, .dropout = 0.5, .bidirectional = true}).repr(),
            "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)");
  EXPECT_EQ(nn::RNN(3, 4, {.nonlinearity = "relu", .bias = false}).repr(), "RNN(3, 4, bias=False)");
  EXPECT_EQ(nn::GRU(3, 4).repr(), "GRU(3, 4)");
  EXPECT_EQ(nn::RNNCell(3, 4, false, "relu").repr(), "RNNCell(3, 4, bias=False, nonlinearity=relu)");
  EXPECT_EQ(nn::LSTMCell(3, 4).repr(), "LSTMCell(3, 4)");
  EXPECT_EQ(nn::GRUCell(3, 4).repr(), "GRUCell(3, 4)");
}

TEST(RnnModules, InitializationIsUniformWithinOneOverSqrtHidden) {
  manual_seed(6);
  nn::GRU m(8, 16, {.num_layers = 2});
  nn::LSTMCell cell(8, 16);
  const double bound = 1.0 / std::sqrt(16.0);
  for (nn::Module* mod : std::vector<nn::Module*>{&m, &cell}) {
    for (const auto& [n, p] : mod->named_parameters()) {
      std::vector<double> v = vals(p);
      double lo = 1, hi = -1, mean = 0;
      for (double e : v) lo = std::min(lo, e), hi = std::max(hi, e), mean += e / static_cast<double>(v.size());
      EXPECT_GE(lo, -bound) << n;
      EXPECT_LE(hi, bound) << n;
      EXPECT_LT(lo, -0.8 * bound) << n << ": U(-b, b) should come near -b";
      EXPECT_GT(hi, 0.8 * bound) << n;
      EXPECT_LT(std::fabs(mean), 0.1) << n;
    }
  }
}

TEST(RnnModules, PlainForwardIsTheOutputAndTheModuleMovesIntoSequential) {
  manual_seed(7);
  nn::Sequential seq(nn::LSTM(3, 4, {.num_layers = 2}), nn::Linear(4, 2));
  Tensor x = randn({5, 2, 3});
  auto& lstm = dynamic_cast<nn::LSTM&>(seq[0]);
  Tensor y = seq(x);
  EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{5, 2, 2}));
  EXPECT_EQ(vals(lstm(x)), vals(lstm.forward_with_state(x).output));
  EXPECT_EQ(vals(y), vals(dynamic_cast<nn::Linear&>(seq[1])(lstm(x))));
  std::vector<std::string> keys;
  for (const auto& [n, t] : seq.state_dict()) keys.push_back(n);
  EXPECT_EQ(keys.front(), "0.weight_ih_l0");
  EXPECT_EQ(keys.back(), "1.bias");
}

// PyTorch applies dropout to the outputs of every layer but the last, in training mode only.
TEST(RnnModules, DropoutActsBetweenLayersInTrainingOnly) {
  manual_seed(8);
  Tensor x = randn({6, 4, 3});
  nn::LSTM single(3, 5, {.dropout = 0.5});  // single layer: nothing between layers
  single.train();
  Tensor a = single(x);
  single.eval();
  EXPECT_EQ(vals(a), vals(single(x)));

  nn::GRU two(3, 5, {.num_layers = 2, .dropout = 0.5});
  nn::GRU plain(3, 5, {.num_layers = 2});
  plain.load_state_dict(two.state_dict());
  two.train();
  Tensor t1 = two(x), t2 = two(x);
  EXPECT_NE(vals(t1), vals(t2)) << "two training forwards should draw different masks";
  EXPECT_NE(vals(t1), vals(plain(x)));
  two.eval();
  EXPECT_EQ(vals(two(x)), vals(plain(x))) << "eval mode: no dropout";
  nn::RNNOutput r = two.forward_with_state(x);
  EXPECT_EQ(vals(r.h_n), vals(plain.forward_with_state(x).h_n));
}

TEST(RnnModules, ConvertsToFloat64) {
  nn::LSTM m(3, 4);
  m.to(kFloat64);
  nn::RNNOutput r = m.forward_with_state(randn({2, 1, 3}, nullptr, kFloat64));
  EXPECT_EQ(r.output.dtype(), kFloat64);
  EXPECT_EQ(r.c_n.dtype(), kFloat64);
}

// ---- errors ----------------------------------------------------------------------------------

TEST(RnnErrors, BadInputNamesTheModuleAndTheShapes) {
  nn::LSTM lstm(3, 4, {.num_layers = 2});
  std::string e = error_of([&] { lstm(randn({5, 2, 7})); });
  EXPECT_HAS(e, "in LSTM");
  EXPECT_HAS(e, "input.size(-1) must be equal to input_size. Expected 3, got 7");
  EXPECT_HAS(e, "[5, 2, 7]");
  e = error_of([&] { lstm.forward_with_state(randn({5, 2, 3}), randn({1, 2, 4}), randn({2, 2, 4})); });
  EXPECT_HAS(e, "LSTM: expected h0 of shape [2, 2, 4], got [1, 2, 4]");
  e = error_of([&] { lstm.forward_with_state(randn({5, 2, 3}), randn({2, 2, 4}), randn({2, 3, 4})); });
  EXPECT_HAS(e, "expected c0 of shape [2, 2, 4], got [2, 3, 4]");
  e = error_of([&] { lstm.forward_with_state(randn({5, 2, 3}), randn({2, 2, 4})); });
  EXPECT_HAS(e, "give h0 and c0 together");
  e = error_of([&] { lstm(randn({5, 2, 3, 1})); });
  EXPECT_HAS(e, "expected input to be 2-D (unbatched) or 3-D, got shape [5, 2, 3, 1]");
  e = error_of([&] { lstm(randn({0, 2, 3})); });
  EXPECT_HAS(e, "sequence length to be larger than 0");
  e = error_of([&] { lstm(randn({5, 2, 3}, nullptr, kFloat64)); });
  EXPECT_HAS(e, "input dtype f64 does not match the parameters' dtype f32");

  nn::GRU gru(3, 4, {.bidirectional = true});
  e = error_of([&] { gru.forward_with_state(randn({5, 2, 3}), randn({4})); });
  EXPECT_HAS(e, "GRU: for batched 3-D input, h0 should also be 3-D, got shape [4]");
  e = error_of([&] { gru.forward_with_state(randn({5, 3}), randn({2, 1, 4})); });
  EXPECT_HAS(e, "for unbatched 2-D input, h0 should also be 2-D");
  e = error_of([&] { gru.forward_with_state(randn({5, 3}), randn({1, 4})); });
  EXPECT_HAS(e, "expected h0 of shape [2, 4], got [1, 4]");

  // Inside a container the path comes first.
  nn::Sequential seq(nn::RNN(3, 4));
  EXPECT_HAS(error_of([&] { seq(randn({5, 2, 6})); }), "in 0 (RNN): RNN: input.size(-1)");
}

TEST(RnnErrors, BadCellInput) {
  nn::RNNCell cell(3, 4);
  std::string e = error_of([&] { cell(randn({2, 5})); });
  EXPECT_HAS(e, "in RNNCell");
  EXPECT_HAS(e, "input has inconsistent input_size: got 5, expected 3 (input shape [2, 5])");
  e = error_of([&] { cell(randn({2, 3}), randn({3, 4})); });
  EXPECT_HAS(e, "input batch size 2 doesn't match hx batch size 3");
  e = error_of([&] { cell(randn({2, 3}), randn({2, 5})); });
  EXPECT_HAS(e, "hx has inconsistent hidden_size: got 5, expected 4");
  e = error_of([&] { cell(randn({2, 3, 1})); });
  EXPECT_HAS(e, "expected input to be 1-D (unbatched) or 2-D");
  e = error_of([&] { cell(randn({3}), randn({1, 4})); });
  EXPECT_HAS(e, "for unbatched 1-D input, hx should also be 1-D, got shape [1, 4]");
  nn::LSTMCell lstm(3, 4);
  e = error_of([&] { lstm.forward_with_state(randn({2, 3}), Tensor(), randn({2, 4})); });
  EXPECT_HAS(e, "in LSTMCell");
  EXPECT_HAS(e, "give h0 and c0 together");
  e = error_of([&] { lstm.forward_with_state(randn({2, 3}), randn({2, 4}), randn({2, 3})); });
  EXPECT_HAS(e, "c0 has inconsistent hidden_size: got 3, expected 4");
}

TEST(RnnErrors, BadOptions) {
  EXPECT_HAS(error_of([] { nn::RNN(3, 4, {.nonlinearity = "gelu"}); }), "unknown nonlinearity 'gelu'");
  EXPECT_HAS(error_of([] { nn::RNNCell(3, 4, true, "sigmoid"); }), "unknown nonlinearity 'sigmoid'");
  EXPECT_HAS(error_of([] { nn::LSTM(3, 4, {.dropout = 1.5}); }), "dropout should be a number in range [0, 1]");
  EXPECT_HAS(error_of([] { nn::GRU(3, 0); }), "GRU: input_size and hidden_size must be positive, got 3 and 0");
  EXPECT_HAS(error_of([] { nn::LSTM(3, 4, {.num_layers = 0}); }), "num_layers must be positive, got 0");
  EXPECT_HAS(error_of([] { nn::GRUCell(0, 4); }), "GRUCell: input_size and hidden_size must be positive");
}

}  // namespace
}  // namespace hpml
