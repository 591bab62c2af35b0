// CPU 2-d convolution by im2col + GEMM (see Note [Convolution as GEMM]); 3x3 "same" f32
// convolutions go through Winograd (winograd.cpp) for the output and both gradients.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <vector>

#include "hpml/core/threads.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/cpu/vec_nn.h"
#include "kernels/cpu/winograd.h"

namespace hpml::kernels::cpu {

// Note [Convolution as GEMM]
// For one image and one group, im2col lays out every input patch as a column:
//   cols [Cg*KH*KW, OH*OW],  out_g [OCg, OH*OW] = weight_g [OCg, Cg*KH*KW] @ cols
// backward: grad_cols = weight_g^T @ grad_out_g, scattered back by col2im (overlapping patches
// add up); grad_weight_g += grad_out_g @ cols^T (cols recomputed, not stored from the forward).
// Work is split across threads by image, each running single-threaded GEMMs on its own cols
// buffer — unless there are fewer images than threads, then images run one after another and
// each GEMM uses all threads. A 1x1 convolution with stride 1 and no padding needs no im2col.
//
// Note [Which convolution]
// oneDNN (libdnnl, which hpml links for its sgemm) has convolution primitives, and PyTorch 1.13
// uses them. They were measured before this code was written: with NCHW tensors oneDNN picks its
// im2col path (about 10.9 ms forward for 32->64 channels, 3x3, 14x14, batch 128, one thread, from
// Python); in its blocked nChw16c layout it takes about 4.1 ms, before the reorders to and from
// NCHW that every call would need here. With a one-off timing loop over the same forward, im2col +
// oneDNN's sgemm took 5.0 ms and Winograd (winograd.cpp) 3.7 ms, so hpml keeps its own: Winograd
// for the 3x3 "same" f32 case that CNNs are made of, im2col + GEMM for everything else (with the shifted-plane im2col below), and no
// layout conversions. scripts/bench (group nn) compares the whole layer with libtorch's.
namespace {

// Output columns [lo, hi) whose input column ow * SW - PW + kw * DW lies inside [0, W).
inline void valid_cols(const Window2d& w, int64_t kw, int64_t* lo, int64_t* hi) {
  const int64_t off = kw * w.DW - w.PW;  // iw = ow * SW + off
  *lo = off >= 0 ? 0 : (-off + w.SW - 1) / w.SW;
  *hi = w.W - off <= 0 ? 0 : std::min<int64_t>(w.OW, (w.W - off + w.SW - 1) / w.SW);
  if (*lo > *hi) *lo = *hi;
}

// Note [Shifted-plane im2col]
// With stride 1 and an output as wide as the input (the "same" 3x3 / pad 1 case of most CNNs),
// the im2col row for one (c, kh, kw) is the input plane shifted by off = (kh DH - PH) W + kw DW - PW
// elements: one contiguous copy, then zeros where the shift crossed the top or bottom of the plane
// or wrapped around a row edge (|kw DW - PW| entries per row). This replaces OH small copies per
// (c, kh, kw) with one large one. col2im is the same shift backwards, as one vector add, after the
// wrapped entries of the columns are zeroed (cols is scratch, owned by the caller).
bool is_shifted_plane(const Window2d& w) { return w.SH == 1 && w.SW == 1 && w.OW == w.W; }

struct Shift {
  int64_t off;          // source index = destination index + off
  int64_t i_lo, i_hi;   // destination range whose source lies inside the plane
  int64_t col_lo, col_hi;  // valid output columns of each row
};

Shift plane_shift(const Window2d& w, int64_t kh, int64_t kw) {
  const int64_t dh = kh * w.DH - w.PH, dw = kw * w.DW - w.PW;
  Shift s{};
  s.off = dh * w.W + dw;
  const int64_t oh_lo = std::clamp<int64_t>(-dh, 0, w.OH), oh_hi = std::clamp<int64_t>(w.H - dh, oh_lo, w.OH);
  // Rows [oh_lo, oh_hi) read inside the plane; within them, entries whose source index falls
  // outside it are wrapped ones (zeroed anyway). All clamped so that i_lo <= i_hi <= OH * OW.
  s.i_lo = std::min(std::max(oh_lo * w.OW, -s.off), oh_hi * w.OW);
  s.i_hi = std::clamp(std::min(oh_hi * w.OW, w.H * w.W - s.off), s.i_lo, oh_hi * w.OW);
  s.col_lo = std::clamp<int64_t>(-dw, 0, w.OW);
  s.col_hi = std::clamp<int64_t>(w.W - dw, s.col_lo, w.OW);
  return s;
}

template <typename T>
void im2col(const T* x, T* cols, int64_t C, const Window2d& w) {
  const int64_t ohw = w.OH * w.OW;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < w.KH; ++kh)
      for (int64_t kw = 0; kw < w.KW; ++kw) {
        T* dst = cols + ((c * w.KH + kh) * w.KW + kw) * ohw;
        const T* plane = x + c * w.H * w.W;
        int64_t lo, hi;
        valid_cols(w, kw, &lo, &hi);
        const int64_t off = kw * w.DW - w.PW;
        for (int64_t oh = 0; oh < w.OH; ++oh) {
          const int64_t ih = oh * w.SH - w.PH + kh * w.DH;
          T* row = dst + oh * w.OW;
          if (ih < 0 || ih >= w.H) {
            std::fill(row, row + w.OW, T(0));
            continue;
          }
          const T* src = plane + ih * w.W + off;
          std::fill(row, row + lo, T(0));
          if (w.SW == 1) std::memcpy(row + lo, src + lo, static_cast<size_t>(hi - lo) * sizeof(T));
          else
            for (int64_t ow = lo; ow < hi; ++ow) row[ow] = src[ow * w.SW];
          std::fill(row + hi, row + w.OW, T(0));
        }
      }
}

// grad_x (zeroed by the caller) += the columns put back where im2col took them.
template <typename T>
void col2im(const T* cols, T* gx, int64_t C, const Window2d& w) {
  const int64_t ohw = w.OH * w.OW;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < w.KH; ++kh)
      for (int64_t kw = 0; kw < w.KW; ++kw) {
        const T* src = cols + ((c * w.KH + kh) * w.KW + kw) * ohw;
        T* plane = gx + c * w.H * w.W;
        int64_t lo, hi;
        valid_cols(w, kw, &lo, &hi);
        const int64_t off = kw * w.DW - w.PW;
        for (int64_t oh = 0; oh < w.OH; ++oh) {
          const int64_t ih = oh * w.SH - w.PH + kh * w.DH;
          if (ih < 0 || ih >= w.H) continue;
          T* dst = plane + ih * w.W + off;
          const T* row = src + oh * w.OW;
          if (w.SW == 1)
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += row[ow];
          else
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * w.SW] += row[ow];
        }
      }
}

