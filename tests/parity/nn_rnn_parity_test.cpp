// Recurrent-layer parity: hpml's RNN (tanh, relu), LSTM, GRU and the three cells next to libtorch's
// modules, with libtorch's randomly initialised parameters copied into hpml's by name. The output,
// h_n, c_n and the gradients of the input, the initial state and every parameter (for random upstream
// gradients on every output) must agree in f32 and f64, over layers, directions, batch_first, with and
// without an initial state, and for unbatched input.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "parity/nn_parity_util.h"

namespace hpml {
namespace {

namespace tnn = torch::nn;
using nnparity::T;
using nnparity::Tol;

Tol fwd_tol(DType d) { return d == kFloat64 ? Tol{1e-12, 1e-12} : Tol{1e-5, 1e-5}; }
Tol grad_tol(DType d) { return d == kFloat64 ? Tol{1e-12, 1e-12} : Tol{1e-5, 1e-5}; }

enum class Kind { rnn_tanh, rnn_relu, lstm, gru };
const char* kind_name(Kind k) {
  return k == Kind::rnn_tanh ? "RNN_tanh" : k == Kind::rnn_relu ? "RNN_relu" : k == Kind::lstm ? "LSTM" : "GRU";
}

// Copies every parameter of the libtorch module into the hpml module of the same state-dict name.
// Fails the test if either side has a name the other lacks, or the two orders differ.
void copy_from_torch(torch::nn::Module& tm, nn::Module& m, const std::string& what) {
  std::map<std::string, torch::Tensor> ts = nnparity::torch_state(tm);
  std::vector<std::string> torch_order, ours;
  for (const auto& p : tm.named_parameters())
    if (p.value().defined()) torch_order.push_back(p.key());
  std::set<std::string> seen;
  NoGradGuard ng;
  for (auto& [name, p] : m.named_parameters()) {
    ours.push_back(name);
    auto it = ts.find(name);
    if (it == ts.end()) {
      ADD_FAILURE() << what << ": hpml has '" << name << "', the PyTorch module does not";
      continue;
    }
    Tensor v = testing::from_torch(it->second.detach());
    ASSERT_EQ(v.sizes(), p.sizes()) << what << ": shape of " << name;
    p.copy_(v);
    seen.insert(name);
  }
  for (const auto& [name, t] : ts)
    if (!seen.count(name)) ADD_FAILURE() << what << ": PyTorch has '" << name << "', the hpml module does not";
  if (seen.size() == ts.size()) EXPECT_EQ(ours, torch_order) << what << ": parameter order";
}

// ---- whole sequences ------------------------------------------------------------------------

struct SeqCase {
  std::string name;
  Kind kind;
  int64_t layers = 1;
  bool bias = true, batch_first = false, bidirectional = false, with_h0 = false, unbatched = false;
  double dropout = 0;  // > 0: both modules in eval mode, where it must have no effect
};

// The libtorch module and a call returning {output, h_n, c_n (LSTM only)}. Unbatched input is
// unsqueezed at the batch dim and the results squeezed, which is what Python's nn.RNNBase.forward does.
struct TorchSeq {
  std::shared_ptr<torch::nn::Module> module;
  std::function<std::vector<torch::Tensor>(torch::Tensor, torch::Tensor, torch::Tensor)> run;
};

TorchSeq make_torch(const SeqCase& c, int64_t in, int64_t hidden) {
  auto opts = [&](auto o) {
    return o.num_layers(c.layers).bias(c.bias).batch_first(c.batch_first).dropout(c.dropout).bidirectional(
        c.bidirectional);
  };
  const int64_t bdim = c.batch_first ? 0 : 1;
  const bool ub = c.unbatched;
  auto batch = [=](torch::Tensor x, torch::Tensor h) {
    return std::make_pair(ub ? x.unsqueeze(bdim) : x, ub && h.defined() ? h.unsqueeze(1) : h);
  };
  auto unbatch = [=](std::vector<torch::Tensor> r) {
    if (!ub) return r;
    r[0] = r[0].squeeze(bdim);
    for (size_t i = 1; i < r.size(); ++i) r[i] = r[i].squeeze(1);
    return r;
  };
  if (c.kind == Kind::lstm) {
    tnn::LSTM m(opts(tnn::LSTMOptions(in, hidden)));
    return {m.ptr(), [=](torch::Tensor x, torch::Tensor h0, torch::Tensor c0) mutable {
              auto [bx, bh] = batch(x, h0);
              auto bc = batch(x, c0).second;
              auto r = bh.defined() ? m->forward(bx, std::make_tuple(bh, bc)) : m->forward(bx);
              return unbatch({std::get<0>(r), std::get<0>(std::get<1>(r)), std::get<1>(std::get<1>(r))});
            }};
  }
  if (c.kind == Kind::gru) {
    tnn::GRU m(opts(tnn::GRUOptions(in, hidden)));
    return {m.ptr(), [=](torch::Tensor x, torch::Tensor h0, torch::Tensor) mutable {
              auto [bx, bh] = batch(x, h0);
              auto r = m->forward(bx, bh);
              return unbatch({std::get<0>(r), std::get<1>(r)});
            }};
  }
  tnn::RNNOptions o = opts(tnn::RNNOptions(in, hidden));
  if (c.kind == Kind::rnn_relu) o.nonlinearity(torch::kReLU);
  else o.nonlinearity(torch::kTanh);
  tnn::RNN m(o);
  return {m.ptr(), [=](torch::Tensor x, torch::Tensor h0, torch::Tensor) mutable {
            auto [bx, bh] = batch(x, h0);
            auto r = m->forward(bx, bh);
            return unbatch({std::get<0>(r), std::get<1>(r)});
          }};
}

std::shared_ptr<nn::RNNBase> make_hpml(const SeqCase& c, int64_t in, int64_t hidden) {
  const nn::LSTMOptions o{.num_layers = c.layers, .bias = c.bias, .batch_first = c.batch_first, .dropout = c.dropout,
                          .bidirectional = c.bidirectional};
  if (c.kind == Kind::lstm) return std::make_shared<nn::LSTM>(in, hidden, o);
  if (c.kind == Kind::gru) return std::make_shared<nn::GRU>(in, hidden, o);
  return std::make_shared<nn::RNN>(in, hidden,
                                   nn::RNNOptions{.num_layers = c.layers,
                                                  .nonlinearity = c.kind == Kind::rnn_relu ? "relu" : "tanh",
                                                  .bias = c.bias,
                                                  .batch_first = c.batch_first,
                                                  .dropout = c.dropout,
                                                  .bidirectional = c.bidirectional});
}

nn::RNNOutput run_hpml(nn::RNNBase& m, const Tensor& x, const Tensor& h0, const Tensor& c0) {
  if (auto* l = dynamic_cast<nn::LSTM*>(&m)) return l->forward_with_state(x, h0, c0);
  if (auto* g = dynamic_cast<nn::GRU*>(&m)) return g->forward_with_state(x, h0);
  return dynamic_cast<nn::RNN&>(m).forward_with_state(x, h0);
}

std::vector<SeqCase> seq_cases() {
  std::vector<SeqCase> cs;
  for (Kind k : {Kind::rnn_tanh, Kind::rnn_relu, Kind::lstm, Kind::gru}) {
    const std::string n = kind_name(k);
    cs.push_back({n, k});
    cs.push_back({n + "_h0", k, 1, true, false, false, true});
    cs.push_back({n + "_2_layers_h0", k, 2, true, false, false, true});
    cs.push_back({n + "_bidirectional", k, 1, true, false, true});
    cs.push_back({n + "_2_layers_bidirectional_h0", k, 2, true, false, true, true});
    cs.push_back({n + "_batch_first_h0", k, 1, true, true, false, true});
    cs.push_back({n + "_batch_first_2_layers_bidirectional", k, 2, true, true, true});
    cs.push_back({n + "_no_bias_2_layers", k, 2, false});
    cs.push_back({n + "_unbatched", k, 1, true, false, false, false, true});
    cs.push_back({n + "_unbatched_2_layers_bidirectional_h0", k, 2, true, false, true, true, true});
    cs.push_back({n + "_unbatched_batch_first_h0", k, 1, true, true, false, true, true});
    cs.push_back({n + "_dropout_eval_3_layers", k, 3, true, false, false, true, false, 0.4});
  }
  return cs;
}

class RnnParity : public ::testing::TestWithParam<SeqCase> {};

TEST_P(RnnParity, OutputStatesAndGradientsMatchPyTorch) {
  const SeqCase& c = GetParam();
  const int64_t in = 4, hidden = 5, steps = 6, batch = 3, states = c.layers * (c.bidirectional ? 2 : 1);
  for (DType dt : {kFloat32, kFloat64}) {
    const std::string what = c.name + " (" + dtype_name(dt) + ")";
    torch::manual_seed(dt == kFloat32 ? 1 : 2);
    TorchSeq tm = make_torch(c, in, hidden);
    tm.module->to(testing::torch_dtype(dt));
    std::shared_ptr<nn::RNNBase> m = make_hpml(c, in, hidden);
    m->to(dt);
    copy_from_torch(*tm.module, *m, what);
    if (c.dropout > 0) {
      m->eval();
      tm.module->eval();
    }
    Generator g(dt == kFloat32 ? 3 : 4);
    std::vector<int64_t> xs = c.unbatched     ? std::vector<int64_t>{steps, in}
                              : c.batch_first ? std::vector<int64_t>{batch, steps, in}
                                              : std::vector<int64_t>{steps, batch, in};
    std::vector<int64_t> hs =
        c.unbatched ? std::vector<int64_t>{states, hidden} : std::vector<int64_t>{states, batch, hidden};
    Tensor x = randn(xs, &g, dt).requires_grad_(true), h0, c0;
    if (c.with_h0) h0 = (randn(hs, &g, dt) * 0.5).detach().requires_grad_(true);
    if (c.with_h0 && c.kind == Kind::lstm) c0 = (randn(hs, &g, dt) * 0.5).detach().requires_grad_(true);
    torch::Tensor tx = T(x, true), th0 = h0.defined() ? T(h0, true) : torch::Tensor(),
                  tc0 = c0.defined() ? T(c0, true) : torch::Tensor();

    nn::RNNOutput r = run_hpml(*m, x, h0, c0);
    std::vector<torch::Tensor> tr = tm.run(tx, th0, tc0);
    HPML_EXPECT_PARITY(what + ", output", r.output, tr[0], fwd_tol(dt));
    HPML_EXPECT_PARITY(what + ", h_n", r.h_n, tr[1], fwd_tol(dt));
    if (c.kind == Kind::lstm) HPML_EXPECT_PARITY(what + ", c_n", r.c_n, tr[2], fwd_tol(dt));
    else EXPECT_FALSE(r.c_n.defined()) << what;

    // One backward through every output, with random upstream gradients.
    Tensor go = randn(r.output.sizes(), &g, dt), gh = randn(r.h_n.sizes(), &g, dt);
    Tensor loss = (r.output * go).sum() + (r.h_n * gh).sum();
    torch::Tensor tloss = (tr[0] * T(go)).sum() + (tr[1] * T(gh)).sum();
    if (c.kind == Kind::lstm) {
      Tensor gc = randn(r.c_n.sizes(), &g, dt);
      loss = loss + (r.c_n * gc).sum();
      tloss = tloss + (tr[2] * T(gc)).sum();
    }
    loss.backward();
    tloss.backward();
    HPML_EXPECT_PARITY(what + ", input gradient", x.grad(), tx.grad(), grad_tol(dt));
    if (h0.defined()) HPML_EXPECT_PARITY(what + ", h0 gradient", h0.grad(), th0.grad(), grad_tol(dt));
    if (c0.defined()) HPML_EXPECT_PARITY(what + ", c0 gradient", c0.grad(), tc0.grad(), grad_tol(dt));
    auto ts = nnparity::torch_state(*tm.module);
    for (const auto& [name, p] : m->named_parameters()) {
      ASSERT_TRUE(ts.count(name)) << what << ": " << name;
      HPML_EXPECT_PARITY(what + ", gradient of " + name, p.grad(), ts[name].grad(), grad_tol(dt));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(NN, RnnParity, ::testing::ValuesIn(seq_cases()),
                         [](const ::testing::TestParamInfo<SeqCase>& info) { return info.param.name; });

// A batch of zero sequences gives empty outputs of the right shapes, as in PyTorch.
TEST(RnnParityEdges, EmptyBatchGivesEmptyOutputs) {
  torch::manual_seed(5);
  tnn::LSTM tl(tnn::LSTMOptions(3, 4).num_layers(2).bidirectional(true));
  nn::LSTM l(3, 4, {.num_layers = 2, .bidirectional = true});
  copy_from_torch(*tl, l, "LSTM");
  Tensor x = zeros({5, 0, 3});
  nn::RNNOutput r = l.forward_with_state(x);
  auto tr = tl->forward(T(x));
  HPML_EXPECT_PARITY("output", r.output, std::get<0>(tr), fwd_tol(kFloat32));
  HPML_EXPECT_PARITY("h_n", r.h_n, std::get<0>(std::get<1>(tr)), fwd_tol(kFloat32));
  HPML_EXPECT_PARITY("c_n", r.c_n, std::get<1>(std::get<1>(tr)), fwd_tol(kFloat32));
}

// A long sequence (the backward of the time steps is one stack: Note [Time steps without a
// quadratic backward] in src/nn/rnn.cpp) still matches.
TEST(RnnParityEdges, LongSequenceGradientsMatch) {
  torch::manual_seed(6);
  tnn::GRU tg(tnn::GRUOptions(3, 4));
  tg->to(torch::kFloat64);
  nn::GRU gru(3, 4);
  gru.to(kFloat64);
  copy_from_torch(*tg, gru, "GRU");
  Generator g(7);
  Tensor x = randn({200, 2, 3}, &g, kFloat64).requires_grad_(true);
  torch::Tensor tx = T(x, true);
  Tensor y = gru(x);
  torch::Tensor ty = std::get<0>(tg->forward(tx));
  HPML_EXPECT_PARITY("output", y, ty, fwd_tol(kFloat64));
  Tensor go = randn(y.sizes(), &g, kFloat64);
  (y * go).sum().backward();
  (ty * T(go)).sum().backward();
  HPML_EXPECT_PARITY("input gradient", x.grad(), tx.grad(), grad_tol(kFloat64));
  auto ts = nnparity::torch_state(*tg);
  for (const auto& [name, p] : gru.named_parameters())
    HPML_EXPECT_PARITY("gradient of " + name, p.grad(), ts[name].grad(), grad_tol(kFloat64));
}

// ---- one time step --------------------------------------------------------------------------

struct CellCase {
  std::string name;
  Kind kind;
  bool bias = true, with_h = false, unbatched = false;
};

std::vector<CellCase> cell_cases() {
  std::vector<CellCase> cs;
  for (Kind k : {Kind::rnn_tanh, Kind::rnn_relu, Kind::lstm, Kind::gru}) {
    const std::string n = std::string(kind_name(k)) + "Cell";
    cs.push_back({n, k});
    cs.push_back({n + "_hx", k, true, true});
    cs.push_back({n + "_no_bias_hx", k, false, true});
    cs.push_back({n + "_unbatched", k, true, false, true});
    cs.push_back({n + "_unbatched_hx", k, true, true, true});
  }
  return cs;
}

class RnnCellParity : public ::testing::TestWithParam<CellCase> {};

TEST_P(RnnCellParity, NextStateAndGradientsMatchPyTorch) {
  const CellCase& c = GetParam();
  const int64_t in = 4, hidden = 5, batch = 3;
  for (DType dt : {kFloat32, kFloat64}) {
    const std::string what = c.name + " (" + dtype_name(dt) + ")";
    torch::manual_seed(dt == kFloat32 ? 8 : 9);
    Generator g(dt == kFloat32 ? 10 : 11);
    std::vector<int64_t> xs = c.unbatched ? std::vector<int64_t>{in} : std::vector<int64_t>{batch, in};
    std::vector<int64_t> hs = c.unbatched ? std::vector<int64_t>{hidden} : std::vector<int64_t>{batch, hidden};
    Tensor x = randn(xs, &g, dt).requires_grad_(true), h0, c0;
    if (c.with_h) h0 = randn(hs, &g, dt).requires_grad_(true);
    if (c.with_h && c.kind == Kind::lstm) c0 = randn(hs, &g, dt).requires_grad_(true);
    torch::Tensor tx = T(x, true), th = h0.defined() ? T(h0, true) : torch::Tensor(),
                  tc = c0.defined() ? T(c0, true) : torch::Tensor();
    // Python's cells unsqueeze unbatched input (and state) at dim 0 and squeeze the result.
    torch::Tensor bx = c.unbatched ? tx.unsqueeze(0) : tx, bh = c.unbatched && th.defined() ? th.unsqueeze(0) : th,
                  bc = c.unbatched && tc.defined() ? tc.unsqueeze(0) : tc;
    auto unb = [&](torch::Tensor t) { return c.unbatched ? t.squeeze(0) : t; };

    std::shared_ptr<nn::Module> m;
    std::shared_ptr<torch::nn::Module> tm;
    Tensor h, cell;
    torch::Tensor th1, tc1;
    if (c.kind == Kind::lstm) {
      tnn::LSTMCell t(tnn::LSTMCellOptions(in, hidden).bias(c.bias));
      t->to(testing::torch_dtype(dt));
      auto l = std::make_shared<nn::LSTMCell>(in, hidden, c.bias);
      l->to(dt);
      copy_from_torch(*t, *l, what);
      nn::LSTMCellState s = l->forward_with_state(x, h0, c0);
      h = s.h, cell = s.c;
      auto r = bh.defined() ? t->forward(bx, std::make_tuple(bh, bc)) : t->forward(bx);
      th1 = unb(std::get<0>(r)), tc1 = unb(std::get<1>(r));
      m = l, tm = t.ptr();
    } else if (c.kind == Kind::gru) {
      tnn::GRUCell t(tnn::GRUCellOptions(in, hidden).bias(c.bias));
      t->to(testing::torch_dtype(dt));
      auto gc = std::make_shared<nn::GRUCell>(in, hidden, c.bias);
      gc->to(dt);
      copy_from_torch(*t, *gc, what);
      h = (*gc)(x, h0);
      th1 = unb(t->forward(bx, bh));
      m = gc, tm = t.ptr();
    } else {
      tnn::RNNCellOptions o(in, hidden);
      o.bias(c.bias);
      if (c.kind == Kind::rnn_relu) o.nonlinearity(torch::kReLU);
      else o.nonlinearity(torch::kTanh);
      tnn::RNNCell t(o);
      t->to(testing::torch_dtype(dt));
      auto rc = std::make_shared<nn::RNNCell>(in, hidden, c.bias, c.kind == Kind::rnn_relu ? "relu" : "tanh");
      rc->to(dt);
      copy_from_torch(*t, *rc, what);
      h = (*rc)(x, h0);
      th1 = unb(t->forward(bx, bh));
      m = rc, tm = t.ptr();
    }
    HPML_EXPECT_PARITY(what + ", h'", h, th1, fwd_tol(dt));
    if (c.kind == Kind::lstm) HPML_EXPECT_PARITY(what + ", c'", cell, tc1, fwd_tol(dt));

    Tensor gh = randn(h.sizes(), &g, dt);
    Tensor loss = (h * gh).sum();
    torch::Tensor tloss = (th1 * T(gh)).sum();
    if (c.kind == Kind::lstm) {
      Tensor gc = randn(cell.sizes(), &g, dt);
      loss = loss + (cell * gc).sum();
      tloss = tloss + (tc1 * T(gc)).sum();
    }
    loss.backward();
    tloss.backward();
    HPML_EXPECT_PARITY(what + ", input gradient", x.grad(), tx.grad(), grad_tol(dt));
    if (h0.defined()) HPML_EXPECT_PARITY(what + ", hx gradient", h0.grad(), th.grad(), grad_tol(dt));
    if (c0.defined()) HPML_EXPECT_PARITY(what + ", cx gradient", c0.grad(), tc.grad(), grad_tol(dt));
    auto ts = nnparity::torch_state(*tm);
    for (const auto& [name, p] : m->named_parameters()) {
      ASSERT_TRUE(ts.count(name)) << what << ": " << name;
      HPML_EXPECT_PARITY(what + ", gradient of " + name, p.grad(), ts[name].grad(), grad_tol(dt));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(NN, RnnCellParity, ::testing::ValuesIn(cell_cases()),
                         [](const ::testing::TestParamInfo<CellCase>& info) { return info.param.name; });

// The copy is not vacuous: a module whose names drifted is reported.
TEST(RnnParityHarness, CopyFromTorchReportsMissingNames) {
  tnn::LSTM tl(tnn::LSTMOptions(3, 4));
  nn::LSTM l(3, 4, {.bias = false});
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    copy_from_torch(*tl, l, "LSTM");
  }
  ASSERT_EQ(failures.size(), 2);
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("'bias_"), std::string::npos);
}

}  // namespace
}  // namespace hpml
