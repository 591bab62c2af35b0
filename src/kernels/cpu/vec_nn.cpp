// Highway implementations of vec_nn.h, compiled once per SIMD target (see vec_math.cpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/vec_nn.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>

#include "kernels/cpu/vec_nn.h"

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu::vec {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Does `later` beat `earlier` in window order? If strictly greater, or NaN (PyTorch's loop takes
// `val > maxval || isnan(val)`, so the last NaN of a window wins).
template <class V>
HWY_INLINE auto LaterWins(V earlier, V later) {
  return hn::Or(hn::Gt(later, earlier), hn::IsNaN(later));  // not Ne(v, v): ordered, false on NaN
}

// Stores window positions (0..3, held as T) as bytes.
template <class D>
HWY_INLINE void StoreWindowPos(D d, hn::Vec<D> k, uint8_t* p) {
  const hn::Rebind<int32_t, D> di32;
  const hn::Rebind<uint8_t, D> du8;
  hn::Vec<decltype(di32)> ki;
  if constexpr (sizeof(hn::TFromD<D>) == 4) ki = hn::ConvertTo(di32, k);
  else ki = hn::DemoteTo(di32, k);
  (void)d;
  hn::StoreU(hn::DemoteTo(du8, ki), du8, p);
}

// Loads window positions stored as bytes, as T.
template <class D>
HWY_INLINE hn::Vec<D> LoadWindowPos(D d, const uint8_t* p) {
  const hn::Rebind<int32_t, D> di32;
  const hn::Rebind<uint8_t, D> du8;
  const auto ki = hn::PromoteTo(di32, hn::LoadU(du8, p));
  if constexpr (sizeof(hn::TFromD<D>) == 4) return hn::ConvertTo(d, ki);
  else return hn::PromoteTo(d, ki);
}

// A tournament: (a, b) and (c, d), then the two winners. Window order is a, b, c, d, and each
// match keeps the earlier value unless the later one wins, so the result is the first maximum
// (or the last NaN) of the four, as PyTorch's sequential loop finds. One step does Lanes(d) windows of a row pair;
// pk gets each window's position 0..3 as a byte.
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE void MaxPool2x2Step(D d, const T* p0, const T* p1, T* py, uint8_t* pk) {
  hn::Vec<D> a, b, c, e;
  hn::LoadInterleaved2(d, p0, a, b);
  hn::LoadInterleaved2(d, p1, c, e);
  const auto tb = LaterWins(a, b), te = LaterWins(c, e);
  const auto m1 = hn::IfThenElse(tb, b, a), m2 = hn::IfThenElse(te, e, c);
  const auto one = hn::Set(d, T(1));
  const auto k1 = hn::IfThenElseZero(tb, one), k2 = hn::Add(hn::Set(d, T(2)), hn::IfThenElseZero(te, one));
  const auto t2 = LaterWins(m1, m2);
  hn::StoreU(hn::IfThenElse(t2, m2, m1), d, py);
  StoreWindowPos(d, hn::IfThenElse(t2, k2, k1), pk);
}

// The backward of one row pair of windows: input gradient rows r0, r1 [2 Lanes(d)] from the
// output gradient g and the window positions k [Lanes(d)] (the winner gets g, the others 0).
template <class D, typename T = hn::TFromD<D>>
HWY_INLINE void MaxPool2x2BackStep(D d, const T* g, const uint8_t* k, T* r0, T* r1) {
  const auto kv = LoadWindowPos(d, k), v = hn::LoadU(d, g);
  const auto at = [&](int pos) HWY_ATTR { return hn::IfThenElseZero(hn::Eq(kv, hn::Set(d, T(pos))), v); };
  hn::StoreInterleaved2(at(0), at(1), d, r0);
  hn::StoreInterleaved2(at(2), at(3), d, r1);
}

// step(tag, i) for i over [0, n): whole vectors of the widest tag, then of 8, 4, 2 and 1 lanes.
// The pooling rows are short in CNNs (14 or 7 outputs at 28x28), shorter than the 16 f32 lanes
// of AVX-512, so most of a row runs in the narrower vectors.
template <typename T, class F>
HWY_INLINE void ForRowInVectors(int64_t n, const F& step) {
  int64_t i = 0;
  auto run = [&](auto tag) HWY_ATTR {
    const int64_t L = static_cast<int64_t>(hn::Lanes(tag));
    for (; i + L <= n; i += L) step(tag, i);
  };
  run(hn::ScalableTag<T>());
  run(hn::CappedTag<T, 8>());
  run(hn::CappedTag<T, 4>());
  run(hn::CappedTag<T, 2>());
  run(hn::CappedTag<T, 1>());
}

// A whole [2 OH (+1), W] plane.
template <typename T>
HWY_INLINE void MaxPool2x2Plane(const T* x, int64_t W, int64_t OH, int64_t OW, T* y, uint8_t* k) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    const T* r0 = x + 2 * oh * W;
    const T* r1 = r0 + W;
    T* py = y + oh * OW;
    uint8_t* pk = k + oh * OW;
    ForRowInVectors<T>(OW, [&](auto tag, int64_t i) HWY_ATTR {
      MaxPool2x2Step(tag, r0 + 2 * i, r1 + 2 * i, py + i, pk + i);
    });
  }
}

