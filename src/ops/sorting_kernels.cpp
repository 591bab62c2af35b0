// CPU loops for the sorting family: rows are sorted or selected as (value, index) pairs under one
// total order (the value order with NaN largest, then the index), so every result is stable and
// deterministic. Scans accumulate like PyTorch (double for floats).
#include "ops/sorting_kernels.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "hpml/core/threads.h"
#include "ops/common.h"

namespace hpml::ops::sorting {

// Note [Sorting loops outside the backend table]
// These loops are plain functions called by src/ops/sorting.cpp, not slots of the Backend table
// (src/kernels/backend.h), on purpose:
//  - they are comparison-bound scalar code (std::sort, binary search, a scan), with nothing to
//    gain from src/kernels/cpu's per-SIMD-target compilation;
//  - six slots for one family whose only backend is the CPU would grow the table every future
//    backend must fill before any other device needs them;
//  - they take contiguous tensors only (the ops move the dim last and copy), which keeps each a
//    dozen lines per dtype.
// The CPU is the only device a tensor can live on today. When a second backend arrives these
// become Backend slots with the signatures of sorting_kernels.h, which the ops already call
// through.

namespace {

constexpr int64_t kGrain = 32768;  // elements per parallel chunk (as kernels/cpu/loops.h)

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// a < b with NaN the largest value (NaNs equal to each other).
template <typename T>
bool less_nan(T a, T b) {
  if (is_nan(b)) return !is_nan(a);
  return a < b;
}

// The total order of (value, index) pairs: by value (ascending or descending), then by index.
template <typename T, bool Desc>
struct Before {
  bool operator()(const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& b) const {
    const bool ab = Desc ? less_nan(b.first, a.first) : less_nan(a.first, b.first);
    const bool ba = Desc ? less_nan(a.first, b.first) : less_nan(b.first, a.first);
    return ab || (!ba && a.second < b.second);
  }
};

int64_t row_grain(int64_t n) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, n)); }

template <typename T, bool Desc>
void sort_rows_t(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k) {
  // x [rows, n] -> values, indices [rows, k]
  const int64_t rows = x.sizes()[0], n = x.sizes()[1];
  const T* px = x.data_ptr<T>();
  T* pv = values.data_ptr<T>();
  int64_t* pi = indices.data_ptr<int64_t>();
  parallel_for(0, rows, row_grain(n), [&](int64_t lo, int64_t hi) {
    std::vector<std::pair<T, int64_t>> row(static_cast<size_t>(n));
    for (int64_t r = lo; r < hi; ++r) {
      for (int64_t i = 0; i < n; ++i) row[static_cast<size_t>(i)] = {px[r * n + i], i};
      if (k < n) std::partial_sort(row.begin(), row.begin() + k, row.end(), Before<T, Desc>{});
      else std::sort(row.begin(), row.end(), Before<T, Desc>{});
      for (int64_t j = 0; j < k; ++j) {
        pv[r * k + j] = row[static_cast<size_t>(j)].first;
        pi[r * k + j] = row[static_cast<size_t>(j)].second;
      }
    }
  });
}

template <typename T>
void median_rows_t(const Tensor& values, const Tensor& indices, const Tensor& x) {
  // x [rows, n] -> values, indices [rows]
  const int64_t rows = x.sizes()[0], n = x.sizes()[1];
  const T* px = x.data_ptr<T>();
  T* pv = values.data_ptr<T>();
  int64_t* pi = indices.data_ptr<int64_t>();
  parallel_for(0, rows, row_grain(n), [&](int64_t lo, int64_t hi) {
    std::vector<std::pair<T, int64_t>> row(static_cast<size_t>(n));
    for (int64_t r = lo; r < hi; ++r) {
      const T* src = px + r * n;
      const T* nan = std::find_if(src, src + n, [](T v) { return is_nan(v); });
      if (nan != src + n) {  // PyTorch's median propagates NaN
        pv[r] = *nan, pi[r] = nan - src;
        continue;
      }
      for (int64_t i = 0; i < n; ++i) row[static_cast<size_t>(i)] = {src[i], i};
      const auto mid = row.begin() + (n - 1) / 2;
      std::nth_element(row.begin(), mid, row.end(), Before<T, false>{});
      pv[r] = mid->first, pi[r] = mid->second;
    }
  });
}

