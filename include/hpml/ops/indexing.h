// Joining, indexing and rearranging: cat, stack, index_select, gather, scatter, index_add,
// one_hot, masked_select, repeat, flip, pad, tril, triu. Index tensors are i64.
#pragma once

#include "hpml/core/tensor.h"

namespace hpml {

Tensor cat(const TensorList& ts, int64_t dim = 0);
Tensor stack(const TensorList& ts, int64_t dim = 0);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x with x[index[i][j]][j] = src[i][j] (dim 0); scatter_add adds instead.
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Scalar& value);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// x with x.select(dim, index[i]) += alpha * src.select(dim, i).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, const Scalar& alpha = 1);
// [..] i64 -> [.., num_classes] i64; num_classes = -1 infers max + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);
Tensor masked_select(const Tensor& x, const Tensor& mask);  // 1-d
Tensor repeat(const Tensor& x, IntArrayRef repeats);
Tensor flip(const Tensor& x, IntArrayRef dims);
// Constant padding; pad = {left, right} for the last dim, then {left, right} for the one before,
// ... (PyTorch's F.pad order). Negative amounts crop.
Tensor pad(const Tensor& x, IntArrayRef pad, const Scalar& value = 0);
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);

}  // namespace hpml
