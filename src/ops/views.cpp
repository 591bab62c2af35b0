// View ops (new sizes/strides/offset over the same storage) and the copies clone/contiguous/to.
// The backward of a view that picks elements (select, slice, narrow, as_strided) writes the
// gradient into zeros of the input's shape through the same view: see view_scatter below.
#include "hpml/ops/views.h"

#include <algorithm>
#include <numeric>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using ops::make_view;
using ops::wrap_dim;

namespace {

// Geometry of a view relative to a contiguous tensor of the base's shape.
struct Geometry {
  DimVector sizes, strides;
  int64_t offset = 0;
};

// out = zeros(base_sizes); out.as_strided(geometry) = g. Differentiable (its backward takes the
// same view of the incoming gradient), so double backward through views works.
Tensor view_scatter(const Tensor& g, IntArrayRef base_sizes, const Geometry& geo) {
  Tensor out = zeros(base_sizes, TensorOptions(g.dtype()).device(g.device()));
  Tensor dst = make_view(out, geo.sizes, geo.strides, geo.offset);
  ops::be(g, "view_scatter").copy(kernels::view_of(dst), kernels::view_of(g));
  if (autograd::should_record(g)) {
    autograd::record("view_scatter", {g}, {out}, {}, [geo](const Ctx& c) {
      // g(0): [base_sizes] contiguous -> the viewed part
      Tensor g = c.g(0).contiguous();
      return TensorList{as_strided(g, geo.sizes, geo.strides, g.storage_offset() + geo.offset)};
    });
  }
  return out;
}

// Records a view op: the output shares storage and is marked as a view for in-place checks.
// The input is saved (though backward does not read it) so that an in-place write into the
// base after the view was taken is caught at backward: the view's history would be stale, and
// hpml does not rewrite it (see Note [In-place ops and autograd]).
template <typename F>
Tensor finish_view(const char* name, const Tensor& in, Tensor out, F backward) {
  if (autograd::should_record(in)) {
    autograd::record(name, {in}, {out}, {in}, std::move(backward));
    if (in.requires_grad()) out.impl()->autograd_or_create().is_view = true;
  }
  return out;
}

// Note [One node for split]
// split, chunk and unbind return several views of one input. Recorded as one slice (or select)
// each, the backward of k pieces scatters each piece's gradient into a zero tensor of the whole
// input's size and adds the k of them: k full-size passes where one would do, and for unbind
// over a long dim, quadratic. So the pieces are taken without recording and share one node, as
// PyTorch's SplitBackward, whose backward concatenates the pieces' gradients (stack for unbind;
// the engine gives the pieces that got no gradient zeros of their shape).
template <typename F>
TensorList finish_views(const char* name, const Tensor& in, TensorList outs, F backward) {
  if (autograd::should_record(in)) {
    autograd::record(name, std::span<const Tensor>(&in, 1), std::span<const Tensor>(outs.data(), outs.size()),
                     std::span<const Tensor>(&in, 1), std::move(backward));
    if (in.requires_grad())
      for (Tensor& o : outs) o.impl()->autograd_or_create().is_view = true;
  }
  return outs;
}

// The pieces of `t` along dim d, of the given sizes, with one "split" node for all of them.
TensorList split_pieces(const Tensor& t, int64_t d, const std::vector<int64_t>& sizes) {
  TensorList out;
  {
    autograd::NoGradGuard ng;
    int64_t start = 0;
    for (int64_t s : sizes) {
      out.push_back(slice(t, d, start, start + s, 1));
      start += s;
    }
  }
  return finish_views("split", t, std::move(out), [d](const Ctx& c) {
    // grads: one per piece, [..., size_i, ...] -> [..., sum size_i, ...]
    return TensorList{cat(c.grads, d)};
  });
}

DimVector infer_size(IntArrayRef shape, int64_t numel, const char* op) {
  DimVector out(shape);
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      HPML_CHECK(infer < 0, op, ": only one dimension can be inferred (-1) in shape ", shape);
      infer = static_cast<int64_t>(i);
    } else {
      HPML_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in shape ", shape);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    HPML_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape, " is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    HPML_CHECK(known == numel, op, ": shape ", shape, " is invalid for input of size ", numel);
  }
  return out;
}

