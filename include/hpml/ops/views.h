// Views (share storage with their input; writes through one are seen by the other) and the
// copy ops that produce fresh memory: clone, contiguous, to.
#pragma once

#include <optional>

#include "hpml/core/tensor.h"

namespace hpml {

Tensor view(const Tensor& t, IntArrayRef shape);      // one dim may be -1; needs compatible strides
Tensor reshape(const Tensor& t, IntArrayRef shape);   // a view when possible, else a copy
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& t, int64_t dim, IntArrayRef sizes);
Tensor permute(const Tensor& t, IntArrayRef dims);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
Tensor movedim(const Tensor& t, int64_t source, int64_t destination);  // a permute moving one dim
Tensor t(const Tensor& t);                            // transpose of a <= 2-d tensor
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start = std::nullopt,
             std::optional<int64_t> end = std::nullopt, int64_t step = 1);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor expand(const Tensor& t, IntArrayRef sizes);    // -1 keeps a size
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
TensorList chunk(const Tensor& t, int64_t chunks, int64_t dim = 0);
TensorList split(const Tensor& t, int64_t split_size, int64_t dim = 0);
TensorList split(const Tensor& t, IntArrayRef split_sizes, int64_t dim = 0);
TensorList unbind(const Tensor& t, int64_t dim = 0);
// The raw strided view (no checks beyond bounds); autograd-aware.
Tensor as_strided(const Tensor& t, IntArrayRef sizes, IntArrayRef strides, std::optional<int64_t> offset = std::nullopt);

Tensor clone(const Tensor& t);
Tensor contiguous(const Tensor& t);
Tensor to(const Tensor& t, DType dtype, bool copy = false);
Tensor to(const Tensor& t, Device device, bool non_blocking = false, bool copy = false);

}  // namespace hpml
