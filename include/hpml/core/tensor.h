// Tensor: a shallow, ref-counted handle to a TensorImpl. Copying a Tensor never copies data;
// clone() does. The op methods declared at the bottom are thin forwards to the free functions
// of the ops layer (defined in src/ops/tensor_methods.cpp), so `x.exp().sum()` reads like PyTorch.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "hpml/core/array_ref.h"
#include "hpml/core/device.h"
#include "hpml/core/dtype.h"
#include "hpml/core/scalar.h"
#include "hpml/core/tensor_impl.h"

namespace hpml {

namespace autograd {
class Node;
}
class Generator;

// Options for factories, in PyTorch's builder style: `zeros({2, 3}, kF64)`,
// `ones({3}, TensorOptions().dtype(kF64).requires_grad(true))`.
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType d) : dtype_(d) {}           // NOLINT: implicit like torch::TensorOptions
  TensorOptions(Device d) : device_(d) {}         // NOLINT
  TensorOptions dtype(DType d) const { auto o = *this; o.dtype_ = d; return o; }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; return o; }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }
  // The dtype asked for, or the default float (f32) when none was; full() infers it instead.
  DType dtype() const { return dtype_.value_or(kDefaultFloat); }
  bool has_dtype() const { return dtype_.has_value(); }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  std::optional<DType> dtype_;
  Device device_ = kCPU;
  bool requires_grad_ = false;
};

