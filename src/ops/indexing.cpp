// Joining, indexing and rearranging. cat, gather, scatter, index_select, index_add, flip, pad and
// tri have kernels and backward formulas; stack, repeat, masked_select and one_hot are composed.
#include "hpml/ops/indexing.h"

#include <algorithm>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::view_of;

namespace {

void check_index(const char* op, const Tensor& index) {
  ops::check_defined(op, index, "index");
  HPML_CHECK(index.dtype() == kInt64, op, ": index must be an i64 tensor, got ", index.dtype());
}

// Every value of `index` must lie in [0, size).
void check_bounds(const char* op, const Tensor& index, int64_t size, int64_t dim) {
  if (index.numel() == 0 || ops::indices_in_range()) return;  // Note [Indices an op made itself]
  if (ops::capturing(index.device())) {  // checked at each replay, on the device's side
    HPML_CHECK(index.device().type() != DeviceType::CUDA, op, ": the bounds check of an index on ", index.device(),
               " inside a graph capture is not done yet (the simulated device checks it at each replay)\nhint: index "
               "outside the capture");
    const Tensor range = stack({amin(index), amax(index)});
    ops::be(index, op).check_range(view_of(range), size, op, dim);
    return;
  }
  if (!index.device().is_cpu()) {
    // Checked where the index lives: its smallest and largest value come back, one copy.
    const Tensor range = stack({amin(index), amax(index)}).cpu();
    const int64_t lo = range.data_ptr<int64_t>()[0], hi = range.data_ptr<int64_t>()[1];
    HPML_CHECK(lo >= 0 && hi < size, op, ": index ", lo < 0 ? lo : hi, " is out of bounds for dimension ", dim,
               " with size ", size);
    return;
  }
  Tensor c = index.contiguous();
  const int64_t* p = c.data_ptr<int64_t>();
  for (int64_t i = 0; i < c.numel(); ++i) {
    HPML_CHECK(p[i] >= 0 && p[i] < size, op, ": index ", p[i], " is out of bounds for dimension ", dim,
               " with size ", size);
  }
}

// gather/scatter shapes: index has x's rank and fits in x (except along dim) and in src.
void check_gather_shapes(const char* op, const Tensor& x, int64_t dim, const Tensor& index, const Tensor* src) {
  HPML_CHECK(index.dim() == x.dim() || (index.dim() <= 1 && x.dim() <= 1), op,
             ": index must have as many dims as the input: index.shape=", index.sizes(), ", input.shape=", x.sizes());
  for (int64_t d = 0; d < index.dim(); ++d) {
    HPML_CHECK(d == dim || index.sizes()[d] <= x.sizes()[d], op, ": index.shape=", index.sizes(),
               " is larger than input.shape=", x.sizes(), " at dimension ", d);
    if (src)
      HPML_CHECK(index.sizes()[d] <= src->sizes()[d], op, ": index.shape=", index.sizes(),
                 " is larger than src.shape=", src->sizes(), " at dimension ", d);
  }
}

}  // namespace

