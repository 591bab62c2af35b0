// Winograd F(2x2, 3x3): each 2x2 output tile from a 4x4 input tile with 16 multiplications per
// (input, output) channel pair instead of 36. Transforms are plain loops over rows of tiles; this
// file is compiled for every SIMD target (as binary.cpp) so they vectorize for AVX2 and AVX-512.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/winograd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "hpml/core/threads.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/winograd.h"

// Note [Winograd F(2x2, 3x3)]
// With 3x3 kernels at stride 1, a 2x2 block of outputs Y = A^T [ (G g G^T) .* (B^T d B) ] A, where
// d is the 4x4 input block around it, g the 3x3 kernel, and
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Summed over input channels, the 16 elementwise products become 16 GEMMs, one per position xi
// of the 4x4 transform:  M_xi [OC, tiles] = U_xi [OC, C] @ V_xi [C, tiles],  U = G g G^T,
// V = B^T d B. That is 16 * C * OC multiply-adds per tile of 4 outputs, against 36 * C * OC for
// im2col + GEMM: 2.25x fewer, for the price of the transforms (linear in the data, vectorized).
// The input gradient of a stride-1, padding-1 3x3 convolution is itself one: of grad_out, with
// the kernel rotated 180 degrees and its channel axes swapped, so it reuses everything.
// Accuracy: the transforms only add, subtract and halve, so the result differs from the direct
// sum by rounding only (a few ulps; the PyTorch parity tests run through this path).
// Images are processed a few at a time (about kTilesPerChunk tiles) so that V and M stay in cache.
//
// Note [Winograd weight gradient]
// The weight gradient gw[k] = sum_i go[i] x[i + k] (1-d, per tile) is F(3, 2): three outputs from a
// two-tap "filter" go. By the transposition principle applied to F(2, 3)'s
// y = A^T ((G g) .* (B^T d)), it is gw = G^T ((A go) .* (B^T x)), and in 2-d
//   gw = G^T [ sum over tiles and images of (A go A^T) .* (B^T x B) ] G,
// where B^T x B is the forward's input transform of the same 4x4 tiles. The sum over tiles is 16
// GEMMs [OC, tiles] @ [tiles, C] with the tiles as the long inner dimension.

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace {
constexpr int64_t kTilesPerChunk = 256;

// U [16][Co][Ci] from weight [OC][C][3][3]. For the input gradient (transpose): Co = C, Ci = OC,
// and the kernel of (c, oc) is that of (oc, c) rotated by 180 degrees.
void transform_weights(const float* wt, int64_t OC, int64_t C, bool transpose, float* U) {
  const int64_t Co = transpose ? C : OC, Ci = transpose ? OC : C;
  for (int64_t o = 0; o < Co; ++o)
    for (int64_t i = 0; i < Ci; ++i) {
      const float* g0 = transpose ? wt + (i * C + o) * 9 : wt + (o * C + i) * 9;
      float g[3][3];
      for (int r = 0; r < 3; ++r)
        for (int s = 0; s < 3; ++s) g[r][s] = transpose ? g0[(2 - r) * 3 + (2 - s)] : g0[r * 3 + s];
      float Gg[4][3];  // G g
      for (int s = 0; s < 3; ++s) {
        Gg[0][s] = g[0][s];
        Gg[1][s] = 0.5f * (g[0][s] + g[1][s] + g[2][s]);
        Gg[2][s] = 0.5f * (g[0][s] - g[1][s] + g[2][s]);
        Gg[3][s] = g[2][s];
      }
      for (int k = 0; k < 4; ++k) {  // (G g) G^T
        const float u[4] = {Gg[k][0], 0.5f * (Gg[k][0] + Gg[k][1] + Gg[k][2]), 0.5f * (Gg[k][0] - Gg[k][1] + Gg[k][2]),
                            Gg[k][2]};
        for (int l = 0; l < 4; ++l) U[((k * 4 + l) * Co + o) * Ci + i] = u[l];
      }
    }
}

// Tiles of 2x2 outputs, TH x TW per image, numbered t = b * per_image + ti * TW + tj within a chunk.
// The transforms run along rows of tiles, 8 tiles per vector (rows of 14 or 28 pixels have 7 or 14
// tiles). A vector may run past the end of a row: its extra lanes are computed and land in the next
// row (written afterwards) or in the kSlack columns after the last tile, and are never read back
// as results. V and M rows are Tpad = T + kSlack long for that.
constexpr int64_t kLanes = 8;
constexpr int64_t kSlack = 2 * kLanes + 4;

struct Tiles {
  int64_t H, W, TH, TW, per_image;
  int64_t Wp;  // padded input row: columns -1 .. 2 TW of the input
};

// dst[0, n) = src[0, n) for the short rows here (14 or 28 floats), where a memcpy call costs more
// than the copy: whole vectors, the last one overlapping the one before when n is not a multiple.
inline void copy_row(const float* HWY_RESTRICT src, float* HWY_RESTRICT dst, int64_t n) {
  const hn::CappedTag<float, kLanes> d;
  if (n < kLanes) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    return;
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) hn::StoreU(hn::LoadU(d, src + i), d, dst + i);
  if (i < n) hn::StoreU(hn::LoadU(d, src + n - kLanes), d, dst + n - kLanes);
}

