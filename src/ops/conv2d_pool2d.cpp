// Convolution and pooling ops: argument checks, output sizes (PyTorch's formulas), the kernels,
// and backward through the matching backward kernels.
#include "hpml/ops/conv.h"

#include <cstring>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::view_of;
using kernels::Window2d;

Dims::Dims(std::initializer_list<int64_t> l) : v_{0, 0, 0}, n_(l.size()) {
  HPML_CHECK(l.size() >= 1 && l.size() <= 3, "expected one to three sizes (one per spatial dim), got ", l.size());
  size_t i = 0;
  for (int64_t v : l) v_[i++] = v;
}

int64_t Dims::at(size_t i, size_t ndim, const char* op, const char* what) const {
  HPML_CHECK(n_ == 0 || n_ == ndim, op, ": ", what, " must have ", ndim, " values (one per spatial dim), got ", n_);
  return n_ == 0 ? v_[0] : v_[i];
}

std::string Dims::str(bool tuple, size_t ndim) const {
  if (n_ == 0 && !tuple) return std::to_string(v_[0]);
  std::string s = "(";
  for (size_t i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(n_ == 0 ? v_[0] : v_[i]);
  return s + (ndim == 1 ? ",)" : ")");
}

Padding::Padding(const std::string& m) {
  HPML_CHECK(m == "same" || m == "valid", "padding: expected a size, \"same\" or \"valid\", got \"", m, "\"");
  same_ = m == "same";
  valid_ = m == "valid";
}

namespace {

void no_double_backward(const char* op) {
  HPML_CHECK(!autograd::GradMode::is_enabled(), op, ": double backward (create_graph) is not supported yet");
}

int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const ConvOptions& o) {
  HPML_RECORD_OP("conv2d", x_in, weight, bias);
  ops::check_defined("conv2d", x_in);
  ops::check_defined("conv2d", weight, "weight");
  ops::check_same_device("conv2d", {{"input", &x_in}, {"weight", &weight}, {"bias", &bias}});
  HPML_CHECK(x_in.dim() == 3 || x_in.dim() == 4, "conv2d: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got shape ",
             x_in.sizes());
  HPML_CHECK(weight.dim() == 4, "conv2d: weight must be 4-d [out_channels, in_channels / groups, kH, kW], got shape ",
             weight.sizes());
  HPML_CHECK(x_in.is_floating_point() && x_in.dtype() == weight.dtype(), "conv2d: input (", x_in.dtype(), ") and weight (",
             weight.dtype(), ") must have the same floating dtype");
  const bool batched = x_in.dim() == 4;
  Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t G = o.groups, C = x.sizes()[1], OC = weight.sizes()[0];
  HPML_CHECK(G >= 1 && C % G == 0 && OC % G == 0, "conv2d: groups (", G, ") must divide the input channels (", C,
             ") and the output channels (", OC, ")");
  HPML_CHECK(weight.sizes()[1] == C / G, "conv2d: expected input with ", weight.sizes()[1] * G, " channels (weight shape ",
             weight.sizes(), ", groups ", G, "), got input shape ", x_in.sizes());
  if (bias.defined())
    HPML_CHECK(bias.dim() == 1 && bias.sizes()[0] == OC && bias.dtype() == weight.dtype(), "conv2d: bias must be a ",
               weight.dtype(), " tensor of shape [", OC, "], got ", bias.dtype(), " ", bias.sizes());
  Window2d w{};
  w.N = x.sizes()[0], w.C = C, w.H = x.sizes()[2], w.W = x.sizes()[3], w.OC = OC;
  w.KH = weight.sizes()[2], w.KW = weight.sizes()[3], w.groups = G;
  w.SH = o.stride.at(0, 2, "conv2d", "stride"), w.SW = o.stride.at(1, 2, "conv2d", "stride");
  w.DH = o.dilation.at(0, 2, "conv2d", "dilation"), w.DW = o.dilation.at(1, 2, "conv2d", "dilation");
  HPML_CHECK(w.SH > 0 && w.SW > 0 && w.DH > 0 && w.DW > 0, "conv2d: stride and dilation must be positive");
  if (o.padding.same()) {
    HPML_CHECK(w.SH == 1 && w.SW == 1, "conv2d: padding=\"same\" is not supported for strided convolutions");
    // Total padding d (k - 1) per dim; an odd total puts the extra row/column at the bottom/right.
    const int64_t th = w.DH * (w.KH - 1), tw = w.DW * (w.KW - 1);
    w.PH = th / 2, w.PW = tw / 2;
    if (th % 2 || tw % 2) {
      x = pad(x, {0, tw % 2, 0, th % 2});
      w.H = x.sizes()[2], w.W = x.sizes()[3];
    }
  } else {
    w.PH = o.padding.dims().at(0, 2, "conv2d", "padding"), w.PW = o.padding.dims().at(1, 2, "conv2d", "padding");
    HPML_CHECK(w.PH >= 0 && w.PW >= 0, "conv2d: padding must be non-negative, got ", w.PH, ", ", w.PW);
  }
  w.OH = conv_out_size(w.H, w.KH, w.SH, w.PH, w.DH), w.OW = conv_out_size(w.W, w.KW, w.SW, w.PW, w.DW);
  HPML_CHECK(w.H + 2 * w.PH >= w.DH * (w.KH - 1) + 1 && w.W + 2 * w.PW >= w.DW * (w.KW - 1) + 1, "conv2d: the (padded) input [", w.H, ", ", w.W, "] is smaller than the dilated kernel [",
             w.DH * (w.KH - 1) + 1, ", ", w.DW * (w.KW - 1) + 1, "]");
  Tensor xc = x.contiguous(), wc = weight.contiguous(), bc = bias.defined() ? bias.contiguous() : Tensor();
  Tensor out = ops::empty_tensor({w.N, OC, w.OH, w.OW}, x.dtype(), x.device());
  kernels::TensorView bv = bc.defined() ? view_of(bc) : kernels::TensorView{};
  ops::be(x, "conv2d").conv2d(view_of(out), view_of(xc), view_of(wc), bc.defined() ? &bv : nullptr, w);
  if (autograd::should_record(x, weight, bias)) {
    autograd::record("conv2d", {x, weight, bias}, {out}, {xc, wc}, [w](const Ctx& c) {
      no_double_backward("conv2d");
      // grad_out [N, OC, OH, OW] -> grad_x [N, C, H, W], grad_w [OC, C/g, KH, KW], grad_b [OC]
      Tensor g = c.g(0).contiguous();
      const Tensor &xs = c.s(0), &ws = c.s(1);
      Tensor gx, gw, gb;
      if (c.needs(0)) {
        HPML_RECORD_OP("conv2d_backward_input", g, ws);  // the two halves as events of their own
        gx = ops::empty_tensor(xs.sizes(), xs.dtype(), xs.device());
        ops::be(g, "conv2d_backward").conv2d_backward_input(view_of(gx), view_of(g), view_of(ws), w);
      }
      if (c.needs(1) || c.needs(2)) {
        HPML_RECORD_OP("conv2d_backward_weight", g, xs);
        gw = ops::empty_tensor(ws.sizes(), ws.dtype(), ws.device());
        gb = ops::empty_tensor({w.OC}, ws.dtype(), ws.device());
        kernels::TensorView gbv = view_of(gb);
        ops::be(g, "conv2d_backward").conv2d_backward_weight(view_of(gw), c.needs(2) ? &gbv : nullptr, view_of(g), view_of(xs), w);
      }
      return TensorList{gx, c.needs(1) ? gw : Tensor(), c.needs(2) ? gb : Tensor()};
    });
  }
  return batched ? out : out.squeeze(0);
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvOptions& o) {
  HPML_RECORD_OP("conv1d", x, weight, bias);
  ops::check_defined("conv1d", x);
  ops::check_defined("conv1d", weight, "weight");
  ops::check_same_device("conv1d", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  HPML_CHECK(x.dim() == 2 || x.dim() == 3, "conv1d: expected a 2-d [C, L] or 3-d [N, C, L] input, got shape ", x.sizes());
  HPML_CHECK(weight.dim() == 3, "conv1d: weight must be 3-d [out_channels, in_channels / groups, k], got shape ",
             weight.sizes());
  // A 1-d convolution is a 2-d one over [.., 1, L] with a [.., 1, k] kernel.
  ConvOptions o2{.stride = {1, o.stride.at(0, 1, "conv1d", "stride")},
                 .padding = o.padding.same() ? Padding("same") : Padding({0, o.padding.dims().at(0, 1, "conv1d", "padding")}),
                 .dilation = {1, o.dilation.at(0, 1, "conv1d", "dilation")},
                 .groups = o.groups};
  return conv2d(x.unsqueeze(-2), weight.unsqueeze(2), bias, o2).squeeze(-2);
}

namespace {

// Pool window geometry with PyTorch's output size rule (ceil_mode keeps the last window only if
// it starts inside the input or the left padding).
Window2d pool_window(const char* op, const Tensor& x, const PoolOptions& o, bool with_dilation) {
  HPML_CHECK(x.dim() == 3 || x.dim() == 4, op, ": expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got shape ", x.sizes());
  HPML_CHECK(x.is_floating_point(), op, ": expected a floating input, got ", x.dtype());
  Window2d w{};
  const int64_t off = x.dim() - 3;
  w.N = off ? x.sizes()[0] : 1, w.C = x.sizes()[off], w.H = x.sizes()[off + 1], w.W = x.sizes()[off + 2], w.OC = w.C;
  w.KH = o.kernel_size.at(0, 2, op, "kernel_size"), w.KW = o.kernel_size.at(1, 2, op, "kernel_size");
  const Dims& st = o.stride ? *o.stride : o.kernel_size;
  w.SH = st.at(0, 2, op, "stride"), w.SW = st.at(1, 2, op, "stride");
  w.PH = o.padding.at(0, 2, op, "padding"), w.PW = o.padding.at(1, 2, op, "padding");
  w.DH = with_dilation ? o.dilation.at(0, 2, op, "dilation") : 1, w.DW = with_dilation ? o.dilation.at(1, 2, op, "dilation") : 1;
  HPML_CHECK(w.KH > 0 && w.KW > 0 && w.SH > 0 && w.SW > 0 && w.DH > 0 && w.DW > 0, op,
             ": kernel_size, stride and dilation must be positive");
  HPML_CHECK(w.PH >= 0 && w.PW >= 0 && w.PH <= w.KH / 2 && w.PW <= w.KW / 2, op,
             ": padding should be at most half of the kernel size, got padding [", w.PH, ", ", w.PW, "] for kernel [", w.KH,
             ", ", w.KW, "]");
  auto out_size = [&](int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
    // PyTorch's pooling_output_shape: floor division rounding towards -inf (span may be
    // negative: with ceil_mode an input smaller than the kernel still gets one window).
    const int64_t span = in + 2 * p - d * (k - 1) - 1 + (o.ceil_mode ? s - 1 : 0);
    int64_t n = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
    if (o.ceil_mode && (n - 1) * s >= in + p) --n;
    return n;
  };
  w.OH = out_size(w.H, w.KH, w.SH, w.PH, w.DH), w.OW = out_size(w.W, w.KW, w.SW, w.PW, w.DW);
  HPML_CHECK(w.OH > 0 && w.OW > 0, op, ": the output would be empty: input [", w.H, ", ", w.W, "], kernel [", w.KH, ", ",
             w.KW, "], stride [", w.SH, ", ", w.SW, "], padding [", w.PH, ", ", w.PW, "], ceil_mode=",
             o.ceil_mode ? "true" : "false", " give output [", w.OH, ", ", w.OW, "]",
             o.ceil_mode ? "" : "\nhint: ceil_mode=true keeps a partial last window");
  return w;
}

DimVector pooled_shape(const Tensor& x, const Window2d& w) {
  DimVector s(x.sizes());
  s[s.size() - 2] = w.OH;
  s[s.size() - 1] = w.OW;
  return s;
}

}  // namespace

namespace {
// The output and the indices the backward uses: i64 flat indices (PyTorch's), or u8 window
// positions for 2x2 windows (Note [Compact 2x2 max pooling indices] in kernels/cpu/pool.cpp).
std::pair<Tensor, Tensor> max_pool2d_impl(const Tensor& x, const PoolOptions& o, bool compact_if_2x2) {
  ops::check_defined("max_pool2d", x);
  const Window2d w = pool_window("max_pool2d", x, o, true);
  const bool compact = compact_if_2x2 && kernels::is_2x2_pool(w);
  Tensor xc = x.contiguous();
  Tensor out = ops::empty_tensor(pooled_shape(x, w), x.dtype(), x.device());
  Tensor idx = ops::empty_tensor(pooled_shape(x, w), compact ? kUInt8 : kInt64, x.device());
  ops::be(x, "max_pool2d").max_pool2d(view_of(out), view_of(idx), view_of(xc), w);
  if (autograd::should_record(x)) {
    DimVector xs(x.sizes());
    autograd::record("max_pool2d", {x}, {out, idx}, {idx}, [w, xs](const Ctx& c) {
      no_double_backward("max_pool2d");
      Tensor g = c.g(0).contiguous();
      Tensor gx = ops::empty_tensor(xs, g.dtype(), g.device());
      ops::be(g, "max_pool2d_backward").max_pool2d_backward(view_of(gx), view_of(g), view_of(c.s(0)), w);
      return TensorList{gx};
    });
  }
  return {out, idx};
}
}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const PoolOptions& o) {
  HPML_RECORD_OP("max_pool2d_with_indices", x);
  return max_pool2d_impl(x, o, false);
}

Tensor max_pool2d(const Tensor& x, const PoolOptions& o) {
  HPML_RECORD_OP("max_pool2d", x);
  return max_pool2d_impl(x, o, true).first;
}

Tensor avg_pool2d(const Tensor& x, const PoolOptions& o) {
  HPML_RECORD_OP("avg_pool2d", x);
  ops::check_defined("avg_pool2d", x);
  const Window2d w = pool_window("avg_pool2d", x, o, false);
  HPML_CHECK(o.divisor_override >= 0, "avg_pool2d: divisor_override must be positive, got ", o.divisor_override);
  Tensor xc = x.contiguous();
  Tensor out = ops::empty_tensor(pooled_shape(x, w), x.dtype(), x.device());
  const bool inc = o.count_include_pad;
  const int64_t div = o.divisor_override;
  ops::be(x, "avg_pool2d").avg_pool2d(view_of(out), view_of(xc), w, inc, div);
  if (autograd::should_record(x)) {
    DimVector xs(x.sizes());
    autograd::record("avg_pool2d", {x}, {out}, {}, [w, xs, inc, div](const Ctx& c) {
      no_double_backward("avg_pool2d");
      Tensor g = c.g(0).contiguous();
      Tensor gx = ops::empty_tensor(xs, g.dtype(), g.device());
      ops::be(g, "avg_pool2d_backward").avg_pool2d_backward(view_of(gx), view_of(g), w, inc, div);
      return TensorList{gx};
    });
  }
  return out;
}

Tensor adaptive_avg_pool2d(const Tensor& x_in, Dims output_size) {
  HPML_RECORD_OP("adaptive_avg_pool2d", x_in);
  ops::check_defined("adaptive_avg_pool2d", x_in);
  HPML_CHECK(x_in.dim() == 3 || x_in.dim() == 4, "adaptive_avg_pool2d: expected a 3-d or 4-d input, got shape ", x_in.sizes());
  HPML_CHECK(x_in.is_floating_point(), "adaptive_avg_pool2d: expected a floating input, got ", x_in.dtype());
  const int64_t oh = output_size.at(0, 2, "adaptive_avg_pool2d", "output_size");
  const int64_t ow = output_size.at(1, 2, "adaptive_avg_pool2d", "output_size");
  HPML_CHECK(oh > 0 && ow > 0, "adaptive_avg_pool2d: output_size must be positive, got [", oh, ", ", ow, "]");
  const bool batched = x_in.dim() == 4;
  Tensor x = (batched ? x_in : x_in.unsqueeze(0)).contiguous();
  HPML_CHECK(x.sizes()[2] > 0 && x.sizes()[3] > 0, "adaptive_avg_pool2d: input spatial size must be non-empty, got ", x_in.sizes());
  Tensor out = ops::empty_tensor({x.sizes()[0], x.sizes()[1], oh, ow}, x.dtype(), x.device());
  ops::be(x, "adaptive_avg_pool2d").adaptive_avg_pool2d(view_of(out), view_of(x));
  if (autograd::should_record(x_in)) {
    DimVector xs(x.sizes());
    autograd::record("adaptive_avg_pool2d", {x}, {out}, {}, [xs](const Ctx& c) {
      no_double_backward("adaptive_avg_pool2d");
      Tensor g = c.g(0).contiguous();
      Tensor gx = ops::empty_tensor(xs, g.dtype(), g.device());
      ops::be(g, "adaptive_avg_pool2d_backward").adaptive_avg_pool2d_backward(view_of(gx), view_of(g));
      return TensorList{gx};
    });
  }
  return batched ? out : out.squeeze(0);
}

}  // namespace hpml
