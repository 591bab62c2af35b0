// Integer arithmetic that wraps around on overflow (two's complement), as PyTorch's does, instead
// of being undefined behaviour in C++ (UBSan would rightly stop the test suite on it). Float
// arithmetic passes through unchanged. The cpu kernels and the CUDA kernels (through
// kernels/cuda/element_ops.h) both use it: plain C++17 (core/hd.h).
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/hd.h"

namespace hpml::kernels {

template <typename T>
inline constexpr bool kWraps = std::is_integral_v<T> && std::is_signed_v<T> && !std::is_same_v<T, bool>;

template <typename T>
HPML_HD T wadd(T a, T b) {
  if constexpr (kWraps<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return static_cast<T>(a + b);
  }
}
template <typename T>
HPML_HD T wsub(T a, T b) {
  if constexpr (kWraps<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return static_cast<T>(a - b);
  }
}
template <typename T>
HPML_HD T wmul(T a, T b) {
  if constexpr (kWraps<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return static_cast<T>(a * b);
  }
}

// base^e for integers (negative e: 1, -1 or 0 as in PyTorch), wrapping on overflow.
template <typename T>
HPML_HD T int_pow(T base, int64_t e) {
  if (e < 0) {
    if (base == T(1)) return T(1);
    if constexpr (std::is_signed_v<T>) {
      if (base == T(-1)) return (e % 2 == 0) ? T(1) : T(-1);
    }
    return T(0);
  }
  T r = 1;
  while (e) {
    if (e & 1) r = wmul(r, base);
    base = wmul(base, base);
    e >>= 1;
  }
  return r;
}

}  // namespace hpml::kernels
