// Shared op helpers: checks, dims, broadcasting, promotion, allocation.
#include "ops/common.h"

#include <algorithm>
#include <utility>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/allocator.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/graph.h"
#include "hpml/ops/factories.h"
#include "autograd/internal.h"

namespace hpml::ops {

void check_defined(const char* op, const Tensor& t, const char* what) {
  HPML_CHECK(t.defined(), op, ": ", what, " is an undefined tensor");
}

void check_same_device(const char* op, std::initializer_list<NamedArg> args) {
  const NamedArg* first = nullptr;
  for (const NamedArg& a : args) {
    if (!a.second->defined()) continue;
    if (!first) {
      first = &a;
      continue;
    }
    HPML_CHECK(a.second->device() == first->second->device(), op,
               ": expected all tensors on the same device, but ", first->first, " is on ", first->second->device(),
               " and ", a.first, " is on ", a.second->device(), "\nhint: move with .to(", first->second->device(),
               ") first");
  }
}

void check_same_device(const char* op, const char* list_name, const std::vector<Tensor>& list, NamedArg with) {
  const bool has_with = with.second && with.second->defined();
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].defined()) continue;
    const Device d = list[i].device();
    if (has_with) {
      HPML_CHECK(d == with.second->device(), op, ": expected all tensors on the same device, but ", with.first,
                 " is on ", with.second->device(), " and ", list_name, "[", i, "] is on ", d, "\nhint: move with .to(",
                 with.second->device(), ") first");
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if (!list[j].defined()) continue;
      HPML_CHECK(d == list[j].device(), op, ": expected all tensors on the same device, but ", list_name, "[", j,
                 "] is on ", list[j].device(), " and ", list_name, "[", i, "] is on ", d, "\nhint: move with .to(",
                 list[j].device(), ") first");
      break;
    }
  }
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);
  HPML_CHECK(dim >= -n && dim < n, op, ": dimension ", dim, " out of range for a ", ndim, "-d tensor (expected in [",
             -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

DimVector wrap_dims(IntArrayRef dims, int64_t ndim, const char* op) {
  DimVector out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim, op);
    HPML_CHECK(std::find(out.begin(), out.end(), w) == out.end(), op, ": dimension ", d, " appears more than once in ",
               dims);
    out.push_back(w);
  }
  return out;
}

DimVector broadcast_shapes(const char* op, IntArrayRef a, IntArrayRef b) {
  if (a == b) return DimVector(a);
  const size_t n = std::max(a.size(), b.size());
  DimVector out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    HPML_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
               " cannot be broadcast together (dimension ", static_cast<int64_t>(i) - static_cast<int64_t>(n),
               ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {
int category(DType t) { return t == DType::b8 ? 0 : is_integral(t) ? 1 : 2; }

struct ResultState {
  DType dim_result = DType::b8, zero_result = DType::b8, wrapped_result = DType::b8;
  bool has_dim = false, has_zero = false, has_wrapped = false;
  void add(const Tensor& t) {
    DType d = t.dtype();
    if (t.impl()->is_wrapped_number()) {
      if (is_floating(d)) d = kDefaultFloat;  // a float scalar counts as the default float dtype
      wrapped_result = has_wrapped ? promote_types(wrapped_result, d) : d;
      has_wrapped = true;
    } else if (t.dim() == 0) {
      zero_result = has_zero ? promote_types(zero_result, d) : d;
      has_zero = true;
    } else {
      dim_result = has_dim ? promote_types(dim_result, d) : d;
      has_dim = true;
    }
  }
};

// The lower-priority result only matters if it is of a higher category.
void combine(bool& has_hi, DType& hi, bool has_lo, DType lo) {
  if (!has_lo) return;
  if (!has_hi) {
    has_hi = true;
    hi = lo;
    return;
  }
  if (category(lo) > category(hi)) hi = promote_types(hi, lo);
}
}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  ResultState s;
  s.add(a);
  s.add(b);
  bool has = s.has_zero;
  DType r = s.zero_result;
  combine(has, r, s.has_wrapped, s.wrapped_result);
  bool has_dim = s.has_dim;
  DType d = s.dim_result;
  combine(has_dim, d, has, r);
  return d;
}

