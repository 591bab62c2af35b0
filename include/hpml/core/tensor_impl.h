// TensorImpl: the object behind a Tensor handle — view metadata (sizes, strides in elements,
// offset, dtype) over a shared Storage, plus optional autograd metadata.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "hpml/core/array_ref.h"
#include "hpml/core/dtype.h"
#include "hpml/core/storage.h"

namespace hpml {

class Tensor;
namespace autograd {
class Node;
}

// Per-tensor autograd state; absent (null) on tensors that never took part in autograd.
struct AutogradMeta {
  AutogradMeta();
  ~AutogradMeta();

  bool requires_grad = false;
  bool retains_grad = false;  // non-leaf that keeps .grad (retain_grad())
  bool is_view = false;       // made by a view op from a tensor that took part in autograd
  std::shared_ptr<Tensor> grad;  // accumulated gradient (leaves, retain_grad); shared with the
                                 // retain_grad hook so the hook needs no pointer to the tensor
  std::shared_ptr<autograd::Node> grad_fn;            // null for leaves
  uint32_t output_nr = 0;                             // which output of grad_fn this is
  std::shared_ptr<autograd::Node> grad_accumulator;   // leaves: the node that accumulates .grad
  std::vector<std::function<Tensor(const Tensor&)>> hooks;  // leaf hooks (non-leaf: on grad_fn)
  std::vector<std::function<void(const Tensor&)>> post_accumulate_hooks;  // leaves: after .grad is updated
  std::shared_ptr<uint64_t> retain_generation;  // retain_grad(): which hook is current
};

class TensorImpl : public RefCounted {
 public:
  TensorImpl(Storage storage, DType dtype, IntArrayRef sizes, IntArrayRef strides, int64_t offset);
  ~TensorImpl() override;

  const Storage& storage() const { return storage_; }
  DType dtype() const { return dtype_; }
  IntArrayRef sizes() const { return sizes_; }
  IntArrayRef strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t numel() const { return numel_; }
  int64_t dim() const { return static_cast<int64_t>(sizes_.size()); }
  bool is_contiguous() const { return contiguous_; }
  Device device() const { return storage_->device(); }
  void* data() const {
    return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(itemsize(dtype_));
  }

  // Changes the view in place (used by in-place view ops such as squeeze_ and by detach_).
  void set_view(IntArrayRef sizes, IntArrayRef strides, int64_t offset);
  // Points this tensor at other memory of another dtype, keeping the handle (and autograd
  // state): how Module::to(dtype) converts parameters that optimizers already hold.
  void set_data(Storage storage, DType dtype, IntArrayRef sizes, IntArrayRef strides, int64_t offset);

  bool is_wrapped_number() const { return wrapped_number_; }
  void set_wrapped_number(bool v) { wrapped_number_ = v; }

  AutogradMeta* autograd() const { return autograd_.get(); }
  AutogradMeta& autograd_or_create() {
    if (!autograd_) autograd_ = std::make_unique<AutogradMeta>();
    return *autograd_;
  }
  void reset_autograd() { autograd_.reset(); }

 private:
  void refresh();

  Storage storage_;
  DimVector sizes_, strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 1;
  DType dtype_;
  bool contiguous_ = true;
  bool wrapped_number_ = false;
  std::unique_ptr<AutogradMeta> autograd_;
};

// Strides of a contiguous (row-major) tensor of this shape.
DimVector contiguous_strides(IntArrayRef sizes);
// Product of sizes; throws on negative sizes or overflow, naming `op`.
int64_t checked_numel(IntArrayRef sizes, const char* op);

}  // namespace hpml
