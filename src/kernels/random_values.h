// How a random fill turns Philox words into values, element by element: the one definition the
// cpu kernels (cpu/random.cpp) and the CUDA kernels (cuda/random.cu) share, so that a seed gives
// the same numbers on every device (uniform and randint bit for bit; normal up to the last bit
// of the device's log, sin and cos). Plain C++17 (core/hd.h).
//
// Counter j of a fill of n elements gives: uniform f32, elements 4j..4j+3 (one per word);
// uniform f64 and randint, elements 2j, 2j+1 (one per pair of words); normal, elements 2j, 2j+1
// (Box-Muller from two pairs). kernels::random_counters says how many counters a fill takes.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"

namespace hpml::kernels::random {

HPML_HD float unit_float(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }             // [0, 1)
HPML_HD double unit_double(uint64_t w) { return static_cast<double>(w >> 11) * 0x1.0p-53; }          // [0, 1)
HPML_HD uint64_t join(uint32_t hi, uint32_t lo) { return (static_cast<uint64_t>(hi) << 32) | lo; }

// Element k (0..3) of a uniform f32 fill's counter: lo + span * U[0, 1).
HPML_HD float uniform_f32(const uint32_t w[4], int k, float lo, float span) { return lo + span * unit_float(w[k]); }
// Element k (0..1) of a uniform f64 (or other floating) fill's counter, in double.
HPML_HD double uniform_f64(const uint32_t w[4], int k, double lo, double hi) {
  return lo + (hi - lo) * unit_double(join(w[2 * k], w[2 * k + 1]));
}
// Both normal values of a counter: mean + std * (r cos th, r sin th).
HPML_HD void normal_pair(const uint32_t w[4], double mean, double std, double* z0, double* z1) {
  constexpr double k2Pi = 6.283185307179586476925286766559;
  const double u1 = 1.0 - unit_double(join(w[0], w[1]));  // (0, 1]
  const double u2 = unit_double(join(w[2], w[3]));
  const double r = ::sqrt(-2.0 * ::log(u1)), th = k2Pi * u2;
  *z0 = mean + std * r * ::cos(th);
  *z1 = mean + std * r * ::sin(th);
}
// Element k (0..1) of a randint fill's counter: lo + (64 random bits mod range); the bias is
// below range / 2^64.
HPML_HD int64_t randint_value(const uint32_t w[4], int k, int64_t lo, uint64_t range) {
  return lo + static_cast<int64_t>(join(w[2 * k], w[2 * k + 1]) % range);
}

}  // namespace hpml::kernels::random