// PyTorch's computeStride: strides for viewing (old sizes, strides) as new sizes, if possible.
std::optional<DimVector> view_strides(IntArrayRef old_sizes, IntArrayRef old_strides, IntArrayRef new_sizes) {
  DimVector st(new_sizes.size());
  int64_t numel = 1;
  for (int64_t s : old_sizes) numel *= s;
  if (numel == 0 || old_sizes.empty()) return contiguous_strides(new_sizes);
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base = old_strides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    if (d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        st[view_d] = view_numel * chunk_base;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return st;
}

Tensor reshape_backward(const Ctx& c, const DimVector& in_sizes) { return c.g(0).reshape(in_sizes); }

}  // namespace

Tensor view(const Tensor& t, IntArrayRef shape) {
  HPML_RECORD_OP("view", t);
  ops::check_defined("view", t);
  DimVector sizes = infer_size(shape, t.numel(), "view");
  auto st = view_strides(t.sizes(), t.strides(), sizes);
  HPML_CHECK(st.has_value(), "view: size ", shape, " is not compatible with input of shape ", t.sizes(),
             " and strides ", t.strides(), " (at least one dimension spans across two contiguous subspaces)",
             "\nhint: use reshape() instead");
  DimVector in_sizes(t.sizes());
  return finish_view("view", t, make_view(t, sizes, *st, t.storage_offset()),
                     [in_sizes](const Ctx& c) { return TensorList{reshape_backward(c, in_sizes)}; });
}

Tensor reshape(const Tensor& t, IntArrayRef shape) {
  HPML_RECORD_OP("reshape", t);
  ops::check_defined("reshape", t);
  DimVector sizes = infer_size(shape, t.numel(), "reshape");
  if (view_strides(t.sizes(), t.strides(), sizes)) return view(t, sizes);
  return view(clone(t), sizes);
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  HPML_RECORD_OP("flatten", t);
  ops::check_defined("flatten", t);
  if (t.dim() == 0) return reshape(t, {1});
  int64_t s = wrap_dim(start_dim, t.dim(), "flatten"), e = wrap_dim(end_dim, t.dim(), "flatten");
  HPML_CHECK(s <= e, "flatten: start_dim (", start_dim, ") cannot come after end_dim (", end_dim, ")");
  DimVector sizes;
  for (int64_t d = 0; d < s; ++d) sizes.push_back(t.sizes()[d]);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= t.sizes()[d];
  sizes.push_back(n);
  for (int64_t d = e + 1; d < t.dim(); ++d) sizes.push_back(t.sizes()[d]);
  return reshape(t, sizes);
}

Tensor unflatten(const Tensor& t, int64_t dim, IntArrayRef sizes) {
  HPML_RECORD_OP("unflatten", t);
  ops::check_defined("unflatten", t);
  HPML_CHECK(t.dim() > 0, "unflatten: cannot unflatten a 0-d tensor");
  int64_t d = wrap_dim(dim, t.dim(), "unflatten");
  HPML_CHECK(!sizes.empty(), "unflatten: sizes must be non-empty");
  DimVector inner = infer_size(sizes, t.sizes()[d], "unflatten");
  DimVector shape;
  for (int64_t i = 0; i < d; ++i) shape.push_back(t.sizes()[i]);
  for (int64_t s : inner) shape.push_back(s);
  for (int64_t i = d + 1; i < t.dim(); ++i) shape.push_back(t.sizes()[i]);
  return reshape(t, shape);
}

