// The sequence layers RNN, LSTM and GRU: parameters, input checks, and the loop over layers,
// directions and time steps. The arithmetic of one step is in rnn_cell.cpp (rnn_step.h).
#include "hpml/nn/rnn.h"

#include <cmath>
#include <sstream>
#include <string>

#include "hpml/nn/functional.h"
#include "hpml/nn/init.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/views.h"
#include "nn/rnn_step.h"

namespace hpml::nn {

namespace {

int64_t gate_count(RNNBase::Mode m) { return m == RNNBase::Mode::lstm ? 4 : m == RNNBase::Mode::gru ? 3 : 1; }

RNNBase::Mode rnn_mode(const std::string& nonlinearity) {
  HPML_CHECK(nonlinearity == "tanh" || nonlinearity == "relu", "RNN: unknown nonlinearity '", nonlinearity,
             "'. Select from 'tanh' or 'relu'");
  return nonlinearity == "tanh" ? RNNBase::Mode::rnn_tanh : RNNBase::Mode::rnn_relu;
}

LSTMOptions common(const RNNOptions& o) { return {o.num_layers, o.bias, o.batch_first, o.dropout, o.bidirectional}; }

// The loop reads one [N, G * H] row block of the input projection per step: unbind(gx, 0), whose T
// views share one node with a single stack for backward (Note [One node for split] in
// src/ops/views.cpp). Before that node, each step's select scattered its gradient into zeros of
// the whole [T, N, G * H]: an LSTM (input 32, hidden 64, batch 16) over 800 steps took 1.3 s
// backward for a 90 ms forward, and 40-70 ms with it.
//
// gx [T, N, G * H] -> T views [N, G * H]
TensorList time_steps(const Tensor& gx) { return unbind(gx, 0); }

}  // namespace

RNNBase::RNNBase(const char* type_name, Mode m, int64_t in, int64_t hidden, const LSTMOptions& o)
    : Module(type_name),
      mode(m),
      input_size(in),
      hidden_size(hidden),
      num_layers(o.num_layers),
      bias(o.bias),
      batch_first(o.batch_first),
      dropout(o.dropout),
      bidirectional(o.bidirectional) {
  HPML_CHECK(in > 0 && hidden > 0, type_name, ": input_size and hidden_size must be positive, got ", in, " and ",
             hidden);
  HPML_CHECK(o.num_layers > 0, type_name, ": num_layers must be positive, got ", o.num_layers);
  HPML_CHECK(o.dropout >= 0 && o.dropout <= 1, type_name, ": dropout should be a number in range [0, 1] ",
             "representing the probability of an element being zeroed, got ", o.dropout);
  const int64_t gates = gate_count(m) * hidden, dirs = o.bidirectional ? 2 : 1;
  for (int64_t l = 0; l < o.num_layers; ++l) {
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string sfx = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      const int64_t layer_in = l == 0 ? in : dirs * hidden;
      Weights w;
      w.w_ih = register_parameter("weight_ih" + sfx, empty({gates, layer_in}));
      w.w_hh = register_parameter("weight_hh" + sfx, empty({gates, hidden}));
      if (o.bias) {
        w.b_ih = register_parameter("bias_ih" + sfx, empty({gates}));
        w.b_hh = register_parameter("bias_hh" + sfx, empty({gates}));
      }
      weights_.push_back(w);
    }
  }
  reset_parameters();
}

void RNNBase::reset_parameters() {
  const double stdv = 1.0 / std::sqrt(static_cast<double>(hidden_size));  // PyTorch: every parameter alike
  for (Tensor& p : parameters(/*recurse=*/false)) init::uniform_(p, -stdv, stdv);
}

std::string RNNBase::extra_repr() const {  // PyTorch's RNNBase.extra_repr: only what differs from the defaults
  std::ostringstream os;
  os << input_size << ", " << hidden_size;
  if (num_layers != 1) os << ", num_layers=" << num_layers;
  if (!bias) os << ", bias=False";
  if (batch_first) os << ", batch_first=True";
  if (dropout != 0) os << ", dropout=" << dropout << (dropout == 1 ? ".0" : "");  // Python prints 1.0
  if (bidirectional) os << ", bidirectional=True";
  return os.str();
}

Tensor RNNBase::forward(const Tensor& input) { return run(input, Tensor(), Tensor()).output; }

// The initial state of every layer and direction, batched: [D * num_layers, N, H].
Tensor RNNBase::initial_state(const Tensor& given, const char* what, bool batched, int64_t batch,
                              const Tensor& input) const {
  const int64_t layers = num_layers * (bidirectional ? 2 : 1);
  if (!given.defined()) return zeros({layers, batch, hidden_size}, input.options());
  const std::string& name = type_name();
  HPML_CHECK(given.dim() == (batched ? 3 : 2), name, ": for ", batched ? "batched 3-D" : "unbatched 2-D", " input, ",
             what, " should also be ", batched ? 3 : 2, "-D, got shape ", given.sizes(), " (input shape ",
             input.sizes(), ")");
  const DimVector expected = batched ? DimVector{layers, batch, hidden_size} : DimVector{layers, hidden_size};
  HPML_CHECK(given.sizes() == IntArrayRef(expected), name, ": expected ", what, " of shape ", expected, ", got ",
             given.sizes(), " (input shape ", input.sizes(), ", num_layers ", num_layers, ", bidirectional ",
             bidirectional ? "true" : "false", ", hidden_size ", hidden_size, ")");
  HPML_CHECK(given.dtype() == input.dtype(), name, ": ", what, " dtype ", given.dtype(),
             " does not match the input's ", input.dtype());
  return batched ? given : given.unsqueeze(1);
}

