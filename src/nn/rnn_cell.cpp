// The recurrent cells' arithmetic (rnn_step.h) and the one-step modules RNNCell, LSTMCell, GRUCell.
#include <cmath>
#include <string>

#include "hpml/nn/functional.h"
#include "hpml/nn/init.h"
#include "hpml/nn/rnn.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/views.h"
#include "nn/rnn_step.h"

namespace hpml::nn {

namespace detail {

Tensor rnn_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh, bool relu) {
  Tensor pre = functional::linear(h, w_hh, b_hh) + gx;  // [N, H]
  return relu ? hpml::relu(pre) : hpml::tanh(pre);
}

void lstm_step(const Tensor& gx, Tensor& h, Tensor& c, const Tensor& w_hh, const Tensor& b_hh) {
  TensorList g = chunk(functional::linear(h, w_hh, b_hh) + gx, 4, 1);  // 4 x [N, H]: i, f, g, o
  Tensor in = sigmoid(g[0]), forget = sigmoid(g[1]), cell = tanh(g[2]), out = sigmoid(g[3]);
  c = forget * c + in * cell;
  h = out * tanh(c);
}

Tensor gru_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh) {
  TensorList xg = chunk(gx, 3, 1), hg = chunk(functional::linear(h, w_hh, b_hh), 3, 1);  // 3 x [N, H]: r, z, n
  Tensor r = sigmoid(hg[0] + xg[0]), z = sigmoid(hg[1] + xg[1]);
  Tensor n = tanh(xg[2] + hg[2] * r);  // b_hn stays inside the reset gate's product, as in PyTorch
  return n + z * (h - n);
}

}  // namespace detail

// ---- RNNCellBase -----------------------------------------------------------------------------

RNNCellBase::RNNCellBase(const char* type_name, int64_t in, int64_t hidden, bool with_bias, int64_t gates)
    : Module(type_name), input_size(in), hidden_size(hidden), bias(with_bias) {
  HPML_CHECK(in > 0 && hidden > 0, type_name, ": input_size and hidden_size must be positive, got ", in, " and ",
             hidden);
  weight_ih = register_parameter("weight_ih", empty({gates * hidden, in}));
  weight_hh = register_parameter("weight_hh", empty({gates * hidden, hidden}));
  if (with_bias) {
    bias_ih = register_parameter("bias_ih", empty({gates * hidden}));
    bias_hh = register_parameter("bias_hh", empty({gates * hidden}));
  }
  reset_parameters();
}

void RNNCellBase::reset_parameters() {
  const double stdv = 1.0 / std::sqrt(static_cast<double>(hidden_size));  // PyTorch: every parameter alike
  for (Tensor& p : parameters(/*recurse=*/false)) init::uniform_(p, -stdv, stdv);
}

std::string RNNCellBase::extra_repr() const {
  std::string s = std::to_string(input_size) + ", " + std::to_string(hidden_size);
  if (!bias) s += ", bias=False";
  return s;
}

Tensor RNNCellBase::batched_input(const Tensor& input) const {
  const std::string& name = type_name();
  HPML_CHECK(input.defined(), name, ": input is undefined");
  HPML_CHECK(input.dim() == 1 || input.dim() == 2, name, ": expected input to be 1-D (unbatched) or 2-D [N, ",
             input_size, "], got shape ", input.sizes());
  HPML_CHECK(input.dtype() == weight_ih.dtype(), name, ": input dtype ", input.dtype(),
             " does not match the parameters' dtype ", weight_ih.dtype(),
             "\nhint: convert one of them (input.to(...) or module.to(...))");
  HPML_CHECK(input.sizes().back() == input_size, name, ": input has inconsistent input_size: got ",
             input.sizes().back(), ", expected ", input_size, " (input shape ", input.sizes(), ")");
  return input.dim() == 1 ? input.unsqueeze(0) : input;
}

