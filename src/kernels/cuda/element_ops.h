// The value of one element of every elementwise op, for the CUDA kernels (elementwise.cu) and, as
// plain C++, for the host tests that check them against the cpu kernels
// (tests/cuda/element_ops_test.cpp): what a GPU thread computes is tested without a GPU, and
// only the launch around it is not. Plain C++17, as nvcc compiles it (core/hd.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/hd.h"
#include "kernels/wrapping.h"

namespace hpml::kernels::cuda {

inline constexpr int kMaxDims = 8;

// A strided view on the GPU: sizes and strides in elements (a stride may be 0 or negative).
struct Strided {
  char* data = nullptr;
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

// The element offset of the i-th element (row-major order) of a strided view.
HPML_HD int64_t offset_of(const Strided& v, int64_t i) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    const int64_t s = v.sizes[d];
    off += (i % s) * v.strides[d];
    i /= s;
  }
  return off;
}

// Whether v's elements lie in row-major order, one after the other (offset_of(v, i) == i).
inline bool is_dense(const Strided& v) {
  int64_t expected = 1;
  for (int d = v.ndim - 1; d >= 0; --d) {
    if (v.sizes[d] != 1 && v.strides[d] != expected) return false;
    expected *= v.sizes[d];
  }
  return true;
}

// The values of hpml::kernels::UnaryOp and BinaryOp (kernels/backend.h), in their order;
// cuda_backend.cpp checks that the two lists agree.
enum class UOp : int {
  neg, abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, square, reciprocal, sin, cos, tanh, sigmoid,
  relu, leaky_relu, hardtanh, gelu, softplus, elu, clamp, pow, floor, ceil, round, logical_not,
  erf, erfc, tan, asin, acos, atan, sinh, cosh, log2, log10, exp2, trunc,
  kCount
};
enum class BOp : int {
  add, sub, mul, div, div_trunc, div_floor, pow, maximum, minimum,
  eq, ne, lt, le, gt, ge, logical_and, logical_or,
  tanh_backward, sigmoid_backward, threshold_backward, leaky_relu_backward, hardtanh_backward,
  gelu_backward, softplus_backward, elu_backward, atan2, fmod, remainder,
  kCount
};

// libm's functions by type: the C names exist on the host and, as CUDA's math API, on the GPU.
#define HPML_MATH1(name, f32, f64)                  \
  HPML_HD float name(float x) { return ::f32(x); }  \
  HPML_HD double name(double x) { return ::f64(x); }
HPML_MATH1(m_exp, expf, exp)
HPML_MATH1(m_log, logf, log)
HPML_MATH1(m_log1p, log1pf, log1p)
HPML_MATH1(m_expm1, expm1f, expm1)
HPML_MATH1(m_sqrt, sqrtf, sqrt)
HPML_MATH1(m_sin, sinf, sin)
HPML_MATH1(m_cos, cosf, cos)
HPML_MATH1(m_tan, tanf, tan)
HPML_MATH1(m_tanh, tanhf, tanh)
HPML_MATH1(m_erf, erff, erf)
HPML_MATH1(m_erfc, erfcf, erfc)
HPML_MATH1(m_asin, asinf, asin)
HPML_MATH1(m_acos, acosf, acos)
HPML_MATH1(m_atan, atanf, atan)
HPML_MATH1(m_sinh, sinhf, sinh)
HPML_MATH1(m_cosh, coshf, cosh)
HPML_MATH1(m_log2, log2f, log2)
HPML_MATH1(m_log10, log10f, log10)
HPML_MATH1(m_exp2, exp2f, exp2)
HPML_MATH1(m_floor, floorf, floor)
HPML_MATH1(m_ceil, ceilf, ceil)
HPML_MATH1(m_rint, rintf, rint)  // round half to even, as std::nearbyint in the default mode
HPML_MATH1(m_trunc, truncf, trunc)
HPML_MATH1(m_fabs, fabsf, fabs)
#undef HPML_MATH1
#define HPML_MATH2(name, f32, f64)                             \
  HPML_HD float name(float x, float y) { return ::f32(x, y); } \
  HPML_HD double name(double x, double y) { return ::f64(x, y); }
HPML_MATH2(m_pow, powf, pow)
HPML_MATH2(m_fmod, fmodf, fmod)
HPML_MATH2(m_atan2, atan2f, atan2)
HPML_MATH2(m_copysign, copysignf, copysign)
#undef HPML_MATH2

// Integer arithmetic wraps on overflow, as the cpu's (kernels/wrapping.h: wadd, wsub, wmul, int_pow).
using kernels::int_pow;
using kernels::wadd;
using kernels::wmul;
using kernels::wsub;

template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T>;

// x < 0, without the comparison compilers call pointless for unsigned types (bool, u8).
template <typename T>
HPML_HD bool is_negative(T x) {
  if constexpr (std::is_unsigned_v<T>) return false;
  else return x < T(0);
}