// The backward of a whole plane: gx [H, W] from g [OH, OW] and k [OH, OW] (u8); a last odd row
// or column, in no window, gets zeros.
template <typename T>
HWY_INLINE void MaxPool2x2BackwardPlane(const T* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                        T* gx) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    T* r0 = gx + 2 * oh * W;
    T* r1 = r0 + W;
    const T* pg = g + oh * OW;
    const uint8_t* pk = k + oh * OW;
    ForRowInVectors<T>(OW, [&](auto tag, int64_t i) HWY_ATTR {
      MaxPool2x2BackStep(tag, pg + i, pk + i, r0 + 2 * i, r1 + 2 * i);
    });
    for (int64_t c = 2 * OW; c < W; ++c) r0[c] = r1[c] = T(0);
  }
  std::fill(gx + 2 * OH * W, gx + H * W, T(0));
}

// Sum of a[i] * (x[i] - mean) in blocks of 1024 folded into a double, as vec::sum.
template <typename T>
HWY_INLINE double SumProdDev(const T* a, const T* x, int64_t n, double mean) {
  const hn::ScalableTag<T> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto vmean = hn::Set(d, static_cast<T>(mean));
  double total = 0;
  constexpr int64_t kBlock = 1024;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t bn = std::min(kBlock, n - b0);
    const T *pa = a + b0, *px = x + b0;
    auto s0 = hn::Zero(d), s1 = hn::Zero(d);
    int64_t i = 0;
    for (; i + 2 * L <= bn; i += 2 * L) {
      s0 = hn::MulAdd(hn::LoadU(d, pa + i), hn::Sub(hn::LoadU(d, px + i), vmean), s0);
      s1 = hn::MulAdd(hn::LoadU(d, pa + i + L), hn::Sub(hn::LoadU(d, px + i + L), vmean), s1);
    }
    for (; i + L <= bn; i += L) s0 = hn::MulAdd(hn::LoadU(d, pa + i), hn::Sub(hn::LoadU(d, px + i), vmean), s0);
    double block = static_cast<double>(hn::GetLane(hn::SumOfLanes(d, hn::Add(s0, s1))));
    for (; i < bn; ++i) block += static_cast<double>(pa[i]) * (static_cast<double>(px[i]) - mean);
    total += block;
  }
  return total;
}

template <typename T>
HWY_INLINE void Affine(const T* x, T* y, int64_t n, T s, T t) {
  const hn::ScalableTag<T> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto vs = hn::Set(d, s), vt = hn::Set(d, t);
  int64_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::MulAdd(hn::LoadU(d, x + i), vs, vt), d, y + i);
  for (; i < n; ++i) y[i] = x[i] * s + t;
}

template <typename T>
HWY_INLINE void Affine2(const T* u, const T* x, T* y, int64_t n, T a, T b, T c) {
  const hn::ScalableTag<T> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto va = hn::Set(d, a), vb = hn::Set(d, b), vc = hn::Set(d, c);
  int64_t i = 0;
  for (; i + L <= n; i += L)
    hn::StoreU(hn::MulAdd(hn::LoadU(d, u + i), va, hn::MulAdd(hn::LoadU(d, x + i), vb, vc)), d, y + i);
  for (; i < n; ++i) y[i] = u[i] * a + (x[i] * b + c);
}

