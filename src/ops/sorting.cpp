// Sorting, selection, scans and searches. Each op checks its input, lays it out as rows for the
// loops of ops/sorting_kernels.cpp and records its backward: cumsum and cumprod by their own
// formulas, sort / topk / median by sending the gradient back to the picked elements.
#include "hpml/ops/sorting.h"

#include <cmath>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "ops/common.h"
#include "ops/sorting_kernels.h"

namespace hpml {

using autograd::Ctx;

namespace {

// ---- layout -------------------------------------------------------------------------------

// x with dim d moved last, contiguous, seen as [rows, n] (a 0-d x is one row of one element).
struct Rows {
  Tensor data;
  DimVector moved;  // x's sizes with d last
  int64_t rows = 1, n = 1;
};

Rows to_rows(const Tensor& x, int64_t d) {
  NoGradGuard ng;
  Rows r;
  Tensor m = x.dim() == 0 ? x.detach().reshape({1}) : x.detach().movedim(d, -1);
  r.moved = DimVector(m.sizes());
  r.n = r.moved.back();
  for (size_t i = 0; i + 1 < r.moved.size(); ++i) r.rows *= r.moved[i];
  r.data = m.contiguous().reshape({r.rows, r.n});
  return r;
}

// t [rows, k] -> x's layout with size k along d (0-d when x was 0-d), contiguous.
Tensor from_rows(const Tensor& t, const Rows& r, int64_t k, int64_t d, bool scalar) {
  NoGradGuard ng;
  if (scalar) return t.reshape({});
  DimVector s = r.moved;
  s.back() = k;
  return t.reshape(s).movedim(-1, d).contiguous();
}

void check_not_bool(const char* op, const Tensor& x) {
  HPML_CHECK(x.dtype() != kBool, op, ": not implemented for bool tensors (nor is it in PyTorch)\n",
             "hint: convert first, e.g. x.to(hpml::kUInt8)");
}

// values = the elements of x at `indices` along d (indices has x's rank; values has its
// elements, in any shape). The gradient goes back to the picked elements, 0 elsewhere.
void record_picked(const char* name, const Tensor& x, const Tensor& values, const Tensor& indices, int64_t d) {
  if (!autograd::should_record(x)) return;
  DimVector xs(x.sizes()), ks(indices.sizes());
  autograd::record(name, {x}, {values}, {indices}, [xs, ks, d](const Ctx& c) {
    // g [values' shape] -> x [xs]
    const Tensor& g = c.g(0);
    if (xs.empty()) return TensorList{g.reshape({})};
    Tensor z = zeros(xs, TensorOptions(g.dtype()).device(g.device()));
    return TensorList{scatter(z, d, c.s(0).reshape(ks), g.reshape(ks))};
  });
}

// ---- scans --------------------------------------------------------------------------------

Tensor cumulative(const Tensor& x, int64_t d, bool prod) {
  // x [.., n at d, ..] seen as [outer, n, inner]; out: x's shape, i64 for integer and bool x
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t i = 0; i < x.dim(); ++i) (i < d ? outer : i == d ? n : inner) *= x.sizes()[i];
  Tensor out = ops::empty_tensor(x.sizes(), x.is_floating_point() ? x.dtype() : kInt64, x.device());
  if (x.numel() > 0) ops::sorting::cumulate(out, x.detach().contiguous(), outer, n, inner, prod);
  return out;
}

// The sum of g over every position at or after each one along d.
Tensor reversed_cumsum(const Tensor& g, int64_t d) { return flip(cumsum(flip(g, {d}), d), {d}); }

// Note [cumprod's gradient at zeros]
// dy_j / dx_k = prod_{i <= j, i != k} x_i for j >= k. Without a zero in x that is y_j / x_k, and
// the gradient is reversed_cumsum(g * y) / x: PyTorch's formula, O(n). At a zero the division
// fails. PyTorch then switches to masks around the first zero (or, under create_graph, to an
// O(n^2) form); hpml always takes the O(n^2) form when x holds a zero anywhere: for each k the
// running product of x with x_k replaced by 1 ([.., n, n]), summed against g over j >= k. It is
// exact, made of differentiable ops (double backward works), and costs n times x's memory only
// when there is a zero.
Tensor cumprod_backward(const Tensor& g, const Tensor& x, const Tensor& y, int64_t d) {
  // g, x, y [.., n at d, ..] -> [x's shape]
  if (x.dim() == 0 || x.sizes()[d] <= 1) return g;  // y = x
  if (!ops::any_true(eq(x, scalar_tensor(0, x.dtype())))) return reversed_cumsum(g * y, d) / x;
  const int64_t n = x.sizes()[d];
  Tensor xl = x.movedim(d, -1), gl = g.movedim(d, -1);
  DimVector square(xl.sizes());
  square.insert(square.size() - 1, n);  // [.., n (k), n (i)]
  Tensor r = arange(0, n, 1, TensorOptions(kInt64).device(x.device()));
  Tensor diag = eq(r.unsqueeze(1), r.unsqueeze(0));
  Tensor dy = cumprod(masked_fill(xl.unsqueeze(-2).expand(square), diag, 1), -1);  // [.., k, j]
  return sum(triu(dy * gl.unsqueeze(-2)), {-1}).movedim(-1, d);                      // j >= k only
}

// ---- sort and select ----------------------------------------------------------------------

// The first k (all when k is empty) along dim in ascending or descending order, with indices.
std::pair<Tensor, Tensor> sorted_prefix(const char* name, const Tensor& x, int64_t dim, std::optional<int64_t> k,
                                        bool descending) {
  ops::check_defined(name, x);
  const int64_t d = ops::wrap_dim(dim, x.dim(), name);
  const int64_t size = x.dim() == 0 ? 1 : x.sizes()[d];
  if (k)
    HPML_CHECK(*k >= 0 && *k <= size, name, ": k (", *k, ") is out of range for dimension ", d, " of size ", size,
               " (shape ", x.sizes(), "); expected 0 <= k <= ", size);
  // A 0-d x gives its element even for k = 0, as PyTorch's topk (a 0-d result cannot be empty).
  const int64_t kk = x.dim() == 0 ? 1 : k.value_or(size);
  Rows r = to_rows(x, d);
  Tensor v = ops::empty_tensor({r.rows, kk}, x.dtype(), x.device());
  Tensor i = ops::empty_tensor({r.rows, kk}, kInt64, x.device());
  if (r.rows * kk > 0) ops::sorting::sort_rows(v, i, r.data, kk, descending);
  Tensor values = from_rows(v, r, kk, d, x.dim() == 0), indices = from_rows(i, r, kk, d, x.dim() == 0);
  record_picked(name, x, values, indices, d);
  return {values, indices};
}

std::pair<Tensor, Tensor> median_along(const char* name, const Tensor& x, int64_t dim, bool keepdim) {
  ops::check_defined(name, x);
  check_not_bool(name, x);
  const int64_t d = ops::wrap_dim(dim, x.dim(), name);
  HPML_CHECK(x.dim() == 0 || x.sizes()[d] > 0, name, ": dimension ", d, " has size 0 (shape ", x.sizes(),
             "); the median of no elements is undefined");
  Rows r = to_rows(x, d);
  Tensor v = ops::empty_tensor({r.rows, 1}, x.dtype(), x.device());
  Tensor i = ops::empty_tensor({r.rows, 1}, kInt64, x.device());
  if (r.rows > 0) ops::sorting::median_rows(v, i, r.data);
  Tensor keep_v = from_rows(v, r, 1, d, x.dim() == 0), keep_i = from_rows(i, r, 1, d, x.dim() == 0);
  Tensor values = keep_v, indices = keep_i;
  if (!keepdim && x.dim() > 0) {
    NoGradGuard ng;
    values = keep_v.squeeze(d), indices = keep_i.squeeze(d);
  }
  record_picked(name, x, values, keep_i, d);
  return {values, indices};
}

// ---- searches -----------------------------------------------------------------------------

Tensor search(const char* name, const Tensor& seq, const Tensor& values, bool right) {
  // seq [M] or [.., M]; values [any] or [.., K] -> [values' shape] i64
  ops::check_defined(name, seq, "sorted_sequence");
  ops::check_defined(name, values, "values");
  ops::check_same_device(name, {{"sorted_sequence", &seq}, {"values", &values}});
  HPML_CHECK(seq.dim() >= 1, name, ": sorted_sequence must have at least 1 dimension, got a 0-d tensor");
  bool leading_match = values.dim() == seq.dim();
  for (int64_t i = 0; leading_match && i + 1 < seq.dim(); ++i) leading_match = seq.sizes()[i] == values.sizes()[i];
  HPML_CHECK(seq.dim() == 1 || leading_match, name, ": sorted_sequence must be 1-d or have the leading dims of ",
             "values (all but the last): sorted_sequence.shape=", seq.sizes(), ", values.shape=", values.sizes());
  const DType dt = ops::result_type(seq, values);
  HPML_CHECK(dt != kBool, name, ": not implemented for bool tensors (nor is it in PyTorch)");
  NoGradGuard ng;
  const int64_t m = seq.sizes().back();
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < seq.dim(); ++i) rows *= seq.sizes()[i];
  Tensor s = ops::cast(seq.detach(), dt).contiguous().reshape({rows, m});
  Tensor v = ops::cast(values.detach(), dt).contiguous();
  const int64_t k = seq.dim() == 1 ? v.numel() : values.sizes().back();
  v = v.reshape({seq.dim() == 1 ? 1 : rows, k});
  Tensor out = ops::empty_tensor(values.sizes(), kInt64, values.device());
  if (out.numel() > 0) ops::sorting::search_rows(out, s, v, right);
  return out;
}

}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim) {
  HPML_RECORD_OP("cumsum", x);
  ops::check_defined("cumsum", x);
  const int64_t d = ops::wrap_dim(dim, x.dim(), "cumsum");
  Tensor out = cumulative(x, d, false);
  if (autograd::should_record(x)) {
    const bool scalar = x.dim() == 0;
    autograd::record("cumsum", {x}, {out}, {}, [d, scalar](const Ctx& c) {
      // g [x's shape] -> x: each x_k feeds y_j for j >= k
      return TensorList{scalar ? c.g(0) : reversed_cumsum(c.g(0), d)};
    });
  }
  return out;
}

