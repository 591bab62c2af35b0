// One time step of each recurrent cell (internal), shared by the sequence layers (rnn.cpp) and the
// cells (rnn_cell.cpp). The formulas and their order of operations are PyTorch's (ATen's RNN.cpp).
//   gx [N, G * H]: the input's projection x W_ih^T + b_ih, computed before the step
//   h, c [N, H]; w_hh [G * H, H]; b_hh [G * H] or undefined (bias = false)
#pragma once

#include "hpml/core/tensor.h"

namespace hpml::nn::detail {

// h' = tanh(gx + h W_hh^T + b_hh), or relu.
Tensor rnn_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh, bool relu);
// Gates i, f, g, o; c' = f * c + i * g, h' = o * tanh(c'). Replaces h and c by h' and c'.
void lstm_step(const Tensor& gx, Tensor& h, Tensor& c, const Tensor& w_hh, const Tensor& b_hh);
// Gates r, z, n with n = tanh(gx_n + r * (h W_hn^T + b_hn)); h' = n + z * (h - n).
Tensor gru_step(const Tensor& gx, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh);

}  // namespace hpml::nn::detail
