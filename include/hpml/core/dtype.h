// DType: the element types hpml supports (f32, f64, i64, i32, u8, bool, and the 2-byte floats
// bf16 and f16), their promotion rules, and the dispatch helpers that turn a runtime dtype into
// a C++ type for a kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

#include "hpml/core/error.h"
#include "hpml/core/half.h"

namespace hpml {

// New dtypes go at the end: the codes are part of the DataLoader's and the profiler's wire formats.
enum class DType : uint8_t { f32, f64, i64, i32, u8, b8, bf16, f16 };
inline constexpr int kNumDTypes = 8;

inline constexpr DType kFloat32 = DType::f32, kFloat = DType::f32;
inline constexpr DType kFloat64 = DType::f64, kDouble = DType::f64;
inline constexpr DType kInt64 = DType::i64, kLong = DType::i64;
inline constexpr DType kInt32 = DType::i32, kInt = DType::i32;
inline constexpr DType kUInt8 = DType::u8, kByte = DType::u8;
inline constexpr DType kBool = DType::b8;
inline constexpr DType kBFloat16 = DType::bf16;
inline constexpr DType kFloat16 = DType::f16, kHalf = DType::f16;

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
    case DType::bf16: return 2;
    case DType::f16: return 2;
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
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

// bf16 and f16 are floating (PyTorch's is_floating_point); is_reduced_float names just them.
constexpr bool is_reduced_float(DType t) { return t == DType::bf16 || t == DType::f16; }
constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64 || is_reduced_float(t); }
constexpr bool is_integral(DType t, bool include_bool = false) {
  return t == DType::i64 || t == DType::i32 || t == DType::u8 || (include_bool && t == DType::b8);
}

// PyTorch's promote_types for hpml's dtypes: bool < u8 < i32 < i64 < bf16, f16 < f32 < f64,
// except that any integer with any float gives that float, and bf16 with f16 gives f32.
constexpr DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::b8) return b;
  if (b == DType::b8) return a;
  if (is_floating(a) || is_floating(b)) {
    if (a == DType::f64 || b == DType::f64) return DType::f64;
    if (!is_floating(a)) return b;
    if (!is_floating(b)) return a;
    return DType::f32;  // f32 with anything below it, or bf16 with f16
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
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::f16; };
template <typename T> inline constexpr DType dtype_of_v = dtype_of<T>::value;

// Dispatch: call f.template operator()<T>() with the C++ type of `t`.
//   dispatch_all(t, "exp", [&]<typename T>() { ... });
// dispatch_all covers the six computing dtypes; bf16 and f16 reach a kernel only through
// dispatch_with_half, in the kernels that move values (Note [Half-precision dtypes] in half.h),
// and any other gets an error naming the op. The `_floating` form raises one for non-floats.
[[noreturn]] inline void fail_reduced_float(const char* op, DType t) {
  HPML_FAIL(op, ": not implemented for ", dtype_name(t), " tensors\nhint: ", dtype_name(t),
            " tensors have casts, elementwise ops, reductions, softmax and matmul; cast with .to(kFloat32) for ",
            op);
}

template <typename F>
decltype(auto) dispatch_all(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    case DType::b8: return f.template operator()<bool>();
    case DType::bf16:
    case DType::f16: fail_reduced_float(op, t);
  }
  HPML_FAIL(op, ": unknown dtype ", static_cast<int>(t));
}

// dispatch_all plus BFloat16 and Half.
template <typename F>
decltype(auto) dispatch_with_half(DType t, const char* op, F&& f) {
  if (t == DType::bf16) return f.template operator()<BFloat16>();
  if (t == DType::f16) return f.template operator()<Half>();
  return dispatch_all(t, op, static_cast<F&&>(f));
}

template <typename F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::bf16:
    case DType::f16: fail_reduced_float(op, t);
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
    case DType::bf16:
    case DType::f16: fail_reduced_float(op, t);
    default: HPML_FAIL(op, ": not supported for dtype ", t);
  }
}

}  // namespace hpml
