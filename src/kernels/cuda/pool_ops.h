// One output element of each 2-d pooling (max, average, adaptive average) and one input
// gradient element of their backwards, over a contiguous [planes, H, W] input, and one element
// of convolution's im2col and col2im: what a CUDA thread of pool.cu and conv.cu computes, and
// what the host tests check against the cpu's kernels (kernels/cpu/pool.cpp, im2col_conv.cpp).
// Plain C++17 (core/hd.h).
#pragma once

#include <cstdint>
#include <limits>

#include "core/hd.h"

namespace hpml::kernels::cuda {

// kernels::Window2d, field for field.
struct Window {
  int64_t N, C, H, W, OC, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, groups;
};

HPML_HD int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
HPML_HD int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// The max of output (oh, ow) of plane xp and its flat index in the plane: PyTorch's order (row by
// row; the first maximum wins ties; a NaN wins, the last NaN over earlier ones); padding never wins.
template <typename T>
HPML_HD T max_window(const T* xp, const Window& w, int64_t oh, int64_t ow, int64_t* arg) {
  const int64_t h0 = oh * w.SH - w.PH, w0 = ow * w.SW - w.PW;
  const int64_t kh_lo = h0 >= 0 ? 0 : (-h0 + w.DH - 1) / w.DH, kh_hi = min64(w.KH, (w.H - h0 + w.DH - 1) / w.DH);
  const int64_t kw_lo = w0 >= 0 ? 0 : (-w0 + w.DW - 1) / w.DW, kw_hi = min64(w.KW, (w.W - w0 + w.DW - 1) / w.DW);
  T best = -std::numeric_limits<T>::infinity();
  int64_t a = (h0 + kh_lo * w.DH) * w.W + w0 + kw_lo * w.DW;
  for (int64_t kh = kh_lo; kh < kh_hi; ++kh)
    for (int64_t kw = kw_lo; kw < kw_hi; ++kw) {
      const int64_t i = (h0 + kh * w.DH) * w.W + w0 + kw * w.DW;
      const T v = xp[i];
      if (v > best || v != v) best = v, a = i;
    }
  *arg = a;
  return best;
}

// The window position 0..3 (row by row) of a 2x2, stride-2 window's winner, from its flat index.
HPML_HD uint8_t position_2x2(int64_t arg, int64_t W, int64_t oh, int64_t ow) {
  return static_cast<uint8_t>(((arg / W - 2 * oh) << 1) | (arg % W - 2 * ow));
}

// The divisor of average window (h0, w0): the window clipped to the padded input
// (count_include_pad) or to the input itself, unless divisor_override > 0.
HPML_HD int64_t avg_divisor(const Window& w, int64_t h0, int64_t w0, bool include_pad, int64_t override_div) {
  if (override_div > 0) return override_div;
  const int64_t h1 = min64(h0 + w.KH, w.H + w.PH), w1 = min64(w0 + w.KW, w.W + w.PW);
  if (include_pad) return (h1 - h0) * (w1 - w0);
  return (min64(h1, w.H) - max64(h0, 0)) * (min64(w1, w.W) - max64(w0, 0));
}

template <typename T>
HPML_HD T avg_window(const T* xp, const Window& w, int64_t oh, int64_t ow, bool include_pad, int64_t override_div) {
  const int64_t h0 = oh * w.SH - w.PH, w0 = ow * w.SW - w.PW;
  T s = 0;
  for (int64_t ih = max64(h0, 0); ih < min64(h0 + w.KH, w.H); ++ih)
    for (int64_t iw = max64(w0, 0); iw < min64(w0 + w.KW, w.W); ++iw) s += xp[ih * w.W + iw];
  return s / static_cast<T>(avg_divisor(w, h0, w0, include_pad, override_div));
}

// The gradient of input (ih, iw) of one plane: the sum over the outputs whose window holds it.
template <typename T>
HPML_HD T avg_window_backward(const T* gop, const Window& w, int64_t ih, int64_t iw, bool include_pad,
                              int64_t override_div) {
  // Outputs oh with oh SH - PH <= ih < oh SH - PH + KH.
  const int64_t oh_lo = max64(0, (ih + w.PH - w.KH + w.SH) / w.SH), oh_hi = min64(w.OH - 1, (ih + w.PH) / w.SH);
  const int64_t ow_lo = max64(0, (iw + w.PW - w.KW + w.SW) / w.SW), ow_hi = min64(w.OW - 1, (iw + w.PW) / w.SW);
  T g = 0;
  for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
    const int64_t h0 = oh * w.SH - w.PH;
    if (ih < h0 || ih >= h0 + w.KH) continue;
    for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
      const int64_t w0 = ow * w.SW - w.PW;
      if (iw < w0 || iw >= w0 + w.KW) continue;
      g += gop[oh * w.OW + ow] / static_cast<T>(avg_divisor(w, h0, w0, include_pad, override_div));
    }
  }
  return g;
}

