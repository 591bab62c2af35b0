// CPU binary kernels: out = f(a, b) elementwise over broadcast operands, including the fused
// activation gradients used by backward (tanh_backward, threshold_backward, ...).
//
// Note [SIMD targets]
// The elementwise kernel files (binary.cpp, unary.cpp, elementwise.cpp) are compiled once per
// SIMD target — baseline x86-64, AVX2, AVX-512 — by Highway's foreach_target.h, and the entry
// points pick the best one for the CPU at run time (HWY_DYNAMIC_DISPATCH). The loops themselves
// are plain C++ that the compiler vectorizes for each target; one binary runs on every x86-64.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/binary.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>
#include <type_traits>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/fast_math.h"
#include "kernels/cpu/loops.h"
#include "kernels/wrapping.h"

#include "kernels/cpu/inner_loops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu {
namespace HWY_NAMESPACE {

namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;

template <typename Out, typename T, typename F>
void run(const TensorView& out, const TensorView& a, const TensorView& b, F f) {
  for_each<3>({&out, &a, &b}, [&f](char** d, const int64_t* s, int64_t n) { binary_loop<Out, T>(d, s, n, f); });
}

// Python-style floor division for floats (PyTorch's div_floor_floating).
template <typename T>
T div_floor(T a, T b) {
  if (b == T(0)) return a / b;
  T mod = std::fmod(a, b);
  T div = (a - mod) / b;
  if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
  if (div == T(0)) return std::copysign(T(0), a / b);
  T fl = std::floor(div);
  if (div - fl > T(0.5)) fl += T(1);
  return fl;
}


// The two GELUs' gradients apart, so that the exact one's loop, with no libm call, vectorizes.
template <typename T>
T gelu_tanh_grad(T x) {
  T x3 = x * x * x;
  T inner = T(kSqrt2OverPi) * (x + T(0.044715) * x3);
  T th = std::tanh(inner);
  T left = T(0.5) * x, right = T(1) + th;
  T left_d = T(0.5) * right;
  T th_d = T(1) - th * th;
  T inner_d = T(kSqrt2OverPi) * (T(1) + T(3) * T(0.044715) * x * x);
  return left_d + left * th_d * inner_d;
}

template <typename T>
HWY_INLINE T gelu_grad(T x) {
  T cdf = T(0.5) * (T(1) + erf_of(x * T(kSqrt1_2)));  // Note [GELU's erf]
  T pdf = T(kInvSqrt2Pi) * exp_of_nonpositive(T(-0.5) * x * x);
  return cdf + x * pdf;
}

// Comparisons and logical ops: any input dtype, bool out.
template <typename T>
void compare(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  switch (op) {
    case BinaryOp::eq: return run<bool, T>(out, a, b, [](T x, T y) { return x == y; });
    case BinaryOp::ne: return run<bool, T>(out, a, b, [](T x, T y) { return x != y; });
    case BinaryOp::lt: return run<bool, T>(out, a, b, [](T x, T y) { return x < y; });
    case BinaryOp::le: return run<bool, T>(out, a, b, [](T x, T y) { return x <= y; });
    case BinaryOp::gt: return run<bool, T>(out, a, b, [](T x, T y) { return x > y; });
    case BinaryOp::ge: return run<bool, T>(out, a, b, [](T x, T y) { return x >= y; });
    case BinaryOp::logical_and: return run<bool, T>(out, a, b, [](T x, T y) { return x != T(0) && y != T(0); });
    case BinaryOp::logical_or: return run<bool, T>(out, a, b, [](T x, T y) { return x != T(0) || y != T(0); });
    default: HPML_ASSERT(false, "compare: bad op ", static_cast<int>(op));
  }
}

// Arithmetic valid for every dtype (bool included where PyTorch allows it).
template <typename T>
bool arithmetic(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p) {
  const T alpha = static_cast<T>(p.alpha);
  switch (op) {
    case BinaryOp::add:
      if constexpr (std::is_same_v<T, bool>) run<T, T>(out, a, b, [](T x, T y) { return x || y; });
      else if (p.alpha == 1) run<T, T>(out, a, b, [](T x, T y) { return wadd(x, y); });
      else run<T, T>(out, a, b, [alpha](T x, T y) { return wadd(x, wmul(alpha, y)); });
      return true;
    case BinaryOp::sub:
      if (p.alpha == 1) run<T, T>(out, a, b, [](T x, T y) { return wsub(x, y); });
      else run<T, T>(out, a, b, [alpha](T x, T y) { return wsub(x, wmul(alpha, y)); });
      return true;
    case BinaryOp::mul:
      if constexpr (std::is_same_v<T, bool>) run<T, T>(out, a, b, [](T x, T y) { return x && y; });
      else run<T, T>(out, a, b, [](T x, T y) { return wmul(x, y); });
      return true;
    case BinaryOp::maximum:
      run<T, T>(out, a, b, [](T x, T y) { return x != x ? x : (y != y ? y : (x > y ? x : y)); });
      return true;
    case BinaryOp::minimum:
      run<T, T>(out, a, b, [](T x, T y) { return x != x ? x : (y != y ? y : (x < y ? x : y)); });
      return true;
    default: return false;
  }
}

template <typename T>
void float_binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p) {
  const T pa = static_cast<T>(p.a), pb = static_cast<T>(p.b), alpha = static_cast<T>(p.alpha);
  switch (op) {
    case BinaryOp::div: return run<T, T>(out, a, b, [](T x, T y) { return x / y; });
    case BinaryOp::div_trunc: return run<T, T>(out, a, b, [](T x, T y) { return std::trunc(x / y); });
    case BinaryOp::div_floor: return run<T, T>(out, a, b, [](T x, T y) { return div_floor(x, y); });
    case BinaryOp::pow: return run<T, T>(out, a, b, [](T x, T y) { return std::pow(x, y); });
    case BinaryOp::tanh_backward: return run<T, T>(out, a, b, [](T g, T y) { return g * (T(1) - y * y); });
    case BinaryOp::sigmoid_backward: return run<T, T>(out, a, b, [](T g, T y) { return g * (T(1) - y) * y; });
    case BinaryOp::threshold_backward: return run<T, T>(out, a, b, [](T g, T x) { return x > T(0) ? g : T(0); });
    case BinaryOp::leaky_relu_backward:
      return run<T, T>(out, a, b, [alpha](T g, T x) { return x > T(0) ? g : g * alpha; });
    case BinaryOp::hardtanh_backward:
      return run<T, T>(out, a, b, [pa, pb](T g, T x) { return (x <= pa || x >= pb) ? T(0) : g; });
    case BinaryOp::gelu_backward:
      if (p.a != 0) return run<T, T>(out, a, b, [](T g, T x) { return g * gelu_tanh_grad(x); });
      return run<T, T>(out, a, b, [](T g, T x) { return g * gelu_grad(x); });
    case BinaryOp::softplus_backward:  // a = beta, b = threshold
      return run<T, T>(out, a, b, [pa, pb](T g, T x) {
        T z = std::exp(x * pa);
        return x * pa > pb ? g : g * z / (z + T(1));
      });
    case BinaryOp::elu_backward:
      return run<T, T>(out, a, b, [alpha](T g, T x) { return x > T(0) ? g : g * alpha * std::exp(x); });
    case BinaryOp::atan2: return run<T, T>(out, a, b, [](T x, T y) { return std::atan2(x, y); });
    case BinaryOp::fmod: return run<T, T>(out, a, b, [](T x, T y) { return std::fmod(x, y); });
    case BinaryOp::remainder:  // PyTorch's: fmod moved to the divisor's sign
      return run<T, T>(out, a, b, [](T x, T y) {
        T mod = std::fmod(x, y);
        if (mod != T(0) && ((y < T(0)) != (mod < T(0)))) mod += y;
        return mod;
      });
    default: HPML_ASSERT(false, "binary kernel: op ", static_cast<int>(op), " has no float form");
  }
}

