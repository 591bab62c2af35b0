// Recurrent layers as PyTorch 1.13 has them: RNN (tanh or relu), LSTM and GRU over whole sequences,
// and RNNCell, LSTMCell, GRUCell for one time step. Same parameter names and shapes, gate order and
// initialization as torch.nn, composed from existing ops (autograd follows them).
// Not implemented: LSTM's proj_size, PackedSequence inputs, PyTorch's warning for dropout with one layer.
//
//   nn::LSTM lstm(10, 20, {.num_layers = 2, .bidirectional = true});
//   nn::RNNOutput r = lstm.forward_with_state(x);  // x [T, N, 10] -> output [T, N, 40], h_n and c_n [4, N, 20]
//   Tensor y = lstm(x);                             // the output only
#pragma once

#include <string>
#include <vector>

#include "hpml/nn/module.h"

namespace hpml::nn {

// ---- whole sequences --------------------------------------------------------------------------

// Options in torch.nn.RNN's order. dropout: applied to the outputs of every layer but the last, in
// training mode only.
struct RNNOptions {
  int64_t num_layers = 1;
  std::string nonlinearity = "tanh";  // "tanh" or "relu"
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;
  bool bidirectional = false;
};

// The same without nonlinearity (LSTM and GRU; proj_size is not implemented).
struct LSTMOptions {
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;
  bool bidirectional = false;
};
using GRUOptions = LSTMOptions;

// What forward_with_state returns. D = 2 when bidirectional, else 1; H = hidden_size.
struct RNNOutput {
  Tensor output;  // [T, N, D * H] ([N, T, D * H] when batch_first; [T, D * H] for unbatched input)
  Tensor h_n;     // [D * num_layers, N, H] ([D * num_layers, H] unbatched): the last step of every layer
  Tensor c_n;     // LSTM's final cell state, h_n's shape; undefined for RNN and GRU
};

// What RNN, LSTM and GRU share: the parameters and the loop over layers, directions and time steps.
// Parameters, per layer l and direction (suffix "" or "_reverse"), in this order:
//   weight_ih_l{l}{suffix} [G * H, in]   in = input_size for l = 0, else D * H
//   weight_hh_l{l}{suffix} [G * H, H]
//   bias_ih_l{l}{suffix}   [G * H]       (the biases only when bias = true)
//   bias_hh_l{l}{suffix}   [G * H]
// G = 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3 (GRU: r, z, n); all ~ U(-1/sqrt(H), 1/sqrt(H)).
class RNNBase : public Module {
 public:
  enum class Mode { rnn_tanh, rnn_relu, lstm, gru };

  // The output of forward_with_state with the default (zero) initial state.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();

  const Mode mode;
  const int64_t input_size, hidden_size, num_layers;
  const bool bias, batch_first;
  const double dropout;
  const bool bidirectional;

 protected:
  RNNBase(const char* type_name, Mode mode, int64_t input_size, int64_t hidden_size, const LSTMOptions& o);
  // input [T, N, in] (or batch_first / unbatched); h0 and c0 may be undefined (zeros).
  RNNOutput run(const Tensor& input, const Tensor& h0, const Tensor& c0);

 private:
  struct Weights {
    Tensor w_ih, w_hh, b_ih, b_hh;  // biases undefined when bias = false
  };
  Tensor run_direction(const Weights& w, const Tensor& x, bool reverse, Tensor& h, Tensor& c) const;
  Tensor initial_state(const Tensor& given, const char* what, bool batched, int64_t batch, const Tensor& input) const;
  std::vector<Weights> weights_;  // layer-major: l0, l0_reverse, l1, l1_reverse, ...
};

// h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).
class RNN : public RNNBase {
 public:
  RNN(int64_t input_size, int64_t hidden_size, const RNNOptions& options = {});
  // h0: [D * num_layers, N, H] ([D * num_layers, H] for unbatched input), zeros when undefined.
  RNNOutput forward_with_state(const Tensor& input, const Tensor& h0 = Tensor());
  const std::string nonlinearity;
};

// i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), split in
// four; c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
class LSTM : public RNNBase {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, const LSTMOptions& options = {});
  // h0 and c0: both or neither (zeros), each of h_n's shape.
  RNNOutput forward_with_state(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
};

// r, z = sigmoid(W_ir x + b_ir + W_hr h + b_hr), sigmoid(W_iz x + b_iz + W_hz h + b_hz);
// n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h_t = (1 - z) * n + z * h_{t-1}.
class GRU : public RNNBase {
 public:
  GRU(int64_t input_size, int64_t hidden_size, const GRUOptions& options = {});
  RNNOutput forward_with_state(const Tensor& input, const Tensor& h0 = Tensor());
};

// ---- one time step ----------------------------------------------------------------------------

// What the cells share: weight_ih [G * H, input_size], weight_hh [G * H, H], bias_ih and bias_hh
// [G * H] (when bias = true), all ~ U(-1/sqrt(H), 1/sqrt(H)). Input [N, input_size] or unbatched
// [input_size]; the state [N, H] or [H] to match, zeros when undefined.
class RNNCellBase : public Module {
 public:
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
  const int64_t input_size, hidden_size;
  const bool bias;

 protected:
  RNNCellBase(const char* type_name, int64_t input_size, int64_t hidden_size, bool bias, int64_t gates);
  // Checks input and a state tensor; returns the batched forms ([N, in], [N, H], zeros if undefined).
  Tensor batched_input(const Tensor& input) const;
  Tensor batched_state(const Tensor& state, const char* what, const Tensor& input) const;
};

class RNNCell : public RNNCellBase {
 public:
  RNNCell(int64_t input_size, int64_t hidden_size, bool bias = true, std::string nonlinearity = "tanh");
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  Tensor forward(const Tensor& input, const Tensor& hx);  // -> h' of hx's shape
  using Module::operator();
  Tensor operator()(const Tensor& input, const Tensor& hx);
  std::string extra_repr() const override;
  const std::string nonlinearity;
};

struct LSTMCellState {
  Tensor h, c;
};

class LSTMCell : public RNNCellBase {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  // h' only, from zero state.
  Tensor forward(const Tensor& input) override { return forward_with_state(input).h; }
  // h0 and c0: both or neither (zeros).
  LSTMCellState forward_with_state(const Tensor& input, const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor());
};

class GRUCell : public RNNCellBase {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  Tensor forward(const Tensor& input, const Tensor& hx);
  using Module::operator();
  Tensor operator()(const Tensor& input, const Tensor& hx);
};

}  // namespace hpml::nn
