// BFloat16 and Half: the two 2-byte floating types (bf16: f32's 8 exponent bits and 7 mantissa
// bits; f16: IEEE binary16, 5 and 10), stored as bits and converted to and from float with
// round-to-nearest-even, as PyTorch's c10::BFloat16 and c10::Half do. Plain C++17 with no other
// hpml header, so that the CUDA kernels (nvcc) convert with these same functions.
//
// Note [Half-precision dtypes]
// A bf16 or f16 tensor stores 2-byte values; the ops that compute (elementwise, reductions,
// softmax, matmul) compute in f32 and round once at the end: every half value is exact in f32,
// so this is PyTorch's "compute in float, round the result" by construction (ops/common.h,
// ops::compute_dtype). Kernels that only move values (copy with casts, fill, where, gather,
// index_select, masked_select, tril/triu) handle the 2-byte types themselves
// (dispatch_with_half in dtype.h); every other kernel refuses them by name.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define HPML_HALF_HD __host__ __device__ inline
#else
#define HPML_HALF_HD inline
#endif

namespace hpml {

namespace half_bits {

HPML_HALF_HD uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
HPML_HALF_HD float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// bf16: the top 16 bits of the f32, rounded to nearest even; every NaN becomes 0x7fc0 (c10's).
HPML_HALF_HD uint16_t bf16_from_float(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
HPML_HALF_HD float bf16_to_float(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

// f16 from f32, rounded to nearest even: overflow gives inf, tiny values subnormals or zero.
HPML_HALF_HD uint16_t f16_from_float(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;           // NaN (the sign kept, as c10's)
  if (a >= 0x477ff000u) return sign | 0x7c00u;          // >= 65520 (or inf): rounds to inf
  if (a >= 0x38800000u) {                               // >= 2^-14: a normal f16
    const uint32_t r = a - 0x38000000u + 0x0fffu + ((a >> 13) & 1u);  // exponent 127 -> 15, round
    return sign | static_cast<uint16_t>(r >> 13);
  }
  const int e = static_cast<int>(a >> 23);              // a subnormal f16 (or zero): m * 2^-24
  if (e < 102) return sign;                             // below 2^-25: rounds to zero
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;
  const int shift = 126 - e;                            // 14..24
  uint32_t r = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (r & 1u))) ++r;   // may carry into the smallest normal
  return sign | static_cast<uint16_t>(r);
}
HPML_HALF_HD float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1fu) return bits_float(sign | 0x7f800000u | (m << 13));  // inf, NaN
  if (e == 0) {
    if (m == 0) return bits_float(sign);
    e = 113;  // a subnormal: normalise it
    while (!(m & 0x400u)) m <<= 1, --e;
    return bits_float(sign | (e << 23) | ((m & 0x3ffu) << 13));
  }
  return bits_float(sign | ((e + 112) << 23) | (m << 13));
}

}  // namespace half_bits

// The 2-byte types convert implicitly to and from float, like c10's; arithmetic on them goes
// through float (the kernels that compute never see them: Note [Half-precision dtypes]).
struct BFloat16 {
  uint16_t x;
  BFloat16() = default;
  HPML_HALF_HD BFloat16(float f) : x(half_bits::bf16_from_float(f)) {}  // NOLINT(implicit)
  HPML_HALF_HD operator float() const { return half_bits::bf16_to_float(x); }  // NOLINT(implicit)
  HPML_HALF_HD static BFloat16 from_bits(uint16_t bits) {
    BFloat16 b;
    b.x = bits;
    return b;
  }
};

struct Half {
  uint16_t x;
  Half() = default;
  HPML_HALF_HD Half(float f) : x(half_bits::f16_from_float(f)) {}  // NOLINT(implicit)
  HPML_HALF_HD operator float() const { return half_bits::f16_to_float(x); }  // NOLINT(implicit)
  HPML_HALF_HD static Half from_bits(uint16_t bits) {
    Half h;
    h.x = bits;
    return h;
  }
};

}  // namespace hpml