template <typename T>
void int_binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b) {
  if constexpr (!std::is_integral_v<T>) {
    HPML_ASSERT(false, "int_binary called for a float dtype");
  } else {
  switch (op) {
    // The op has checked that no divisor is zero.
    // x / -1 is -x, wrapping for the most negative x (whose quotient would trap: SIGFPE).
    case BinaryOp::div_trunc:
      return run<T, T>(out, a, b, [](T x, T y) {
        if constexpr (std::is_signed_v<T>) {
          if (y == T(-1)) return wsub(T(0), x);
        }
        return static_cast<T>(x / y);
      });
    case BinaryOp::div_floor:
      return run<T, T>(out, a, b, [](T x, T y) {
        if constexpr (std::is_signed_v<T>) {
          if (y == T(-1)) return wsub(T(0), x);
        }
        T q = static_cast<T>(x / y);
        if constexpr (std::is_signed_v<T>) {
          if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        }
        return q;
      });
    case BinaryOp::pow: return run<T, T>(out, a, b, [](T x, T y) { return kernels::int_pow<T>(x, static_cast<int64_t>(y)); });
    // The op has checked that no divisor is zero; x % -1 is 0 (and INT_MIN % -1 would trap).
    case BinaryOp::fmod:
      return run<T, T>(out, a, b, [](T x, T y) {
        if constexpr (std::is_signed_v<T>) {
          if (y == T(-1)) return T(0);
        }
        return static_cast<T>(x % y);
      });
    case BinaryOp::remainder:
      return run<T, T>(out, a, b, [](T x, T y) {
        if constexpr (std::is_signed_v<T>) {
          if (y == T(-1)) return T(0);
          T r = static_cast<T>(x % y);
          if (r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
          return r;
        } else {
          return static_cast<T>(x % y);
        }
      });
    default: HPML_ASSERT(false, "binary kernel: op ", static_cast<int>(op), " has no integer form");
  }
  }
}

}  // namespace

void BinaryImpl(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p) {
  switch (op) {
    case BinaryOp::eq: case BinaryOp::ne: case BinaryOp::lt: case BinaryOp::le:
    case BinaryOp::gt: case BinaryOp::ge: case BinaryOp::logical_and: case BinaryOp::logical_or:
      return dispatch_all(a.dtype, "compare", [&]<typename T>() { compare<T>(op, out, a, b); });
    default: break;
  }
  bool done = dispatch_all(a.dtype, "binary", [&]<typename T>() { return arithmetic<T>(op, out, a, b, p); });
  if (done) return;
  if (is_floating(a.dtype)) {
    dispatch_floating(a.dtype, "binary", [&]<typename T>() { float_binary<T>(op, out, a, b, p); });
  } else {
    dispatch_numeric(a.dtype, "binary", [&]<typename T>() { int_binary<T>(op, out, a, b); });
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace hpml::kernels::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hpml::kernels::cpu {

HWY_EXPORT(BinaryImpl);

void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p) { HWY_DYNAMIC_DISPATCH(BinaryImpl)(op, out, a, b, p); }

}  // namespace hpml::kernels::cpu
#endif  // HWY_ONCE