template <typename T>
HWY_INLINE void Im2colShifted(const ShiftedPlanes& p, const T* keep, const T* x, T* cols) {
  const hn::ScalableTag<T> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto zero = hn::Zero(d);
  for (int64_t c = 0; c < p.C; ++c)
    for (int64_t k = 0; k < p.kk; ++k) {
      T* dst = cols + (c * p.kk + k) * p.ohw;
      const T* src = x + c * p.plane + p.off[k];  // read only at i in [lo, hi), inside the plane
      const T* kp = keep + k * p.ohw;
      const int64_t lo = p.lo[k], hi = p.hi[k];
      std::fill(dst, dst + lo, T(0));
      int64_t i = lo;
      for (; i + L <= hi; i += L)
        hn::StoreU(hn::IfThenElseZero(hn::Ne(hn::LoadU(d, kp + i), zero), hn::LoadU(d, src + i)), d, dst + i);
      for (; i < hi; ++i) dst[i] = kp[i] != T(0) ? src[i] : T(0);
      std::fill(dst + hi, dst + p.ohw, T(0));
    }
}

template <typename T>
HWY_INLINE void Col2imShifted(const ShiftedPlanes& p, const T* keep, const T* cols, T* gx) {
  const hn::ScalableTag<T> d;
  const int64_t L = static_cast<int64_t>(hn::Lanes(d));
  const auto zero = hn::Zero(d);
  for (int64_t c = 0; c < p.C; ++c)
    for (int64_t k = 0; k < p.kk; ++k) {
      const T* src = cols + (c * p.kk + k) * p.ohw;
      T* dst = gx + c * p.plane + p.off[k];  // written only at i in [lo, hi), inside the plane
      const T* kp = keep + k * p.ohw;
      const int64_t hi = p.hi[k];
      int64_t i = p.lo[k];
      for (; i + L <= hi; i += L) {
        const auto add = hn::IfThenElseZero(hn::Ne(hn::LoadU(d, kp + i), zero), hn::LoadU(d, src + i));
        hn::StoreU(hn::Add(hn::LoadU(d, dst + i), add), d, dst + i);
      }
      for (; i < hi; ++i)
        if (kp[i] != T(0)) dst[i] += src[i];
    }
}

void Im2colShiftedF32(const ShiftedPlanes& p, const float* keep, const float* x, float* cols) { Im2colShifted(p, keep, x, cols); }
void Im2colShiftedF64(const ShiftedPlanes& p, const double* keep, const double* x, double* cols) { Im2colShifted(p, keep, x, cols); }
void Col2imShiftedF32(const ShiftedPlanes& p, const float* keep, const float* cols, float* gx) { Col2imShifted(p, keep, cols, gx); }
void Col2imShiftedF64(const ShiftedPlanes& p, const double* keep, const double* cols, double* gx) { Col2imShifted(p, keep, cols, gx); }