// out[0, n) = f(vectors of the rows at a[0, n), b[0, n)), whole vectors with an overlapping last one
// (n >= kLanes), else lane by lane. Loads come straight from the tensor and stores are aligned to
// `out`, so later loads from `out` are not blocked waiting on partially overlapping stores.
template <class F>
HWY_INLINE void combine_rows(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, float* HWY_RESTRICT out,
                             int64_t n, const F& f) {
  const hn::CappedTag<float, kLanes> d;
  if (n < kLanes) {
    const hn::CappedTag<float, 1> d1;
    for (int64_t i = 0; i < n; ++i) hn::StoreU(f(d1, hn::LoadU(d1, a + i), hn::LoadU(d1, b + i)), d1, out + i);
    return;
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) hn::StoreU(f(d, hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
  if (i < n) hn::StoreU(f(d, hn::LoadU(d, a + n - kLanes), hn::LoadU(d, b + n - kLanes)), d, out + n - kLanes);
}

// Row buffers for one plane: TH tile rows x 4 combinations, each kLead zeros (the padding column
// left of the input and one more), the W values, then zeros. Sized by row_buffer_floats.
constexpr int64_t kLead = 8;
inline int64_t row_stride(const Tiles& t) { return kLead + 2 * t.TW + 2 * kLanes + kSlack; }
inline int64_t row_buffer_floats(const Tiles& t) { return 4 * t.TH * row_stride(t) + kLead + t.W + kLanes; }

// V [16][Ci][Tpad] = B^T d B of every tile of images [0, B) of x [B][Ci][H][W]. Per plane, first
// R_k = the B^T combinations of the tile rows' input rows (2 ti - 1 .. 2 ti + 2), column by column,
// for every tile row; then the column combinations, 8 tiles at a time. With I = R_k (input column
// c at I[c], zeros at -1 and from W on), tile tj's padded columns 2 tj .. 2 tj + 3 are
// I[2 tj - 1 .. 2 tj + 2]: the odd lanes of the pairs at I - 2, both lanes at I, the even at I + 2.
void transform_input(const float* x, int64_t B, int64_t Ci, const Tiles& t, int64_t Tpad, float* V, float* buf) {
  const hn::CappedTag<float, kLanes> d;
  const int64_t rs = row_stride(t);
  float* R = buf;                                // [TH][4][rs]
  float* zero = buf + 4 * t.TH * rs + kLead;     // a row of zeros for rows outside the image
  std::fill(buf, buf + row_buffer_floats(t), 0.0f);
  const int64_t l_stride = Ci * Tpad;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < Ci; ++c) {
      const float* plane = x + (b * Ci + c) * t.H * t.W;
      auto row = [&](int64_t h) { return h >= 0 && h < t.H ? plane + h * t.W : zero; };
      for (int64_t ti = 0; ti < t.TH; ++ti) {  // B^T d: rows r0..r3 = input rows 2 ti - 1 .. 2 ti + 2
        const float *r0 = row(2 * ti - 1), *r1 = row(2 * ti), *r2 = row(2 * ti + 1), *r3 = row(2 * ti + 2);
        float* Rt = R + ti * 4 * rs + kLead;
        combine_rows(r0, r2, Rt, t.W, [](auto, auto u, auto v) HWY_ATTR { return hn::Sub(u, v); });
        combine_rows(r1, r2, Rt + rs, t.W, [](auto, auto u, auto v) HWY_ATTR { return hn::Add(u, v); });
        combine_rows(r2, r1, Rt + 2 * rs, t.W, [](auto, auto u, auto v) HWY_ATTR { return hn::Sub(u, v); });
        combine_rows(r1, r3, Rt + 3 * rs, t.W, [](auto, auto u, auto v) HWY_ATTR { return hn::Sub(u, v); });
      }
      for (int64_t ti = 0; ti < t.TH; ++ti) {  // (B^T d) B
        const int64_t t0 = b * t.per_image + ti * t.TW;
        for (int k = 0; k < 4; ++k) {
          const float* I = R + (ti * 4 + k) * rs + kLead;
          for (int64_t j0 = 0; j0 < t.TW; j0 += kLanes) {
            hn::Vec<decltype(d)> pe, po, a0, a1, b0, b1;
            hn::LoadInterleaved2(d, I + 2 * j0 - 2, pe, po);  // po[j] = I[2j - 1]
            hn::LoadInterleaved2(d, I + 2 * j0, a0, a1);      // I[2j], I[2j + 1]
            hn::LoadInterleaved2(d, I + 2 * j0 + 2, b0, b1);  // b0[j] = I[2j + 2]
            float* v = V + ((k * 4) * Ci + c) * Tpad + t0 + j0;
            hn::StoreU(hn::Sub(po, a1), d, v);
            hn::StoreU(hn::Add(a0, a1), d, v + l_stride);
            hn::StoreU(hn::Sub(a1, a0), d, v + 2 * l_stride);
            hn::StoreU(hn::Sub(a0, b0), d, v + 3 * l_stride);
          }
        }
      }
    }
}

// y [B][Co][H][W] = A^T m A (+ bias) from M [16][Co][Tpad]; the extra row / column of odd sizes dropped.
void transform_output(const float* M, int64_t B, int64_t Co, const Tiles& t, int64_t Tpad, const float* bias, float* y,
                      float* buf) {
  const hn::CappedTag<float, kLanes> d;
  float* row0 = buf;
  float* row1 = buf + 2 * t.TW + 2 * kSlack;
  const int64_t l_stride = Co * Tpad;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < Co; ++o) {
      float* plane = y + (b * Co + o) * t.H * t.W;
      const auto vb = hn::Set(d, bias ? bias[o] : 0.0f);
      for (int64_t ti = 0; ti < t.TH; ++ti) {
        const float* m = M + o * Tpad + b * t.per_image + ti * t.TW;
        for (int64_t j0 = 0; j0 < t.TW; j0 += kLanes) {
          hn::Vec<decltype(d)> s0[4], s1[4];
          for (int l = 0; l < 4; ++l) {  // A^T m
            const auto m0 = hn::LoadU(d, m + (0 * 4 + l) * l_stride + j0), m1 = hn::LoadU(d, m + (1 * 4 + l) * l_stride + j0);
            const auto m2 = hn::LoadU(d, m + (2 * 4 + l) * l_stride + j0), m3 = hn::LoadU(d, m + (3 * 4 + l) * l_stride + j0);
            s0[l] = hn::Add(hn::Add(m0, m1), m2);
            s1[l] = hn::Sub(hn::Sub(m1, m2), m3);
          }
          // (A^T m) A: outputs (2 ti + a, 2 tj + e), interleaved into two image rows.
          hn::StoreInterleaved2(hn::Add(hn::Add(hn::Add(s0[0], s0[1]), s0[2]), vb),
                                hn::Add(hn::Sub(hn::Sub(s0[1], s0[2]), s0[3]), vb), d, row0 + 2 * j0);
          hn::StoreInterleaved2(hn::Add(hn::Add(hn::Add(s1[0], s1[1]), s1[2]), vb),
                                hn::Add(hn::Sub(hn::Sub(s1[1], s1[2]), s1[3]), vb), d, row1 + 2 * j0);
        }
        copy_row(row0, plane + 2 * ti * t.W, t.W);
        if (2 * ti + 1 < t.H) copy_row(row1, plane + (2 * ti + 1) * t.W, t.W);
      }
    }
}