Tensor permute(const Tensor& t, IntArrayRef dims) {
  HPML_RECORD_OP("permute", t);
  ops::check_defined("permute", t);
  HPML_CHECK(static_cast<int64_t>(dims.size()) == t.dim(), "permute: number of dims in ", dims,
             " does not match the tensor's ", t.dim(), " dims (shape ", t.sizes(), ")");
  DimVector perm = ops::wrap_dims(dims, t.dim(), "permute");
  DimVector sizes(perm.size()), strides(perm.size()), inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    sizes[i] = t.sizes()[perm[i]];
    strides[i] = t.strides()[perm[i]];
    inverse[perm[i]] = static_cast<int64_t>(i);
  }
  return finish_view("permute", t, make_view(t, sizes, strides, t.storage_offset()),
                     [inverse](const Ctx& c) { return TensorList{c.g(0).permute(inverse)}; });
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  HPML_RECORD_OP("transpose", t);
  ops::check_defined("transpose", t);
  if (t.dim() == 0) return permute(t, {});
  DimVector perm(t.dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[wrap_dim(d0, t.dim(), "transpose")], perm[wrap_dim(d1, t.dim(), "transpose")]);
  return permute(t, perm);
}

Tensor movedim(const Tensor& t, int64_t source, int64_t destination) {
  HPML_RECORD_OP("movedim", t);
  ops::check_defined("movedim", t);
  const int64_t n = t.dim(), src = wrap_dim(source, n, "movedim"), dst = wrap_dim(destination, n, "movedim");
  DimVector order;
  for (int64_t d = 0; d < n; ++d)
    if (d != src) order.push_back(d);
  if (n > 0) order.insert(dst, src);
  return permute(t, order);
}

Tensor t(const Tensor& x) {
  HPML_RECORD_OP("t", x);
  ops::check_defined("t", x);
  HPML_CHECK(x.dim() <= 2, "t: expects a tensor with <= 2 dimensions, but got one of shape ", x.sizes(),
             "\nhint: use transpose(dim0, dim1) or permute");
  return x.dim() < 2 ? permute(x, x.dim() == 1 ? IntArrayRef({0}) : IntArrayRef()) : transpose(x, 0, 1);
}

