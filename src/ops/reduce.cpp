// Reductions, softmax and log_softmax. The reduced dims are permuted to the end and handed to
// the reduce kernel; backward formulas expand the gradient back over the reduced dims.
#include "hpml/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::ReduceOp;
using kernels::view_of;

namespace {

struct ReduceShape {
  DimVector dims;        // reduced dims, ascending
  DimVector out_sizes;   // without the reduced dims
  DimVector keep_sizes;  // reduced dims as 1
  Tensor permuted;       // x with the reduced dims last
  int64_t count = 1;     // number of elements reduced into each output
};

ReduceShape prepare(const Tensor& x, IntArrayRef dims, const char* op) {
  ops::check_defined(op, x);
  ReduceShape r;
  r.dims = ops::wrap_dims(dims, x.dim(), op);
  if (x.dim() == 0) r.dims.clear();
  std::sort(r.dims.begin(), r.dims.end());
  DimVector perm;
  r.keep_sizes = DimVector(x.sizes());
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (std::find(r.dims.begin(), r.dims.end(), d) != r.dims.end()) {
      r.keep_sizes[d] = 1;
      r.count *= x.sizes()[d];
    } else {
      perm.push_back(d);
      r.out_sizes.push_back(x.sizes()[d]);
    }
  }
  for (int64_t d : r.dims) perm.push_back(d);
  DimVector sizes(perm.size()), strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    sizes[i] = x.sizes()[perm[i]];
    strides[i] = x.strides()[perm[i]];
  }
  r.permuted = ops::make_view(x, sizes, strides, x.storage_offset());
  return r;
}

Tensor shaped(const Tensor& out, const ReduceShape& r, bool keepdim) {
  return keepdim ? ops::make_view(out, r.keep_sizes, contiguous_strides(r.keep_sizes), 0) : out;
}

// The reduction into a tensor of out_dtype; bf16 and f16 are reduced in f32 and rounded once
// (Note [Half-precision dtypes] in core/half.h).
Tensor reduce_forward(ReduceOp op, const char* name, const ReduceShape& r, DType out_dtype, bool keepdim) {
  const DType compute = ops::compute_dtype(out_dtype);
  const Tensor in = ops::cast(r.permuted, ops::compute_dtype(r.permuted.dtype()));
  Tensor out = ops::empty_tensor(r.out_sizes, compute, r.permuted.device());
  ops::be(out, name).reduce(op, view_of(out), view_of(in), static_cast<int>(r.dims.size()));
  return shaped(ops::cast(out, out_dtype), r, keepdim);
}

// g (reduced shape, keepdim or not) -> x's shape, broadcasting over the reduced dims.
Tensor expand_back(const Tensor& g, const DimVector& keep_sizes, const DimVector& x_sizes) {
  return g.reshape(keep_sizes).expand(x_sizes);
}

DType sum_dtype(DType d) { return is_integral(d, true) ? kInt64 : d; }

void check_floating(const char* op, const Tensor& x) {
  HPML_CHECK(x.is_floating_point(), op, ": input dtype must be floating point (f32, f64, bf16 or f16), got ", x.dtype(),
             "\nhint: convert it first, e.g. x.to(hpml::kFloat32)");
}


}  // namespace

Tensor sum(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("sum", x);
  ReduceShape r = prepare(x, dims, "sum");
  Tensor out = reduce_forward(ReduceOp::sum, "sum", r, sum_dtype(x.dtype()), keepdim);
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes());
    autograd::record("sum", {x}, {out}, {}, [keep, xs](const Ctx& c) {
      // g: [out] -> [x]
      return TensorList{expand_back(c.g(0), keep, xs)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("mean", x);
  ReduceShape r = prepare(x, dims, "mean");
  check_floating("mean", x);
  Tensor out = reduce_forward(ReduceOp::sum, "mean", r, ops::compute_dtype(x.dtype()), keepdim);
  const double n = static_cast<double>(r.count);
  {
    autograd::NoGradGuard ng;
    out.div_(n);
    out = ops::cast(out, x.dtype());  // bf16, f16: the f32 mean rounded once
  }
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes());
    autograd::record("mean", {x}, {out}, {}, [keep, xs, n](const Ctx& c) {
      return TensorList{expand_back(c.g(0) / n, keep, xs)};
    });
  }
  return out;
}