template <typename V>
float* grow(V& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Grown zero-filled, so that the lanes past the last tile start as zeros, not garbage that could
// be a denormal (slow) or a NaN (harmless: those columns are never read back, but confusing).
float* grow_zeroed(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.assign(static_cast<size_t>(n), 0.0f);
  return v.data();
}

// N images in chunks of B (about kTilesPerChunk tiles each), so that a chunk's V and M stay in cache.
struct Chunks {
  Tiles t;
  int64_t N, B, count;
  Chunks(int64_t n, int64_t H, int64_t W) : t{H, W, (H + 1) / 2, (W + 1) / 2, 0, 0}, N(n) {
    t.per_image = t.TH * t.TW, t.Wp = 2 * t.TW + 2;
    B = std::clamp<int64_t>(kTilesPerChunk / t.per_image, 1, N);
    count = (N + B - 1) / B;
  }
  struct Chunk {
    int64_t n0, nb, T, Tpad;  // images [n0, n0 + nb), T tiles, rows of Tpad
  };
  Chunk operator[](int64_t ch) const {
    const int64_t n0 = ch * B, nb = std::min(B, N - n0), T = nb * t.per_image;
    return {n0, nb, T, T + kSlack};
  }
  int64_t scratch_floats() const { return std::max(row_buffer_floats(t), 4 * t.TW + 4 * kSlack); }
};

// y [N, Co, H, W] = sum over Ci of the convolution of x [N, Ci, H, W] by the transformed kernels U.
void run(const float* x, int64_t N, int64_t Ci, int64_t H, int64_t W, const float* U, int64_t Co, const float* bias,
         float* y) {
  const Chunks chunks(N, H, W);
  parallel_for(0, chunks.count, 1, [&](int64_t lo, int64_t hi) {
    thread_local std::vector<float> V, M, buf;
    for (int64_t ch = lo; ch < hi; ++ch) {
      const Chunks::Chunk c = chunks[ch];
      float* v = grow_zeroed(V, 16 * Ci * c.Tpad);
      float* m = grow_zeroed(M, 16 * Co * c.Tpad);
      float* scratch = grow(buf, chunks.scratch_floats());
      transform_input(x + c.n0 * Ci * H * W, c.nb, Ci, chunks.t, c.Tpad, v, scratch);
      // M_xi [Co, T] = U_xi [Co, Ci] @ V_xi [Ci, T]
      for (int64_t xi = 0; xi < 16; ++xi)
        gemm(DType::f32, false, false, Co, c.T, Ci, 1.0, U + xi * Co * Ci, Ci, v + xi * Ci * c.Tpad, c.Tpad, 0.0,
             m + xi * Co * c.Tpad, c.Tpad);
      transform_output(m, c.nb, Co, chunks.t, c.Tpad, bias, y + c.n0 * Co * H * W, scratch);
    }
  });
}

// Ug [16][Co][Tpad] = A g A^T of every 2x2 tile g of images [0, B) of go [B][Co][H][W] (zeros past
// an odd edge): A = [1 0; 1 1; 1 -1; 0 -1]. Used by the weight gradient (Note [Winograd weight
// gradient]). Same two passes as transform_input; tile tj's columns are I[2 tj], I[2 tj + 1].
void transform_grad_tiles(const float* go, int64_t B, int64_t Co, const Tiles& t, int64_t Tpad, float* Ug, float* buf) {
  const hn::CappedTag<float, kLanes> d;
  const int64_t rs = row_stride(t);
  float* R = buf;
  float* zero = buf + 4 * t.TH * rs + kLead;
  std::fill(buf, buf + row_buffer_floats(t), 0.0f);
  const int64_t l_stride = Co * Tpad;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < Co; ++o) {
      const float* plane = go + (b * Co + o) * t.H * t.W;
      auto row = [&](int64_t h) { return h < t.H ? plane + h * t.W : zero; };
      for (int64_t ti = 0; ti < t.TH; ++ti) {  // A g: rows g0, g1 = output rows 2 ti, 2 ti + 1
        const float *g0 = row(2 * ti), *g1 = row(2 * ti + 1);
        float* Rt = R + ti * 4 * rs + kLead;
        combine_rows(g0, g0, Rt, t.W, [](auto, auto u, auto) HWY_ATTR { return u; });
        combine_rows(g0, g1, Rt + rs, t.W, [](auto, auto u, auto v) HWY_ATTR { return hn::Add(u, v); });
        combine_rows(g0, g1, Rt + 2 * rs, t.W, [](auto, auto u, auto v) HWY_ATTR { return hn::Sub(u, v); });
        combine_rows(g1, g1, Rt + 3 * rs, t.W, [](auto, auto u, auto) HWY_ATTR { return hn::Neg(u); });
      }
      for (int64_t ti = 0; ti < t.TH; ++ti) {  // (A g) A^T
        const int64_t t0 = b * t.per_image + ti * t.TW;
        for (int k = 0; k < 4; ++k) {
          const float* I = R + (ti * 4 + k) * rs + kLead;
          for (int64_t j0 = 0; j0 < t.TW; j0 += kLanes) {
            hn::Vec<decltype(d)> e, od;
            hn::LoadInterleaved2(d, I + 2 * j0, e, od);
            float* u = Ug + ((k * 4) * Co + o) * Tpad + t0 + j0;
            hn::StoreU(e, d, u);
            hn::StoreU(hn::Add(e, od), d, u + l_stride);
            hn::StoreU(hn::Sub(e, od), d, u + 2 * l_stride);
            hn::StoreU(hn::Neg(od), d, u + 3 * l_stride);
          }
        }
      }
    }
}