// im2col / col2im for C channels of one window, set up once per kernel call: the shifted-plane
// path (its offsets, ranges and keep masks computed here) or the general loops.
template <typename T>
class Patches {
 public:
  Patches(const Window2d& w, int64_t C) : w_(w), C_(C), shifted_(is_shifted_plane(w)) {
    if (!shifted_) return;
    const int64_t kk = w.KH * w.KW, ohw = w.OH * w.OW;
    off_.resize(static_cast<size_t>(kk)), lo_.resize(static_cast<size_t>(kk)), hi_.resize(static_cast<size_t>(kk));
    keep_.assign(static_cast<size_t>(kk * ohw), T(0));
    for (int64_t kh = 0; kh < w.KH; ++kh)
      for (int64_t kw = 0; kw < w.KW; ++kw) {
        const int64_t k = kh * w.KW + kw;
        const Shift sh = plane_shift(w, kh, kw);
        off_[k] = sh.off, lo_[k] = sh.i_lo, hi_[k] = sh.i_hi;
        for (int64_t i = sh.i_lo; i < sh.i_hi; ++i) {
          const int64_t col = i % w.OW;
          keep_[k * ohw + i] = col >= sh.col_lo && col < sh.col_hi ? T(1) : T(0);
        }
      }
    planes_ = vec::ShiftedPlanes{C, w.H * w.W, ohw, kk, off_.data(), lo_.data(), hi_.data()};
  }
  // cols [C * KH * KW, OH * OW] from x [C, H, W].
  void im2col(const T* x, T* cols) const {
    if (shifted_) vec::im2col_shifted(planes_, keep_.data(), x, cols);
    else cpu::im2col(x, cols, C_, w_);
  }
  // gx [C, H, W] (zeroed by the caller) += cols put back.
  void col2im(const T* cols, T* gx) const {
    if (shifted_) vec::col2im_shifted(planes_, keep_.data(), cols, gx);
    else cpu::col2im(cols, gx, C_, w_);
  }