Tensor as_strided(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, std::optional<int64_t> offset) {
  HPML_RECORD_OP("as_strided", t);
  ops::check_defined("as_strided", t);
  HPML_CHECK(sizes.size() == strides.size(), "as_strided: sizes ", sizes, " and strides ", strides,
             " have different lengths");
  const int64_t off = offset.value_or(t.storage_offset());
  HPML_CHECK(off >= 0, "as_strided: negative storage offset ", off);
  int64_t max_index = off;
  bool empty_view = false;
  for (size_t i = 0; i < sizes.size(); ++i) {
    HPML_CHECK(sizes[i] >= 0 && strides[i] >= 0, "as_strided: negative size or stride in ", sizes, " / ", strides);
    if (sizes[i] == 0) empty_view = true;
    int64_t span = 0;
    HPML_CHECK(sizes[i] == 0 || (!__builtin_mul_overflow(sizes[i] - 1, strides[i], &span) &&
                                 !__builtin_add_overflow(max_index, span, &max_index)),
               "as_strided: sizes ", sizes, " with strides ", strides, " overflow");
  }
  const int64_t storage_elems = static_cast<int64_t>(t.impl()->storage()->nbytes() / t.element_size());
  HPML_CHECK(empty_view || max_index < storage_elems, "as_strided: view of sizes ", sizes, ", strides ", strides,
             ", offset ", off, " reaches past the end of its storage (", storage_elems, " elements)");
  // Backward: the gradient of each viewed element goes to the element of t it aliases; elements
  // viewed more than once add up (an index_add over flat positions of a contiguous t).
  DimVector vs(sizes), vst(strides), in_sizes(t.sizes());
  const int64_t rel = off - t.storage_offset();
  const bool contiguous_in = t.is_contiguous();
  return finish_view("as_strided", t, make_view(t, sizes, strides, off), [vs, vst, rel, in_sizes, contiguous_in](const Ctx& c) {
    HPML_CHECK(contiguous_in, "backward of as_strided: only supported for a contiguous input");
    const int64_t n_in = checked_numel(in_sizes, "as_strided");
    const int64_t n = checked_numel(vs, "as_strided");
    std::vector<int64_t> p(static_cast<size_t>(n));
    for (int64_t lin = 0; lin < n; ++lin) {
      int64_t rem = lin, o = rel;
      for (int64_t d = static_cast<int64_t>(vs.size()) - 1; d >= 0; --d) {
        o += (rem % vs[d]) * vst[d];
        rem /= vs[d];
      }
      HPML_CHECK(o >= 0 && o < n_in, "backward of as_strided: the view reaches element ", o,
                 " outside its input of ", n_in, " elements; hpml only differentiates views inside their input");
      p[static_cast<size_t>(lin)] = o;
    }
    const Tensor pos = ops::index_tensor(p, c.g(0).device());
    Tensor z = zeros({n_in}, TensorOptions(c.g(0).dtype()).device(c.g(0).device()));
    return TensorList{index_add(z, 0, pos, c.g(0).reshape({-1})).view(in_sizes)};
  });
}

Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step) {
  HPML_RECORD_OP("slice", t);
  ops::check_defined("slice", t);
  HPML_CHECK(t.dim() > 0, "slice: cannot slice a 0-d tensor");
  HPML_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t d = wrap_dim(dim, t.dim(), "slice"), n = t.sizes()[d];
  int64_t s = start.value_or(0), e = end.value_or(n);
  if (s < 0) s += n;
  if (e < 0) e += n;
  s = std::clamp<int64_t>(s, 0, n);
  e = std::clamp<int64_t>(e, s, n);
  const int64_t len = (e - s + step - 1) / step;
  DimVector sizes(t.sizes()), strides(t.strides());
  sizes[d] = len;
  strides[d] *= step;
  DimVector cs = contiguous_strides(t.sizes());
  Geometry geo{sizes, cs, s * cs[d]};
  geo.strides[d] *= step;
  DimVector in_sizes(t.sizes());
  return finish_view("slice", t, make_view(t, sizes, strides, t.storage_offset() + s * t.strides()[d]),
                     [geo, in_sizes](const Ctx& c) { return TensorList{view_scatter(c.g(0), in_sizes, geo)}; });
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  HPML_RECORD_OP("narrow", t);
  ops::check_defined("narrow", t);
  HPML_CHECK(t.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "narrow"), n = t.sizes()[d];
  if (start < 0) start += n;
  HPML_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: start (", start, ") + length (", length,
             ") exceeds dimension size (", n, ") of shape ", t.sizes());
  return slice(t, d, start, start + length, 1);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  HPML_RECORD_OP("select", t);
  ops::check_defined("select", t);
  HPML_CHECK(t.dim() > 0, "select: cannot select from a 0-d tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "select"), n = t.sizes()[d];
  HPML_CHECK(index >= -n && index < n, "select: index ", index, " is out of bounds for dimension ", dim,
             " with size ", n);
  if (index < 0) index += n;
  DimVector sizes(t.sizes()), strides(t.strides()), cs = contiguous_strides(t.sizes());
  sizes.erase(d);
  strides.erase(d);
  Geometry geo{sizes, cs, index * cs[d]};
  geo.strides.erase(d);
  DimVector in_sizes(t.sizes());
  return finish_view("select", t, make_view(t, sizes, strides, t.storage_offset() + index * t.strides()[d]),
                     [geo, in_sizes](const Ctx& c) { return TensorList{view_scatter(c.g(0), in_sizes, geo)}; });
}

Tensor expand(const Tensor& t, IntArrayRef sizes) {
  HPML_RECORD_OP("expand", t);
  ops::check_defined("expand", t);
  HPML_CHECK(static_cast<int64_t>(sizes.size()) >= t.dim(), "expand: the number of sizes provided (", sizes.size(),
             ") must be greater or equal to the number of dimensions in the tensor (", t.dim(), ")");
  const int64_t off = static_cast<int64_t>(sizes.size()) - t.dim();
  DimVector out_sizes(sizes), strides(sizes.size(), 0);
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    int64_t src = i - off;
    if (src < 0) {
      HPML_CHECK(sizes[i] >= 0, "expand: -1 is not allowed in a leading, non-existing dimension (", sizes, ")");
      continue;
    }
    int64_t have = t.sizes()[src];
    if (sizes[i] == -1) out_sizes[i] = have;
    HPML_CHECK(out_sizes[i] >= 0, "expand: invalid size ", sizes[i], " in ", sizes, " (only -1 may be negative)");
    HPML_CHECK(have == out_sizes[i] || have == 1, "expand: the expanded size of the tensor (", out_sizes[i],
               ") must match the existing size (", have, ") at non-singleton dimension ", i, "; target sizes: ",
               sizes, ", tensor sizes: ", t.sizes());
    strides[i] = have == 1 && out_sizes[i] != 1 ? 0 : t.strides()[src];
  }
  DimVector in_sizes(t.sizes());
  return finish_view("expand", t, make_view(t, out_sizes, strides, t.storage_offset()),
                     [in_sizes](const Ctx& c) { return TensorList{sum_to(c.g(0), in_sizes)}; });
}