template <typename T, typename O>
void cumulate_t(const Tensor& out, const Tensor& x, int64_t outer, int64_t n, int64_t inner, bool prod) {
  // x, out [outer, n, inner]; floats accumulate in double, integers in wrapping 64 bits
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;
  const T* px = x.data_ptr<T>();
  O* po = out.data_ptr<O>();
  parallel_for(0, outer, row_grain(n * inner), [&](int64_t lo, int64_t hi) {
    std::vector<Acc> acc(static_cast<size_t>(inner));
    for (int64_t o = lo; o < hi; ++o) {
      std::fill(acc.begin(), acc.end(), prod ? Acc(1) : Acc(0));
      for (int64_t i = 0; i < n; ++i) {
        const int64_t base = (o * n + i) * inner;
        for (int64_t j = 0; j < inner; ++j) {
          Acc v;
          if constexpr (std::is_floating_point_v<T>) v = static_cast<double>(px[base + j]);
          else v = static_cast<uint64_t>(static_cast<int64_t>(px[base + j]));
          Acc& a = acc[static_cast<size_t>(j)];
          a = prod ? a * v : a + v;
          po[base + j] = static_cast<O>(a);
        }
      }
    }
  });
}

template <typename T>
void search_rows_t(const Tensor& out, const Tensor& seq, const Tensor& values, bool right) {
  // seq [rows, m], values [rows, k] -> out [rows, k]. PyTorch's loop exactly (its NaN behaviour too).
  const int64_t m = seq.sizes()[1], k = values.sizes()[1];
  const T* ps = seq.data_ptr<T>();
  const T* pv = values.data_ptr<T>();
  int64_t* po = out.data_ptr<int64_t>();
  parallel_for(0, values.numel(), std::max<int64_t>(1, kGrain / 16), [&](int64_t lo, int64_t hi) {
    for (int64_t e = lo; e < hi; ++e) {
      const T* s = ps + (k == 0 ? 0 : e / k) * m;
      const T v = pv[e];
      int64_t a = 0, b = m;
      while (a < b) {
        const int64_t mid = a + (b - a) / 2;
        if (right ? !(s[mid] > v) : !(s[mid] >= v)) a = mid + 1;
        else b = mid;
      }
      po[e] = a;
    }
  });
}

template <typename T>
Tensor unique_t(const Tensor& x, Tensor* inverse, Tensor* counts) {
  // x [n] -> values [u]; inverse [n], counts [u]
  const int64_t n = x.numel();
  const T* px = x.data_ptr<T>();
  std::vector<std::pair<T, int64_t>> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = {px[i], i};
  std::sort(all.begin(), all.end(), Before<T, false>{});
  std::vector<T> vals;
  std::vector<int64_t> cnt, inv(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const auto& [v, i] = all[static_cast<size_t>(j)];
    if (j == 0 || !(v == vals.back())) vals.push_back(v), cnt.push_back(0);  // NaN != NaN: its own value
    ++cnt.back();
    inv[static_cast<size_t>(i)] = static_cast<int64_t>(vals.size()) - 1;
  }
  const int64_t u = static_cast<int64_t>(vals.size());
  Tensor out = empty_tensor({u}, x.dtype(), x.device());
  std::copy(vals.begin(), vals.end(), out.data_ptr<T>());
  if (inverse) {
    *inverse = empty_tensor({n}, kInt64, x.device());
    std::copy(inv.begin(), inv.end(), inverse->data_ptr<int64_t>());
  }
  if (counts) {
    *counts = empty_tensor({u}, kInt64, x.device());
    std::copy(cnt.begin(), cnt.end(), counts->data_ptr<int64_t>());
  }
  return out;
}