Tensor RNNCellBase::batched_state(const Tensor& state, const char* what, const Tensor& input) const {
  const bool batched = input.dim() == 2;
  const int64_t n = batched ? input.sizes()[0] : 1;
  if (!state.defined()) return zeros({n, hidden_size}, input.options());
  const std::string& name = type_name();
  HPML_CHECK(state.dim() == input.dim(), name, ": for ", batched ? "batched 2-D" : "unbatched 1-D", " input, ", what,
             " should also be ", input.dim(), "-D, got shape ", state.sizes(), " (input shape ", input.sizes(), ")");
  HPML_CHECK(state.dtype() == input.dtype(), name, ": ", what, " dtype ", state.dtype(), " does not match the input's ",
             input.dtype());
  if (batched)
    HPML_CHECK(state.sizes()[0] == n, name, ": input batch size ", n, " doesn't match ", what, " batch size ",
               state.sizes()[0], " (input shape ", input.sizes(), ", ", what, " shape ", state.sizes(), ")");
  HPML_CHECK(state.sizes().back() == hidden_size, name, ": ", what, " has inconsistent hidden_size: got ",
             state.sizes().back(), ", expected ", hidden_size, " (", what, " shape ", state.sizes(), ")");
  return batched ? state : state.unsqueeze(0);
}

// ---- the cells -------------------------------------------------------------------------------

RNNCell::RNNCell(int64_t in, int64_t hidden, bool with_bias, std::string nl)
    : RNNCellBase("RNNCell", in, hidden, with_bias, 1), nonlinearity(std::move(nl)) {
  HPML_CHECK(nonlinearity == "tanh" || nonlinearity == "relu", "RNNCell: unknown nonlinearity '", nonlinearity,
             "'. Select from 'tanh' or 'relu'");
}

Tensor RNNCell::forward(const Tensor& input, const Tensor& hx) {
  Tensor x = batched_input(input);  // [N, in]
  Tensor h = batched_state(hx, "hx", input);
  Tensor y = detail::rnn_step(functional::linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh, nonlinearity == "relu");
  return input.dim() == 1 ? y.squeeze(0) : y;
}

Tensor RNNCell::operator()(const Tensor& input, const Tensor& hx) {
  return with_context([&] { return forward(input, hx); });
}

std::string RNNCell::extra_repr() const {
  std::string s = RNNCellBase::extra_repr();
  if (nonlinearity != "tanh") s += ", nonlinearity=" + nonlinearity;
  return s;
}

LSTMCell::LSTMCell(int64_t in, int64_t hidden, bool with_bias) : RNNCellBase("LSTMCell", in, hidden, with_bias, 4) {}

LSTMCellState LSTMCell::forward_with_state(const Tensor& input, const Tensor& h0, const Tensor& c0) {
  return with_context([&] {
    HPML_CHECK(h0.defined() == c0.defined(), "LSTMCell: give h0 and c0 together, or neither (zeros); got only ",
               h0.defined() ? "h0" : "c0");
    Tensor x = batched_input(input);  // [N, in]
    Tensor h = batched_state(h0, "h0", input), c = batched_state(c0, "c0", input);
    detail::lstm_step(functional::linear(x, weight_ih, bias_ih), h, c, weight_hh, bias_hh);
    if (input.dim() == 1) return LSTMCellState{h.squeeze(0), c.squeeze(0)};
    return LSTMCellState{h, c};
  });
}

GRUCell::GRUCell(int64_t in, int64_t hidden, bool with_bias) : RNNCellBase("GRUCell", in, hidden, with_bias, 3) {}

Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) {
  Tensor x = batched_input(input);  // [N, in]
  Tensor h = batched_state(hx, "hx", input);
  Tensor y = detail::gru_step(functional::linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh);
  return input.dim() == 1 ? y.squeeze(0) : y;
}

Tensor GRUCell::operator()(const Tensor& input, const Tensor& hx) {
  return with_context([&] { return forward(input, hx); });
}

}  // namespace hpml::nn
