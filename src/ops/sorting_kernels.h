// The CPU loops behind src/ops/sorting.cpp: sorting and selecting along rows, running sums and
// products, binary searches, unique and nonzero, over contiguous tensors of any dtype. The ops
// check the input, lay it out as the loops expect and allocate the outputs (see
// Note [Sorting loops outside the backend table] in sorting_kernels.cpp).
#pragma once

#include <cstdint>

#include "hpml/core/tensor.h"

namespace hpml::ops::sorting {

// x [rows, n] -> values [rows, k] (x's dtype), indices [rows, k] (i64), all contiguous: the
// first k elements of each row in ascending (or descending) order, NaN largest, ties in index
// order. k <= n; k < n selects without sorting the rest.
void sort_rows(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, bool descending);

// x [rows, n] -> values [rows], indices [rows]: the element of ascending rank (n - 1) / 2 of each
// row (ties in index order), or the row's first NaN if it has one. n >= 1.
void median_rows(const Tensor& values, const Tensor& indices, const Tensor& x);

// x [outer, n, inner] -> out (same shape, contiguous; i64 for integer x): the running sum or
// product along n, accumulated in double for floats and in 64-bit wrapping integers otherwise.
void cumulate(const Tensor& out, const Tensor& x, int64_t outer, int64_t n, int64_t inner, bool prod);

// seq [rows, m], values [rows, k] of one dtype -> out [rows, k] i64: each value's insertion index
// into its row of seq, the first (left) or the last (right) that keeps the row sorted.
void search_rows(const Tensor& out, const Tensor& seq, const Tensor& values, bool right);

// x 1-d -> the distinct values ascending (each NaN distinct), and, if non-null, inverse [n] i64
// and counts i64 (allocated here, as the number of values is known only then).
Tensor unique_1d(const Tensor& x, Tensor* inverse, Tensor* counts);

// x (any shape) -> [count, x.dim()] i64: the multi-index of every non-zero element, row-major.
Tensor nonzero_indices(const Tensor& x);

}  // namespace hpml::ops::sorting