Tensor empty_tensor(IntArrayRef sizes, DType dtype, Device device) {
  if (!device.is_cpu()) device = resolve_device(device, "empty");
  const int64_t n = checked_numel(sizes, "empty");
  int64_t bytes = 0;
  HPML_CHECK(!__builtin_mul_overflow(n, static_cast<int64_t>(itemsize(dtype)), &bytes) && bytes <= (int64_t{1} << 56),
             "empty: a tensor of shape ", sizes, " and dtype ", dtype, " is too large to allocate");
  Storage st = Storage::make(static_cast<size_t>(bytes), allocator_for(device), device);
  return Tensor(IntrusivePtr<TensorImpl>::make(std::move(st), dtype, sizes, contiguous_strides(sizes), 0));
}

Tensor wrap_scalar(const Scalar& s, Device device) {
  // Stored in full precision (f64 for floats); result_type treats it as the default float.
  Tensor t = empty_tensor({}, s.is_floating() ? DType::f64 : s.dtype(), device);
  if (device.is_cpu()) dispatch_all(t.dtype(), "scalar", [&]<typename T>() { *static_cast<T*>(t.data_ptr()) = s.to<T>(); });
  else be(t, "scalar").fill(kernels::view_of(t), s);  // device memory is written by a kernel
  t.impl()->set_wrapped_number(true);
  return t;
}

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty_tensor(t.sizes(), dtype, t.device());
  be(t, "to").copy(kernels::view_of(out), kernels::view_of(t));
  if (t.impl()->is_wrapped_number()) out.impl()->set_wrapped_number(true);
  return out;
}

bool any_true(const Tensor& t) {
  Tensor c = cast(t, kBool);
  Tensor dense = empty_tensor(c.sizes(), kBool, c.device());
  be(c, "any").copy(kernels::view_of(dense), kernels::view_of(c));
  dense = to_host(dense);  // host read: one copy
  const bool* p = static_cast<const bool*>(dense.data_ptr());
  for (int64_t i = 0; i < dense.numel(); ++i)
    if (p[i]) return true;
  return false;
}

Tensor scalar_to_device(const Tensor& t, const Tensor& other) {
  // Inside a graph capture the cpu value is filled on the device instead of copied (a copy from
  // pageable memory, which a capture refuses): its value is the fill's argument, baked into the
  // graph as CUDA bakes every kernel argument, and read now, as the eager copy reads it.
  const bool fill = capturing(other.device());
  HPML_CHECK(!fill || !t.requires_grad(), "a cpu scalar tensor that requires grad, used with a ", other.device(),
             " tensor inside a graph capture, would be baked in without its gradient\nhint: move it to ",
             other.device(), " before the capture");
  Tensor moved = fill ? full({}, t.item(), TensorOptions(t.dtype()).device(other.device())) : t.to(other.device());
  if (t.impl()->is_wrapped_number()) moved.impl()->set_wrapped_number(true);
  return moved;
}

Tensor to_host(const Tensor& t) { return t.device().is_cpu() ? t : t.to(kCPU); }

namespace {
thread_local bool t_indices_in_range = false;
}
IndicesInRange::IndicesInRange() : previous_(std::exchange(t_indices_in_range, true)) {}
IndicesInRange::~IndicesInRange() { t_indices_in_range = previous_; }
bool indices_in_range() { return t_indices_in_range; }


void copy_from_host(const Tensor& dst, const Tensor& src) {
  if (dst.device().is_cpu()) {
    be(dst, "copy").copy(kernels::view_of(dst), kernels::view_of(src));
    return;
  }
  const Tensor s = src.is_contiguous() ? src : src.contiguous();
  be(dst, "copy").copy_between(dst, s, false);
}

Tensor index_tensor(const std::vector<int64_t>& v, IntArrayRef shape, Device device) {
  Tensor t = empty_tensor(shape, kInt64, kCPU);  // written on the host
  std::copy(v.begin(), v.end(), static_cast<int64_t*>(t.data_ptr()));
  return device.is_cpu() ? t : t.to(device);
}

Tensor make_view(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  return Tensor(IntrusivePtr<TensorImpl>::make(t.impl()->storage(), t.dtype(), sizes, strides, offset));
}