RNNOutput RNNBase::run(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  const std::string& name = type_name();
  HPML_CHECK(input.defined(), name, ": input is undefined");
  HPML_CHECK(input.dim() == 2 || input.dim() == 3, name, ": expected input to be 2-D (unbatched) or 3-D, got shape ",
             input.sizes());
  const DType dt = weights_[0].w_ih.dtype();
  HPML_CHECK(input.dtype() == dt, name, ": input dtype ", input.dtype(), " does not match the parameters' dtype ", dt,
             "\nhint: convert one of them (input.to(...) or module.to(...))");
  HPML_CHECK(input.sizes().back() == input_size, name, ": input.size(-1) must be equal to input_size. Expected ",
             input_size, ", got ", input.sizes().back(), " (input shape ", input.sizes(), ")");
  const bool batched = input.dim() == 3;
  Tensor x = batched ? input : input.unsqueeze(batch_first ? 0 : 1);
  if (batch_first) x = x.transpose(0, 1);  // time-major from here on: x [T, N, in]
  const int64_t steps = x.sizes()[0], batch = x.sizes()[1], dirs = bidirectional ? 2 : 1;
  HPML_CHECK(steps > 0, name, ": expected sequence length to be larger than 0, got input shape ", input.sizes());
  if (mode == Mode::lstm)
    HPML_CHECK(h0.defined() == c0.defined(), name, ": give h0 and c0 together, or neither (zeros); got only ",
               h0.defined() ? "h0" : "c0");
  Tensor hs = initial_state(h0, "h0", batched, batch, input);  // [D * L, N, H]
  Tensor cs = mode == Mode::lstm ? initial_state(c0, "c0", batched, batch, input) : Tensor();
  TensorList h_n, c_n;
  Tensor layer_in = x;
  for (int64_t l = 0; l < num_layers; ++l) {
    TensorList outs;  // per direction: [T, N, H]
    for (int64_t d = 0; d < dirs; ++d) {
      const int64_t k = l * dirs + d;
      Tensor h = hs.select(0, k), c = cs.defined() ? cs.select(0, k) : Tensor();
      outs.push_back(run_direction(weights_[static_cast<size_t>(k)], layer_in, d == 1, h, c));
      h_n.push_back(h);
      if (c.defined()) c_n.push_back(c);
    }
    layer_in = dirs == 2 ? cat(outs, 2) : outs[0];  // [T, N, D * H]
    if (dropout > 0 && is_training() && l + 1 < num_layers) layer_in = functional::dropout(layer_in, dropout, true);
  }
  RNNOutput r;
  r.output = batch_first ? layer_in.transpose(0, 1) : layer_in;
  r.h_n = stack(h_n, 0);
  if (!c_n.empty()) r.c_n = stack(c_n, 0);
  if (!batched) {
    r.output = r.output.squeeze(batch_first ? 0 : 1);
    r.h_n = r.h_n.squeeze(1);
    if (r.c_n.defined()) r.c_n = r.c_n.squeeze(1);
  }
  return r;
}

// Note [One input projection for all steps]
// x_t W_ih^T + b_ih does not depend on the recurrence, so each direction computes it for all T
// steps at once: one [T * N, in] x [in, G * H] GEMM instead of T small [N, in] ones, which keeps the
// BLAS busy (and its backward is one GEMM for W_ih and one for x, too). Only h_{t-1} W_hh^T is
// left inside the loop. PyTorch's CPU path does the same.
//
// x [T, N, in] -> [T, N, H]; h, c [N, H]: the initial state in, the final state out (c: LSTM only).
Tensor RNNBase::run_direction(const Weights& w, const Tensor& x, bool reverse, Tensor& h, Tensor& c) const {
  const int64_t steps = x.sizes()[0], batch = x.sizes()[1];
  Tensor gx = functional::linear(x.reshape({steps * batch, x.sizes()[2]}), w.w_ih, w.b_ih);  // [T * N, G * H]
  TensorList gxs = time_steps(gx.view({steps, batch, gx.sizes()[1]}));  // T x [N, G * H]: Note [Time steps ...]
  TensorList out(static_cast<size_t>(steps));
  for (int64_t s = 0; s < steps; ++s) {
    const size_t t = static_cast<size_t>(reverse ? steps - 1 - s : s);
    switch (mode) {
      case Mode::rnn_tanh:
      case Mode::rnn_relu: h = detail::rnn_step(gxs[t], h, w.w_hh, w.b_hh, mode == Mode::rnn_relu); break;
      case Mode::lstm: detail::lstm_step(gxs[t], h, c, w.w_hh, w.b_hh); break;
      case Mode::gru: h = detail::gru_step(gxs[t], h, w.w_hh, w.b_hh); break;
    }
    out[t] = h;
  }
  return stack(out, 0);
}

// ---- the three layers --------------------------------------------------------------------------

RNN::RNN(int64_t in, int64_t hidden, const RNNOptions& o)
    : RNNBase("RNN", rnn_mode(o.nonlinearity), in, hidden, common(o)), nonlinearity(o.nonlinearity) {}

RNNOutput RNN::forward_with_state(const Tensor& input, const Tensor& h0) {
  return with_context([&] { return run(input, h0, Tensor()); });
}

LSTM::LSTM(int64_t in, int64_t hidden, const LSTMOptions& o) : RNNBase("LSTM", Mode::lstm, in, hidden, o) {}

RNNOutput LSTM::forward_with_state(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  return with_context([&] { return run(input, h0, c0); });
}

GRU::GRU(int64_t in, int64_t hidden, const GRUOptions& o) : RNNBase("GRU", Mode::gru, in, hidden, o) {}

RNNOutput GRU::forward_with_state(const Tensor& input, const Tensor& h0) {
  return with_context([&] { return run(input, h0, Tensor()); });
}

}  // namespace hpml::nn