std::pair<Tensor, Tensor> var_mean(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  HPML_RECORD_OP("var_mean", x);
  ReduceShape r = prepare(x, dims, "var");
  check_floating("var", x);
  const DType compute = ops::compute_dtype(x.dtype());
  Tensor v = ops::empty_tensor(r.out_sizes, compute, x.device());
  Tensor m = ops::empty_tensor(r.out_sizes, compute, x.device());
  kernels::TensorView mv = view_of(m);
  ops::be(x, "var").var(view_of(v), &mv, view_of(ops::cast(r.permuted, compute)), static_cast<int>(r.dims.size()),
                        correction);
  v = shaped(ops::cast(v, x.dtype()), r, keepdim);
  m = shaped(ops::cast(m, x.dtype()), r, keepdim);
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes());
    const double dof = std::max(0.0, static_cast<double>(r.count) - correction);
    const double n = static_cast<double>(r.count);
    autograd::record("var_mean", {x}, {v, m}, {x, m}, [keep, xs, dof, n](const Ctx& c) {
      // d var / dx = 2 (x - mean) / dof;  d mean / dx = 1 / n
      Tensor centered = c.s(0) - c.s(1).reshape(keep);
      return TensorList{expand_back(c.g(0), keep, xs) * centered * (2.0 / dof) + expand_back(c.g(1) / n, keep, xs)};
    });
  }
  return {v, m};
}

Tensor var(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  HPML_RECORD_OP("var", x);
  return var_mean(x, dims, correction, keepdim).first;
}

// Note [std's gradient where the deviation is 0]
// std = sqrt(var) composed would give d std = g / (2 sqrt(var)) * d var = inf * 0 = NaN on a
// constant row. PyTorch's std_backward sets g / (2 std) to 0 where std == 0, so the row gets a
// zero gradient; std records its own node to do the same (the sqrt's backward is never built).
Tensor std(const Tensor& x, IntArrayRef dims, double correction, bool keepdim) {
  HPML_RECORD_OP("std", x);
  ReduceShape r = prepare(x, dims, "std");
  Tensor out, m;
  {
    NoGradGuard ng;
    // bf16, f16: the variance and its square root in f32, rounded once.
    auto [v, mean] = var_mean(ops::cast(x, ops::compute_dtype(x.dtype())), dims, correction, keepdim);
    out = ops::cast(sqrt(v), x.dtype()), m = ops::cast(mean, x.dtype());
  }
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes());
    const double dof = std::max(0.0, static_cast<double>(r.count) - correction);
    autograd::record("std", {x}, {out}, {x, m, out}, [keep, xs, dof](const Ctx& c) {
      // g, mean, out [reduced] -> x [xs]: d std/dx = (x - mean) / (dof * std), 0 where std == 0
      Tensor y = c.s(2), zero = zeros_like(y);
      Tensor gy = where(eq(y, zero), zero, c.g(0) / y);
      Tensor centered = c.s(0) - c.s(1).reshape(keep);
      return TensorList{expand_back(gy, keep, xs) * centered * (1.0 / dof)};
    });
  }
  return out;
}

Tensor prod(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("prod", x);
  ReduceShape r = prepare(x, dims, "prod");
  Tensor out = reduce_forward(ReduceOp::prod, "prod", r, sum_dtype(x.dtype()), keepdim);
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes()), rd = r.dims;
    autograd::record("prod", {x}, {out}, {x, out}, [keep, xs, rd](const Ctx& c) {
      // d prod / dx_i = product of the other elements. With no zero in the row that is prod / x_i;
      // at a zero it is the product of the non-zeros if that is the only zero, else 0.
      const Tensor &x = c.s(0), &y = c.s(1);
      Tensor g = expand_back(c.g(0), keep, xs);
      Tensor is_zero = eq(x, scalar_tensor(0, x.dtype()));
      Tensor nonzero_prod = prod(where(is_zero, ones_like(x), x), rd, true).expand(xs);
      Tensor zeros_in_row = sum(is_zero, rd, true).expand(xs);
      Tensor at_zero = where(eq(zeros_in_row, scalar_tensor(1, kInt64)), nonzero_prod, zeros_like(x));
      Tensor safe_x = where(is_zero, ones_like(x), x);
      return TensorList{g * where(is_zero, at_zero, y.reshape(keep).expand(xs) / safe_x)};
    });
  }
  return out;
}

namespace {
// amax/amin: the gradient is shared evenly by every element equal to the extreme value.
Tensor extreme(const Tensor& x, IntArrayRef dims, bool keepdim, bool is_max) {
  const char* name = is_max ? "amax" : "amin";
  ReduceShape r = prepare(x, dims, name);
  HPML_CHECK(r.count > 0, name, ": cannot reduce over a dimension of size 0 (shape ", x.sizes(), ")");
  Tensor out = reduce_forward(is_max ? ReduceOp::amax : ReduceOp::amin, name, r, x.dtype(), keepdim);
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes()), rd = r.dims;
    autograd::record(name, {x}, {out}, {x, out}, [keep, xs, rd](const Ctx& c) {
      Tensor mask = eq(c.s(0), c.s(1).reshape(keep));
      Tensor count = sum(mask, rd, true);
      return TensorList{expand_back(c.g(0), keep, xs) * mask / count};
    });
  }
  return out;
}

