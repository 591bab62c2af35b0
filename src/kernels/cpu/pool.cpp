// CPU pooling: max (with argmax indices for the backward), average, adaptive average; each over
// contiguous [N, C, H, W], one (n, c) plane per task.
#include <algorithm>
#include <cstdint>
#include <vector>
#include <limits>

#include "hpml/core/threads.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_nn.h"

namespace hpml::kernels::cpu {

namespace {
int64_t planes(const Window2d& w) { return w.N * w.C; }
int64_t plane_grain(const Window2d& w) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, w.OH * w.OW * w.KH * w.KW)); }

// Divisor of an average window: the window clipped to the padded input (count_include_pad) or
// to the input itself.
int64_t avg_divisor(const Window2d& w, int64_t h0, int64_t w0, bool include_pad, int64_t override_div) {
  if (override_div > 0) return override_div;
  int64_t h1 = std::min(h0 + w.KH, w.H + w.PH), w1 = std::min(w0 + w.KW, w.W + w.PW);
  if (include_pad) return (h1 - h0) * (w1 - w0);
  return (std::min(h1, w.H) - std::max<int64_t>(h0, 0)) * (std::min(w1, w.W) - std::max<int64_t>(w0, 0));
}

// Note [2x2 max pooling]
// The pooling of nearly every CNN (kernel 2, stride 2, no padding or dilation) gets its own loop:
// the four candidates of a window are compared in PyTorch's order (row by row; the first maximum
// wins ties; a NaN wins, and the last NaN of a window over earlier ones) without the general
// loop's window clipping. Same answer as the general loop, about ten times faster: the choice is
// made with SIMD masks (vec::max_pool_2x2_plane). A scalar `best = v > best ? v : best` compiles
// to a branch, and with random data the winner is a coin toss, so that loop ran at ~40 cycles
// per output. kernels/backend.h's is_2x2_pool says which windows qualify.
//
// Note [Compact 2x2 max pooling indices]
// max_pool2d without return_indices keeps, for 2x2 windows, only which of the four won (u8: 0..3,
// row by row within the window) rather than the i64 flat index: the forward writes 1 byte per
// output instead of 8 and skips computing the index. The 2x2 windows do not overlap, so the
// backward writes each input gradient element exactly once (the winner of its window gets the
// output gradient, the other three 0; a last odd row or column, in no window, gets 0) instead of
// zero-filling the plane and then scattering into it. Together about half the memory traffic of
// the i64 path. max_pool2d_with_indices, which returns PyTorch's i64 indices, computes them from
// the same byte positions (below) and keeps the fill-and-scatter backward.
template <typename T>
void max_pool_2x2_plane(const T* xp, T* yp, int64_t* ip, uint8_t* k, const Window2d& w) {
  vec::max_pool_2x2_plane(xp, w.W, w.OH, w.OW, yp, k);
  for (int64_t oh = 0; oh < w.OH; ++oh)
    for (int64_t ow = 0; ow < w.OW; ++ow) {
      const int64_t kk = k[oh * w.OW + ow];  // row kk / 2, column kk % 2 of the window
      ip[oh * w.OW + ow] = (2 * oh + (kk >> 1)) * w.W + 2 * ow + (kk & 1);
    }
}

}  // namespace

