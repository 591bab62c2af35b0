// TensorView: what a kernel sees of a tensor — a data pointer, sizes, strides (in elements) and
// dtype. Non-owning and cheap; the op that built it keeps the tensor alive for the call.
#pragma once

#include "hpml/core/array_ref.h"
#include "hpml/core/dtype.h"
#include "hpml/core/tensor.h"

namespace hpml::kernels {

struct TensorView {
  char* data = nullptr;
  DimVector sizes;
  DimVector strides;  // in elements; may be 0 (broadcast) or negative (flip)
  DType dtype = DType::f32;

  int64_t dim() const { return static_cast<int64_t>(sizes.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : sizes) n *= s;
    return n;
  }
  template <typename T>
  T* ptr() const { return reinterpret_cast<T*>(data); }
};

inline TensorView view_of(const Tensor& t) {
  return TensorView{static_cast<char*>(t.data_ptr()), DimVector(t.sizes()), DimVector(t.strides()), t.dtype()};
}

// `t` seen with the shape `shape` (right-aligned broadcasting: new or size-1 dims get stride 0).
// The caller has checked that the shapes broadcast.
inline TensorView broadcast_view(const Tensor& t, IntArrayRef shape) {
  TensorView v{static_cast<char*>(t.data_ptr()), DimVector(shape), DimVector(shape.size(), 0), t.dtype()};
  int64_t off = static_cast<int64_t>(shape.size()) - t.dim();
  for (int64_t i = 0; i < t.dim(); ++i)
    v.strides[static_cast<size_t>(off + i)] = t.sizes()[i] == 1 ? 0 : t.strides()[i];
  return v;
}

}  // namespace hpml::kernels
