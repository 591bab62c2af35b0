// Sorting, selection, scans and searches: cumsum, cumprod, sort, argsort, topk, median, unique,
// nonzero, searchsorted, bucketize. PyTorch 1.13's names, arguments and defaults; every dtype
// works except where PyTorch refuses one (topk and median of bool, searches over bool).
// NaN sorts as the largest value (last ascending, first descending), as in PyTorch.
#pragma once

#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "hpml/core/tensor.h"

namespace hpml {

// Running sum / product along dim. Integer and bool inputs give i64; floats keep their dtype.
// Both are differentiable (cumprod also where the input has zeros).
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor cumprod(const Tensor& x, int64_t dim);

// (values, indices) sorted along dim. hpml always sorts stably (equal elements keep their order),
// so `stable` changes nothing; PyTorch's stable=false leaves the order of ties unspecified.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = false);
// The k largest (or smallest) along dim, with their indices; 0 <= k <= size(dim). The result is
// always sorted (largest first, or smallest first); sorted=false, whose order PyTorch leaves
// unspecified, gives the same. Ties keep index order.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true,
                               bool sorted = true);
// The lower median (element (n - 1) / 2 of the sorted values); NaN if there is a NaN (then the
// index is that of the first NaN). Global: of all elements, NaN for an empty floating tensor.
Tensor median(const Tensor& x);
std::pair<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim = false);

// The distinct elements of the flattened x, ascending, with (if asked for) `inverse` (x's shape,
// i64: where each element of x is in `values`) and `counts` (i64, one per value); outputs not
// asked for are undefined tensors. hpml always sorts (PyTorch's sorted=false order is a hash
// order); each NaN is its own value with a count of 1. Not differentiable.
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x, bool sorted = true, bool return_inverse = false,
                                          bool return_counts = false);
// [n, x.dim()] i64: the index of every non-zero element, in row-major order.
Tensor nonzero(const Tensor& x);

// For each value, the index at which it would be inserted into sorted_sequence (sorted along its
// last dim, the caller's promise, as in PyTorch) to keep it sorted: the first such index, or with
// right = true (or side = "right") the last. sorted_sequence is 1-d, or [..., M] with values
// [..., K] of the same leading dims. Compares in the promoted dtype; gives i64 of values' shape.
Tensor searchsorted(const Tensor& sorted_sequence, const Tensor& values, bool right = false,
                    std::optional<std::string_view> side = std::nullopt);
Tensor searchsorted(const Tensor& sorted_sequence, const Scalar& value, bool right = false,
                    std::optional<std::string_view> side = std::nullopt);
// The bucket of each element of input among 1-d `boundaries`: i with boundaries[i-1] < x <=
// boundaries[i] (right = false) or boundaries[i-1] <= x < boundaries[i] (right = true).
Tensor bucketize(const Tensor& input, const Tensor& boundaries, bool right = false);
Tensor bucketize(const Scalar& input, const Tensor& boundaries, bool right = false);

}  // namespace hpml
