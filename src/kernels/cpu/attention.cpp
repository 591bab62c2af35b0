// CPU fused attention (FlashAttention's algorithm): softmax(scale q k^T) v in one pass over the
// keys per block of queries, with an online softmax, so that no [L, S] matrix is ever in memory.
// The backward recomputes each block's probabilities from the saved row log-sum-exp.
// See Note [Fused attention].
#include <algorithm>
#include <cmath>
#include <limits>
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
  int64_t BH, L, S, E, Ev;
};

Dims dims_of(const TensorView& q, const TensorView& k, const TensorView& v) {
  return {q.sizes[0], q.sizes[1], k.sizes[1], q.sizes[2], v.sizes[2]};
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

// One block of query rows [i0, i0 + br) of one (batch, head): out rows and their lse.
template <typename T>
void forward_block(const Dims& d, const T* q, const T* k, const T* v, T* out, T* lse, int64_t i0, int64_t br,
                   double scale, bool causal, std::vector<T>& buf) {
  buf.assign(static_cast<size_t>(kBlock * kBlock + br * d.Ev + 2 * br), T(0));
  T *s = buf.data(), *acc = s + kBlock * kBlock, *m = acc + br * d.Ev, *l = m + br;
  std::fill(m, m + br, -std::numeric_limits<T>::infinity());
  const int64_t s_end = key_end(causal, i0 + br - 1, d.S);
  for (int64_t j0 = 0; j0 < s_end; j0 += kBlock) {
    const int64_t bc = std::min(kBlock, s_end - j0);
    // s [br, bc] = scale q[i0:] k[j0:]^T
    gemm(dtype_of_v<T>, false, true, br, bc, d.E, scale, q + i0 * d.E, d.E, k + j0 * d.E, d.E, 0, s, bc);
    if (causal && j0 + bc > i0 + 1) mask_tile(s, br, bc, i0, j0);
    for (int64_t r = 0; r < br; ++r) {
      T* row = s + r * bc;
      T mx = m[r];
      for (int64_t c = 0; c < bc; ++c) mx = std::max(mx, row[c]);
      const T corr = std::exp(m[r] - mx);  // 0 on the first tile (m = -inf), never NaN: mx is finite
      for (int64_t c = 0; c < bc; ++c) row[c] -= mx;
      vec::exp(row, row, bc);
      T sum = 0;
      for (int64_t c = 0; c < bc; ++c) sum += row[c];
      l[r] = l[r] * corr + sum;
      m[r] = mx;
      T* a = acc + r * d.Ev;
      for (int64_t e = 0; e < d.Ev; ++e) a[e] *= corr;
    }
    // acc [br, Ev] += p [br, bc] v[j0:] [bc, Ev]
    gemm(dtype_of_v<T>, false, false, br, d.Ev, bc, 1, s, bc, v + j0 * d.Ev, d.Ev, 1, acc, d.Ev);
  }
  for (int64_t r = 0; r < br; ++r) {
    const T inv = T(1) / l[r];
    for (int64_t e = 0; e < d.Ev; ++e) out[(i0 + r) * d.Ev + e] = acc[r * d.Ev + e] * inv;
    lse[i0 + r] = m[r] + std::log(l[r]);
  }
}

}  // namespace

// q [BH, L, E], k [BH, S, E], v [BH, S, Ev] contiguous, L, S > 0 -> out [BH, L, Ev], lse [BH, L]
void attention(const TensorView& out, const TensorView& lse, const TensorView& q, const TensorView& k,
               const TensorView& v, double scale, bool causal) {
  const Dims d = dims_of(q, k, v);
  const int64_t blocks = (d.L + kBlock - 1) / kBlock;
  dispatch_floating(q.dtype, "attention", [&]<typename T>() {
    parallel_for(0, d.BH * blocks, 1, [&](int64_t lo, int64_t hi) {
      std::vector<T> buf;
      for (int64_t w = lo; w < hi; ++w) {
        const int64_t bh = w / blocks, i0 = (w % blocks) * kBlock;
        forward_block<T>(d, q.ptr<T>() + bh * d.L * d.E, k.ptr<T>() + bh * d.S * d.E, v.ptr<T>() + bh * d.S * d.Ev,
                         out.ptr<T>() + bh * d.L * d.Ev, lse.ptr<T>() + bh * d.L, i0, std::min(kBlock, d.L - i0),
                         scale, causal, buf);
      }
    });
  });
}