template <typename T>
Tensor nonzero_t(const Tensor& x) {
  // x (contiguous, any shape) -> [count, ndim]
  const int64_t n = x.numel(), nd = x.dim();
  const T* px = x.data_ptr<T>();
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += px[i] != T(0);
  Tensor out = empty_tensor({count, nd}, kInt64, x.device());
  int64_t* po = out.data_ptr<int64_t>();
  DimVector at(static_cast<size_t>(nd), 0);  // the multi-index of element i
  for (int64_t i = 0; i < n; ++i) {
    if (px[i] != T(0)) {
      std::copy(at.begin(), at.end(), po);
      po += nd;
    }
    for (int64_t d = nd - 1; d >= 0; --d) {  // advance the multi-index, last dim fastest
      if (++at[static_cast<size_t>(d)] < x.sizes()[d]) break;
      at[static_cast<size_t>(d)] = 0;
    }
  }
  return out;
}

}  // namespace

// Note [Sorting loops on other devices]
// These loops run on the host. For a tensor on another device the entry points below copy the
// inputs to the host once, run there and copy the outputs back: explicit copies, correct on
// every device, and the place where a device's own sorting kernels would plug in.
namespace {
Tensor host_like(const Tensor& t) { return ops::empty_tensor(t.sizes(), t.dtype(), kCPU); }
}  // namespace

void sort_rows(const Tensor& values, const Tensor& indices, const Tensor& x, int64_t k, bool descending) {
  if (!x.device().is_cpu()) {
    const Tensor v = host_like(values), i = host_like(indices);
    sort_rows(v, i, ops::to_host(x), k, descending);  // host read: see the Note
    ops::copy_from_host(values, v);
    ops::copy_from_host(indices, i);
    return;
  }
  dispatch_all(x.dtype(), "sort", [&]<typename T>() {
    if (descending) sort_rows_t<T, true>(values, indices, x, k);
    else sort_rows_t<T, false>(values, indices, x, k);
  });
}

void median_rows(const Tensor& values, const Tensor& indices, const Tensor& x) {
  if (!x.device().is_cpu()) {
    const Tensor v = host_like(values), i = host_like(indices);
    median_rows(v, i, ops::to_host(x));  // host read: see the Note
    ops::copy_from_host(values, v);
    ops::copy_from_host(indices, i);
    return;
  }
  dispatch_all(x.dtype(), "median", [&]<typename T>() { median_rows_t<T>(values, indices, x); });
}

void cumulate(const Tensor& out, const Tensor& x, int64_t outer, int64_t n, int64_t inner, bool prod) {
  if (!x.device().is_cpu()) {
    const Tensor o = host_like(out);
    cumulate(o, ops::to_host(x), outer, n, inner, prod);  // host read: see the Note
    ops::copy_from_host(out, o);
    return;
  }
  dispatch_all(x.dtype(), prod ? "cumprod" : "cumsum", [&]<typename T>() {
    if constexpr (std::is_floating_point_v<T>) cumulate_t<T, T>(out, x, outer, n, inner, prod);
    else cumulate_t<T, int64_t>(out, x, outer, n, inner, prod);
  });
}

void search_rows(const Tensor& out, const Tensor& seq, const Tensor& values, bool right) {
  if (!seq.device().is_cpu()) {
    const Tensor o = host_like(out);
    search_rows(o, ops::to_host(seq), ops::to_host(values), right);  // host read: see the Note
    ops::copy_from_host(out, o);
    return;
  }
  dispatch_numeric(seq.dtype(), "searchsorted", [&]<typename T>() { search_rows_t<T>(out, seq, values, right); });
}

Tensor unique_1d(const Tensor& x, Tensor* inverse, Tensor* counts) {
  if (!x.device().is_cpu()) {
    const Tensor u = unique_1d(ops::to_host(x), inverse, counts);  // host read: see the Note
    if (inverse && inverse->defined()) *inverse = inverse->to(x.device());
    if (counts && counts->defined()) *counts = counts->to(x.device());
    return u.to(x.device());
  }
  return dispatch_all(x.dtype(), "unique", [&]<typename T>() { return unique_t<T>(x, inverse, counts); });
}

Tensor nonzero_indices(const Tensor& x) {
  if (!x.device().is_cpu()) return nonzero_indices(ops::to_host(x)).to(x.device());  // host read: see the Note
  return dispatch_all(x.dtype(), "nonzero", [&]<typename T>() { return nonzero_t<T>(x); });
}

}  // namespace hpml::ops::sorting
