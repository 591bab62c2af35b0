// Helpers shared by the op definitions: argument checks with PyTorch-style messages, dim
// wrapping, broadcasting, type promotion and output allocation. Everything that validates user
// input lives in the ops layer (kernels trust their arguments).
#pragma once

#include <initializer_list>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/graph.h"
#include "hpml/core/tensor.h"
#include "hpml/ops/checks.h"
#include "kernels/backend.h"

namespace hpml::ops {

// Throws "<op>: <what> is undefined" for an undefined tensor argument.
void check_defined(const char* op, const Tensor& t, const char* what = "input");

// Wraps a possibly negative dim into [0, ndim) ("<op>: dimension 3 out of range ...").
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// Wraps every dim and rejects repeats; empty `dims` means all dims.
DimVector wrap_dims(IntArrayRef dims, int64_t ndim, const char* op);

// PyTorch broadcasting; throws naming the op and both shapes.
DimVector broadcast_shapes(const char* op, IntArrayRef a, IntArrayRef b);

// PyTorch's result_type for two operands: dimensioned tensors take part fully; 0-d tensors and
// wrapped numbers (scalars) only lift the category (bool < integer < floating).
DType result_type(const Tensor& a, const Tensor& b);

// A contiguous tensor with uninitialised values.
Tensor empty_tensor(IntArrayRef sizes, DType dtype, Device device);
// A 0-d tensor flagged as a wrapped number (how a Scalar enters tensor ops).
Tensor wrap_scalar(const Scalar& s, Device device = kCPU);
// `t` converted to dtype without recording autograd (a no-op when it already has it).
Tensor cast(const Tensor& t, DType dtype);
// The dtype an op computes in for a result of dtype `t`: f32 for bf16 and f16, else t. An op on
// 2-byte floats casts them to f32, runs its f32 kernel and casts the result back (Note
// [Half-precision dtypes] in core/half.h): kernels that compute never see a 2-byte dtype.
inline DType compute_dtype(DType t) { return is_reduced_float(t) ? kFloat32 : t; }
// A fresh copy of x's values in its compute dtype, for a kernel to write into (scatter, index_add).
inline Tensor compute_copy(const Tensor& x) {
  return is_reduced_float(x.dtype()) ? cast(x.detach(), kFloat32) : x.detach().clone();
}
// A new tensor aliasing `t`'s storage with another view; records nothing.
Tensor make_view(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, int64_t offset);

// PyTorch's rule for scalars: a 0-d cpu tensor may meet a tensor on another device, where it is
// copied (keeping its wrapped-number flag) into `moved` and that is returned; anything else is
// returned as it is, with no copy of the handle (two atomic reference counts per op on the cpu).
Tensor scalar_to_device(const Tensor& t, const Tensor& other);
inline const Tensor& scalar_to_device_of(const Tensor& t, const Tensor& other, Tensor& moved) {
  if (t.dim() != 0 || !t.device().is_cpu() || !other.defined() || other.device().is_cpu()) [[likely]] return t;
  moved = scalar_to_device(t, other);
  return moved;
}
// `t` itself on the cpu, else a copy there: how the ops read tensor values on the host (once,
// named in a comment at the call: "host read").
Tensor to_host(const Tensor& t);
// Whether the current stream of `d` is capturing a graph (hpml::is_current_stream_capturing,
// core/graph.h): an op that reads values on the host must then keep them on the device instead
// (a read would wait, which a capture refuses, and a host value would be baked into every replay).
inline bool capturing(const Device& d) { return is_current_stream_capturing(d); }

// Note [Indices an op made itself]
// The bounds check of scatter / gather / index_select reads the index's range back from a device
// (a wait: refused inside a graph capture). An op whose backward indexes with a tensor it wrote
// itself, in range by construction (nll_loss's safe targets), holds this guard around that call,
// and the check is skipped on this thread for its scope.
class IndicesInRange {
 public:
  IndicesInRange();
  ~IndicesInRange();
  IndicesInRange(const IndicesInRange&) = delete;
  IndicesInRange& operator=(const IndicesInRange&) = delete;

 private:
  bool previous_;
};
bool indices_in_range();  // whether an IndicesInRange guard is held on this thread
// Writes the host tensor `src` into `dst` (same dtype and shape, dst contiguous, on any device).
void copy_from_host(const Tensor& dst, const Tensor& src);
// An i64 tensor of `shape` holding `v`, made on the host and copied to `device`.
Tensor index_tensor(const std::vector<int64_t>& v, IntArrayRef shape, Device device);
inline Tensor index_tensor(const std::vector<int64_t>& v, Device device) {
  return index_tensor(v, {static_cast<int64_t>(v.size())}, device);
}
// True if any element of a bool tensor is true.
bool any_true(const Tensor& t);

inline const kernels::Backend& be(const Tensor& t, const char* op) { return kernels::backend(t.device(), op); }

// Throws if several elements of `t` share memory (an expanded view): writing into it is ill-defined.
void check_no_internal_overlap(const char* op, const Tensor& t);
// Throws if `out` and `in` share memory without being the very same view (an elementwise write
// would read values it already overwrote). Identical views (x.add_(x)) are fine.
void check_no_partial_overlap(const char* op, const Tensor& out, const Tensor& in);
// PyTorch's can_cast: may a result of dtype `from` be written into a tensor of dtype `to`
// (no float into integer, nothing but bool into bool)?
inline bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::b8 && to == DType::b8) return false;
  return true;
}

// In-place ops: checks that `self` may be written (see Note [In-place ops and autograd]).
void check_inplace(const char* op, const Tensor& self);

}  // namespace hpml::ops

#include "hpml/autograd/grad_mode.h"

namespace hpml::ops {

// True when an in-place op on `self` (with the other tensor inputs `others`) must be recorded.
bool inplace_needs_record(const char* op, const Tensor& self, std::initializer_list<const Tensor*> others);
// After the autograd path of an in-place op: `self` takes `result`'s values and its history.
void adopt_result(Tensor& self, const Tensor& result);

// Runs an in-place op. See Note [In-place ops and autograd] in common.cpp.
//   kernel():          writes the result into self directly (nothing recorded)
//   out_of_place(old): the same op out of place on `old`, a clone of self (recorded)
template <typename K, typename O>
Tensor& apply_inplace(const char* op, Tensor& self, std::initializer_list<const Tensor*> others, K kernel,
                      O out_of_place) {
  if (inplace_needs_record(op, self, others)) {
    adopt_result(self, out_of_place(self.clone()));
  } else {
    kernel();
    self.bump_version();
  }
  return self;
}

}  // namespace hpml::ops