Tensor squeeze(const Tensor& t) {
  HPML_RECORD_OP("squeeze", t);
  ops::check_defined("squeeze", t);
  DimVector sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.sizes()[d] == 1) continue;
    sizes.push_back(t.sizes()[d]);
    strides.push_back(t.strides()[d]);
  }
  DimVector in_sizes(t.sizes());
  return finish_view("squeeze", t, make_view(t, sizes, strides, t.storage_offset()),
                     [in_sizes](const Ctx& c) { return TensorList{reshape_backward(c, in_sizes)}; });
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  HPML_RECORD_OP("squeeze", t);
  ops::check_defined("squeeze", t);
  const int64_t d = wrap_dim(dim, t.dim(), "squeeze");
  DimVector sizes(t.sizes()), strides(t.strides());
  if (t.dim() > 0 && sizes[d] == 1) {
    sizes.erase(d);
    strides.erase(d);
  }
  DimVector in_sizes(t.sizes());
  return finish_view("squeeze", t, make_view(t, sizes, strides, t.storage_offset()),
                     [in_sizes](const Ctx& c) { return TensorList{reshape_backward(c, in_sizes)}; });
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  HPML_RECORD_OP("unsqueeze", t);
  ops::check_defined("unsqueeze", t);
  const int64_t d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  DimVector sizes(t.sizes()), strides(t.strides());
  int64_t st = d < t.dim() ? sizes[d] * strides[d] : 1;
  sizes.insert(d, 1);
  strides.insert(d, st);
  DimVector in_sizes(t.sizes());
  return finish_view("unsqueeze", t, make_view(t, sizes, strides, t.storage_offset()),
                     [in_sizes](const Ctx& c) { return TensorList{reshape_backward(c, in_sizes)}; });
}

TensorList split(const Tensor& t, int64_t split_size, int64_t dim) {
  HPML_RECORD_OP("split", t);
  ops::check_defined("split", t);
  HPML_CHECK(t.dim() > 0, "split: cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "split"), n = t.sizes()[d];
  HPML_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: split_size must be positive, got ", split_size);
  if (n == 0) return {narrow(t, d, 0, 0)};
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < n; s += split_size) sizes.push_back(std::min(split_size, n - s));
  return split_pieces(t, d, sizes);
}