// gw [Co][Ci][3][3] = G^T (sum over tiles of Ug .* V) G, from the 16 accumulated [Co][Ci] sums.
void finish_weight_grad(const float* Macc, int64_t Co, int64_t Ci, float* gw) {
  for (int64_t o = 0; o < Co; ++o)
    for (int64_t i = 0; i < Ci; ++i) {
      float m[4][4], r[3][4];
      for (int k = 0; k < 4; ++k)
        for (int l = 0; l < 4; ++l) m[k][l] = Macc[((k * 4 + l) * Co + o) * Ci + i];
      for (int l = 0; l < 4; ++l) {  // G^T m, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]
        r[0][l] = m[0][l] + 0.5f * (m[1][l] + m[2][l]);
        r[1][l] = 0.5f * (m[1][l] - m[2][l]);
        r[2][l] = 0.5f * (m[1][l] + m[2][l]) + m[3][l];
      }
      float* g = gw + (o * Ci + i) * 9;
      for (int k = 0; k < 3; ++k) {  // (G^T m) G
        g[k * 3 + 0] = r[k][0] + 0.5f * (r[k][1] + r[k][2]);
        g[k * 3 + 1] = 0.5f * (r[k][1] - r[k][2]);
        g[k * 3 + 2] = 0.5f * (r[k][1] + r[k][2]) + r[k][3];
      }
    }
}

