// Statistical helpers shared by the nn::init tests (init_test.cpp, init_modules_test.cpp): sample
// moments with their standard errors, and checks for uniform / normal draws and fresh parameters.
// See the tolerance note in init_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "nn/nn_test_util.h"

namespace hpml::inittest {

using nntest::error_of;
using nntest::vals;
using Shape = std::vector<int64_t>;
namespace init = nn::init;

inline constexpr double kSE = 6.0;
// For n draws of U[lo, hi), the max misses the top (hi - lo) * kEdge / n of the interval with
// probability (1 - kEdge/n)^n < e^-20 = 2e-9; likewise the min at the bottom. A wrong bound,
// too small or too large, fails either the containment or this check.
inline constexpr double kEdge = 20.0;
inline const double kSqrt2 = std::numbers::sqrt2, kSqrt3 = std::numbers::sqrt3;

struct Stats {
  double n = 0, mean = 0, std = 0, kurt = 0, min = INFINITY, max = -INFINITY;
};
inline Stats stats(const std::vector<double>& v) {
  Stats s;
  s.n = static_cast<double>(v.size());
  for (double x : v) s.mean += x, s.min = std::min(s.min, x), s.max = std::max(s.max, x);
  s.mean /= s.n;
  double m2 = 0, m4 = 0;
  for (double x : v) m2 += (x - s.mean) * (x - s.mean), m4 += std::pow(x - s.mean, 4);
  m2 /= s.n, m4 /= s.n;
  s.std = std::sqrt(m2), s.kurt = m4 / (m2 * m2);
  return s;
}

inline void expect_moments(const std::vector<double>& v, double mean, double std, const std::string& what) {
  Stats s = stats(v);
  EXPECT_NEAR(s.mean, mean, kSE * std / std::sqrt(s.n)) << what << ": sample mean";
  EXPECT_NEAR(s.std, std, kSE * std * std::sqrt((s.kurt - 1) / (4 * s.n))) << what << ": sample std";
}

// U[lo, hi): all inside, the extremes near the bounds, mean (lo+hi)/2, std (hi-lo)/sqrt(12). An f32
// fill computes float(lo) + float(hi-lo)*u in float, so it is checked against the bounds rounded to
// float, upper bound included (rounding can reach it, as with PyTorch's float uniform_).
inline void expect_uniform(const Tensor& t, double lo, double hi, const std::string& what) {
  const std::vector<double> v = vals(t);
  ASSERT_FALSE(v.empty()) << what;
  const Stats s = stats(v);
  if (t.dtype() == kFloat32) {
    EXPECT_GE(s.min, static_cast<double>(static_cast<float>(lo))) << what;
    EXPECT_LE(s.max, static_cast<double>(static_cast<float>(hi))) << what;
  } else {
    EXPECT_GE(s.min, lo) << what;
    EXPECT_LT(s.max, hi) << what;
  }
  const double edge = (hi - lo) * kEdge / s.n;
  EXPECT_LT(s.min, lo + edge) << what << ": min not near the lower bound " << lo;
  EXPECT_GT(s.max, hi - edge) << what << ": max not near the upper bound " << hi;
  expect_moments(v, (lo + hi) / 2, (hi - lo) / std::sqrt(12.0), what);
}

// N(mean, std): the moments, and the share of draws more than 2 std from the mean, which is
// 2(1 - Phi(2)) = erfc(sqrt 2) = 0.0455 for a normal (binomial standard error sqrt(p(1-p)/n)) and 0
// for a uniform of the same std (whose support ends at sqrt(3) std).
inline void expect_normal(const std::vector<double>& v, double mean, double std, const std::string& what) {
  expect_moments(v, mean, std, what);
  double beyond = 0;
  for (double x : v) beyond += std::fabs(x - mean) > 2 * std;
  const double n = static_cast<double>(v.size()), p = std::erfc(kSqrt2);
  EXPECT_NEAR(beyond / n, p, kSE * std::sqrt(p * (1 - p) / n)) << what << ": share beyond 2 std";
}

// A parameter as PyTorch leaves it after reset_parameters: a leaf that requires grad, no history.
inline void expect_fresh_param(const Tensor& p, const std::string& what) {
  ASSERT_TRUE(p.defined()) << what;
  EXPECT_TRUE(p.requires_grad()) << what;
  EXPECT_TRUE(p.is_leaf()) << what;
  EXPECT_EQ(p.grad_fn(), nullptr) << what;
  EXPECT_EQ(p.dtype(), kFloat32) << what << ": PyTorch's default dtype";
}

// A parameter drawn from U(-bound, bound) by reset_parameters.
inline void expect_uniform_param(const Tensor& p, double bound, const std::string& what) {
  expect_uniform(p, -bound, bound, what);
  expect_fresh_param(p, what);
}

inline std::string tag(DType dt, const std::string& what) { return what + (dt == kFloat32 ? " [f32]" : " [f64]"); }

}  // namespace hpml::inittest
