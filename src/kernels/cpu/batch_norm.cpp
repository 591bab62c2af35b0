// CPU batch-norm kernels over a contiguous x seen as [N, C, S] (S = the product of the spatial
// dims, 1 for [N, C]): per-channel statistics, the per-channel affine maps, and the backward's
// two per-channel sums. Threads split the channels; each channel is N rows of S contiguous values.
// See Note [Fused batch norm] in src/ops/batch_norm.cpp.
#include <algorithm>

#include "hpml/core/threads.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/cpu/vec_nn.h"

namespace hpml::kernels::cpu {

namespace {
struct NCS {
  int64_t N, C, S;
};

NCS ncs(const TensorView& x) {
  const int64_t N = x.sizes[0], C = x.sizes[1];
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.sizes[d];
  return {N, C, S};
}

// Rows shorter than this run scalar loops: the SIMD entry points cost a dispatch per call.
constexpr int64_t kShortRow = 16;

// Runs f(c) for every channel, a few channels per task.
template <typename F>
void for_channels(const NCS& d, const F& f) {
  const int64_t per_channel = std::max<int64_t>(1, d.N * d.S);
  parallel_for(0, d.C, std::max<int64_t>(1, kGrain / per_channel), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) f(c);
  });
}
}  // namespace

void batch_norm_stats(const TensorView& mean, const TensorView& var, const TensorView& x) {
  const NCS d = ncs(x);
  dispatch_floating(x.dtype, "batch_norm", [&]<typename T>() {
    const T* px = x.ptr<T>();
    T* pm = mean.ptr<T>();
    T* pv = var.ptr<T>();
    const double count = static_cast<double>(d.N * d.S);
    for_channels(d, [&](int64_t c) {
      // Two passes (mean, then squared deviations from it), in double: no cancellation.
      double s = 0;
      for (int64_t n = 0; n < d.N; ++n) {
        const T* row = px + (n * d.C + c) * d.S;
        if (d.S >= kShortRow) s += vec::sum(row, d.S);
        else
          for (int64_t i = 0; i < d.S; ++i) s += static_cast<double>(row[i]);
      }
      const double m = s / count;
      double q = 0;
      for (int64_t n = 0; n < d.N; ++n) {
        const T* row = px + (n * d.C + c) * d.S;
        if (d.S >= kShortRow) q += vec::sum_sq_dev(row, d.S, m);
        else
          for (int64_t i = 0; i < d.S; ++i) q += (static_cast<double>(row[i]) - m) * (static_cast<double>(row[i]) - m);
      }
      pm[c] = static_cast<T>(m);
      pv[c] = static_cast<T>(q / count);
    });
  });
}

void batch_norm_backward_stats(const TensorView& sum_dy, const TensorView& sum_dy_xmu, const TensorView& dy,
                               const TensorView& x, const TensorView& mean) {
  const NCS d = ncs(x);
  dispatch_floating(x.dtype, "batch_norm_backward", [&]<typename T>() {
    const T* px = x.ptr<T>();
    const T* pg = dy.ptr<T>();
    const T* pm = mean.ptr<T>();
    T* s1 = sum_dy.ptr<T>();
    T* s2 = sum_dy_xmu.ptr<T>();
    for_channels(d, [&](int64_t c) {
      const double m = static_cast<double>(pm[c]);
      double a = 0, b = 0;
      for (int64_t n = 0; n < d.N; ++n) {
        const int64_t off = (n * d.C + c) * d.S;
        if (d.S >= kShortRow) {
          a += vec::sum(pg + off, d.S);
          b += vec::sum_prod_dev(pg + off, px + off, d.S, m);
        } else {
          for (int64_t i = 0; i < d.S; ++i) {
            a += static_cast<double>(pg[off + i]);
            b += static_cast<double>(pg[off + i]) * (static_cast<double>(px[off + i]) - m);
          }
        }
      }
      s1[c] = static_cast<T>(a);
      s2[c] = static_cast<T>(b);
    });
  });
}

void channel_affine(const TensorView& out, const TensorView& x, const TensorView& scale, const TensorView& shift) {
  const NCS d = ncs(x);
  dispatch_floating(x.dtype, "batch_norm", [&]<typename T>() {
    const T* px = x.ptr<T>();
    T* py = out.ptr<T>();
    const T* s = scale.ptr<T>();
    const T* t = shift.ptr<T>();
    for_channels(d, [&](int64_t c) {
      for (int64_t n = 0; n < d.N; ++n) {
        const int64_t off = (n * d.C + c) * d.S;
        if (d.S >= kShortRow) vec::affine(px + off, py + off, d.S, s[c], t[c]);
        else
          for (int64_t i = 0; i < d.S; ++i) py[off + i] = px[off + i] * s[c] + t[c];
      }
    });
  });
}

void channel_affine2(const TensorView& out, const TensorView& u, const TensorView& x, const TensorView& a,
                     const TensorView& b, const TensorView& c) {
  const NCS d = ncs(x);
  dispatch_floating(x.dtype, "batch_norm_backward", [&]<typename T>() {
    const T* pu = u.ptr<T>();
    const T* px = x.ptr<T>();
    T* py = out.ptr<T>();
    const T *pa = a.ptr<T>(), *pb = b.ptr<T>(), *pc = c.ptr<T>();
    for_channels(d, [&](int64_t ch) {
      for (int64_t n = 0; n < d.N; ++n) {
        const int64_t off = (n * d.C + ch) * d.S;
        if (d.S >= kShortRow) vec::affine2(pu + off, px + off, py + off, d.S, pa[ch], pb[ch], pc[ch]);
        else
          for (int64_t i = 0; i < d.S; ++i) py[off + i] = pu[off + i] * pa[ch] + (px[off + i] * pb[ch] + pc[ch]);
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