class Tensor;
using TensorList = std::vector<Tensor>;
using Hook = std::function<Tensor(const Tensor&)>;  // returns a replacement grad, or undefined to keep it

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(IntrusivePtr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata -------------------------------------------------------------------------
  bool defined() const { return static_cast<bool>(impl_); }
  TensorImpl* impl() const { return impl_.get(); }
  const IntrusivePtr<TensorImpl>& impl_ptr() const { return impl_; }
  int64_t dim() const { return ck("dim").dim(); }
  int64_t ndimension() const { return dim(); }
  IntArrayRef sizes() const { return ck("sizes").sizes(); }
  IntArrayRef shape() const { return ck("shape").sizes(); }
  IntArrayRef strides() const { return ck("strides").strides(); }
  int64_t size(int64_t d) const;    // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return ck("numel").numel(); }
  int64_t storage_offset() const { return ck("storage_offset").offset(); }
  DType dtype() const { return ck("dtype").dtype(); }
  Device device() const { return ck("device").device(); }
  TensorOptions options() const { return TensorOptions(dtype()).device(device()); }
  size_t element_size() const { return itemsize(dtype()); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }
  bool is_contiguous() const { return ck("is_contiguous").is_contiguous(); }
  bool is_floating_point() const { return is_floating(dtype()); }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }
  uint32_t use_count() const { return impl_.use_count(); }
  // The storage's version: bumped by every in-place write through any view of it.
  uint32_t version() const { return ck("version").storage()->version(); }
  void bump_version() const { ck("bump_version").storage()->bump_version(); }

  // ---- raw data ------------------------------------------------------------------------
  void* data_ptr() const { return ck("data_ptr").data(); }
  template <typename T>
  T* data_ptr() const {
    check_dtype_for_access(dtype_of_v<T>, "data_ptr");
    return static_cast<T*>(impl_->data());  // checked above
  }
  // Value of a one-element tensor.
  // The single value, copied to the host (waiting for the device). Defined in ops/tensor_methods.cpp.
  Scalar item() const;
  template <typename T>
  T item() const { return item().to<T>(); }

  // ---- autograd ----------------------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool r = true);
  Tensor& set_requires_grad(bool r) { return requires_grad_(r); }
  bool is_leaf() const;
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  uint32_t output_nr() const;
  // The accumulated gradient (undefined until a backward reaches this tensor).
  const Tensor& grad() const;
  Tensor& mutable_grad();
  void set_grad(const Tensor& g);
  // Keep .grad for a non-leaf tensor too.
  void retain_grad();
  bool retains_grad() const;
  // Computes gradients of this tensor w.r.t. the graph leaves and accumulates them into .grad.
  // `gradient` may be omitted only for one-element tensors (implicit 1).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  // Registers fn(grad) to run when this tensor's gradient is computed; returning a defined tensor
  // replaces the gradient. Returns the hook's index.
  size_t register_hook(Hook fn) const;
  // Leaves only: registers fn(leaf) to run after a backward pass has accumulated into leaf.grad
  // (torch.Tensor.register_post_accumulate_grad_hook; DistributedDataParallel's buckets use it).
  // Returns a handle for remove_post_accumulate_grad_hook.
  size_t register_post_accumulate_grad_hook(std::function<void(const Tensor&)> fn) const;
  void remove_post_accumulate_grad_hook(size_t handle) const;
  // A new tensor sharing storage but cut from the graph (requires_grad=false).
  Tensor detach() const;
  Tensor& detach_();
  bool is_view() const;

  // ---- shared memory (definitions: src/mp/shared_tensor.cpp) ----------------------------
  // Moves the storage into POSIX shared memory in place (every view follows); a no-op when it
  // is already shared. Another process can then map it through mp::Queue / mp::TensorHandle.
  Tensor& share_memory_();
  bool is_shared() const;

  // ---- ops as methods (definitions: src/ops/tensor_methods.cpp) ----------------------
  Tensor clone() const;
  Tensor contiguous() const;
  Tensor to(DType d, bool copy = false) const;
  // A copy on `d` (self when it is there already and copy is false). non_blocking: the copy may
  // still be running when this returns, when the host side is pinned memory or the copy is device
  // to device (synchronize(d) before the host reads a cpu result).
  Tensor to(Device d, bool non_blocking = false, bool copy = false) const;
  Tensor cpu() const { return to(kCPU); }
  Tensor type_as(const Tensor& other) const { return to(other.dtype()); }
  Tensor& copy_(const Tensor& src);
  Tensor& zero_();
  Tensor& fill_(const Scalar& v);
  Tensor& uniform_(double from = 0.0, double to = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);
  Tensor& bernoulli_(double p = 0.5, Generator* gen = nullptr);   // 1 with probability p, else 0
  Tensor& bernoulli_(const Tensor& p, Generator* gen = nullptr);  // p broadcasts to this tensor

  // views
  Tensor view(IntArrayRef shape) const;
  Tensor reshape(IntArrayRef shape) const;
  Tensor view_as(const Tensor& o) const { return view(o.sizes()); }
  Tensor reshape_as(const Tensor& o) const { return reshape(o.sizes()); }
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unflatten(int64_t dim, IntArrayRef sizes) const;
  Tensor permute(IntArrayRef dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor movedim(int64_t source, int64_t destination) const;
  Tensor t() const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, std::optional<int64_t> start = std::nullopt,
               std::optional<int64_t> end = std::nullopt, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(IntArrayRef sizes) const;
  Tensor expand_as(const Tensor& o) const { return expand(o.sizes()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  TensorList chunk(int64_t chunks, int64_t dim = 0) const;
  TensorList split(int64_t split_size, int64_t dim = 0) const;
  TensorList split(IntArrayRef split_sizes, int64_t dim = 0) const;
  TensorList unbind(int64_t dim = 0) const;

  // unary
  Tensor neg() const;
  Tensor abs() const;
  Tensor sign() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor log1p() const;
  Tensor expm1() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor square() const;
  Tensor reciprocal() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor floor() const;
  Tensor ceil() const;
  Tensor round() const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt) const;
  Tensor pow(const Scalar& exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor logical_not() const;

  // binary
  Tensor add(const Tensor& o, const Scalar& alpha = 1) const;
  Tensor add(const Scalar& o, const Scalar& alpha = 1) const;
  Tensor sub(const Tensor& o, const Scalar& alpha = 1) const;
  Tensor sub(const Scalar& o, const Scalar& alpha = 1) const;
  Tensor mul(const Tensor& o) const;
  Tensor mul(const Scalar& o) const;
  Tensor div(const Tensor& o) const;
  Tensor div(const Scalar& o) const;
  Tensor maximum(const Tensor& o) const;
  Tensor minimum(const Tensor& o) const;
  Tensor eq(const Tensor& o) const;
  Tensor ne(const Tensor& o) const;
  Tensor lt(const Tensor& o) const;
  Tensor le(const Tensor& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor ge(const Tensor& o) const;
  Tensor eq(const Scalar& o) const;
  Tensor ne(const Scalar& o) const;
  Tensor lt(const Scalar& o) const;
  Tensor le(const Scalar& o) const;
  Tensor gt(const Scalar& o) const;
  Tensor ge(const Scalar& o) const;
  Tensor logical_and(const Tensor& o) const;
  Tensor logical_or(const Tensor& o) const;
  Tensor masked_fill(const Tensor& mask, const Scalar& value) const;

  // more elementwise math (see hpml/ops/unary.h and binary.h)
  Tensor erf() const;
  Tensor erfc() const;
  Tensor tan() const;
  Tensor asin() const;
  Tensor acos() const;
  Tensor atan() const;
  Tensor sinh() const;
  Tensor cosh() const;
  Tensor log2() const;
  Tensor log10() const;
  Tensor exp2() const;
  Tensor trunc() const;
  Tensor frac() const;
  Tensor isnan() const;
  Tensor isinf() const;
  Tensor isfinite() const;
  Tensor nan_to_num(std::optional<double> nan = std::nullopt, std::optional<double> posinf = std::nullopt,
                    std::optional<double> neginf = std::nullopt) const;
  Tensor atan2(const Tensor& o) const;
  Tensor fmod(const Tensor& o) const;
  Tensor fmod(const Scalar& o) const;
  Tensor remainder(const Tensor& o) const;
  Tensor remainder(const Scalar& o) const;
  Tensor lerp(const Tensor& end, const Scalar& weight) const;
  Tensor lerp(const Tensor& end, const Tensor& weight) const;

  // in place (each bumps the version)
  Tensor& add_(const Tensor& o, const Scalar& alpha = 1);
  Tensor& add_(const Scalar& o, const Scalar& alpha = 1);
  Tensor& sub_(const Tensor& o, const Scalar& alpha = 1);
  Tensor& sub_(const Scalar& o, const Scalar& alpha = 1);
  Tensor& mul_(const Tensor& o);
  Tensor& mul_(const Scalar& o);
  Tensor& div_(const Tensor& o);
  Tensor& div_(const Scalar& o);
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max = std::nullopt);
  Tensor& relu_();
  Tensor& neg_();
  Tensor& exp_();
  Tensor& sqrt_();
  Tensor& masked_fill_(const Tensor& mask, const Scalar& value);

  // reductions (dims empty = all dims)
  Tensor sum(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor mean(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor var(IntArrayRef dims = {}, double correction = 1, bool keepdim = false) const;
  Tensor std(IntArrayRef dims = {}, double correction = 1, bool keepdim = false) const;
  Tensor prod(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor amax(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor amin(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor any(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor all(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  std::pair<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
  std::pair<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor argmin(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor logsumexp(IntArrayRef dims, bool keepdim = false) const;
  Tensor norm(double p = 2, IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // linear algebra
  Tensor matmul(const Tensor& o) const;
  Tensor mm(const Tensor& o) const;
  Tensor bmm(const Tensor& o) const;
  Tensor dot(const Tensor& o) const;

  // shape and indexing
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor repeat(IntArrayRef repeats) const;
  Tensor flip(IntArrayRef dims) const;
  Tensor tril(int64_t diagonal = 0) const;
  Tensor triu(int64_t diagonal = 0) const;

  // sorting, scans and searches (hpml/ops/sorting.h)
  Tensor cumsum(int64_t dim) const;
  Tensor cumprod(int64_t dim) const;
  std::pair<Tensor, Tensor> sort(int64_t dim = -1, bool descending = false, bool stable = false) const;
  Tensor argsort(int64_t dim = -1, bool descending = false, bool stable = false) const;
  std::pair<Tensor, Tensor> topk(int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true) const;
  Tensor median() const;
  std::pair<Tensor, Tensor> median(int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor, Tensor> unique(bool sorted = true, bool return_inverse = false,
                                            bool return_counts = false) const;
  Tensor nonzero() const;

 private:
  // The impl, or an hpml::Error naming `what` for an undefined tensor (never a null dereference).
  TensorImpl& ck(const char* what) const {
    if (!impl_) [[unlikely]] throw_undefined(what);
    return *impl_;
  }
  [[noreturn]] static void throw_undefined(const char* what);
  void check_dtype_for_access(DType requested, const char* what) const;
  IntrusivePtr<TensorImpl> impl_;
};

// Operators (PyTorch semantics: elementwise, broadcasting, promotion).
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Scalar& b);
Tensor operator-(const Tensor& a, const Scalar& b);
Tensor operator*(const Tensor& a, const Scalar& b);
Tensor operator/(const Tensor& a, const Scalar& b);
Tensor operator+(const Scalar& a, const Tensor& b);
Tensor operator-(const Scalar& a, const Tensor& b);
Tensor operator*(const Scalar& a, const Tensor& b);
Tensor operator/(const Scalar& a, const Tensor& b);
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator-=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, const Tensor& b);
Tensor& operator/=(Tensor& a, const Tensor& b);
Tensor& operator+=(Tensor& a, const Scalar& b);
Tensor& operator-=(Tensor& a, const Scalar& b);
Tensor& operator*=(Tensor& a, const Scalar& b);
Tensor& operator/=(Tensor& a, const Scalar& b);

// Prints like PyTorch: tensor([[1., 2.], [3., 4.]], requires_grad=true). Defined in
// ops/print.cpp, above core: printing copies the values to the host and names the grad_fn.
std::ostream& operator<<(std::ostream& os, const Tensor& t);
// Same text as operator<<.
std::string to_string(const Tensor& t);

}  // namespace hpml