void max_pool2d(const TensorView& out, const TensorView& indices, const TensorView& in, const Window2d& w) {
  dispatch_floating(in.dtype, "max_pool2d", [&]<typename T>() {
    const T* x = in.ptr<T>();
    T* y = out.ptr<T>();
    const bool fast = is_2x2_pool(w), compact = indices.dtype == DType::u8;
    HPML_ASSERT(!compact || fast, "max_pool2d: u8 indices need 2x2 windows");
    int64_t* idx = compact ? nullptr : indices.ptr<int64_t>();
    uint8_t* kidx = compact ? indices.ptr<uint8_t>() : nullptr;
    parallel_for(0, planes(w), plane_grain(w), [&](int64_t lo, int64_t hi) {
      std::vector<uint8_t> kbuf(fast && !compact ? static_cast<size_t>(w.OH * w.OW) : 0);
      for (int64_t p = lo; p < hi; ++p) {
        const T* xp = x + p * w.H * w.W;
        T* yp = y + p * w.OH * w.OW;
        if (compact) {  // Note [Compact 2x2 max pooling indices]
          vec::max_pool_2x2_plane(xp, w.W, w.OH, w.OW, yp, kidx + p * w.OH * w.OW);
          continue;
        }
        int64_t* ip = idx + p * w.OH * w.OW;
        if (fast) {
          max_pool_2x2_plane(xp, yp, ip, kbuf.data(), w);
          continue;
        }
        for (int64_t oh = 0; oh < w.OH; ++oh) {
          // Window rows inside the input (padding never wins: it is -inf).
          const int64_t h0 = oh * w.SH - w.PH;
          const int64_t kh_lo = h0 >= 0 ? 0 : (-h0 + w.DH - 1) / w.DH;
          const int64_t kh_hi = std::min(w.KH, (w.H - h0 + w.DH - 1) / w.DH);
          for (int64_t ow = 0; ow < w.OW; ++ow) {
            const int64_t w0 = ow * w.SW - w.PW;
            const int64_t kw_lo = w0 >= 0 ? 0 : (-w0 + w.DW - 1) / w.DW;
            const int64_t kw_hi = std::min(w.KW, (w.W - w0 + w.DW - 1) / w.DW);
            // As PyTorch: take v if v > best or v is NaN, so the first maximum wins ties and the
            // last NaN wins (its index is what the backward uses).
            T best = -std::numeric_limits<T>::infinity();
            int64_t arg = (h0 + kh_lo * w.DH) * w.W + w0 + kw_lo * w.DW;
            for (int64_t kh = kh_lo; kh < kh_hi; ++kh) {
              const int64_t row = (h0 + kh * w.DH) * w.W;
              for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
                const int64_t i = row + w0 + kw * w.DW;
                const T v = xp[i];
                if (v > best || v != v) best = v, arg = i;
              }
            }
            yp[oh * w.OW + ow] = best;
            ip[oh * w.OW + ow] = arg;
          }
        }
      }
    });
  });
}

void max_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& indices,
                         const Window2d& w) {
  dispatch_floating(grad_out.dtype, "max_pool2d_backward", [&]<typename T>() {
    const T* go = grad_out.ptr<T>();
    T* gx = grad_in.ptr<T>();
    if (indices.dtype == DType::u8) {  // Note [Compact 2x2 max pooling indices]
      HPML_ASSERT(is_2x2_pool(w), "max_pool2d_backward: u8 indices need 2x2 windows");
      const uint8_t* k = indices.ptr<uint8_t>();
      parallel_for(0, planes(w), plane_grain(w), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p)
          vec::max_pool_2x2_plane_backward(go + p * w.OH * w.OW, k + p * w.OH * w.OW, w.H, w.W, w.OH, w.OW,
                                           gx + p * w.H * w.W);
      });
      return;
    }
    const int64_t* idx = indices.ptr<int64_t>();
    parallel_for(0, planes(w), plane_grain(w), [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        T* gp = gx + p * w.H * w.W;
        std::fill(gp, gp + w.H * w.W, T(0));
        for (int64_t o = 0; o < w.OH * w.OW; ++o) {
          const int64_t i = idx[p * w.OH * w.OW + o];
          if (i >= 0) gp[i] += go[p * w.OH * w.OW + o];
        }
      }
    });
  });
}

