// The strided N-operand loop behind every elementwise CPU kernel.
//   for_each<N>(ops, inner): operand 0 is the output, all operands share one shape. Dimensions
//   are coalesced where every operand is dense across them, then `inner(data, strides, n)` runs
//   over the innermost dimension with byte strides. Large loops are split across threads by
//   linear element range, so the result never depends on the thread count.
#pragma once

#include <array>
#include <cstdint>

#include "hpml/core/threads.h"
#include "kernels/tensor_view.h"

namespace hpml::kernels::cpu {

// Elements per parallel chunk: below this a loop runs on one thread (memory-bound work does not
// gain from a second core below ~32K elements once thread wake-up is paid).
inline constexpr int64_t kGrain = 32768;

template <int N>
struct LoopPlan {
  int ndim = 0;
  int64_t numel = 1;
  DimVector shape;                       // coalesced; innermost last
  std::array<DimVector, N> strides;      // bytes
  std::array<char*, N> data{};
};

template <int N>
LoopPlan<N> make_plan(const std::array<const TensorView*, N>& ops) {
  LoopPlan<N> p;
  const TensorView& out = *ops[0];
  for (int k = 0; k < N; ++k) p.data[k] = ops[k]->data;
  // Drop size-1 dims, then merge a dim into the next inner one when all operands allow it.
  for (int64_t d = 0; d < out.dim(); ++d) {
    int64_t sz = out.sizes[d];
    p.numel *= sz;
    if (sz == 1) continue;
    bool merge = !p.shape.empty();
    for (int k = 0; k < N && merge; ++k) {
      int64_t isz = static_cast<int64_t>(itemsize(ops[k]->dtype));
      merge = p.strides[k].back() == sz * ops[k]->strides[d] * isz;
    }
    if (merge) {
      p.shape.back() *= sz;
      for (int k = 0; k < N; ++k)
        p.strides[k].back() = ops[k]->strides[d] * static_cast<int64_t>(itemsize(ops[k]->dtype));
    } else {
      p.shape.push_back(sz);
      for (int k = 0; k < N; ++k)
        p.strides[k].push_back(ops[k]->strides[d] * static_cast<int64_t>(itemsize(ops[k]->dtype)));
    }
  }
  if (p.shape.empty()) {  // a single element
    p.shape.push_back(1);
    for (int k = 0; k < N; ++k) p.strides[k].push_back(0);
  }
  p.ndim = static_cast<int>(p.shape.size());
  return p;
}

// Runs `inner` over linear elements [begin, end) of the plan.
template <int N, typename Inner>
void run_range(const LoopPlan<N>& p, int64_t begin, int64_t end, const Inner& inner) {
  const int nd = p.ndim;
  const int64_t inner_size = p.shape[nd - 1];
  // Multi-index of `begin` over the outer dims, and the pointers at it.
  DimVector idx(nd, 0);
  std::array<char*, N> ptr = p.data;
  int64_t rem = begin / inner_size, col = begin % inner_size;
  for (int d = nd - 2; d >= 0; --d) {
    idx[d] = rem % p.shape[d];
    rem /= p.shape[d];
    for (int k = 0; k < N; ++k) ptr[k] += idx[d] * p.strides[k][d];
  }
  int64_t inner_strides[N];
  for (int k = 0; k < N; ++k) inner_strides[k] = p.strides[k][nd - 1];
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = std::min(inner_size - col, end - pos);
    std::array<char*, N> cur;
    for (int k = 0; k < N; ++k) cur[k] = ptr[k] + col * inner_strides[k];
    inner(cur.data(), inner_strides, n);
    pos += n;
    col = 0;
    // Advance the outer multi-index by one row.
    for (int d = nd - 2; d >= 0; --d) {
      for (int k = 0; k < N; ++k) ptr[k] += p.strides[k][d];
      if (++idx[d] < p.shape[d]) break;
      for (int k = 0; k < N; ++k) ptr[k] -= idx[d] * p.strides[k][d];
      idx[d] = 0;
    }
  }
}

template <int N, typename Inner>
void for_each(const std::array<const TensorView*, N>& ops, const Inner& inner, int64_t grain = kGrain) {
  LoopPlan<N> p = make_plan<N>(ops);
  if (p.numel == 0) return;
  parallel_for(0, p.numel, grain, [&](int64_t lo, int64_t hi) { run_range<N>(p, lo, hi, inner); });
}

}  // namespace hpml::kernels::cpu