// Note [In-place ops and autograd]
// An in-place op on a tensor that takes part in autograd is recorded like its out-of-place twin:
// the old value is cloned when the graph needs it, the op runs out of place on the clone, the
// result is copied back into `self`, and self's grad_fn becomes the new node. Two cases are
// refused, as in PyTorch: writing into a leaf that requires grad (its .grad would no longer be
// the gradient of anything), and writing into a view of a tensor that requires grad (PyTorch
// rewrites the base's history; hpml does not, so it says so instead of giving wrong gradients).
void check_no_internal_overlap(const char* op, const Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d)
    HPML_CHECK(t.strides()[d] != 0 || t.sizes()[d] <= 1, op,
               ": unsupported operation: more than one element of the written-to tensor refers to a single memory "
               "location (shape ", t.sizes(), ", strides ", t.strides(), ")\nhint: clone() the tensor before writing to it");
}

namespace {
// [first, last] element offsets a view touches in its storage (none when empty).
bool extent(const Tensor& t, int64_t* first, int64_t* last) {
  if (t.numel() == 0) return false;
  *first = *last = t.storage_offset();
  for (int64_t d = 0; d < t.dim(); ++d) {
    const int64_t span = (t.sizes()[d] - 1) * t.strides()[d];
    (span < 0 ? *first : *last) += span;
  }
  return true;
}
}  // namespace

void check_no_partial_overlap(const char* op, const Tensor& out, const Tensor& in) {
  if (!in.defined() || !out.defined()) return;
  if (out.impl()->storage().get() != in.impl()->storage().get()) return;
  const bool same_view = out.storage_offset() == in.storage_offset() && out.sizes() == in.sizes() &&
                         out.strides() == in.strides() && out.dtype() == in.dtype();
  if (same_view) return;
  int64_t f0, l0, f1, l1;
  if (!extent(out, &f0, &l0) || !extent(in, &f1, &l1)) return;
  const int64_t b0 = f0 * static_cast<int64_t>(out.element_size()), e0 = (l0 + 1) * static_cast<int64_t>(out.element_size());
  const int64_t b1 = f1 * static_cast<int64_t>(in.element_size()), e1 = (l1 + 1) * static_cast<int64_t>(in.element_size());
  HPML_CHECK(e0 <= b1 || e1 <= b0, op,
             ": unsupported operation: some elements of the input and of the written-to tensor refer to the same memory "
             "(shapes ", in.sizes(), " and ", out.sizes(), ")\nhint: clone() the input first");
}

void check_inplace(const char* op, const Tensor& self) {
  check_defined(op, self, "self");
  check_no_internal_overlap(op, self);
  if (!autograd::GradMode::is_enabled()) return;
  HPML_CHECK(!(self.is_leaf() && self.requires_grad()), op,
             ": a leaf tensor that requires grad is used in an in-place operation (shape ", self.sizes(),
             ")\nhint: wrap the update in a NoGradGuard, or clone() the tensor first");
  HPML_CHECK(!(self.is_view() && self.requires_grad()), op,
             ": in-place operation on a view of a tensor that requires grad is not supported (shape ", self.sizes(),
             ")\nhint: clone() the view first, or do it under a NoGradGuard");
}

bool inplace_needs_record(const char* op, const Tensor& self, std::initializer_list<const Tensor*> others) {
  check_inplace(op, self);
  if (!autograd::GradMode::is_enabled()) return false;
  bool any = self.requires_grad();
  for (const Tensor* t : others) any = any || (t->defined() && t->requires_grad());
  if (!any) return false;
  HPML_CHECK(self.requires_grad() || self.impl()->storage().use_count() == 1, op,
             ": this in-place operation would give autograd history to a tensor (shape ", self.sizes(),
             ") whose memory other tensors (views) share, and hpml does not rewrite the history of views"
             "\nhint: clone() the tensor first, or use the out-of-place form");
  return true;
}

void adopt_result(Tensor& self, const Tensor& result) {
  HPML_CHECK(result.sizes() == self.sizes(), "in-place operation: the result has shape ", result.sizes(),
             " but the tensor written to has shape ", self.sizes());
  be(self, "copy_").copy(kernels::view_of(self), kernels::view_of(result));
  self.bump_version();
  AutogradMeta& m = self.impl()->autograd_or_create();
  m.grad_fn = result.grad_fn();
  m.output_nr = result.output_nr();
  m.requires_grad = false;
  if (m.retains_grad && m.grad_fn) autograd::detail::install_retain_hook(self);
}

}  // namespace hpml::ops