std::pair<Tensor, Tensor> extreme_dim(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* name = is_max ? "max" : "min";
  ops::check_defined(name, x);
  const int64_t d = ops::wrap_dim(dim, x.dim(), name);
  ReduceShape r = prepare(x, {d}, name);
  HPML_CHECK(r.count > 0, name, ": cannot reduce over dimension ", dim, " of size 0 (shape ", x.sizes(), ")");
  const DType compute = ops::compute_dtype(x.dtype());
  Tensor values = ops::empty_tensor(r.out_sizes, compute, x.device());
  Tensor indices = ops::empty_tensor(r.out_sizes, kInt64, x.device());
  kernels::TensorView vv = view_of(values);
  ops::be(x, name).arg_reduce(is_max, &vv, view_of(indices), view_of(ops::cast(r.permuted, compute)));
  values = shaped(ops::cast(values, x.dtype()), r, keepdim);
  indices = shaped(indices, r, keepdim);
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes());
    autograd::record(name, {x}, {values, indices}, {indices}, [keep, xs, d](const Ctx& c) {
      // The gradient goes to the element that was picked.
      Tensor g = c.g(0).reshape(keep), idx = c.s(0).reshape(keep);
      return TensorList{scatter(zeros(xs, TensorOptions(g.dtype()).device(g.device())), d, idx, g)};
    });
  }
  return {values, indices};
}
}  // namespace

Tensor amax(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("amax", x);
  return extreme(x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("amin", x);
  return extreme(x, dims, keepdim, false);
}
Tensor max(const Tensor& x) {
  HPML_RECORD_OP("max", x);
  return extreme(x, {}, false, true);
}
Tensor min(const Tensor& x) {
  HPML_RECORD_OP("min", x);
  return extreme(x, {}, false, false);
}
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  HPML_RECORD_OP("max", x);
  return extreme_dim(x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  HPML_RECORD_OP("min", x);
  return extreme_dim(x, dim, keepdim, false);
}

namespace {
Tensor arg_extreme(const Tensor& x, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  const char* name = is_max ? "argmax" : "argmin";
  ops::check_defined(name, x);
  autograd::NoGradGuard ng;
  if (!dim) {
    HPML_CHECK(x.numel() > 0, name, ": expected a non-empty input (shape ", x.sizes(), ")");
    Tensor idx = extreme_dim(x.reshape({-1}), 0, false, is_max).second;
    if (keepdim) return idx.reshape(DimVector(x.dim(), 1));
    return idx;
  }
  return extreme_dim(x, *dim, keepdim, is_max).second;
}
}  // namespace

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  HPML_RECORD_OP("argmax", x);
  return arg_extreme(x, dim, keepdim, true);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  HPML_RECORD_OP("argmin", x);
  return arg_extreme(x, dim, keepdim, false);
}

Tensor any(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("any", x);
  ops::check_defined("any", x);
  autograd::NoGradGuard ng;
  return gt(sum(ne(x, ops::wrap_scalar(0, x.device())), dims, keepdim), ops::wrap_scalar(0, x.device()));
}

Tensor all(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("all", x);
  ops::check_defined("all", x);
  autograd::NoGradGuard ng;
  return eq(sum(eq(x, ops::wrap_scalar(0, x.device())), dims, keepdim), ops::wrap_scalar(0, x.device()));
}

Tensor logsumexp(const Tensor& x, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("logsumexp", x);
  ops::check_defined("logsumexp", x);
  check_floating("logsumexp", x);
  ReduceShape r = prepare(x, dims, "logsumexp");
  if (r.count == 0) {  // log of an empty sum
    Tensor out = full(keepdim ? r.keep_sizes : r.out_sizes, -INFINITY, TensorOptions(x.dtype()).device(x.device()));
    return out;
  }
  // log(sum(exp(x - m))) + m with m = max (detached, 0 where infinite): exact and overflow-free.
  Tensor m = amax(x.detach(), dims, true);
  m = masked_fill(m, eq(abs(m), scalar_tensor(INFINITY, m.dtype())), 0);
  Tensor out = log(sum(exp(x - m), dims, true)) + m;
  return keepdim ? out : out.reshape(r.out_sizes);
}

