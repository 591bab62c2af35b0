// batch_norm: checks, the fused forward (statistics, then one affine pass) and backward (two
// per-channel sums, then one affine pass), and a composite backward for create_graph.
#include "hpml/ops/normalization.h"

#include <algorithm>
#include <limits>

#include "hpml/autograd/grad_mode.h"
#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::view_of;

// Note [Fused batch norm]
// As a composition, batch norm reads and writes the activation about ten times (var_mean, x -
// mean, * invstd, * weight, + bias, and as many again in the backward), and it is memory-bound.
// Fused, it takes what the arithmetic needs:
//   forward:  two reads for the statistics (mean, then squared deviations: no cancellation),
//             one read and one write for y = x * scale_c + shift_c,
//             scale = weight * invstd, shift = bias - mean * scale   ([C] arithmetic, negligible);
//   backward: one read of dy and x for sum_dy_c and sum_dy_xmu_c = sum dy (x - mean_c), then
//             dx = a_c dy + b_c x + c_c in one pass, where with n values per channel
//               a = weight * invstd,  b = -a invstd^2 sum_dy_xmu / n,  c = -a sum_dy / n - b mean
//             (in evaluation mode the statistics are constants: b = c = 0),
//             grad_weight = sum_dy_xmu * invstd, grad_bias = sum_dy.
// For create_graph the backward is written with differentiable ops instead (same formula).

namespace {

// [C] viewed to broadcast over x [N, C, *].
Tensor per_channel(const Tensor& t, const Tensor& x) {
  DimVector shape(x.dim(), 1);
  shape[1] = x.sizes()[1];
  return t.view(shape);
}

DimVector non_channel_dims(const Tensor& x) {
  DimVector dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != 1) dims.push_back(d);
  return dims;
}