 private:
  Window2d w_;
  int64_t C_;
  bool shifted_;
  std::vector<int64_t> off_, lo_, hi_;
  std::vector<T> keep_;
  vec::ShiftedPlanes planes_{};
};

// Scratch memory kept per thread between calls (a fresh buffer each call would be zero-filled
// by the kernel on first touch, page by page).
template <typename T>
T* scratch(int64_t n) {
  thread_local std::vector<char> buf;
  const size_t bytes = static_cast<size_t>(n) * sizeof(T);
  if (buf.size() < bytes) buf.resize(bytes);
  return reinterpret_cast<T*>(buf.data());
}

bool is_pointwise(const Window2d& w) {
  return w.KH == 1 && w.KW == 1 && w.SH == 1 && w.SW == 1 && w.PH == 0 && w.PW == 0 && w.OH == w.H && w.OW == w.W;
}

// Calls f(n, cols_buffer) for every image, split across threads by image when there are enough.
template <typename T, typename F>
void for_images(const Window2d& w, int64_t cols_size, const F& f) {
  if (w.N >= get_num_threads()) {
    parallel_for(0, w.N, 1, [&](int64_t lo, int64_t hi) {
      T* cols = scratch<T>(cols_size);
      for (int64_t n = lo; n < hi; ++n) f(n, cols);
    });
  } else {
    T* cols = scratch<T>(cols_size);
    for (int64_t n = 0; n < w.N; ++n) f(n, cols);
  }
}

}  // namespace

void conv2d(const TensorView& out, const TensorView& in, const TensorView& weight, const TensorView* bias,
            const Window2d& w) {
  if (winograd_applies(w, in.dtype))
    return winograd_conv2d(out.ptr<float>(), in.ptr<float>(), weight.ptr<float>(), bias ? bias->ptr<float>() : nullptr, w);
  dispatch_floating(in.dtype, "conv2d", [&]<typename T>() {
    const int64_t G = w.groups, Cg = w.C / G, OCg = w.OC / G, CKg = Cg * w.KH * w.KW, ohw = w.OH * w.OW;
    const Patches<T> patches(w, Cg);
    const bool pointwise = is_pointwise(w);
    const T* x = in.ptr<T>();
    const T* wt = weight.ptr<T>();
    T* y = out.ptr<T>();
    const T* b = bias ? bias->ptr<T>() : nullptr;
    for_images<T>(w, pointwise ? 0 : CKg * ohw, [&](int64_t n, T* cols) {
      for (int64_t g = 0; g < G; ++g) {
        const T* xg = x + (n * w.C + g * Cg) * w.H * w.W;
        if (!pointwise) patches.im2col(xg, cols);
        T* yg = y + (n * w.OC + g * OCg) * ohw;
        gemm(in.dtype, false, false, OCg, ohw, CKg, 1.0, wt + g * OCg * CKg, CKg, pointwise ? xg : cols, ohw, 0.0, yg, ohw);
      }
      if (b)
        for (int64_t oc = 0; oc < w.OC; ++oc) {
          T* row = y + (n * w.OC + oc) * ohw;
          for (int64_t i = 0; i < ohw; ++i) row[i] += b[oc];
        }
    });
  });
}

