// Joining, indexing and rearranging: cat, stack, index_select, gather, scatter, index_add,
// one_hot, masked_select, repeat, flip, pad, tril, triu, roll, tile, repeat_interleave, diag,
// index_put, take, masked_scatter. Index tensors are i64.
#pragma once

#include <optional>

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

// Shifts elements by shifts[i] along dims[i], wrapping around; no dims: the flattened tensor
// (shifts has one element) in the input's shape.
Tensor roll(const Tensor& x, IntArrayRef shifts, IntArrayRef dims = {});
// repeat, with ones prepended to reps when it has fewer entries than x has dims.
Tensor tile(const Tensor& x, IntArrayRef reps);
// Each element (no dim: of the flattened input) or slice along dim repeated repeats[i] times in
// a row; repeats is a number, a one-element tensor or one i64 per entry of dim.
Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim = std::nullopt);
Tensor repeat_interleave(const Tensor& x, int64_t repeats, std::optional<int64_t> dim = std::nullopt);
// [n] i64 repeats -> 0, .., 0 (repeats[0] times), 1, ..: repeat_interleave(arange(n), repeats).
Tensor repeat_interleave(const Tensor& repeats);
// 1-d [n] -> [n + |k|, n + |k|] with x on the k-th diagonal; 2-d -> its k-th diagonal (a copy).
// k > 0 is above the main diagonal, k < 0 below.
Tensor diag(const Tensor& x, int64_t diagonal = 0);
// x with x[indices] = values (accumulate: +=), PyTorch's advanced indexing: indices[i] indexes
// dim i (an undefined tensor takes the whole dim, like ':'), i64 indices broadcast together and
// may be negative, a bool mask indexes as many dims as it has; values broadcast to the result of
// x[indices]. Without accumulate, repeated positions get one of their values.
Tensor index_put(const Tensor& x, const TensorList& indices, const Tensor& values, bool accumulate = false);
// x read as 1-d (row-major, whatever its strides) at i64 positions (negative count from the end);
// the result has the index's shape.
Tensor take(const Tensor& x, const Tensor& index);
// x (broadcast with mask) with its k-th true mask position, row-major, set to source.flatten()[k].
Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source);

}  // namespace hpml