// Note [cat skips legacy empty tensors]
// PyTorch 1.13 skips every 1-d tensor of size 0 in cat, whatever the other shapes (a relic of
// the days when empty tensors had shape [0]): cat({x[2, 3], empty[0]}, 1) is x. hpml does the
// same; the skipped tensor's gradient is an empty [0] tensor. If every tensor is [0], the result
// is the first one's copy (shape [0]).
Tensor cat(const TensorList& all, int64_t dim) {
  HPML_RECORD_OP("cat", std::span<const Tensor>(all));
  HPML_CHECK(!all.empty(), "cat: expected a non-empty list of tensors");
  for (size_t i = 0; i < all.size(); ++i) ops::check_defined("cat", all[i], "a tensor in the list");
  ops::check_same_device("cat", "tensors", all);
  TensorList ts;
  std::vector<size_t> kept;  // positions in `all` of the tensors that take part
  for (size_t i = 0; i < all.size(); ++i)
    if (!(all[i].dim() == 1 && all[i].sizes()[0] == 0)) ts.push_back(all[i]), kept.push_back(i);
  if (ts.empty()) ts.push_back(all[0]), kept.push_back(0);
  const Tensor& t0 = ts[0];
  HPML_CHECK(t0.dim() > 0, "cat: zero-dimensional tensor (at position ", kept[0], ") cannot be concatenated");
  const int64_t d = ops::wrap_dim(dim, t0.dim(), "cat");
  DType dt = t0.dtype();
  for (const Tensor& t : all) dt = promote_types(dt, t.dtype());
  int64_t total = 0;
  for (size_t j = 0; j < ts.size(); ++j) {
    const Tensor& t = ts[j];
    const size_t i = kept[j];
    HPML_CHECK(t.dim() == t0.dim(), "cat: tensors must have the same number of dimensions: got ", t0.dim(),
               " and ", t.dim(), " (tensor ", i, ", shape ", t.sizes(), ")");
    for (int64_t k = 0; k < t.dim(); ++k)
      HPML_CHECK(k == d || t.sizes()[k] == t0.sizes()[k], "cat: sizes of tensors must match except in dimension ", d,
                 ": tensor ", kept[0], " has shape ", t0.sizes(), ", tensor ", i, " has shape ", t.sizes());
    HPML_CHECK(t.device() == t0.device(), "cat: tensor ", i, " is on ", t.device(), ", tensor ", kept[0], " on ", t0.device());
    total += t.sizes()[d];
  }
  DimVector shape(t0.sizes());
  shape[d] = total;
  Tensor out = ops::empty_tensor(shape, dt, t0.device());
  // lengths[i] per tensor of `all`: its extent along d, or -1 for a skipped [0] tensor.
  DimVector lengths(all.size(), -1);
  int64_t off = 0;
  for (size_t j = 0; j < ts.size(); ++j) {
    const Tensor& t = ts[j];
    Tensor dst = ops::make_view(out, DimVector(t.sizes()), out.strides(), off * out.strides()[d]);
    ops::be(t, "cat").copy(view_of(dst), view_of(t));
    lengths[kept[j]] = t.sizes()[d];
    off += t.sizes()[d];
  }
  if (autograd::should_record(std::span<const Tensor>(all))) {
    autograd::record("cat", std::span<const Tensor>(all), std::span<const Tensor>(&out, 1), {}, [d, lengths](const Ctx& c) {
      // g [.., sum of lengths, ..] -> one slice per kept tensor; an empty [0] for each skipped one
      TensorList grads;
      int64_t start = 0;
      for (size_t i = 0; i < lengths.size(); ++i) {
        if (lengths[i] < 0) {
          grads.push_back(c.needs(i) ? zeros({0}, TensorOptions(c.g(0).dtype()).device(c.g(0).device())) : Tensor());
          continue;
        }
        grads.push_back(c.needs(i) ? c.g(0).narrow(d, start, lengths[i]) : Tensor());
        start += lengths[i];
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const TensorList& ts, int64_t dim) {
  HPML_RECORD_OP("stack", std::span<const Tensor>(ts));
  HPML_CHECK(!ts.empty(), "stack: expected a non-empty list of tensors");
  ops::check_defined("stack", ts[0], "a tensor in the list");
  ops::check_same_device("stack", "tensors", ts);
  const int64_t d = ops::wrap_dim(dim, ts[0].dim() + 1, "stack");
  TensorList us;
  for (size_t i = 0; i < ts.size(); ++i) {
    ops::check_defined("stack", ts[i], "a tensor in the list");
    HPML_CHECK(ts[i].sizes() == ts[0].sizes(), "stack: expects each tensor to be equal size, but got ", ts[0].sizes(),
               " at entry 0 and ", ts[i].sizes(), " at entry ", i);
    us.push_back(ts[i].unsqueeze(d));
  }
  return cat(us, d);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  HPML_RECORD_OP("index_select", x, index);
  ops::check_defined("index_select", x);
  check_index("index_select", index);
  ops::check_same_device("index_select", {{"input", &x}, {"index", &index}});
  HPML_CHECK(index.dim() <= 1, "index_select: index must be 0-d or 1-d, got shape ", index.sizes());
  const int64_t d = ops::wrap_dim(dim, x.dim(), "index_select");
  const int64_t size = x.dim() == 0 ? 1 : x.sizes()[d];
  check_bounds("index_select", index, size, d);
  DimVector shape(x.sizes());
  if (x.dim() > 0) shape[d] = index.numel();
  Tensor out = ops::empty_tensor(shape, x.dtype(), x.device());
  if (x.dim() == 0) {
    ops::be(x, "index_select").copy(view_of(out), view_of(x));
  } else {
    ops::be(x, "index_select").index_select(view_of(out), view_of(x), d, view_of(index.reshape({-1})));
  }
  if (autograd::should_record(x)) {
    DimVector xs(x.sizes());
    autograd::record("index_select", {x, index}, {out}, {index}, [xs, d](const Ctx& c) {
      // g [.., len(index), ..] -> x: rows added back where they were picked
      Tensor z = zeros(xs, TensorOptions(c.g(0).dtype()).device(c.g(0).device()));
      return TensorList{xs.empty() ? c.g(0) : index_add(z, d, c.s(0).reshape({-1}), c.g(0)), Tensor()};
    });
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  HPML_RECORD_OP("gather", x, index);
  ops::check_defined("gather", x);
  check_index("gather", index);
  ops::check_same_device("gather", {{"input", &x}, {"index", &index}});
  const int64_t d = ops::wrap_dim(dim, x.dim(), "gather");
  check_gather_shapes("gather", x, d, index, nullptr);
  check_bounds("gather", index, x.dim() == 0 ? 1 : x.sizes()[d], d);
  Tensor out = ops::empty_tensor(index.sizes(), x.dtype(), x.device());
  if (x.dim() == 0) ops::be(x, "gather").copy(view_of(out), kernels::broadcast_view(x, index.sizes()));
  else ops::be(x, "gather").gather(view_of(out), view_of(x), d, view_of(index));
  if (autograd::should_record(x)) {
    DimVector xs(x.sizes());
    autograd::record("gather", {x, index}, {out}, {index}, [xs, d](const Ctx& c) {
      Tensor z = zeros(xs, TensorOptions(c.g(0).dtype()).device(c.g(0).device()));
      return TensorList{scatter_add(z, d, c.s(0), c.g(0)), Tensor()};
    });
  }
  return out;
}

namespace {
Tensor scatter_impl(const char* op, const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, bool add) {
  ops::check_defined(op, x);
  ops::check_defined(op, src, "src");
  check_index(op, index);
  ops::check_same_device(op, {{"input", &x}, {"index", &index}, {"src", &src}});
  HPML_CHECK(x.dim() > 0, op, ": cannot scatter into a 0-d tensor");
  const int64_t d = ops::wrap_dim(dim, x.dim(), op);
  HPML_CHECK(src.dim() == x.dim(), op, ": src must have as many dims as the input: src.shape=", src.sizes(),
             ", input.shape=", x.sizes());
  check_gather_shapes(op, x, d, index, &src);
  check_bounds(op, index, x.sizes()[d], d);
  Tensor out = ops::compute_copy(x);  // bf16, f16: in f32, rounded once
  Tensor s = ops::cast(src, out.dtype());
  ops::be(x, op).scatter(view_of(out), d, view_of(index), view_of(s), add);
  out = ops::cast(out, x.dtype());
  if (autograd::should_record(x, src)) {
    DimVector src_sizes(src.sizes());
    autograd::record(op, {x, index, src}, {out}, {index}, [d, add, src_sizes](const Ctx& c) {
      const Tensor &g = c.g(0), &idx = c.s(0);
      // scatter overwrites: those positions of x get no gradient; scatter_add keeps them.
      Tensor gx = c.needs(0) ? (add ? g : scatter(g, d, idx, 0.0)) : Tensor();
      Tensor gs;
      if (c.needs(2)) {
        // src elements outside the index's shape were not used: zero gradient there.
        gs = gather(g, d, idx);
        DimVector amounts;
        for (int64_t k = gs.dim() - 1; k >= 0; --k) amounts.push_back(0), amounts.push_back(src_sizes[k] - gs.sizes()[k]);
        gs = pad(gs, amounts, 0);
      }
      return TensorList{gx, Tensor(), gs};
    });
  }
  return out;
}
}  // namespace

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  HPML_RECORD_OP("scatter", x, index, src);
  return scatter_impl("scatter", x, dim, index, src, false);
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value) {
  HPML_RECORD_OP("scatter", x, index);
  ops::check_defined("scatter", x);
  check_index("scatter", index);
  ops::check_same_device("scatter", {{"input", &x}, {"index", &index}});
  return scatter_impl("scatter", x, dim, index, full(index.sizes(), value, TensorOptions(x.dtype()).device(x.device())),
                      false);
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  HPML_RECORD_OP("scatter_add", x, index, src);
  return scatter_impl("scatter_add", x, dim, index, src, true);
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const Scalar& alpha) {
  HPML_RECORD_OP("index_add", x, index, src);
  ops::check_defined("index_add", x);
  ops::check_defined("index_add", src, "src");
  check_index("index_add", index);
  ops::check_same_device("index_add", {{"input", &x}, {"index", &index}, {"source", &src}});
  HPML_CHECK(index.dim() <= 1, "index_add: index must be 0-d or 1-d, got shape ", index.sizes());
  HPML_CHECK(x.dim() > 0, "index_add: cannot index_add into a 0-d tensor");
  const int64_t d = ops::wrap_dim(dim, x.dim(), "index_add");
  DimVector want(x.sizes());
  want[d] = index.numel();
  HPML_CHECK(src.sizes() == IntArrayRef(want), "index_add: src must have shape ", want, " (the input's shape with dim ",
             d, " = len(index)), got ", src.sizes());
  check_bounds("index_add", index, x.sizes()[d], d);
  Tensor out = ops::compute_copy(x);  // bf16, f16: added in f32, rounded once
  const double al = alpha.to_double();
  ops::be(x, "index_add").index_add(view_of(out), d, view_of(index.reshape({-1})), view_of(ops::cast(src, out.dtype())), al);
  out = ops::cast(out, x.dtype());
  if (autograd::should_record(x, src)) {
    autograd::record("index_add", {x, index, src}, {out}, {index}, [d, al](const Ctx& c) {
      return TensorList{c.g(0), Tensor(), c.needs(2) ? index_select(c.g(0), d, c.s(0).reshape({-1})) * al : Tensor()};
    });
  }
  return out;
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
  HPML_RECORD_OP("one_hot", index);
  check_index("one_hot", index);
  Tensor c = index.contiguous();
  const Tensor h = ops::to_host(c);  // host read: the classes, once
  const int64_t* p = h.data_ptr<int64_t>();
  int64_t mx = -1;
  for (int64_t i = 0; i < c.numel(); ++i) {
    HPML_CHECK(p[i] >= 0, "one_hot: class values must be non-negative, got ", p[i]);
    mx = std::max(mx, p[i]);
  }
  if (num_classes == -1) {
    HPML_CHECK(c.numel() > 0, "one_hot: cannot infer the number of classes from an empty tensor");
    num_classes = mx + 1;
  }
  HPML_CHECK(num_classes >= 1 || (num_classes == 0 && c.numel() == 0), "one_hot: num_classes must be positive, got ", num_classes);
  HPML_CHECK(mx < num_classes, "one_hot: class values must be smaller than num_classes (", num_classes, "), got ", mx);
  DimVector shape(index.sizes());
  shape.push_back(num_classes);
  Tensor out = zeros(shape, TensorOptions(kInt64).device(index.device()));
  if (c.numel() == 0) return out;
  return scatter(out, -1, c.unsqueeze(-1), Scalar(int64_t{1}));
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  HPML_RECORD_OP("masked_select", x, mask);
  ops::check_defined("masked_select", x);
  ops::check_defined("masked_select", mask, "mask");
  ops::check_same_device("masked_select", {{"input", &x}, {"mask", &mask}});
  HPML_CHECK(mask.dtype() == kBool, "masked_select: expected a bool mask, got ", mask.dtype());
  DimVector shape = ops::broadcast_shapes("masked_select", x.sizes(), mask.sizes());
  // Flat positions of the true mask entries, then an index_select (which brings the backward).
  const Tensor m = ops::to_host(mask.expand(shape).contiguous());  // host read: the mask, once
  const bool* mp = static_cast<const bool*>(m.data_ptr());
  std::vector<int64_t> pos;
  for (int64_t i = 0; i < m.numel(); ++i)
    if (mp[i]) pos.push_back(i);
  const Tensor idx = ops::index_tensor(pos, x.device());
  return index_select(x.expand(shape).reshape({-1}), 0, idx);
}

Tensor repeat(const Tensor& x, IntArrayRef repeats) {
  HPML_RECORD_OP("repeat", x);
  ops::check_defined("repeat", x);
  HPML_CHECK(static_cast<int64_t>(repeats.size()) >= x.dim(), "repeat: number of repeat dims (", repeats.size(),
             ") can not be smaller than the number of dimensions of the tensor (", x.dim(), ")");
  const int64_t lead = static_cast<int64_t>(repeats.size()) - x.dim();
  // [s0, s1] with repeats [r0, r1] -> view [1, s0, 1, s1] -> expand [r0, s0, r1, s1] -> [r0*s0, r1*s1]
  DimVector inter, expanded, out_shape;
  for (size_t i = 0; i < repeats.size(); ++i) {
    HPML_CHECK(repeats[i] >= 0, "repeat: repeats must be non-negative, got ", repeats);
    int64_t s = static_cast<int64_t>(i) < lead ? 1 : x.sizes()[static_cast<int64_t>(i) - lead];
    inter.push_back(1), inter.push_back(s);
    expanded.push_back(repeats[i]), expanded.push_back(s);
    out_shape.push_back(repeats[i] * s);
  }
  return x.reshape(inter).expand(expanded).reshape(out_shape);
}

Tensor flip(const Tensor& x, IntArrayRef dims) {
  HPML_RECORD_OP("flip", x);
  ops::check_defined("flip", x);
  DimVector fd = ops::wrap_dims(dims, x.dim(), "flip");
  if (dims.empty()) fd.clear();
  // Copy from a view that walks the flipped dims backwards (negative strides, kernel-internal).
  kernels::TensorView src = view_of(x);
  for (int64_t d : fd) {
    if (x.sizes()[d] == 0) continue;
    src.data += (x.sizes()[d] - 1) * x.strides()[d] * static_cast<int64_t>(x.element_size());
    src.strides[d] = -src.strides[d];
  }
  Tensor out = ops::empty_tensor(x.sizes(), x.dtype(), x.device());
  ops::be(x, "flip").copy(view_of(out), src);
  if (autograd::should_record(x)) {
    DimVector dd(fd);
    autograd::record("flip", {x}, {out}, {}, [dd](const Ctx& c) { return TensorList{flip(c.g(0), dd)}; });
  }
  return out;
}

Tensor pad(const Tensor& x, IntArrayRef pad_amounts, const Scalar& value) {
  HPML_RECORD_OP("pad", x);
  ops::check_defined("pad", x);
  const int64_t np = static_cast<int64_t>(pad_amounts.size());
  HPML_CHECK(np % 2 == 0 && np / 2 <= x.dim(), "pad: padding length must be even and at most twice the number of dims (",
             x.dim(), "), got ", pad_amounts);
  DimVector shape(x.sizes());
  Tensor src = x;   // the part of x that survives (negative pads crop)
  DimVector dst_start(x.dim(), 0);
  for (int64_t i = 0; i < np / 2; ++i) {
    const int64_t d = x.dim() - 1 - i, l = pad_amounts[2 * i], r = pad_amounts[2 * i + 1];
    shape[d] = x.sizes()[d] + l + r;
    HPML_CHECK(shape[d] >= 0, "pad: padding ", pad_amounts, " makes dimension ", d, " of shape ", x.sizes(), " negative");
    const int64_t crop_l = std::max<int64_t>(-l, 0), crop_r = std::max<int64_t>(-r, 0);
    src = src.narrow(d, std::min(crop_l, x.sizes()[d]), std::max<int64_t>(x.sizes()[d] - crop_l - crop_r, 0));
    dst_start[d] = std::max<int64_t>(l, 0);
  }
  Tensor out = full(shape, value, TensorOptions(x.dtype()).device(x.device()));
  int64_t off = 0;
  for (int64_t d = 0; d < x.dim(); ++d) off += dst_start[d] * out.strides()[d];
  Tensor dst = ops::make_view(out, src.sizes(), out.strides(), off);
  ops::be(x, "pad").copy(view_of(dst), view_of(src));
  if (autograd::should_record(x)) {
    DimVector neg;
    for (int64_t p : pad_amounts) neg.push_back(-p);
    autograd::record("pad", {x}, {out}, {}, [neg](const Ctx& c) { return TensorList{pad(c.g(0), neg, 0)}; });
  }
  return out;
}

namespace {
Tensor tri(const Tensor& x, int64_t diagonal, bool lower) {
  const char* name = lower ? "tril" : "triu";
  HPML_RECORD_OP(name, x);
  ops::check_defined(name, x);
  HPML_CHECK(x.dim() >= 2, name, ": input tensor must have at least 2 dimensions, got shape ", x.sizes());
  Tensor in = x.contiguous();
  Tensor out = ops::empty_tensor(x.sizes(), x.dtype(), x.device());
  ops::be(x, name).tri(view_of(out), view_of(in), diagonal, lower);
  if (autograd::should_record(x)) {
    autograd::record(name, {x}, {out}, {}, [diagonal, lower](const Ctx& c) {
      return TensorList{lower ? tril(c.g(0), diagonal) : triu(c.g(0), diagonal)};
    });
  }
  return out;
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return tri(x, diagonal, true); }
Tensor triu(const Tensor& x, int64_t diagonal) { return tri(x, diagonal, false); }

}  // namespace hpml
