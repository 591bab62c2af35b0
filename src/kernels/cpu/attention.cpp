// CPU fused attention (FlashAttention's algorithm): softmax(scale q k^T) v in one pass over the
// keys per block of queries, with an online softmax, so that no [L, S] matrix is ever in memory.
// The backward recomputes each block's probabilities from the saved row log-sum-exp.
// See Note [Fused attention].
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "hpml/core/threads.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/vec_math.h"

namespace hpml::kernels::cpu {

// Note [Fused attention]
// The composed attention computes S = scale q k^T [L, S], P = softmax(S) and P v: for a 256-token
// block and 4 heads of a batch of 32 that is 32 MiB of scores, another 32 MiB of probabilities,
// both kept for the backward. Here each (batch, head) is cut into blocks of kBlock query rows;
// a block walks the keys kBlock at a time, holding only a [kBlock, kBlock] tile of scores:
//   m_i = running row max, l_i = running sum of exp(s - m_i), acc_i = running sum of exp(s - m_i) v
// and when a tile raises the max, the old l and acc are rescaled by exp(m_old - m_new). At the end
// out = acc / l and the row's log-sum-exp lse = m + log l is saved (one number per query).
// The backward (FlashAttention-2) recomputes each tile's P = exp(scale q k^T - lse) and, with
// D_i = sum_e dout_ie out_ie, accumulates
//   dv += P^T dout,  dP = dout v^T,  dS = P * (dP - D),  dq += scale dS k,  dk += scale dS^T q.
// Causal masking (key j visible to query i when j <= i, PyTorch's top-left alignment) skips the
// tiles wholly above the diagonal. Tiles are multiplied with gemm() (OpenBLAS at these sizes),
// and the work is split over (batch-head, query block) pairs, or over batch-heads alone in the
// backward, where a thread owns dk and dv of its head.
namespace {

constexpr int64_t kBlock = 64;

struct Dims {
  int64_t B, H, L, S, E, Ev;
};

// Every view is [B, H, rows, cols] with unit stride along cols: the rows of head (b, h).
template <typename T>
struct Rows {
  T* p;
  int64_t ld;  // elements between rows
  T* row(int64_t i) const { return p + i * ld; }
};
template <typename T>
Rows<T> head(const TensorView& t, int64_t b, int64_t h) {
  return {t.ptr<T>() + b * t.strides[0] + h * t.strides[1], t.strides[2]};
}

Dims dims_of(const TensorView& q, const TensorView& k, const TensorView& v) {
  return {q.sizes[0], q.sizes[1], q.sizes[2], k.sizes[2], q.sizes[3], v.sizes[3]};
}

// The last key column query row `row` may see (exclusive), given causal masking.
inline int64_t key_end(bool causal, int64_t row, int64_t S) { return causal ? std::min(S, row + 1) : S; }

// Masks the tile s [br, bc] (rows i0.., columns j0..) where a key lies beyond the query.
template <typename T>
void mask_tile(T* s, int64_t br, int64_t bc, int64_t i0, int64_t j0) {
  for (int64_t r = 0; r < br; ++r)
    for (int64_t c = std::max<int64_t>(0, i0 + r + 1 - j0); c < bc; ++c)
      s[r * bc + c] = -std::numeric_limits<T>::infinity();
}

// The online-softmax update of one tile (Note [Fused attention]): s [br, bc] becomes
// p = exp(s - m_new) in place; l and acc [br, Ev] are rescaled by exp(m_old - m_new) and l gains
// the rows' sums. The reductions run in kLanes partial lanes so that they vectorize without
// reassociating floating point behind the compiler's back; for f32 the function is compiled for
// AVX-512, AVX2 and the baseline and picked at load time (target_clones: this file is not one of
// the per-target SIMD files).
constexpr int kLanes = 16;

template <typename T>
inline void tile_update(T* s, int64_t br, int64_t bc, T* m, T* l, T* acc, int64_t Ev) {
  for (int64_t r = 0; r < br; ++r) {
    T* row = s + r * bc;
    T lanes[kLanes];
    std::fill(lanes, lanes + kLanes, m[r]);
    int64_t c = 0;
    for (; c + kLanes <= bc; c += kLanes)
      for (int j = 0; j < kLanes; ++j) lanes[j] = std::max(lanes[j], row[c + j]);
    T mx = *std::max_element(lanes, lanes + kLanes);
    for (; c < bc; ++c) mx = std::max(mx, row[c]);
    const T corr = std::exp(m[r] - mx);  // 0 on the first tile (m = -inf); mx is finite
    for (c = 0; c < bc; ++c) row[c] -= mx;
    vec::exp(row, row, bc);
    std::fill(lanes, lanes + kLanes, T(0));
    for (c = 0; c + kLanes <= bc; c += kLanes)
      for (int j = 0; j < kLanes; ++j) lanes[j] += row[c + j];
    T sum = 0;
    for (int j = 0; j < kLanes; ++j) sum += lanes[j];
    for (; c < bc; ++c) sum += row[c];
    l[r] = l[r] * corr + sum;
    m[r] = mx;
    T* a = acc + r * Ev;
    for (int64_t e = 0; e < Ev; ++e) a[e] *= corr;
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void tile_update_f32(float* s, int64_t br, int64_t bc,
                                                                                   float* m, float* l, float* acc,
                                                                                   int64_t Ev) {
  tile_update(s, br, bc, m, l, acc, Ev);
}

template <typename T>
void update(T* s, int64_t br, int64_t bc, T* m, T* l, T* acc, int64_t Ev) {
  if constexpr (std::is_same_v<T, float>) tile_update_f32(s, br, bc, m, l, acc, Ev);
  else tile_update(s, br, bc, m, l, acc, Ev);
}

// One block of query rows [i0, i0 + br) of one (batch, head): out rows and their lse.
template <typename T>
void forward_block(const Dims& d, Rows<const T> q, Rows<const T> k, Rows<const T> v, Rows<T> out, T* lse, int64_t i0,
                   int64_t br, double scale, bool causal, std::vector<T>& buf) {
  buf.assign(static_cast<size_t>(kBlock * kBlock + br * d.Ev + 2 * br), T(0));
  T *s = buf.data(), *acc = s + kBlock * kBlock, *m = acc + br * d.Ev, *l = m + br;
  std::fill(m, m + br, -std::numeric_limits<T>::infinity());
  const int64_t s_end = key_end(causal, i0 + br - 1, d.S);
  for (int64_t j0 = 0; j0 < s_end; j0 += kBlock) {
    const int64_t bc = std::min(kBlock, s_end - j0);
    // s [br, bc] = scale q[i0:] k[j0:]^T
    gemm(dtype_of_v<T>, false, true, br, bc, d.E, scale, q.row(i0), q.ld, k.row(j0), k.ld, 0, s, bc);
    if (causal && j0 + bc > i0 + 1) mask_tile(s, br, bc, i0, j0);
    update(s, br, bc, m, l, acc, d.Ev);
    // acc [br, Ev] += p [br, bc] v[j0:] [bc, Ev]
    gemm(dtype_of_v<T>, false, false, br, d.Ev, bc, 1, s, bc, v.row(j0), v.ld, 1, acc, d.Ev);
  }
  for (int64_t r = 0; r < br; ++r) {
    const T inv = T(1) / l[r];
    T* o = out.row(i0 + r);
    for (int64_t e = 0; e < d.Ev; ++e) o[e] = acc[r * d.Ev + e] * inv;
    lse[i0 + r] = m[r] + std::log(l[r]);
  }
}

}  // namespace

// q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev], L, S > 0 -> out [B, H, L, Ev] (any strides but a
// unit one along the last dim), lse [B, H, L] contiguous
void attention(const TensorView& out, const TensorView& lse, const TensorView& q, const TensorView& k,
               const TensorView& v, double scale, bool causal) {
  const Dims d = dims_of(q, k, v);
  const int64_t blocks = (d.L + kBlock - 1) / kBlock;
  dispatch_floating(q.dtype, "attention", [&]<typename T>() {
    parallel_for(0, d.B * d.H * blocks, 1, [&](int64_t lo, int64_t hi) {
      std::vector<T> buf;
      for (int64_t w = lo; w < hi; ++w) {
        const int64_t bh = w / blocks, b = bh / d.H, h = bh % d.H, i0 = (w % blocks) * kBlock;
        forward_block<T>(d, head<const T>(q, b, h), head<const T>(k, b, h), head<const T>(v, b, h), head<T>(out, b, h),
                         lse.ptr<T>() + bh * d.L, i0, std::min(kBlock, d.L - i0), scale, causal, buf);
      }
    });
  });
}

namespace {

// The gradients of one (batch, head): dq [L, E], dk [S, E], dv [S, Ev] (written, not added).
template <typename T>
void backward_head(const Dims& d, Rows<const T> q, Rows<const T> k, Rows<const T> v, Rows<const T> out,
                   Rows<const T> dout, const T* lse, Rows<T> dq, Rows<T> dk, Rows<T> dv, double scale, bool causal) {
  for (int64_t i = 0; i < d.L; ++i) std::fill(dq.row(i), dq.row(i) + d.E, T(0));
  for (int64_t j = 0; j < d.S; ++j) {
    std::fill(dk.row(j), dk.row(j) + d.E, T(0));
    std::fill(dv.row(j), dv.row(j) + d.Ev, T(0));
  }
  std::vector<T> D(static_cast<size_t>(d.L)), p(kBlock * kBlock), dp(kBlock * kBlock);
  for (int64_t i = 0; i < d.L; ++i) {  // D_i = sum_e dout_ie out_ie
    T acc = 0;
    for (int64_t e = 0; e < d.Ev; ++e) acc += dout.row(i)[e] * out.row(i)[e];
    D[i] = acc;
  }
  for (int64_t i0 = 0; i0 < d.L; i0 += kBlock) {
    const int64_t br = std::min(kBlock, d.L - i0), s_end = key_end(causal, i0 + br - 1, d.S);
    for (int64_t j0 = 0; j0 < s_end; j0 += kBlock) {
      const int64_t bc = std::min(kBlock, s_end - j0);
      // p [br, bc] = exp(scale q k^T - lse)
      gemm(dtype_of_v<T>, false, true, br, bc, d.E, scale, q.row(i0), q.ld, k.row(j0), k.ld, 0, p.data(), bc);
      if (causal && j0 + bc > i0 + 1) mask_tile(p.data(), br, bc, i0, j0);
      for (int64_t r = 0; r < br; ++r)
        for (int64_t c = 0; c < bc; ++c) p[r * bc + c] -= lse[i0 + r];
      vec::exp(p.data(), p.data(), br * bc);
      // dv [bc, Ev] += p^T dout[i0:];  dp [br, bc] = dout[i0:] v[j0:]^T
      gemm(dtype_of_v<T>, true, false, bc, d.Ev, br, 1, p.data(), bc, dout.row(i0), dout.ld, 1, dv.row(j0), dv.ld);
      gemm(dtype_of_v<T>, false, true, br, bc, d.Ev, 1, dout.row(i0), dout.ld, v.row(j0), v.ld, 0, dp.data(), bc);
      for (int64_t r = 0; r < br; ++r)  // ds = p * (dp - D), kept in dp
        for (int64_t c = 0; c < bc; ++c) dp[r * bc + c] = p[r * bc + c] * (dp[r * bc + c] - D[i0 + r]);
      // dq [br, E] += scale ds k[j0:];  dk [bc, E] += scale ds^T q[i0:]
      gemm(dtype_of_v<T>, false, false, br, d.E, bc, scale, dp.data(), bc, k.row(j0), k.ld, 1, dq.row(i0), dq.ld);
      gemm(dtype_of_v<T>, true, false, bc, d.E, br, scale, dp.data(), bc, q.row(i0), q.ld, 1, dk.row(j0), dk.ld);
    }
  }
}

}  // namespace

// dout [B, H, L, Ev] and the forward's tensors -> dq [B, H, L, E], dk [B, H, S, E], dv [B, H, S, Ev]
// (every view with a unit stride along its last dim)
void attention_backward(const TensorView& dq, const TensorView& dk, const TensorView& dv, const TensorView& dout,
                        const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& lse, double scale, bool causal) {
  const Dims d = dims_of(q, k, v);
  dispatch_floating(q.dtype, "attention_backward", [&]<typename T>() {
    parallel_for(0, d.B * d.H, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t bh = lo; bh < hi; ++bh) {
        const int64_t b = bh / d.H, h = bh % d.H;
        backward_head<T>(d, head<const T>(q, b, h), head<const T>(k, b, h), head<const T>(v, b, h),
                         head<const T>(out, b, h), head<const T>(dout, b, h), lse.ptr<T>() + bh * d.L,
                         head<T>(dq, b, h), head<T>(dk, b, h), head<T>(dv, b, h), scale, causal);
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