// gw [Co][Ci][3][3] for the 3x3, padding-1 convolution of x [N, Ci, H, W] giving go [N, Co, H, W].
void run_weight_grad(const float* x, const float* go, int64_t N, int64_t Ci, int64_t Co, int64_t H, int64_t W,
                     float* gw) {
  const Chunks chunks(N, H, W);
  std::vector<float> total(static_cast<size_t>(16 * Co * Ci), 0.0f);
  std::mutex mu;
  parallel_for(0, chunks.count, 1, [&](int64_t lo, int64_t hi) {
    thread_local std::vector<float> V, Ug, buf;
    std::vector<float> acc(static_cast<size_t>(16 * Co * Ci), 0.0f);
    for (int64_t ch = lo; ch < hi; ++ch) {
      const Chunks::Chunk c = chunks[ch];
      float* v = grow_zeroed(V, 16 * Ci * c.Tpad);
      float* u = grow_zeroed(Ug, 16 * Co * c.Tpad);
      float* scratch = grow(buf, chunks.scratch_floats());
      transform_input(x + c.n0 * Ci * H * W, c.nb, Ci, chunks.t, c.Tpad, v, scratch);
      transform_grad_tiles(go + c.n0 * Co * H * W, c.nb, Co, chunks.t, c.Tpad, u, scratch);
      // acc_xi [Co, Ci] += Ug_xi [Co, T] @ V_xi^T [T, Ci]
      for (int64_t xi = 0; xi < 16; ++xi)
        gemm(DType::f32, false, true, Co, Ci, c.T, 1.0, u + xi * Co * c.Tpad, c.Tpad, v + xi * Ci * c.Tpad, c.Tpad, 1.0,
             acc.data() + xi * Co * Ci, Ci);
    }
    std::lock_guard<std::mutex> lk(mu);
    for (size_t i = 0; i < acc.size(); ++i) total[i] += acc[i];
  });
  finish_weight_grad(total.data(), Co, Ci, gw);
}
}  // namespace