Tensor cumprod(const Tensor& x, int64_t dim) {
  HPML_RECORD_OP("cumprod", x);
  ops::check_defined("cumprod", x);
  const int64_t d = ops::wrap_dim(dim, x.dim(), "cumprod");
  Tensor out = cumulative(x, d, true);
  if (autograd::should_record(x)) {
    autograd::record("cumprod", {x}, {out}, {x, out}, [d](const Ctx& c) {
      // g, x, y [x's shape] -> x. See Note [cumprod's gradient at zeros].
      return TensorList{cumprod_backward(c.g(0), c.s(0), c.s(1), d)};
    });
  }
  return out;
}

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool /*stable: always*/) {
  HPML_RECORD_OP("sort", x);
  return sorted_prefix("sort", x, dim, std::nullopt, descending);
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool /*stable: always*/) {
  HPML_RECORD_OP("argsort", x);
  NoGradGuard ng;
  return sorted_prefix("argsort", x, dim, std::nullopt, descending).second;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted: always*/) {
  HPML_RECORD_OP("topk", x);
  ops::check_defined("topk", x);
  check_not_bool("topk", x);
  return sorted_prefix("topk", x, dim, k, largest);
}

Tensor median(const Tensor& x) {
  HPML_RECORD_OP("median", x);
  ops::check_defined("median", x);
  check_not_bool("median", x);
  if (x.numel() == 0) {
    HPML_CHECK(x.is_floating_point(), "median: the median of an empty ", x.dtype(), " tensor (shape ", x.sizes(),
               ") is undefined (PyTorch returns an arbitrary value; for floats it is NaN)");
    return full({}, NAN, TensorOptions(x.dtype()).device(x.device()));
  }
  Tensor out;
  {
    NoGradGuard ng;
    out = median_along("median", x.reshape({-1}), 0, false).first;
  }
  if (autograd::should_record(x)) {
    autograd::record("median", {x}, {out}, {x, out}, [](const Ctx& c) {
      // g [] -> x: shared evenly by the elements equal to the median, or by the NaNs if it is NaN
      // (PyTorch's evenly_distribute_backward; median(x, dim) sends it to one index instead).
      const Tensor &x = c.s(0), &y = c.s(1);
      Tensor picked = ops::any_true(ne(y, y)) ? ne(x, x) : eq(x, y);
      return TensorList{c.g(0) * picked / sum(picked)};
    });
  }
  return out;
}

