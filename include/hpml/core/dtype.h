// DType: the element types hpml supports (f32, f64, i64, i32, u8, bool), their promotion rules,
// and the dispatch helpers that turn a runtime dtype into a C++ type for a kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "hpml/core/error.h"

namespace hpml {

enum class DType : uint8_t { f32, f64, i64, i32, u8, b8 };
inline constexpr int kNumDTypes = 6;

inline constexpr DType kFloat32 = DType::f32, kFloat = DType::f32;
inline constexpr DType kFloat64 = DType::f64, kDouble = DType::f64;
inline constexpr DType kInt64 = DType::i64, kLong = DType::i64;
inline constexpr DType kInt32 = DType::i32, kInt = DType::i32;
inline constexpr DType kUInt8 = DType::u8, kByte = DType::u8;
inline constexpr DType kBool = DType::b8;

// The dtype factories use when none is given, and the dtype of a Python-style float scalar.
inline constexpr DType kDefaultFloat = DType::f32;

constexpr size_t itemsize(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i64: return 8;
    case DType::i32: return 4;
    case DType::u8: return 1;
    case DType::b8: return 1;
  }
  return 0;
}

constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i64: return "i64";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
    case DType::b8: return "bool";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }
constexpr bool is_integral(DType t, bool include_bool = false) {
  return t == DType::i64 || t == DType::i32 || t == DType::u8 || (include_bool && t == DType::b8);
}

// PyTorch's promote_types for hpml's dtypes: bool < u8 < i32 < i64 < f32 < f64, except that any
// integer with any float gives that float.
constexpr DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::b8) return b;
  if (b == DType::b8) return a;
  if (is_floating(a) || is_floating(b)) {
    if (a == DType::f64 || b == DType::f64) return DType::f64;
    return DType::f32;
  }
  auto rank = [](DType t) { return t == DType::u8 ? 0 : t == DType::i32 ? 1 : 2; };
  return rank(a) >= rank(b) ? a : b;
}

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };
template <typename T> inline constexpr DType dtype_of_v = dtype_of<T>::value;

// Dispatch: call f.template operator()<T>() with the C++ type of `t`.
//   dispatch_all(t, "exp", [&]<typename T>() { ... });
// The `_floating` form raises an error naming the op for non-float dtypes.
template <typename F>
decltype(auto) dispatch_all(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    case DType::b8: return f.template operator()<bool>();
  }
  HPML_FAIL(op, ": unknown dtype ", static_cast<int>(t));
}

template <typename F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    default: HPML_FAIL(op, ": expected a floating dtype (f32 or f64), got ", t);
  }
}

// Every dtype but bool (arithmetic that makes no sense on bool).
template <typename F>
decltype(auto) dispatch_numeric(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    default: HPML_FAIL(op, ": not supported for dtype ", t);
  }
}

}  // namespace hpml
