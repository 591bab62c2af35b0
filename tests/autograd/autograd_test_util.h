// Helpers shared by the autograd system tests: reading values out, building f64 leaves, error texts.
#pragma once

#include <gtest/gtest.h>
#include <hpml/hpml.h>

#include <cmath>
#include <string>
#include <vector>

namespace hpml::testing {

// Row-major values of a floating tensor as doubles (read through data_ptr, no autograd).
inline std::vector<double> values(const Tensor& t) {
  NoGradGuard ng;
  Tensor c = t.contiguous();
  std::vector<double> out(static_cast<size_t>(c.numel()));
  if (c.dtype() == kFloat64) {
    const double* p = c.data_ptr<double>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  } else if (c.dtype() == kFloat32) {
    const float* p = c.data_ptr<float>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  } else {
    ADD_FAILURE() << "values(): unsupported dtype " << c.dtype();
  }
  return out;
}

// A 1-d f64 leaf with the given values.
inline Tensor leaf(const std::vector<double>& v, bool requires_grad = true) {
  Tensor t = tensor(v, kFloat64);
  if (requires_grad) t.requires_grad_(true);
  return t;
}

// The text of the hpml::Error that f throws, or "<no error>".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

inline void expect_values(const Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  ASSERT_TRUE(t.defined()) << "tensor is undefined";
  std::vector<double> v = values(t);
  ASSERT_EQ(v.size(), expected.size());
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_NEAR(v[i], expected[i], tol * std::max(1.0, std::fabs(expected[i]))) << "element " << i;
}

}  // namespace hpml::testing

#define EXPECT_CONTAINS(text, sub)                                                            \
  EXPECT_NE(std::string(text).find(sub), std::string::npos) << "expected \"" << (sub)       \
                                                            << "\" in: " << (text)