void conv2d_backward_input(const TensorView& grad_in, const TensorView& grad_out, const TensorView& weight,
                           const Window2d& w) {
  if (winograd_applies(w, weight.dtype))
    return winograd_conv2d_backward_input(grad_in.ptr<float>(), grad_out.ptr<float>(), weight.ptr<float>(), w);
  dispatch_floating(weight.dtype, "conv2d_backward", [&]<typename T>() {
    const int64_t G = w.groups, Cg = w.C / G, OCg = w.OC / G, CKg = Cg * w.KH * w.KW, ohw = w.OH * w.OW;
    const Patches<T> patches(w, Cg);
    const bool pointwise = is_pointwise(w);
    const T* go = grad_out.ptr<T>();
    const T* wt = weight.ptr<T>();
    T* gx = grad_in.ptr<T>();
    for_images<T>(w, pointwise ? 0 : CKg * ohw, [&](int64_t n, T* cols) {
      for (int64_t g = 0; g < G; ++g) {
        T* gxg = gx + (n * w.C + g * Cg) * w.H * w.W;
        const T* gog = go + (n * w.OC + g * OCg) * ohw;
        // cols [CKg, ohw] = weight_g^T [CKg, OCg] @ grad_out_g [OCg, ohw]
        T* dst = pointwise ? gxg : cols;
        gemm(weight.dtype, true, false, CKg, ohw, OCg, 1.0, wt + g * OCg * CKg, CKg, gog, ohw, 0.0, dst, ohw);
        if (!pointwise) {
          std::fill(gxg, gxg + Cg * w.H * w.W, T(0));
          patches.col2im(cols, gxg);
        }
      }
    });
  });
}

void conv2d_backward_weight(const TensorView& grad_weight, const TensorView* grad_bias, const TensorView& grad_out,
                            const TensorView& in, const Window2d& w) {
  dispatch_floating(in.dtype, "conv2d_backward", [&]<typename T>() {
    const int64_t G = w.groups, Cg = w.C / G, OCg = w.OC / G, CKg = Cg * w.KH * w.KW, ohw = w.OH * w.OW;
    const Patches<T> patches(w, Cg);
    const bool pointwise = is_pointwise(w);
    const T* go = grad_out.ptr<T>();
    const T* x = in.ptr<T>();
    T* gw = grad_weight.ptr<T>();
    T* gb = grad_bias ? grad_bias->ptr<T>() : nullptr;
    if constexpr (std::is_same_v<T, float>) {
      if (winograd_applies(w, in.dtype)) {
        winograd_conv2d_backward_weight(gw, go, x, w);
        if (gb)
          parallel_for(0, w.OC, 1, [&](int64_t lo, int64_t hi) {
            for (int64_t oc = lo; oc < hi; ++oc) {
              double s = 0;  // vec::sum folds blocks into a double; keep summing in it
              for (int64_t n = 0; n < w.N; ++n) s += vec::sum(go + (n * w.OC + oc) * ohw, ohw);
              gb[oc] = static_cast<T>(s);
            }
          });
        return;
      }
    }
    std::fill(gw, gw + w.OC * CKg, T(0));
    if (gb) std::fill(gb, gb + w.OC, T(0));
    std::mutex mu;
    // Each thread accumulates its images into its own [OC, CKg] buffer, then adds it in.
    auto chunk = [&](int64_t lo, int64_t hi) {
      T* cols = scratch<T>(pointwise ? 0 : CKg * ohw);
      std::vector<T> part(static_cast<size_t>(w.OC * CKg), T(0)), bpart(static_cast<size_t>(w.OC), T(0));
      for (int64_t n = lo; n < hi; ++n) {
        for (int64_t g = 0; g < G; ++g) {
          const T* xg = x + (n * w.C + g * Cg) * w.H * w.W;
          if (!pointwise) patches.im2col(xg, cols);
          const T* gog = go + (n * w.OC + g * OCg) * ohw;
          // part_g [OCg, CKg] += grad_out_g [OCg, ohw] @ cols^T [ohw, CKg]
          gemm(in.dtype, false, true, OCg, CKg, ohw, 1.0, gog, ohw, pointwise ? xg : cols, ohw, 1.0,
               part.data() + g * OCg * CKg, CKg);
        }
        if (gb)
          for (int64_t oc = 0; oc < w.OC; ++oc) {
            bpart[oc] += static_cast<T>(vec::sum(go + (n * w.OC + oc) * ohw, ohw));
          }
      }
      std::lock_guard<std::mutex> lk(mu);
      for (size_t i = 0; i < part.size(); ++i) gw[i] += part[i];
      if (gb)
        for (int64_t oc = 0; oc < w.OC; ++oc) gb[oc] += bpart[oc];
    };
    if (w.N >= get_num_threads()) parallel_for(0, w.N, 1, chunk);
    else chunk(0, w.N);
  });
}

}  // namespace hpml::kernels::cpu