void WinogradForward(float* out, const float* in, const float* weight, const float* bias, const Window2d& w) {
  std::vector<float> U(static_cast<size_t>(16 * w.OC * w.C));
  transform_weights(weight, w.OC, w.C, false, U.data());
  run(in, w.N, w.C, w.H, w.W, U.data(), w.OC, bias, out);
}

void WinogradBackwardWeight(float* grad_weight, const float* grad_out, const float* in, const Window2d& w) {
  run_weight_grad(in, grad_out, w.N, w.C, w.OC, w.H, w.W, grad_weight);
}

void WinogradBackwardInput(float* grad_in, const float* grad_out, const float* weight, const Window2d& w) {
  std::vector<float> U(static_cast<size_t>(16 * w.OC * w.C));
  transform_weights(weight, w.OC, w.C, true, U.data());
  run(grad_out, w.N, w.OC, w.H, w.W, U.data(), w.C, nullptr, grad_in);
}

}  // namespace HWY_NAMESPACE
}  // namespace hpml::kernels::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hpml::kernels::cpu {

HWY_EXPORT(WinogradForward);
HWY_EXPORT(WinogradBackwardInput);
HWY_EXPORT(WinogradBackwardWeight);

bool winograd_applies(const Window2d& w, DType dtype) {
  return dtype == DType::f32 && w.groups == 1 && w.KH == 3 && w.KW == 3 && w.SH == 1 && w.SW == 1 && w.PH == 1 &&
         w.PW == 1 && w.DH == 1 && w.DW == 1 && w.OH == w.H && w.OW == w.W && w.C >= 16 && w.OC >= 16;
}

void winograd_conv2d(float* out, const float* in, const float* weight, const float* bias, const Window2d& w) {
  HWY_DYNAMIC_DISPATCH(WinogradForward)(out, in, weight, bias, w);
}

void winograd_conv2d_backward_input(float* grad_in, const float* grad_out, const float* weight, const Window2d& w) {
  HWY_DYNAMIC_DISPATCH(WinogradBackwardInput)(grad_in, grad_out, weight, w);
}

void winograd_conv2d_backward_weight(float* grad_weight, const float* grad_out, const float* in, const Window2d& w) {
  HWY_DYNAMIC_DISPATCH(WinogradBackwardWeight)(grad_weight, grad_out, in, w);
}

}  // namespace hpml::kernels::cpu
#endif  // HWY_ONCE