namespace {

// The gradients of one (batch, head): dq [L, E], dk [S, E], dv [S, Ev] (written, not added).
template <typename T>
void backward_head(const Dims& d, const T* q, const T* k, const T* v, const T* out, const T* dout, const T* lse,
                   T* dq, T* dk, T* dv, double scale, bool causal) {
  std::fill(dq, dq + d.L * d.E, T(0));
  std::fill(dk, dk + d.S * d.E, T(0));
  std::fill(dv, dv + d.S * d.Ev, T(0));
  std::vector<T> D(static_cast<size_t>(d.L)), p(kBlock * kBlock), dp(kBlock * kBlock);
  for (int64_t i = 0; i < d.L; ++i) {  // D_i = sum_e dout_ie out_ie
    T acc = 0;
    for (int64_t e = 0; e < d.Ev; ++e) acc += dout[i * d.Ev + e] * out[i * d.Ev + e];
    D[i] = acc;
  }
  for (int64_t i0 = 0; i0 < d.L; i0 += kBlock) {
    const int64_t br = std::min(kBlock, d.L - i0), s_end = key_end(causal, i0 + br - 1, d.S);
    for (int64_t j0 = 0; j0 < s_end; j0 += kBlock) {
      const int64_t bc = std::min(kBlock, s_end - j0);
      // p [br, bc] = exp(scale q k^T - lse)
      gemm(dtype_of_v<T>, false, true, br, bc, d.E, scale, q + i0 * d.E, d.E, k + j0 * d.E, d.E, 0, p.data(), bc);
      if (causal && j0 + bc > i0 + 1) mask_tile(p.data(), br, bc, i0, j0);
      for (int64_t r = 0; r < br; ++r)
        for (int64_t c = 0; c < bc; ++c) p[r * bc + c] -= lse[i0 + r];
      vec::exp(p.data(), p.data(), br * bc);
      // dv [bc, Ev] += p^T dout[i0:];  dp [br, bc] = dout[i0:] v[j0:]^T
      gemm(dtype_of_v<T>, true, false, bc, d.Ev, br, 1, p.data(), bc, dout + i0 * d.Ev, d.Ev, 1, dv + j0 * d.Ev, d.Ev);
      gemm(dtype_of_v<T>, false, true, br, bc, d.Ev, 1, dout + i0 * d.Ev, d.Ev, v + j0 * d.Ev, d.Ev, 0, dp.data(), bc);
      for (int64_t r = 0; r < br; ++r)  // ds = p * (dp - D), kept in dp
        for (int64_t c = 0; c < bc; ++c) dp[r * bc + c] = p[r * bc + c] * (dp[r * bc + c] - D[i0 + r]);
      // dq [br, E] += scale ds k[j0:];  dk [bc, E] += scale ds^T q[i0:]
      gemm(dtype_of_v<T>, false, false, br, d.E, bc, scale, dp.data(), bc, k + j0 * d.E, d.E, 1, dq + i0 * d.E, d.E);
      gemm(dtype_of_v<T>, true, false, bc, d.E, br, scale, dp.data(), bc, q + i0 * d.E, d.E, 1, dk + j0 * d.E, d.E);
    }
  }
}

}  // namespace

// dout [BH, L, Ev] and the forward's tensors (contiguous) -> dq [BH, L, E], dk [BH, S, E], dv [BH, S, Ev]
void attention_backward(const TensorView& dq, const TensorView& dk, const TensorView& dv, const TensorView& dout,
                        const TensorView& q, const TensorView& k, const TensorView& v, const TensorView& out,
                        const TensorView& lse, double scale, bool causal) {
  const Dims d = dims_of(q, k, v);
  dispatch_floating(q.dtype, "attention_backward", [&]<typename T>() {
    parallel_for(0, d.BH, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t bh = lo; bh < hi; ++bh)
        backward_head<T>(d, q.ptr<T>() + bh * d.L * d.E, k.ptr<T>() + bh * d.S * d.E, v.ptr<T>() + bh * d.S * d.Ev,
                         out.ptr<T>() + bh * d.L * d.Ev, dout.ptr<T>() + bh * d.L * d.Ev, lse.ptr<T>() + bh * d.L,
                         dq.ptr<T>() + bh * d.L * d.E, dk.ptr<T>() + bh * d.S * d.E, dv.ptr<T>() + bh * d.S * d.Ev,
                         scale, causal);
    });
  });
}

}  // namespace hpml::kernels::cpu