TensorList split(const Tensor& t, IntArrayRef split_sizes, int64_t dim) {
  HPML_RECORD_OP("split", t);
  ops::check_defined("split", t);
  HPML_CHECK(t.dim() > 0, "split: cannot split a 0-d tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "split");
  int64_t total = 0;
  for (int64_t s : split_sizes) {
    HPML_CHECK(s >= 0, "split: negative size in split_sizes ", split_sizes);
    total += s;
  }
  HPML_CHECK(total == t.sizes()[d], "split: split_sizes ", split_sizes, " sum to ", total, " but dimension ", dim,
             " has size ", t.sizes()[d]);
  return split_pieces(t, d, std::vector<int64_t>(split_sizes.begin(), split_sizes.end()));
}

TensorList chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  HPML_RECORD_OP("chunk", t);
  ops::check_defined("chunk", t);
  HPML_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  HPML_CHECK(t.dim() > 0, "chunk: cannot chunk a 0-d tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "chunk"), n = t.sizes()[d];
  if (n == 0) {  // PyTorch: `chunks` empty tensors
    TensorList out;
    for (int64_t i = 0; i < chunks; ++i) out.push_back(narrow(t, d, 0, 0));
    return out;
  }
  return split(t, (n + chunks - 1) / chunks, dim);
}

TensorList unbind(const Tensor& t, int64_t dim) {
  HPML_RECORD_OP("unbind", t);
  ops::check_defined("unbind", t);
  HPML_CHECK(t.dim() > 0, "unbind: cannot unbind a 0-d tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "unbind");
  TensorList out;
  {
    autograd::NoGradGuard ng;  // one node for all the pieces: Note [One node for split]
    for (int64_t i = 0; i < t.sizes()[d]; ++i) out.push_back(select(t, d, i));
  }
  return finish_views("unbind", t, std::move(out), [d](const Ctx& c) {
    // grads: one per piece, the input's shape without dim d -> the input's shape
    return TensorList{stack(c.grads, d)};
  });
}

Tensor clone(const Tensor& t) {
  HPML_RECORD_OP("clone", t);
  ops::check_defined("clone", t);
  Tensor out = ops::empty_tensor(t.sizes(), t.dtype(), t.device());
  ops::be(t, "clone").copy(kernels::view_of(out), kernels::view_of(t));
  if (autograd::should_record(t))
    autograd::record("clone", {t}, {out}, {}, [](const Ctx& c) { return TensorList{c.g(0)}; });
  return out;
}

Tensor contiguous(const Tensor& t) {
  HPML_RECORD_OP("contiguous", t);
  ops::check_defined("contiguous", t);
  return t.is_contiguous() ? t : clone(t);
}

Tensor to(const Tensor& t, DType dtype, bool copy) {
  HPML_RECORD_OP("to", t);
  ops::check_defined("to", t);
  if (t.dtype() == dtype && !copy) return t;
  Tensor out = ops::empty_tensor(t.sizes(), dtype, t.device());
  ops::be(t, "to").copy(kernels::view_of(out), kernels::view_of(t));
  if (autograd::should_record(t)) {
    DType in_dtype = t.dtype();
    autograd::record("to", {t}, {out}, {}, [in_dtype](const Ctx& c) { return TensorList{c.g(0).to(in_dtype)}; });
  }
  return out;
}

Tensor to(const Tensor& t, Device device, bool non_blocking, bool copy) {
  HPML_RECORD_OP("to", t);
  ops::check_defined("to", t);
  device = resolve_device(device, "to");
  if (device == t.device()) return copy ? clone(t) : t;
  Tensor src = t;
  if (!src.is_contiguous()) {
    autograd::NoGradGuard no_grad;  // the node below covers the whole copy
    src = contiguous(t);            // on t's device: only dense bytes travel
  }
  Tensor out = ops::empty_tensor(t.sizes(), t.dtype(), device);
  // The device that is not the cpu does the copy (the destination's, device to device).
  kernels::backend(device.is_cpu() ? t.device() : device, "to").copy_between(out, src, non_blocking);
  if (autograd::should_record(t)) {
    const Device from = t.device();
    autograd::record("to", {t}, {out}, {}, [from](const Ctx& c) { return TensorList{c.g(0).to(from)}; });
  }
  return out;
}

}  // namespace hpml
