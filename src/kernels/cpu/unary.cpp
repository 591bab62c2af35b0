// CPU unary kernels: out = f(in) elementwise. exp/log/tanh/sigmoid on floats go through the SIMD
// math of vec_math.cpp (strided operands are staged through a small contiguous buffer so every
// layout gets bit-identical results); the rest are plain loops the compiler vectorizes.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/unary.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/loops.h"
#include "kernels/wrapping.h"
#include "kernels/cpu/vec_math.h"

#include "kernels/cpu/inner_loops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu {
namespace HWY_NAMESPACE {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

// The two GELUs apart, so that the exact one's loop, with no libm call in it, vectorizes.
template <typename T>
T gelu_tanh_value(T x) {
  T inner = T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x);
  return T(0.5) * x * (T(1) + std::tanh(inner));
}

template <typename T>
T gelu_value(T x) {
  return T(0.5) * x * (T(1) + erf_of(x * T(kSqrt1_2)));  // Note [GELU's erf]
}

// Runs the SIMD array function `fn` over the loop, staging strided operands through a buffer.
template <typename T, typename Fn>
void vec_apply(const TensorView& out, const TensorView& in, Fn fn) {
  for_each<2>({&out, &in}, [fn](char** d, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
      fn(reinterpret_cast<const T*>(d[1]), reinterpret_cast<T*>(d[0]), n);
      return;
    }
    constexpr int64_t kBuf = 256;
    T buf[kBuf];
    for (int64_t i0 = 0; i0 < n; i0 += kBuf) {
      int64_t m = std::min(kBuf, n - i0);
      for (int64_t i = 0; i < m; ++i) buf[i] = at<T>(d[1], s[1], i0 + i);
      fn(buf, buf, m);
      for (int64_t i = 0; i < m; ++i) at<T>(d[0], s[0], i0 + i) = buf[i];
    }
  });
}

template <typename T, typename F>
void map(const TensorView& out, const TensorView& in, F f) {
  for_each<2>({&out, &in}, [&f](char** d, const int64_t* s, int64_t n) { unary_loop<T, T>(d, s, n, f); });
}

