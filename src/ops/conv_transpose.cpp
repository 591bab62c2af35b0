// Transposed convolution (conv_transpose1d/2d) through the conv2d kernels, and conv3d composed
// from conv2d. No new kernels: see Note [Transposed convolution is conv2d's input gradient] and
// Note [conv3d as one conv2d].
#include <vector>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::view_of;
using kernels::Window2d;

namespace {

// Note [Transposed convolution is conv2d's input gradient]
// conv_transpose2d(x, w) is the adjoint of conv2d(., w) with the same stride, padding, dilation and
// groups: its output is what conv2d's backward would give as the input gradient if x were the
// output gradient. The weight layout matches too: a transposed convolution's weight
// [C, OC / groups, KH, KW] is the forward convolution's [out_channels, in_channels / groups, ...].
// So the forward is the conv2d_backward_input kernel on a Window2d whose "input" is the transposed
// convolution's output (C = OC, H = OH) and whose "output" is its input (OC = C, OH = H); the
// backward is the conv2d kernel (input gradient) and conv2d_backward_weight with the roles of input
// and output gradient swapped (weight gradient). output_padding only makes the "input" taller
// than the rows the windows reach; the kernels leave those rows zero in the forward and never read
// them in the backward. The bias gradient is a plain sum (the weight kernel's would sum x).

// Per spatial dim (two; a 1-d op has a unit first dim) stride, padding, output_padding, dilation.
struct TransposeGeometry {
  int64_t s[2], p[2], op[2], d[2];
};

std::vector<int64_t> pair_of(const int64_t* v, size_t nd) {
  return nd == 1 ? std::vector<int64_t>{v[1]} : std::vector<int64_t>{v[0], v[1]};
}

TransposeGeometry transpose_geometry(const char* op, const ConvTransposeOptions& o, size_t nd) {
  TransposeGeometry g{};
  for (size_t i = 0; i < 2; ++i) {
    const bool unit = nd == 1 && i == 0;  // the unit dim of a 1-d op
    const size_t j = nd == 1 ? 0 : i;
    g.s[i] = unit ? 1 : o.stride.at(j, nd, op, "stride");
    g.p[i] = unit ? 0 : o.padding.at(j, nd, op, "padding");
    g.op[i] = unit ? 0 : o.output_padding.at(j, nd, op, "output_padding");
    g.d[i] = unit ? 1 : o.dilation.at(j, nd, op, "dilation");
  }
  HPML_CHECK(g.s[0] > 0 && g.s[1] > 0 && g.d[0] > 0 && g.d[1] > 0, op,
             ": stride and dilation must be positive, got stride ", IntArrayRef(pair_of(g.s, nd)), ", dilation ",
             IntArrayRef(pair_of(g.d, nd)));
  HPML_CHECK(g.p[0] >= 0 && g.p[1] >= 0 && g.op[0] >= 0 && g.op[1] >= 0, op,
             ": padding and output_padding must be non-negative, got padding ", IntArrayRef(pair_of(g.p, nd)),
             ", output_padding ", IntArrayRef(pair_of(g.op, nd)));
  for (size_t i = 0; i < 2; ++i)
    HPML_CHECK(g.op[i] < g.s[i] || g.op[i] < g.d[i], op,
               ": output_padding must be smaller than either stride or dilation, got output_padding ",
               IntArrayRef(pair_of(g.op, nd)), ", stride ", IntArrayRef(pair_of(g.s, nd)), ", dilation ",
               IntArrayRef(pair_of(g.d, nd)));
  return g;
}

// x [N, C, H, W], weight [C, OC/g, KH, KW] (both already 4-d) -> [N, OC, OH, OW]. `nd` = 1 for
// conv_transpose1d (messages then show the last dim only).
Tensor conv_transpose_4d(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t G,
                         const TransposeGeometry& g, size_t nd) {
  const int64_t C = x.sizes()[1];
  HPML_CHECK(x.is_floating_point() && x.dtype() == weight.dtype(), op, ": input (", x.dtype(), ") and weight (",
             weight.dtype(), ") must have the same floating dtype");
  HPML_CHECK(G >= 1 && C % G == 0, op, ": groups (", G, ") must divide the input channels (", C, ")");
  HPML_CHECK(weight.sizes()[0] == C, op, ": expected input with ", weight.sizes()[0], " channels (weight shape ",
             weight.sizes(), ": [in_channels, out_channels / groups, ...]), got ", C, " channels");
  const int64_t OC = weight.sizes()[1] * G;
  if (bias.defined())
    HPML_CHECK(bias.dim() == 1 && bias.sizes()[0] == OC && bias.dtype() == weight.dtype(), op, ": bias must be a ",
               weight.dtype(), " tensor of shape [", OC, "], got ", bias.dtype(), " ", bias.sizes());
  Window2d w{};
  w.N = x.sizes()[0], w.OC = C, w.OH = x.sizes()[2], w.OW = x.sizes()[3], w.C = OC;
  w.KH = weight.sizes()[2], w.KW = weight.sizes()[3], w.groups = G;
  w.SH = g.s[0], w.SW = g.s[1], w.PH = g.p[0], w.PW = g.p[1], w.DH = g.d[0], w.DW = g.d[1];
  w.H = (w.OH - 1) * w.SH - 2 * w.PH + w.DH * (w.KH - 1) + g.op[0] + 1;
  w.W = (w.OW - 1) * w.SW - 2 * w.PW + w.DW * (w.KW - 1) + g.op[1] + 1;
  const int64_t out_hw[2] = {w.H, w.W}, in_hw[2] = {w.OH, w.OW}, k_hw[2] = {w.KH, w.KW};
  HPML_CHECK(w.H > 0 && w.W > 0 && w.OH > 0 && w.OW > 0, op, ": the output would be empty: input size ",
             IntArrayRef(pair_of(in_hw, nd)), " with kernel ", IntArrayRef(pair_of(k_hw, nd)),
             ", stride ", IntArrayRef(pair_of(g.s, nd)), ", padding ", IntArrayRef(pair_of(g.p, nd)), " gives ",
             IntArrayRef(pair_of(out_hw, nd)));
  Tensor xc = x.contiguous(), wc = weight.contiguous();
  Tensor out = ops::empty_tensor({w.N, OC, w.H, w.W}, x.dtype(), x.device());
  ops::be(x, op).conv2d_backward_input(view_of(out), view_of(xc), view_of(wc), w);  // See Note [Transposed ...]
  if (autograd::should_record(x, weight)) {
    autograd::record(op, {x, weight}, {out}, {xc, wc}, [w, op](const Ctx& c) {
      HPML_CHECK(!autograd::GradMode::is_enabled(), op, ": double backward (create_graph) is not supported yet");
      // grad_out [N, OC, OH, OW] -> grad_x [N, C, H, W] (a convolution), grad_w [C, OC/g, KH, KW]
      Tensor gout = c.g(0).contiguous();
      const Tensor &xs = c.s(0), &ws = c.s(1);
      Tensor gx, gw;
      if (c.needs(0)) {
        gx = ops::empty_tensor(xs.sizes(), xs.dtype(), xs.device());
        ops::be(gout, op).conv2d(view_of(gx), view_of(gout), view_of(ws), nullptr, w);
      }
      if (c.needs(1)) {
        gw = ops::empty_tensor(ws.sizes(), ws.dtype(), ws.device());
        ops::be(gout, op).conv2d_backward_weight(view_of(gw), nullptr, view_of(xs), view_of(gout), w);
      }
      return TensorList{gx, gw};
    });
  }
  return bias.defined() ? out + bias.view({OC, 1, 1}) : out;
}

}  // namespace

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTransposeOptions& o) {
  HPML_RECORD_OP("conv_transpose2d", x, weight, bias);
  ops::check_defined("conv_transpose2d", x);
  ops::check_defined("conv_transpose2d", weight, "weight");
  ops::check_same_device("conv_transpose2d", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  HPML_CHECK(x.dim() == 3 || x.dim() == 4,
             "conv_transpose2d: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got shape ", x.sizes());
  HPML_CHECK(weight.dim() == 4,
             "conv_transpose2d: weight must be 4-d [in_channels, out_channels / groups, kH, kW], got shape ",
             weight.sizes());
  const TransposeGeometry g = transpose_geometry("conv_transpose2d", o, 2);
  const bool batched = x.dim() == 4;
  Tensor out = conv_transpose_4d("conv_transpose2d", batched ? x : x.unsqueeze(0), weight, bias, o.groups, g, 2);
  return batched ? out : out.squeeze(0);
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvTransposeOptions& o) {
  HPML_RECORD_OP("conv_transpose1d", x, weight, bias);
  ops::check_defined("conv_transpose1d", x);
  ops::check_defined("conv_transpose1d", weight, "weight");
  ops::check_same_device("conv_transpose1d", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  HPML_CHECK(x.dim() == 2 || x.dim() == 3, "conv_transpose1d: expected a 2-d [C, L] or 3-d [N, C, L] input, got shape ",
             x.sizes());
  HPML_CHECK(weight.dim() == 3,
             "conv_transpose1d: weight must be 3-d [in_channels, out_channels / groups, k], got shape ",
             weight.sizes());
  const TransposeGeometry g = transpose_geometry("conv_transpose1d", o, 1);
  const bool batched = x.dim() == 3;
  // A 1-d transposed convolution is a 2-d one over [.., 1, L] with a [.., 1, k] kernel.
  Tensor x4 = (batched ? x : x.unsqueeze(0)).unsqueeze(2);
  Tensor out = conv_transpose_4d("conv_transpose1d", x4, weight.unsqueeze(2), bias, o.groups, g, 1).squeeze(2);
  return batched ? out : out.squeeze(0);
}

// Note [conv3d as one conv2d]
// Output depth slice od sees the input depth slices od * sD - pD + kd * dD, kd < KD. Stacking those
// KD slices (each a strided slice of the depth-padded input) next to the channels turns conv3d
// into one conv2d over N * OD images of KD * C channels, with the weight's depth moved next to its
// input channels: [OC, Cg, KD, KH, KW] -> [OC, KD * Cg, KH, KW]. With groups the stacked channels are
// ordered (group, kd, c) so that each group's KD * Cg channels are contiguous, as conv2d expects.
// The stacked input is KD times the input (im2col along depth only); in exchange conv3d needs no
// kernel of its own, and its backward is conv2d's plus the slicing's.
namespace {

struct Depth {
  int64_t s, lo, hi, d;  // stride, padding before and after, dilation
};

void check_conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t G) {
  ops::check_defined("conv3d", x);
  ops::check_defined("conv3d", weight, "weight");
  ops::check_same_device("conv3d", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  HPML_CHECK(x.dim() == 4 || x.dim() == 5,
             "conv3d: expected a 4-d [C, D, H, W] or 5-d [N, C, D, H, W] input, got shape ", x.sizes());
  HPML_CHECK(weight.dim() == 5,
             "conv3d: weight must be 5-d [out_channels, in_channels / groups, kD, kH, kW], got shape ", weight.sizes());
  HPML_CHECK(x.is_floating_point() && x.dtype() == weight.dtype(), "conv3d: input (", x.dtype(), ") and weight (",
             weight.dtype(), ") must have the same floating dtype");
  const int64_t C = x.sizes()[x.dim() - 4], OC = weight.sizes()[0];
  HPML_CHECK(G >= 1 && C % G == 0 && OC % G == 0, "conv3d: groups (", G, ") must divide the input channels (", C,
             ") and the output channels (", OC, ")");
  HPML_CHECK(weight.sizes()[1] * G == C, "conv3d: expected input with ", weight.sizes()[1] * G,
             " channels (weight shape ", weight.sizes(), ", groups ", G, "), got input shape ", x.sizes());
  if (bias.defined())
    HPML_CHECK(bias.dim() == 1 && bias.sizes()[0] == OC && bias.dtype() == weight.dtype(), "conv3d: bias must be a ",
               weight.dtype(), " tensor of shape [", OC, "], got ", bias.dtype(), " ", bias.sizes());
}

}  // namespace

Tensor conv3d(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const ConvOptions& o) {
  HPML_RECORD_OP("conv3d", x_in, weight, bias);
  check_conv3d(x_in, weight, bias, o.groups);
  const bool batched = x_in.dim() == 5;
  Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t N = x.sizes()[0], C = x.sizes()[1], G = o.groups, Cg = C / G, OC = weight.sizes()[0];
  const int64_t KD = weight.sizes()[2];
  int64_t st[3], dil[3];
  for (size_t i = 0; i < 3; ++i) {
    st[i] = o.stride.at(i, 3, "conv3d", "stride"), dil[i] = o.dilation.at(i, 3, "conv3d", "dilation");
    HPML_CHECK(st[i] > 0 && dil[i] > 0, "conv3d: stride and dilation must be positive, got stride ",
               o.stride.str(true, 3), ", dilation ", o.dilation.str(true, 3));
  }
  Depth dp{st[0], 0, 0, dil[0]};
  Padding hw = 0;
  if (o.padding.same()) {
    HPML_CHECK(st[0] == 1 && st[1] == 1 && st[2] == 1,
               "conv3d: padding=\"same\" is not supported for strided convolutions");
    const int64_t total = dil[0] * (KD - 1);  // an odd total puts the extra slice at the back, as PyTorch
    dp.lo = total / 2, dp.hi = total - total / 2;
    hw = Padding("same");
  } else if (!o.padding.valid()) {
    int64_t p[3];
    for (size_t i = 0; i < 3; ++i) p[i] = o.padding.dims().at(i, 3, "conv3d", "padding");
    HPML_CHECK(p[0] >= 0 && p[1] >= 0 && p[2] >= 0, "conv3d: padding must be non-negative, got ",
               o.padding.dims().str(true, 3));
    dp.lo = dp.hi = p[0];
    hw = Padding({p[1], p[2]});
    for (size_t i = 1; i < 3; ++i) {
      const int64_t in = x.sizes()[i + 2] + 2 * p[i], k = dil[i] * (weight.sizes()[i + 2] - 1) + 1;
      HPML_CHECK(in >= k, "conv3d: the (padded) input ", i == 1 ? "height " : "width ", in,
                 " is smaller than the dilated kernel's ", k, " (input shape ", x_in.sizes(), ", weight shape ",
                 weight.sizes(), ")");
    }
  }
  const int64_t Dp = x.sizes()[2] + dp.lo + dp.hi, span = dp.d * (KD - 1) + 1;
  HPML_CHECK(Dp >= span, "conv3d: the (padded) input depth ", Dp, " is smaller than the dilated kernel depth ", span,
             " (input shape ", x_in.sizes(), ", weight shape ", weight.sizes(), ")");
  const int64_t OD = (Dp - span) / dp.s + 1, H = x.sizes()[3], W = x.sizes()[4];
  Tensor xp = dp.lo + dp.hi > 0 ? pad(x, {0, 0, 0, 0, dp.lo, dp.hi}) : x;
  TensorList slices;  // See Note [conv3d as one conv2d]
  for (int64_t kd = 0; kd < KD; ++kd) slices.push_back(xp.slice(2, kd * dp.d, kd * dp.d + (OD - 1) * dp.s + 1, dp.s));
  // [N, C, KD, OD, H, W] -> [N, G, Cg, KD, OD, H, W] -> [N, OD, G, KD, Cg, H, W] -> [N OD, G KD Cg, H, W]
  Tensor stacked =
      stack(slices, 2).view({N, G, Cg, KD, OD, H, W}).permute({0, 4, 1, 3, 2, 5, 6}).reshape({N * OD, C * KD, H, W});
  Tensor w2 = weight.permute({0, 2, 1, 3, 4}).reshape({OC, KD * Cg, weight.sizes()[3], weight.sizes()[4]});
  ConvOptions o2{.stride = {st[1], st[2]}, .padding = hw, .dilation = {dil[1], dil[2]}, .groups = G};
  Tensor y = conv2d(stacked, w2, bias, o2);  // [N OD, OC, OH, OW]
  Tensor out = y.view({N, OD, OC, y.sizes()[2], y.sizes()[3]}).permute({0, 2, 1, 3, 4}).contiguous();
  return batched ? out : out.squeeze(0);
}

}  // namespace hpml