void avg_pool2d(const TensorView& out, const TensorView& in, const Window2d& w, bool include_pad, int64_t div_override) {
  dispatch_floating(in.dtype, "avg_pool2d", [&]<typename T>() {
    const T* x = in.ptr<T>();
    T* y = out.ptr<T>();
    parallel_for(0, planes(w), plane_grain(w), [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const T* xp = x + p * w.H * w.W;
        for (int64_t oh = 0; oh < w.OH; ++oh)
          for (int64_t ow = 0; ow < w.OW; ++ow) {
            const int64_t h0 = oh * w.SH - w.PH, w0 = ow * w.SW - w.PW;
            T s = 0;
            for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + w.KH, w.H); ++ih)
              for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + w.KW, w.W); ++iw) s += xp[ih * w.W + iw];
            y[(p * w.OH + oh) * w.OW + ow] = s / static_cast<T>(avg_divisor(w, h0, w0, include_pad, div_override));
          }
      }
    });
  });
}

void avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out, const Window2d& w, bool include_pad,
                         int64_t div_override) {
  dispatch_floating(grad_out.dtype, "avg_pool2d_backward", [&]<typename T>() {
    const T* go = grad_out.ptr<T>();
    T* gx = grad_in.ptr<T>();
    parallel_for(0, planes(w), plane_grain(w), [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        T* gp = gx + p * w.H * w.W;
        std::fill(gp, gp + w.H * w.W, T(0));
        for (int64_t oh = 0; oh < w.OH; ++oh)
          for (int64_t ow = 0; ow < w.OW; ++ow) {
            const int64_t h0 = oh * w.SH - w.PH, w0 = ow * w.SW - w.PW;
            const T g = go[(p * w.OH + oh) * w.OW + ow] / static_cast<T>(avg_divisor(w, h0, w0, include_pad, div_override));
            for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + w.KH, w.H); ++ih)
              for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + w.KW, w.W); ++iw) gp[ih * w.W + iw] += g;
          }
      }
    });
  });
}

namespace {
int64_t start_index(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
int64_t end_index(int64_t o, int64_t out, int64_t in) { return ((o + 1) * in + out - 1) / out; }
}  // namespace

// in [N, C, H, W] -> out [N, C, OH, OW]
void adaptive_avg_pool2d(const TensorView& out, const TensorView& in) {
  const int64_t P = in.sizes[0] * in.sizes[1], H = in.sizes[2], W = in.sizes[3], OH = out.sizes[2], OW = out.sizes[3];
  dispatch_floating(in.dtype, "adaptive_avg_pool2d", [&]<typename T>() {
    const T* x = in.ptr<T>();
    T* y = out.ptr<T>();
    parallel_for(0, P, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t h0 = start_index(oh, OH, H), h1 = end_index(oh, OH, H);
            const int64_t w0 = start_index(ow, OW, W), w1 = end_index(ow, OW, W);
            T s = 0;
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) s += x[(p * H + ih) * W + iw];
            y[(p * OH + oh) * OW + ow] = s / static_cast<T>((h1 - h0) * (w1 - w0));
          }
    });
  });
}

void adaptive_avg_pool2d_backward(const TensorView& grad_in, const TensorView& grad_out) {
  const int64_t P = grad_in.sizes[0] * grad_in.sizes[1], H = grad_in.sizes[2], W = grad_in.sizes[3];
  const int64_t OH = grad_out.sizes[2], OW = grad_out.sizes[3];
  dispatch_floating(grad_out.dtype, "adaptive_avg_pool2d_backward", [&]<typename T>() {
    const T* go = grad_out.ptr<T>();
    T* gx = grad_in.ptr<T>();
    parallel_for(0, P, 16, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        std::fill(gx + p * H * W, gx + (p + 1) * H * W, T(0));
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t h0 = start_index(oh, OH, H), h1 = end_index(oh, OH, H);
            const int64_t w0 = start_index(ow, OW, W), w1 = end_index(ow, OW, W);
            const T g = go[(p * OH + oh) * OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) gx[(p * H + ih) * W + iw] += g;
          }
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