Tensor norm(const Tensor& x, double p, IntArrayRef dims, bool keepdim) {
  HPML_RECORD_OP("norm", x);
  ops::check_defined("norm", x);
  check_floating("norm", x);
  HPML_CHECK(p > 0, "norm: p must be positive (or INFINITY), got ", p);
  ReduceShape r = prepare(x, dims, "norm");
  Tensor out;
  {
    autograd::NoGradGuard ng;
    // bf16, f16: the powers and the sum in f32, rounded once (f16 squares overflow past 256).
    Tensor a = abs(ops::cast(x, ops::compute_dtype(x.dtype())));
    if (std::isinf(p)) out = r.count == 0 ? zeros(r.out_sizes, a.dtype()) : amax(a, dims, false);
    else if (p == 1) out = sum(a, dims, false);
    else if (p == 2) out = sqrt(sum(a * a, dims, false));
    else out = pow(sum(pow(a, p), dims, false), 1.0 / p);
    out = shaped(ops::cast(out, x.dtype()).contiguous(), r, keepdim);
  }
  if (autograd::should_record(x)) {
    DimVector keep = r.keep_sizes, xs(x.sizes()), rd = r.dims;
    autograd::record("norm", {x}, {out}, {x, out}, [keep, xs, rd, p](const Ctx& c) {
      const Tensor &x = c.s(0);
      Tensor g = expand_back(c.g(0), keep, xs), n = c.s(1).reshape(keep).expand(xs);
      Tensor zero = zeros_like(x);
      if (p == 1) return TensorList{g * sign(x)};
      if (std::isinf(p)) {
        Tensor mask = eq(abs(x), n);
        return TensorList{g * sign(x) * mask / sum(mask, rd, true)};
      }
      // d||x||_p / dx = sign(x) |x|^(p-1) / ||x||^(p-1), and 0 where the norm is 0 (and, for
      // p < 1, where x is 0, as PyTorch).
      Tensor scale = p == 2 ? x / n : sign(x) * pow(abs(x), p - 1) / pow(n, p - 1);
      if (p < 1) scale = masked_fill(scale, eq(x, scalar_tensor(0, x.dtype())), 0);
      return TensorList{g * where(eq(n, scalar_tensor(0, n.dtype())), zero, scale)};
    });
  }
  return out;
}

namespace {
Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  HPML_RECORD_OP(name, x);
  ops::check_defined(name, x);
  check_floating(name, x);
  const int64_t d = ops::wrap_dim(dim, x.dim(), name);
  const DType compute = ops::compute_dtype(x.dtype());  // bf16, f16: in f32, rounded once
  Tensor in = ops::cast(x, compute).contiguous();
  Tensor out = ops::empty_tensor(x.sizes(), compute, x.device());
  if (x.numel() > 0) {
    if (x.dim() == 0) ops::be(x, name).fill(view_of(out), log ? 0.0 : 1.0);
    else ops::be(x, name).softmax(view_of(out), view_of(in), d, log);
  }
  out = ops::cast(out, x.dtype());
  if (autograd::should_record(x)) {
    autograd::record(name, {x}, {out}, {out}, [d, log](const Ctx& c) {
      const Tensor &g = c.g(0), &y = c.s(0);
      if (autograd::GradMode::is_enabled() || y.dim() == 0) {  // differentiable form for create_graph
        return TensorList{log ? g - exp(y) * sum(g, {d}, true) : y * (g - sum(g * y, {d}, true))};
      }
      const DType compute = ops::compute_dtype(y.dtype());
      Tensor gi = ops::empty_tensor(y.sizes(), compute, y.device());
      Tensor gc = ops::cast(g, compute).contiguous(), yc = ops::cast(y, compute).contiguous();
      ops::be(y, "softmax_backward").softmax_backward(view_of(gi), view_of(gc), view_of(yc), d, log);
      return TensorList{ops::cast(gi, y.dtype())};
    });
  }
  return out;
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, true); }

Tensor sum_to(const Tensor& x, IntArrayRef shape) {
  HPML_RECORD_OP("sum_to", x);
  ops::check_defined("sum_to", x);
  if (x.sizes() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  HPML_CHECK(lead >= 0, "sum_to: cannot sum shape ", x.sizes(), " to the larger shape ", shape);
  DimVector dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    int64_t want = shape[d - lead];
    if (want == 1 && x.sizes()[d] != 1) dims.push_back(d);
    else
      HPML_CHECK(want == x.sizes()[d], "sum_to: shape ", x.sizes(), " cannot be summed to ", shape);
  }
  Tensor s = dims.empty() ? x : sum(x, dims, true);
  return s.reshape(shape);
}

}  // namespace hpml
