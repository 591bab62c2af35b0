// Writing through indices, composed from flat scatter / index_add / index_select: index_put
// (PyTorch's advanced-indexing assignment), take and masked_scatter. Each turns its indices into
// positions in the flattened input, so autograd follows scatter's and index_add's backward.
#include <algorithm>
#include <vector>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

namespace {

// The values of an i64 index with negatives wrapped (i + size), each checked to lie in [0, size).
std::vector<int64_t> wrapped_values(const char* op, const Tensor& index, int64_t size, int64_t dim) {
  const Tensor c = ops::to_host(index.contiguous());  // host read: the index values, once
  const int64_t* p = c.data_ptr<int64_t>();
  std::vector<int64_t> v(static_cast<size_t>(c.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    HPML_CHECK(p[i] >= -size && p[i] < size, op, ": index ", p[i], " is out of bounds for dimension ", dim,
               " with size ", size);
    v[i] = p[i] < 0 ? p[i] + size : p[i];
  }
  return v;
}

// Per dim of x: an i64 index or undefined (':'). A bool mask covers as many dims as it has and
// becomes one i64 index per dim (the coordinates of its true entries, row-major).
TensorList expand_masks(const Tensor& x, const TensorList& indices) {
  TensorList out;
  for (size_t i = 0; i < indices.size(); ++i) {
    const Tensor& ix = indices[i];
    const int64_t at = static_cast<int64_t>(out.size());
    if (!ix.defined()) {
      out.push_back(Tensor());
      continue;
    }
    HPML_CHECK(ix.dtype() == kInt64 || ix.dtype() == kBool, "index_put: tensors used as indices must be i64 or bool, ",
               "got ", ix.dtype(), " at position ", i);
    if (ix.dtype() == kInt64) {
      out.push_back(ix);
      continue;
    }
    const int64_t k = ix.dim();
    HPML_CHECK(at + k <= x.dim(), "index_put: too many indices for a tensor of shape ", x.sizes());
    for (int64_t d = 0; d < k; ++d)
      HPML_CHECK(ix.sizes()[d] == x.sizes()[at + d], "index_put: the mask of shape ", ix.sizes(), " at position ", i,
                 " does not match the indexed tensor's shape ", x.sizes(), " at dimension ", at + d);
    const Tensor m = ops::to_host(ix.contiguous());  // host read: the mask, once
    const bool* mp = static_cast<const bool*>(m.data_ptr());
    std::vector<std::vector<int64_t>> coords(static_cast<size_t>(k));
    DimVector strides = contiguous_strides(ix.sizes());
    for (int64_t e = 0; e < m.numel(); ++e) {
      if (!mp[e]) continue;
      for (int64_t d = 0; d < k; ++d) coords[static_cast<size_t>(d)].push_back(e / strides[d] % ix.sizes()[d]);
    }
    for (int64_t d = 0; d < k; ++d) {
      const auto& cd = coords[static_cast<size_t>(d)];
      out.push_back(ops::index_tensor(cd, {static_cast<int64_t>(cd.size())}, x.device()));
    }
  }
  HPML_CHECK(static_cast<int64_t>(out.size()) <= x.dim(), "index_put: too many indices (", out.size(),
             ") for a tensor of shape ", x.sizes());
  return out;
}

// Positions in flattened x of the elements x[indices] names, shaped like the indexing result
// (PyTorch's rule: the broadcast index dims stand where the indices stand if they are adjacent,
// else first; the ':' dims keep their order around them). Returns {positions, result shape}.
std::pair<Tensor, DimVector> flat_positions(const Tensor& x, const TensorList& idx) {
  NoGradGuard ng;
  std::vector<int64_t> adv;  // dims with an index
  DimVector bshape;
  for (size_t d = 0; d < idx.size(); ++d) {
    if (!idx[d].defined()) continue;
    bshape = adv.empty() ? DimVector(idx[d].sizes()) : ops::broadcast_shapes("index_put", bshape, idx[d].sizes());
    adv.push_back(static_cast<int64_t>(d));
  }
  HPML_CHECK(!adv.empty(), "index_put: at least one index must be a tensor (got only ':')");
  const bool adjacent = adv.back() - adv.front() + 1 == static_cast<int64_t>(adv.size());
  const int64_t before = adjacent ? adv.front() : 0;  // ':' dims placed before the index block
  const DimVector xstr = contiguous_strides(x.sizes());
  // The index block: sum over indexed dims of index * stride, [bshape].
  Tensor block = zeros(bshape, TensorOptions(kInt64).device(x.device()));
  for (int64_t d : adv) {
    std::vector<int64_t> v = wrapped_values("index_put", idx[static_cast<size_t>(d)], x.sizes()[d], d);
    Tensor w = ops::index_tensor(v, idx[static_cast<size_t>(d)].sizes(), x.device());
    block = block + w * xstr[d];
  }
  DimVector slices;  // the ':' dims in order
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(adv.begin(), adv.end(), d) == adv.end()) slices.push_back(d);
  const int64_t nb = static_cast<int64_t>(bshape.size()), rank = static_cast<int64_t>(slices.size()) + nb;
  DimVector rshape, bview(rank, 1);
  for (int64_t j = 0; j < before; ++j) rshape.push_back(x.sizes()[slices[j]]);
  for (int64_t j = 0; j < nb; ++j) {
    rshape.push_back(bshape[j]);
    bview[before + j] = bshape[j];
  }
  for (size_t j = static_cast<size_t>(before); j < slices.size(); ++j) rshape.push_back(x.sizes()[slices[j]]);
  Tensor pos = block.reshape(bview);
  // Each ':' dim adds arange(size) * stride along its own position in the result.
  for (size_t j = 0; j < slices.size(); ++j) {
    const int64_t d = slices[j], at = static_cast<int64_t>(j) < before ? static_cast<int64_t>(j)
                                                                      : static_cast<int64_t>(j) + nb;
    DimVector v(rank, 1);
    v[at] = x.sizes()[d];
    pos = pos + arange(0, x.sizes()[d], 1, TensorOptions(kInt64).device(x.device())).reshape(v) * xstr[d];
  }
  return {pos.expand(rshape).reshape({-1}), rshape};
}

}  // namespace

