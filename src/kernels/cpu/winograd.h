// Winograd F(2x2, 3x3) convolution for the 3x3, stride-1, padding-1 case (f32): forward, the input
// gradient as the same convolution of grad_out with the rotated, transposed weight, and the weight
// gradient as F(3x3, 2x2).
// See Note [Winograd F(2x2, 3x3)] in winograd.cpp.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace hpml::kernels::cpu {

// Whether the Winograd path takes this convolution: f32, 3x3, stride 1, padding 1, dilation 1,
// one group, at least 16 input and output channels (with fewer the transforms do not pay).
bool winograd_applies(const Window2d& w, DType dtype);

// out [N, OC, H, W] = conv3x3_pad1(in [N, C, H, W], weight [OC, C, 3, 3]) + bias [OC] (may be null).
void winograd_conv2d(float* out, const float* in, const float* weight, const float* bias, const Window2d& w);
// grad_in [N, C, H, W] = the input gradient for grad_out [N, OC, H, W].
void winograd_conv2d_backward_input(float* grad_in, const float* grad_out, const float* weight, const Window2d& w);
// grad_weight [OC, C, 3, 3] for grad_out [N, OC, H, W] and in [N, C, H, W] (the bias gradient is not included).
void winograd_conv2d_backward_weight(float* grad_weight, const float* grad_out, const float* in, const Window2d& w);

}  // namespace hpml::kernels::cpu