// A clamp bound from a double: beyond T's range it is no bound (+-inf, or T's own limit).
template <typename T>
HPML_HD T clamp_bound(double v, bool upper) {
  using L = std::numeric_limits<T>;
  if (!upper && v < double(L::lowest())) return L::has_infinity ? -L::infinity() : L::lowest();
  if (upper && v > double(L::max())) return L::has_infinity ? L::infinity() : L::max();
  return static_cast<T>(v);
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// out = f(x) for the ops whose output has the input's type (all but logical_not). Integers take
// only the ops defined for them; the op layer has cast the rest to a float type.
template <typename T>
HPML_HD T unary_value(UOp op, T x, double pa, double pb) {
  switch (op) {
    case UOp::neg: return wsub(T(0), x);
    case UOp::abs:
      if constexpr (kIsFloat<T>) return m_fabs(x);
      else return is_negative(x) ? wsub(T(0), x) : x;
    case UOp::sign: return static_cast<T>((T(0) < x) - is_negative(x));
    case UOp::square: return wmul(x, x);
    case UOp::relu: return is_negative(x) ? T(0) : x;
    case UOp::clamp: {  // min(max(x, lo), hi) as PyTorch (min > max gives max); NaN propagates
      const T lo = clamp_bound<T>(pa, false), hi = clamp_bound<T>(pb, true);
      const T y = x < lo ? lo : x;
      return y > hi ? hi : y;
    }
    default: break;
  }
  if constexpr (!kIsFloat<T>) {
    if (op == UOp::pow) return int_pow(x, static_cast<int64_t>(pa));
    return x;  // floor, ceil, round, trunc of an integer
  } else {
    const T a = static_cast<T>(pa), b = static_cast<T>(pb);
    switch (op) {
      case UOp::exp: return m_exp(x);
      case UOp::log: return m_log(x);
      case UOp::log1p: return m_log1p(x);
      case UOp::expm1: return m_expm1(x);
      case UOp::sqrt: return m_sqrt(x);
      case UOp::rsqrt: return T(1) / m_sqrt(x);
      case UOp::reciprocal: return T(1) / x;
      case UOp::sin: return m_sin(x);
      case UOp::cos: return m_cos(x);
      case UOp::tanh: return m_tanh(x);
      case UOp::sigmoid: return T(1) / (T(1) + m_exp(-x));
      case UOp::leaky_relu: return x > T(0) ? x : x * a;
      case UOp::hardtanh: return x < a ? a : (x > b ? b : x);
      case UOp::gelu:
        if (pa != 0) return T(0.5) * x * (T(1) + m_tanh(T(kSqrt2OverPi) * (x + T(0.044715) * x * x * x)));
        return T(0.5) * x * (T(1) + m_erf(x * T(kSqrt1_2)));
      case UOp::softplus: return x * a > b ? x : m_log1p(m_exp(x * a)) / a;  // a = beta, b = threshold
      case UOp::elu: return x > T(0) ? x : a * m_expm1(x);
      case UOp::pow:
        if (pa == 2.0) return x * x;
        if (pa == 0.5) return m_sqrt(x);
        if (pa == 1.0) return x;
        if (pa == -1.0) return T(1) / x;
        return m_pow(x, a);
      case UOp::floor: return m_floor(x);
      case UOp::ceil: return m_ceil(x);
      case UOp::round: return m_rint(x);
      case UOp::trunc: return m_trunc(x);
      case UOp::erf: return m_erf(x);
      case UOp::erfc: return m_erfc(x);
      case UOp::tan: return m_tan(x);
      case UOp::asin: return m_asin(x);
      case UOp::acos: return m_acos(x);
      case UOp::atan: return m_atan(x);
      case UOp::sinh: return m_sinh(x);
      case UOp::cosh: return m_cosh(x);
      case UOp::log2: return m_log2(x);
      case UOp::log10: return m_log10(x);
      case UOp::exp2: return m_exp2(x);
      default: return x;  // not reached: the table sends no other op here
    }
  }
}

// Comparisons and logical ops: any input type, bool out.
template <typename T>
HPML_HD bool compare_value(BOp op, T x, T y) {
  switch (op) {
    case BOp::eq: return x == y;
    case BOp::ne: return x != y;
    case BOp::lt: return x < y;
    case BOp::le: return x <= y;
    case BOp::gt: return x > y;
    case BOp::ge: return x >= y;
    case BOp::logical_and: return x != T(0) && y != T(0);
    case BOp::logical_or: return x != T(0) || y != T(0);
    default: return false;
  }
}
HPML_HD bool is_compare(BOp op) { return op >= BOp::eq && op <= BOp::logical_or; }

// Python's floor division for floats (PyTorch's div_floor_floating).
template <typename T>
HPML_HD T div_floor_float(T a, T b) {
  if (b == T(0)) return a / b;
  const T mod = m_fmod(a, b);
  T div = (a - mod) / b;
  if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
  if (div == T(0)) return m_copysign(T(0), a / b);
  T fl = m_floor(div);
  if (div - fl > T(0.5)) fl += T(1);
  return fl;
}

template <typename T>
HPML_HD T float_binary_value(BOp op, T x, T y, T alpha, T pa, T pb, bool tanh_gelu) {
  switch (op) {
    case BOp::div: return x / y;
    case BOp::div_trunc: return m_trunc(x / y);
    case BOp::div_floor: return div_floor_float(x, y);
    case BOp::pow: return m_pow(x, y);
    case BOp::tanh_backward: return x * (T(1) - y * y);
    case BOp::sigmoid_backward: return x * (T(1) - y) * y;
    case BOp::threshold_backward: return y > T(0) ? x : T(0);
    case BOp::leaky_relu_backward: return y > T(0) ? x : x * alpha;
    case BOp::hardtanh_backward: return (y <= pa || y >= pb) ? T(0) : x;
    case BOp::gelu_backward: {
      if (tanh_gelu) {
        const T inner = T(kSqrt2OverPi) * (y + T(0.044715) * y * y * y), th = m_tanh(inner);
        const T inner_d = T(kSqrt2OverPi) * (T(1) + T(3) * T(0.044715) * y * y);
        return x * (T(0.5) * (T(1) + th) + T(0.5) * y * (T(1) - th * th) * inner_d);
      }
      const T cdf = T(0.5) * (T(1) + m_erf(y * T(kSqrt1_2)));
      return x * (cdf + y * T(kInvSqrt2Pi) * m_exp(T(-0.5) * y * y));
    }
    case BOp::softplus_backward: {  // a = beta, b = threshold
      const T z = m_exp(y * pa);
      return y * pa > pb ? x : x * z / (z + T(1));
    }
    case BOp::elu_backward: return y > T(0) ? x : x * alpha * m_exp(y);
    case BOp::atan2: return m_atan2(x, y);
    case BOp::fmod: return m_fmod(x, y);
    case BOp::remainder: {  // fmod moved to the divisor's sign
      T mod = m_fmod(x, y);
      if (mod != T(0) && ((y < T(0)) != (mod < T(0)))) mod += y;
      return mod;
    }
    default: return x;  // not reached
  }
}

// The op layer has checked that no integer divisor is zero.
template <typename T>
HPML_HD T int_binary_value(BOp op, T x, T y) {
  if constexpr (std::is_signed_v<T>) {  // x / -1 is -x, wrapping for the most negative x (no trap)
    if (y == T(-1) && (op == BOp::div_trunc || op == BOp::div_floor)) return wsub(T(0), x);
  }
  switch (op) {
    case BOp::div_trunc: return static_cast<T>(x / y);
    case BOp::div_floor: {
      T q = static_cast<T>(x / y);
      if constexpr (std::is_signed_v<T>) {
        if ((x % y != 0) && (is_negative(x) != is_negative(y))) --q;
      }
      return q;
    }
    case BOp::pow: return int_pow(x, static_cast<int64_t>(y));
    case BOp::fmod:
      if constexpr (std::is_signed_v<T>) {
        if (y == T(-1)) return T(0);  // and INT_MIN % -1 would trap
      }
      return static_cast<T>(x % y);
    case BOp::remainder: {
      if constexpr (std::is_signed_v<T>) {
        if (y == T(-1)) return T(0);
        T r = static_cast<T>(x % y);
        if (r != 0 && (is_negative(r) != is_negative(y))) r = static_cast<T>(r + y);
        return r;
      } else {
        return static_cast<T>(x % y);
      }
    }
    default: return x;  // not reached
  }
}

// out = f(x, y) for the ops whose output has the operands' type (all but the comparisons).
template <typename T>
HPML_HD T binary_value(BOp op, T x, T y, double alpha, double pa, double pb) {
  switch (op) {
    case BOp::add:
      if constexpr (std::is_same_v<T, bool>) return x || y;
      else return alpha == 1 ? wadd(x, y) : wadd(x, wmul(static_cast<T>(alpha), y));
    case BOp::sub:
      if constexpr (std::is_same_v<T, bool>) return x != y;  // not reached: PyTorch refuses bool sub
      else return alpha == 1 ? wsub(x, y) : wsub(x, wmul(static_cast<T>(alpha), y));
    case BOp::mul:
      if constexpr (std::is_same_v<T, bool>) return x && y;
      else return wmul(x, y);
    case BOp::maximum: return x != x ? x : (y != y ? y : (x > y ? x : y));
    case BOp::minimum: return x != x ? x : (y != y ? y : (x < y ? x : y));
    default: break;
  }
  if constexpr (kIsFloat<T>) {
    return float_binary_value<T>(op, x, y, static_cast<T>(alpha), static_cast<T>(pa), static_cast<T>(pb), pa != 0);
  } else if constexpr (std::is_same_v<T, bool>) {
    return x;  // not reached: the op layer promotes bool for the rest
  } else {
    return int_binary_value<T>(op, x, y);
  }
}

}  // namespace hpml::kernels::cuda