// Adaptive pooling's window i along a dim of `in` -> `out`: [floor(i in / out), ceil((i + 1) in / out)).
HPML_HD int64_t adaptive_start(int64_t o, int64_t out, int64_t in) { return (o * in) / out; }
HPML_HD int64_t adaptive_end(int64_t o, int64_t out, int64_t in) { return ((o + 1) * in + out - 1) / out; }

template <typename T>
HPML_HD T adaptive_window(const T* xp, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t oh, int64_t ow) {
  const int64_t h0 = adaptive_start(oh, OH, H), h1 = adaptive_end(oh, OH, H);
  const int64_t w0 = adaptive_start(ow, OW, W), w1 = adaptive_end(ow, OW, W);
  T s = 0;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw) s += xp[ih * W + iw];
  return s / static_cast<T>((h1 - h0) * (w1 - w0));
}

template <typename T>
HPML_HD T adaptive_window_backward(const T* gop, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t ih, int64_t iw) {
  T g = 0;
  for (int64_t oh = 0; oh < OH; ++oh) {  // windows overlap by at most one, but a scan is simple
    const int64_t h0 = adaptive_start(oh, OH, H), h1 = adaptive_end(oh, OH, H);
    if (ih < h0 || ih >= h1) continue;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = adaptive_start(ow, OW, W), w1 = adaptive_end(ow, OW, W);
      if (iw < w0 || iw >= w1) continue;
      g += gop[oh * OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
    }
  }
  return g;
}

// Convolution by im2col (conv.cu): element (b, r, p) of the columns [images, C KH KW, OH OW] is
// input (b, c, ih, iw) for r = (c, kh, kw), p = (oh, ow), or 0 in the padding.
template <typename T>
HPML_HD T im2col_value(const T* x, const Window& w, int64_t b, int64_t r, int64_t p) {
  const int64_t kk = w.KH * w.KW, c = r / kk, kh = r % kk / w.KW, kw = r % w.KW, oh = p / w.OW, ow = p % w.OW;
  const int64_t ih = oh * w.SH - w.PH + kh * w.DH, iw = ow * w.SW - w.PW + kw * w.DW;
  return (ih >= 0 && ih < w.H && iw >= 0 && iw < w.W) ? x[((b * w.C + c) * w.H + ih) * w.W + iw] : T(0);
}

// col2im: the gradient of input (b, c, ih, iw), the sum of the columns' entries im2col took it to.
template <typename T>
HPML_HD T col2im_value(const T* cols, const Window& w, int64_t b, int64_t c, int64_t ih, int64_t iw) {
  const int64_t ohw = w.OH * w.OW, kk = w.KH * w.KW, ckk = w.C * kk;
  T s = 0;
  for (int64_t kh = 0; kh < w.KH; ++kh) {
    const int64_t hn = ih + w.PH - kh * w.DH;
    if (hn < 0 || hn % w.SH != 0 || hn / w.SH >= w.OH) continue;
    for (int64_t kw = 0; kw < w.KW; ++kw) {
      const int64_t wn = iw + w.PW - kw * w.DW;
      if (wn < 0 || wn % w.SW != 0 || wn / w.SW >= w.OW) continue;
      s += cols[(b * ckk + c * kk + kh * w.KW + kw) * ohw + (hn / w.SH) * w.OW + wn / w.SW];
    }
  }
  return s;
}

}  // namespace hpml::kernels::cuda