std::pair<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim) {
  HPML_RECORD_OP("median", x);
  return median_along("median", x, dim, keepdim);
}

std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x, bool /*sorted: always*/, bool return_inverse,
                                          bool return_counts) {
  HPML_RECORD_OP("unique", x);
  ops::check_defined("unique", x);
  NoGradGuard ng;
  Tensor inverse, counts;
  Tensor flat = x.detach().contiguous().reshape({-1});
  Tensor values = ops::sorting::unique_1d(flat, return_inverse ? &inverse : nullptr, return_counts ? &counts : nullptr);
  if (return_inverse) inverse = inverse.reshape(x.sizes());
  return {values, inverse, counts};
}

Tensor nonzero(const Tensor& x) {
  HPML_RECORD_OP("nonzero", x);
  ops::check_defined("nonzero", x);
  NoGradGuard ng;
  return ops::sorting::nonzero_indices(x.detach().contiguous());
}

Tensor searchsorted(const Tensor& sorted_sequence, const Tensor& values, bool right,
                    std::optional<std::string_view> side) {
  HPML_RECORD_OP("searchsorted", sorted_sequence, values);
  if (side) {
    HPML_CHECK(*side == "left" || *side == "right", "searchsorted: side must be \"left\" or \"right\", got \"", *side,
               "\"");
    HPML_CHECK(!(right && *side == "left"), "searchsorted: side=\"left\" contradicts right=true");
    right = *side == "right";
  }
  return search("searchsorted", sorted_sequence, values, right);
}

Tensor searchsorted(const Tensor& sorted_sequence, const Scalar& value, bool right,
                    std::optional<std::string_view> side) {
  ops::check_defined("searchsorted", sorted_sequence, "sorted_sequence");
  return searchsorted(sorted_sequence, ops::wrap_scalar(value, sorted_sequence.device()), right, side);
}

Tensor bucketize(const Tensor& input, const Tensor& boundaries, bool right) {
  HPML_RECORD_OP("bucketize", input, boundaries);
  ops::check_defined("bucketize", boundaries, "boundaries");
  HPML_CHECK(boundaries.dim() == 1, "bucketize: boundaries must be 1-d, got shape ", boundaries.sizes(), " (",
             boundaries.dim(), "-d)");
  return search("bucketize", boundaries, input, right);
}

Tensor bucketize(const Scalar& input, const Tensor& boundaries, bool right) {
  ops::check_defined("bucketize", boundaries, "boundaries");
  return bucketize(ops::wrap_scalar(input, boundaries.device()), boundaries, right);
}

}  // namespace hpml