// The backward from differentiable ops, for double backward.
TensorList composite_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, bool use_batch, double eps) {
  const DimVector dims = non_channel_dims(x);
  Tensor inv, xhat;
  if (use_batch) {
    auto [v, m] = var_mean(x, dims, 0, true);
    inv = rsqrt(v + eps);
    xhat = (x - m) * inv;
  } else {
    inv = per_channel(invstd, x);
    xhat = (x - per_channel(mean, x)) * inv;
  }
  Tensor gxhat = weight.defined() ? dy * per_channel(weight, x) : dy;
  Tensor gx = use_batch ? inv * (gxhat - gxhat.mean(dims, true) - xhat * (gxhat * xhat).mean(dims, true)) : gxhat * inv;
  return {gx, (dy * xhat).sum(dims), dy.sum(dims)};
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  HPML_RECORD_OP("batch_norm", input, weight, bias, running_mean, running_var);
  ops::check_defined("batch_norm", input);
  HPML_CHECK(input.dim() >= 2, "batch_norm: expected an input of shape [N, C, *], got ", input.sizes());
  HPML_CHECK(input.is_floating_point(), "batch_norm: expected a floating input, got ", input.dtype());
  const int64_t C = input.sizes()[1];
  const DType dt = input.dtype();
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var})
    if (t->defined()) {
      HPML_CHECK(t->dim() == 1 && t->sizes()[0] == C, "batch_norm: weight, bias and running statistics must have shape [",
                 C, "] for input of shape ", input.sizes(), ", got ", t->sizes());
      HPML_CHECK(t->is_floating_point(), "batch_norm: weight, bias and running statistics must be floating, got ",
                 t->dtype());
    }
  ops::check_same_device("batch_norm", {{"input", &input}, {"weight", &weight}, {"bias", &bias},
                                        {"running_mean", &running_mean}, {"running_var", &running_var}});
  HPML_CHECK(eps >= 0, "batch_norm: eps must be non-negative, got ", eps);
  HPML_CHECK(training || (running_mean.defined() && running_var.defined()),
             "batch_norm: running_mean and running_var must be defined in evaluation mode (training = false)");
  const bool use_batch = training;
  const int64_t n = C > 0 ? input.numel() / C : 0;  // values per channel

  Tensor x = input.contiguous();
  Tensor y = ops::empty_tensor(x.sizes(), dt, x.device());
  Tensor mean, invstd;
  {
    NoGradGuard ng;
    const auto& be = ops::be(x, "batch_norm");
    Tensor var;
    if (use_batch) {
      mean = ops::empty_tensor({C}, dt, x.device());
      var = ops::empty_tensor({C}, dt, x.device());
      if (n > 0) be.batch_norm_stats(view_of(mean), view_of(var), view_of(x));
      else mean.fill_(std::numeric_limits<double>::quiet_NaN()), var.fill_(std::numeric_limits<double>::quiet_NaN());
    } else {
      mean = running_mean.to(dt).contiguous();
      var = running_var.to(dt);
    }
    invstd = rsqrt(var + eps).contiguous();
    Tensor scale = weight.defined() ? (weight.to(dt) * invstd).contiguous() : invstd;
    Tensor shift = bias.defined() ? (bias.to(dt) - mean * scale).contiguous() : (-mean * scale).contiguous();
    if (n > 0) be.channel_affine(view_of(y), view_of(x), view_of(scale), view_of(shift));
    if (training && running_mean.defined() && running_var.defined() && n > 0) {
      Tensor rm = running_mean, rv = running_var;
      rm.mul_(1 - momentum).add_(mean, momentum);
      // Unbiased: n / (n - 1); for n = 1 PyTorch's 0 / 0 gives NaN, and so does 0 * inf here.
      const double unbias = n > 1 ? static_cast<double>(n) / static_cast<double>(n - 1) : std::numeric_limits<double>::infinity();
      rv.mul_(1 - momentum).add_(var * unbias, momentum);
    }
  }
  if (autograd::should_record(input, weight, bias)) {
    autograd::record("batch_norm", {input, weight, bias}, {y}, {x, weight, mean, invstd},
                     [use_batch, eps, n, dt](const Ctx& c) {
      // dy [N, C, *] -> grad_x [N, C, *], grad_weight [C], grad_bias [C]
      const Tensor &xs = c.s(0), &w = c.s(1), &mean = c.s(2), &invstd = c.s(3);
      if (autograd::GradMode::is_enabled()) {
        TensorList g = composite_backward(c.g(0), xs, w, mean, invstd, use_batch, eps);
        for (size_t i = 0; i < g.size(); ++i)
          if (!c.needs(i)) g[i] = Tensor();
        return g;
      }
      Tensor dy = c.g(0).contiguous();
      const int64_t C = xs.sizes()[1];
      const auto& be = ops::be(dy, "batch_norm_backward");
      Tensor sum_dy = ops::empty_tensor({C}, dt, xs.device()), sum_dy_xmu = ops::empty_tensor({C}, dt, xs.device());
      if (n > 0) be.batch_norm_backward_stats(view_of(sum_dy), view_of(sum_dy_xmu), view_of(dy), view_of(xs), view_of(mean));
      else sum_dy.zero_(), sum_dy_xmu.zero_();
      Tensor gx;
      if (c.needs(0)) {
        Tensor a = w.defined() ? (w.to(dt) * invstd).contiguous() : invstd;
        Tensor b, k;
        if (use_batch) {
          b = (-a * invstd * invstd * sum_dy_xmu / static_cast<double>(n)).contiguous();
          k = (-a * sum_dy / static_cast<double>(n) - b * mean).contiguous();
        } else {
          b = zeros({C}, TensorOptions(dt).device(xs.device())), k = zeros({C}, TensorOptions(dt).device(xs.device()));
        }
        gx = ops::empty_tensor(xs.sizes(), dt, xs.device());
        if (n > 0) be.channel_affine2(view_of(gx), view_of(dy), view_of(xs), view_of(a), view_of(b), view_of(k));
      }
      return TensorList{gx, c.needs(1) ? sum_dy_xmu * invstd : Tensor(), c.needs(2) ? sum_dy : Tensor()};
    });
  }
  return y;
}

}  // namespace hpml