template <typename T>
void float_unary(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p) {
  const T a = static_cast<T>(p.a), b = static_cast<T>(p.b);
  switch (op) {
    case UnaryOp::exp: return vec_apply<T>(out, in, [](const T* x, T* y, int64_t n) { vec::exp(x, y, n); });
    case UnaryOp::log: return vec_apply<T>(out, in, [](const T* x, T* y, int64_t n) { vec::log(x, y, n); });
    case UnaryOp::tanh: return vec_apply<T>(out, in, [](const T* x, T* y, int64_t n) { vec::tanh(x, y, n); });
    case UnaryOp::sigmoid:
      return vec_apply<T>(out, in, [](const T* x, T* y, int64_t n) { vec::sigmoid(x, y, n); });
    case UnaryOp::log1p: return map<T>(out, in, [](T x) { return std::log1p(x); });
    case UnaryOp::expm1: return map<T>(out, in, [](T x) { return std::expm1(x); });
    case UnaryOp::sqrt: return map<T>(out, in, [](T x) { return std::sqrt(x); });
    case UnaryOp::rsqrt: return map<T>(out, in, [](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::reciprocal: return map<T>(out, in, [](T x) { return T(1) / x; });
    case UnaryOp::sin: return map<T>(out, in, [](T x) { return std::sin(x); });
    case UnaryOp::cos: return map<T>(out, in, [](T x) { return std::cos(x); });
    case UnaryOp::leaky_relu: return map<T>(out, in, [a](T x) { return x > T(0) ? x : x * a; });
    case UnaryOp::hardtanh: return map<T>(out, in, [a, b](T x) { return x < a ? a : (x > b ? b : x); });
    case UnaryOp::gelu:
      if (p.a != 0) return map<T>(out, in, [](T x) { return gelu_tanh_value(x); });
      return map<T>(out, in, [](T x) { return gelu_value(x); });
    case UnaryOp::softplus:  // a = beta, b = threshold
      return map<T>(out, in, [a, b](T x) { return x * a > b ? x : std::log1p(std::exp(x * a)) / a; });
    case UnaryOp::elu: return map<T>(out, in, [a](T x) { return x > T(0) ? x : a * std::expm1(x); });
    case UnaryOp::pow: {
      if (p.a == 2.0) return map<T>(out, in, [](T x) { return x * x; });
      if (p.a == 0.5) return map<T>(out, in, [](T x) { return std::sqrt(x); });
      if (p.a == 1.0) return map<T>(out, in, [](T x) { return x; });
      if (p.a == -1.0) return map<T>(out, in, [](T x) { return T(1) / x; });
      return map<T>(out, in, [a](T x) { return std::pow(x, a); });
    }
    case UnaryOp::floor: return map<T>(out, in, [](T x) { return std::floor(x); });
    case UnaryOp::ceil: return map<T>(out, in, [](T x) { return std::ceil(x); });
    case UnaryOp::round: return map<T>(out, in, [](T x) { return std::nearbyint(x); });
    case UnaryOp::trunc: return map<T>(out, in, [](T x) { return std::trunc(x); });
    case UnaryOp::erf: return map<T>(out, in, [](T x) { return std::erf(x); });
    case UnaryOp::erfc: return map<T>(out, in, [](T x) { return std::erfc(x); });
    case UnaryOp::tan: return map<T>(out, in, [](T x) { return std::tan(x); });
    case UnaryOp::asin: return map<T>(out, in, [](T x) { return std::asin(x); });
    case UnaryOp::acos: return map<T>(out, in, [](T x) { return std::acos(x); });
    case UnaryOp::atan: return map<T>(out, in, [](T x) { return std::atan(x); });
    case UnaryOp::sinh: return map<T>(out, in, [](T x) { return std::sinh(x); });
    case UnaryOp::cosh: return map<T>(out, in, [](T x) { return std::cosh(x); });
    case UnaryOp::log2: return map<T>(out, in, [](T x) { return std::log2(x); });
    case UnaryOp::log10: return map<T>(out, in, [](T x) { return std::log10(x); });
    case UnaryOp::exp2: return map<T>(out, in, [](T x) { return std::exp2(x); });
    default: break;
  }
  HPML_ASSERT(false, "unary kernel: op ", static_cast<int>(op), " is not a float-only op");
}

}  // namespace

void UnaryImpl(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p) {
  if (op == UnaryOp::logical_not) {
    return dispatch_all(in.dtype, "logical_not", [&]<typename T>() {
      for_each<2>({&out, &in}, [](char** d, const int64_t* s, int64_t n) {
        unary_loop<bool, T>(d, s, n, [](T x) { return x == T(0); });
      });
    });
  }
  // Ops defined for every numeric dtype.
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::sign:
    case UnaryOp::square:
    case UnaryOp::relu:
    case UnaryOp::clamp:
      return dispatch_all(in.dtype, "unary", [&]<typename T>() {
        // clamp bounds: +-inf mean "no bound"; integers clamp to their own range.
        using L = std::numeric_limits<T>;
        const T lo = p.a < double(L::lowest()) ? (L::has_infinity ? -L::infinity() : L::lowest()) : static_cast<T>(p.a);
        const T hi = p.b > double(L::max()) ? (L::has_infinity ? L::infinity() : L::max()) : static_cast<T>(p.b);
        switch (op) {
          case UnaryOp::neg: return map<T>(out, in, [](T x) { return wsub(T(0), x); });
          case UnaryOp::abs:
            return map<T>(out, in, [](T x) {
              if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
              else return x < T(0) ? wsub(T(0), x) : x;
            });
          case UnaryOp::sign:
            return map<T>(out, in, [](T x) { return static_cast<T>((T(0) < x) - (x < T(0))); });
          case UnaryOp::square: return map<T>(out, in, [](T x) { return wmul(x, x); });
          case UnaryOp::relu: return map<T>(out, in, [](T x) { return x < T(0) ? T(0) : x; });
          case UnaryOp::clamp:  // min(max(x, lo), hi) as PyTorch (min > max gives max); NaN propagates
            return map<T>(out, in, [lo, hi](T x) {
              T y = x < lo ? lo : x;
              return y > hi ? hi : y;
            });
          default: return;
        }
      });
    case UnaryOp::pow:
      if (is_integral(in.dtype, true)) {
        return dispatch_all(in.dtype, "pow", [&]<typename T>() {
          int64_t e = static_cast<int64_t>(p.a);
          map<T>(out, in, [e](T x) { return kernels::int_pow<T>(x, e); });
        });
      }
      [[fallthrough]];
    default:
      if (!is_floating(in.dtype)) {  // floor/ceil/round/trunc of integers: a copy (the op promotes the rest)
        return copy(out, in);
      }
      return dispatch_floating(in.dtype, "unary", [&]<typename T>() { float_unary<T>(op, out, in, p); });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace hpml::kernels::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hpml::kernels::cpu {

HWY_EXPORT(UnaryImpl);

void unary(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p) { HWY_DYNAMIC_DISPATCH(UnaryImpl)(op, out, in, p); }

}  // namespace hpml::kernels::cpu
#endif  // HWY_ONCE
