// TensorImpl: view metadata bookkeeping (numel, contiguity).
#include "hpml/core/tensor_impl.h"

#include "hpml/core/error.h"
#include "hpml/core/tensor.h"

namespace hpml::autograd::detail {
void forget_leaf(Node* accumulator);  // src/autograd/node.cpp
}

namespace hpml {

AutogradMeta::AutogradMeta() = default;
// The accumulator outlives the leaf only inside graphs still holding it; tell it the leaf is gone.
AutogradMeta::~AutogradMeta() { autograd::detail::forget_leaf(grad_accumulator.get()); }

TensorImpl::TensorImpl(Storage storage, DType dtype, IntArrayRef sizes, IntArrayRef strides, int64_t offset)
    : storage_(std::move(storage)), sizes_(sizes), strides_(strides), offset_(offset), dtype_(dtype) {
  refresh();
}

TensorImpl::~TensorImpl() = default;

void TensorImpl::set_view(IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  sizes_ = DimVector(sizes);
  strides_ = DimVector(strides);
  offset_ = offset;
  refresh();
}

void TensorImpl::set_data(Storage storage, DType dtype, IntArrayRef sizes, IntArrayRef strides, int64_t offset) {
  storage_ = std::move(storage);
  dtype_ = dtype;
  set_view(sizes, strides, offset);
}

void TensorImpl::refresh() {
  HPML_ASSERT(sizes_.size() == strides_.size(), "sizes ", sizes_, " vs strides ", strides_);
  numel_ = 1;
  for (int64_t s : sizes_) numel_ *= s;
  // Contiguous = row-major dense; size-1 dims may have any stride (PyTorch's rule).
  contiguous_ = true;
  int64_t expected = 1;
  for (size_t i = sizes_.size(); i-- > 0;) {
    if (sizes_[i] == 1) continue;
    if (strides_[i] != expected) {
      contiguous_ = numel_ == 0;
      break;
    }
    if (__builtin_mul_overflow(expected, sizes_[i], &expected)) break;  // only empty tensors get here
  }
}

DimVector contiguous_strides(IntArrayRef sizes) {
  DimVector st(sizes.size());
  int64_t acc = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    st[i] = acc;
    // Zero-size dims count as 1 (PyTorch's strides); a shape like [0, 2^40, 2^40] has no elements
    // but strides that would overflow int64, so it is refused rather than wrapped around.
    HPML_CHECK(!__builtin_mul_overflow(acc, sizes[i] > 0 ? sizes[i] : 1, &acc), "tensor shape ",
               IntArrayRef(sizes), " has strides beyond int64");
  }
  return st;
}

int64_t checked_numel(IntArrayRef sizes, const char* op) {
  int64_t n = 1;
  for (int64_t s : sizes) {
    HPML_CHECK(s >= 0, op, ": negative dimension in shape ", sizes);
    HPML_CHECK(!__builtin_mul_overflow(n, s, &n), op, ": shape ", sizes, " has too many elements");
  }
  return n;
}

}  // namespace hpml
