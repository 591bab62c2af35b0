// Rearranging ops composed from narrow, cat, repeat, index_select and scatter: roll, tile,
// repeat_interleave and diag. None records its own backward; autograd follows the parts.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "hpml/core/record.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {


Tensor roll(const Tensor& x, IntArrayRef shifts, IntArrayRef dims) {
  HPML_RECORD_OP("roll", x);
  ops::check_defined("roll", x);
  HPML_CHECK(!shifts.empty(), "roll: shifts must not be empty");
  if (dims.empty()) {
    // No dims: roll the flattened tensor and restore the shape.
    HPML_CHECK(shifts.size() == 1, "roll: without dims, shifts must have one element, got ", shifts);
    const int64_t zero = 0;
    return roll(x.reshape({-1}), shifts, IntArrayRef(&zero, 1)).reshape(x.sizes());
  }
  HPML_CHECK(shifts.size() == dims.size(), "roll: shifts and dims must have the same length, got shifts=", shifts,
             " and dims=", dims);
  Tensor out = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = ops::wrap_dim(dims[i], x.dim(), "roll");
    const int64_t n = x.dim() == 0 ? 1 : x.sizes()[d];
    if (n == 0 || x.dim() == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;  // in [0, n)
    if (s == 0) continue;
    // [.., n, ..] -> the last s entries along d, then the first n - s
    out = cat({out.narrow(d, n - s, s), out.narrow(d, 0, n - s)}, d);
  }
  return out.is_same(x) ? clone(x) : out;
}

Tensor tile(const Tensor& x, IntArrayRef reps) {
  HPML_RECORD_OP("tile", x);
  ops::check_defined("tile", x);
  // Fewer reps than dims: the leading dims repeat once (PyTorch's tile prepends ones).
  DimVector r;
  for (int64_t i = static_cast<int64_t>(reps.size()); i < x.dim(); ++i) r.push_back(1);
  for (int64_t v : reps) r.push_back(v);
  return repeat(x, r);
}

Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim) {
  HPML_RECORD_OP("repeat_interleave", x, repeats);
  ops::check_defined("repeat_interleave", x);
  ops::check_defined("repeat_interleave", repeats, "repeats");
  ops::check_same_device("repeat_interleave", {{"input", &x}, {"repeats", &repeats}});
  HPML_CHECK(repeats.dtype() == kInt64 || repeats.dtype() == kInt32,
             "repeat_interleave: repeats must be an integer tensor, got ", repeats.dtype());
  HPML_CHECK(repeats.dim() <= 1, "repeat_interleave: repeats must be 0-d or 1-d, got shape ", repeats.sizes());
  // No dim: the flattened input, repeated along its only dim.
  Tensor in = !dim ? x.reshape({-1}) : x.dim() == 0 ? x.reshape({1}) : x;
  const int64_t d = dim ? ops::wrap_dim(*dim, in.dim(), "repeat_interleave") : 0;
  const int64_t n = in.sizes()[d];
  const Tensor r = ops::to_host(repeats.to(kInt64).contiguous());  // host read: the repeats, once
  HPML_CHECK(r.numel() == 1 || r.numel() == n, "repeat_interleave: repeats must have one element or as many as the ",
             "input along dim ", d, " (", n, "), got shape ", repeats.sizes());
  const int64_t* rp = r.data_ptr<int64_t>();
  // Entry i of dim d appears repeats[i] times in a row: [n] -> [sum(repeats)] positions.
  std::vector<int64_t> pos;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = rp[r.numel() == 1 ? 0 : i];
    HPML_CHECK(k >= 0, "repeat_interleave: repeats must be non-negative, got ", k, " at position ", i);
    pos.insert(pos.end(), static_cast<size_t>(k), i);
  }
  return index_select(in, d, ops::index_tensor(pos, x.device()));
}

Tensor repeat_interleave(const Tensor& x, int64_t repeats, std::optional<int64_t> dim) {
  ops::check_defined("repeat_interleave", x);
  return repeat_interleave(x, scalar_tensor(repeats, TensorOptions(kInt64).device(x.device())), dim);
}

Tensor repeat_interleave(const Tensor& repeats) {
  ops::check_defined("repeat_interleave", repeats, "repeats");
  HPML_CHECK(repeats.dim() == 1, "repeat_interleave: repeats must be 1-d, got shape ", repeats.sizes());
  return repeat_interleave(arange(0, repeats.numel(), 1, TensorOptions(kInt64).device(repeats.device())), repeats, 0);
}

Tensor diag(const Tensor& x, int64_t diagonal) {
  HPML_RECORD_OP("diag", x);
  ops::check_defined("diag", x);
  HPML_CHECK(x.dim() == 1 || x.dim() == 2, "diag: expected a 1-d or 2-d input, got shape ", x.sizes());
  const int64_t k = diagonal;
  // The k-th diagonal starts at (r0, c0): below the main one for k < 0, right of it for k > 0.
  const int64_t r0 = std::max<int64_t>(-k, 0), c0 = std::max<int64_t>(k, 0);
  std::vector<int64_t> pos;
  if (x.dim() == 1) {
    // [n] -> [m, m], m = n + |k|: x[i] lands at (r0 + i, c0 + i).
    const int64_t n = x.sizes()[0], m = n + std::abs(k);
    for (int64_t i = 0; i < n; ++i) pos.push_back((r0 + i) * m + c0 + i);
    Tensor z = zeros({m * m}, TensorOptions(x.dtype()).device(x.device()));
    return scatter(z, 0, ops::index_tensor(pos, x.device()), x).view({m, m});
  }
  // [r, c] -> [len]: the entries (r0 + i, c0 + i) that lie inside the matrix.
  const int64_t r = x.sizes()[0], c = x.sizes()[1];
  const int64_t len = std::max<int64_t>(std::min(r - r0, c - c0), 0);
  for (int64_t i = 0; i < len; ++i) pos.push_back((r0 + i) * c + c0 + i);
  return index_select(x.reshape({-1}), 0, ops::index_tensor(pos, x.device()));
}

}  // namespace hpml