void MaxPool2x2PlaneF32(const float* x, int64_t W, int64_t OH, int64_t OW, float* y, uint8_t* k) {
  MaxPool2x2Plane(x, W, OH, OW, y, k);
}
void MaxPool2x2PlaneF64(const double* x, int64_t W, int64_t OH, int64_t OW, double* y, uint8_t* k) {
  MaxPool2x2Plane(x, W, OH, OW, y, k);
}
void MaxPool2x2BackwardF32(const float* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW, float* gx) {
  MaxPool2x2BackwardPlane(g, k, H, W, OH, OW, gx);
}
void MaxPool2x2BackwardF64(const double* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW,
                           double* gx) {
  MaxPool2x2BackwardPlane(g, k, H, W, OH, OW, gx);
}
double SumProdDevF32(const float* a, const float* x, int64_t n, double mean) { return SumProdDev(a, x, n, mean); }
double SumProdDevF64(const double* a, const double* x, int64_t n, double mean) { return SumProdDev(a, x, n, mean); }
void AffineF32(const float* x, float* y, int64_t n, float s, float t) { Affine(x, y, n, s, t); }
void AffineF64(const double* x, double* y, int64_t n, double s, double t) { Affine(x, y, n, s, t); }
void Affine2F32(const float* u, const float* x, float* y, int64_t n, float a, float b, float c) { Affine2(u, x, y, n, a, b, c); }
void Affine2F64(const double* u, const double* x, double* y, int64_t n, double a, double b, double c) {
  Affine2(u, x, y, n, a, b, c);
}

}  // namespace HWY_NAMESPACE
}  // namespace hpml::kernels::cpu::vec
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hpml::kernels::cpu::vec {

HWY_EXPORT(Im2colShiftedF32);
HWY_EXPORT(Im2colShiftedF64);
HWY_EXPORT(Col2imShiftedF32);
HWY_EXPORT(Col2imShiftedF64);
HWY_EXPORT(MaxPool2x2PlaneF32);
HWY_EXPORT(MaxPool2x2PlaneF64);
HWY_EXPORT(MaxPool2x2BackwardF32);
HWY_EXPORT(MaxPool2x2BackwardF64);
HWY_EXPORT(SumProdDevF32);
HWY_EXPORT(SumProdDevF64);
HWY_EXPORT(AffineF32);
HWY_EXPORT(AffineF64);
HWY_EXPORT(Affine2F32);
HWY_EXPORT(Affine2F64);

void im2col_shifted(const ShiftedPlanes& p, const float* keep, const float* x, float* cols) {
  HWY_DYNAMIC_DISPATCH(Im2colShiftedF32)(p, keep, x, cols);
}
void im2col_shifted(const ShiftedPlanes& p, const double* keep, const double* x, double* cols) {
  HWY_DYNAMIC_DISPATCH(Im2colShiftedF64)(p, keep, x, cols);
}
void col2im_shifted(const ShiftedPlanes& p, const float* keep, const float* cols, float* gx) {
  HWY_DYNAMIC_DISPATCH(Col2imShiftedF32)(p, keep, cols, gx);
}
void col2im_shifted(const ShiftedPlanes& p, const double* keep, const double* cols, double* gx) {
  HWY_DYNAMIC_DISPATCH(Col2imShiftedF64)(p, keep, cols, gx);
}
void max_pool_2x2_plane(const float* x, int64_t W, int64_t OH, int64_t OW, float* y, uint8_t* k) {
  HWY_DYNAMIC_DISPATCH(MaxPool2x2PlaneF32)(x, W, OH, OW, y, k);
}
void max_pool_2x2_plane(const double* x, int64_t W, int64_t OH, int64_t OW, double* y, uint8_t* k) {
  HWY_DYNAMIC_DISPATCH(MaxPool2x2PlaneF64)(x, W, OH, OW, y, k);
}
void max_pool_2x2_plane_backward(const float* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 float* gx) {
  HWY_DYNAMIC_DISPATCH(MaxPool2x2BackwardF32)(g, k, H, W, OH, OW, gx);
}
void max_pool_2x2_plane_backward(const double* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 double* gx) {
  HWY_DYNAMIC_DISPATCH(MaxPool2x2BackwardF64)(g, k, H, W, OH, OW, gx);
}
double sum_prod_dev(const float* a, const float* x, int64_t n, double mean) {
  return HWY_DYNAMIC_DISPATCH(SumProdDevF32)(a, x, n, mean);
}
double sum_prod_dev(const double* a, const double* x, int64_t n, double mean) {
  return HWY_DYNAMIC_DISPATCH(SumProdDevF64)(a, x, n, mean);
}
void affine(const float* x, float* y, int64_t n, float s, float t) { HWY_DYNAMIC_DISPATCH(AffineF32)(x, y, n, s, t); }
void affine(const double* x, double* y, int64_t n, double s, double t) { HWY_DYNAMIC_DISPATCH(AffineF64)(x, y, n, s, t); }
void affine2(const float* u, const float* x, float* y, int64_t n, float a, float b, float c) {
  HWY_DYNAMIC_DISPATCH(Affine2F32)(u, x, y, n, a, b, c);
}
void affine2(const double* u, const double* x, double* y, int64_t n, double a, double b, double c) {
  HWY_DYNAMIC_DISPATCH(Affine2F64)(u, x, y, n, a, b, c);
}

}  // namespace hpml::kernels::cpu::vec
#endif  // HWY_ONCE