Tensor index_put(const Tensor& x, const TensorList& indices, const Tensor& values, bool accumulate) {
  HPML_RECORD_OP("index_put", x, values);
  ops::check_defined("index_put", x);
  ops::check_defined("index_put", values, "values");
  ops::check_same_device("index_put", {{"input", &x}, {"values", &values}});
  for (size_t i = 0; i < indices.size(); ++i)  // PyTorch's rule: an index on the cpu or with the input
    HPML_CHECK(!indices[i].defined() || indices[i].device().is_cpu() || indices[i].device() == x.device(),
               "index_put: indices should be either on cpu or on the same device as the indexed tensor, but input is on ",
               x.device(), " and indices[", i, "] is on ", indices[i].device(), "\nhint: move with .to(", x.device(), ") first");
  HPML_CHECK(x.dim() > 0, "index_put: cannot index a 0-d tensor");
  HPML_CHECK(values.dtype() == x.dtype(), "index_put: values must have the input's dtype ", x.dtype(), ", got ",
             values.dtype());
  auto [pos, rshape] = flat_positions(x, expand_masks(x, indices));
  DimVector vb = ops::broadcast_shapes("index_put", values.sizes(), rshape);
  HPML_CHECK(IntArrayRef(vb) == IntArrayRef(rshape), "index_put: values of shape ", values.sizes(),
             " cannot be broadcast to the indexing result's shape ", rshape);
  // [*rshape] values -> one per position; x flattened, written (or added) at those positions.
  Tensor v = values.expand(rshape).reshape({-1});
  Tensor flat = x.reshape({-1});
  Tensor out = accumulate ? index_add(flat, 0, pos, v) : scatter(flat, 0, pos, v);
  return out.view(x.sizes());
}

Tensor take(const Tensor& x, const Tensor& index) {
  HPML_RECORD_OP("take", x, index);
  ops::check_defined("take", x);
  ops::check_defined("take", index, "index");
  ops::check_same_device("take", {{"input", &x}, {"index", &index}});
  HPML_CHECK(index.dtype() == kInt64, "take: index must be an i64 tensor, got ", index.dtype());
  const int64_t n = x.numel();
  std::vector<int64_t> v;
  {
    const Tensor c = ops::to_host(index.contiguous());  // host read: the index values, once
    const int64_t* p = c.data_ptr<int64_t>();
    for (int64_t i = 0; i < c.numel(); ++i) {
      HPML_CHECK(p[i] >= -n && p[i] < n, "take: index ", p[i], " is out of range for a tensor of ", n,
                 " elements (shape ", x.sizes(), ")");
      v.push_back(p[i] < 0 ? p[i] + n : p[i]);
    }
  }
  // x read as 1-d in row-major order, whatever its strides: [numel] -> [*index.shape]
  Tensor pos = ops::index_tensor(v, {static_cast<int64_t>(v.size())}, x.device());
  return index_select(x.reshape({-1}), 0, pos).reshape(index.sizes());
}

Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source) {
  HPML_RECORD_OP("masked_scatter", x, mask, source);
  ops::check_defined("masked_scatter", x);
  ops::check_defined("masked_scatter", mask, "mask");
  ops::check_defined("masked_scatter", source, "source");
  ops::check_same_device("masked_scatter", {{"input", &x}, {"mask", &mask}, {"source", &source}});
  HPML_CHECK(mask.dtype() == kBool, "masked_scatter: expected a bool mask, got ", mask.dtype());
  HPML_CHECK(source.dtype() == x.dtype(), "masked_scatter: source must have the input's dtype ", x.dtype(), ", got ",
             source.dtype());
  DimVector shape = ops::broadcast_shapes("masked_scatter", x.sizes(), mask.sizes());
  const Tensor m = ops::to_host(mask.expand(shape).contiguous());  // host read: the mask, once
  const bool* mp = static_cast<const bool*>(m.data_ptr());
  std::vector<int64_t> pos;
  for (int64_t i = 0; i < m.numel(); ++i)
    if (mp[i]) pos.push_back(i);
  const int64_t k = static_cast<int64_t>(pos.size());
  HPML_CHECK(source.numel() >= k, "masked_scatter: the mask selects ", k, " elements but source (shape ",
             source.sizes(), ") has only ", source.numel());
  // The i-th true position (row-major) takes source.flatten()[i]; the rest of source is unused.
  Tensor src = source.reshape({-1}).narrow(0, 0, k);
  Tensor flat = x.expand(shape).reshape({-1});
  return scatter(flat, 0, ops::index_tensor(pos, {k}, x.device()), src).view(shape);
}

}  // namespace hpml
