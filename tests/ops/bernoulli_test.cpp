// bernoulli: random, so outside the op table. Means of many draws against p (4 standard errors),
// p = 0 and p = 1 exactly, values only 0 and 1, p outside [0, 1] refused, seeded reproducibility,
// and the in-place forms.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::values;

// |mean - p| within 4 standard errors of the mean of n draws.
void expect_mean_near(double mean, double p, int64_t n) {
  const double se = std::sqrt(p * (1 - p) / static_cast<double>(n));
  EXPECT_NEAR(mean, p, 4 * se) << "p = " << p << ", n = " << n;
}

TEST(Bernoulli, MeanOfManyDrawsIsP) {
  Generator g(11);
  for (DType dt : {kFloat32, kFloat64}) {
    const int64_t n = 200000;
    Tensor draws = bernoulli(full({n}, 0.3, dt), &g);
    EXPECT_EQ(draws.dtype(), dt);
    expect_mean_near(draws.to(kFloat64).mean().item<double>(), 0.3, n);
  }
  // A different p per column: each column's mean is its own p.
  const int64_t rows = 50000;
  Tensor p = tensor({0.05, 0.5, 0.9, 0.999}).view({1, 4}).expand({rows, 4});
  Tensor col_means = bernoulli(p, &g).to(kFloat64).mean({0});
  const std::vector<double> want = {0.05, 0.5, 0.9, 0.999};
  for (int64_t c = 0; c < 4; ++c) expect_mean_near(col_means[c].item<double>(), want[static_cast<size_t>(c)], rows);
}

TEST(Bernoulli, ZeroAndOneAreExact) {
  Generator g(3);
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor z = bernoulli(zeros({100000}, dt), &g), o = bernoulli(ones({100000}, dt), &g);
    EXPECT_EQ(z.sum().item<double>(), 0.0);
    EXPECT_EQ(o.sum().item<double>(), 100000.0);
  }
}

TEST(Bernoulli, ValuesAreOnlyZeroOrOneInPsShape) {
  Generator g(5);
  Tensor p = rand({30, 40}, &g, kFloat64);
  Tensor b = bernoulli(p, &g);
  EXPECT_EQ(b.sizes(), p.sizes());
  int64_t ones_count = 0;
  for (double v : values<double>(b)) {
    EXPECT_TRUE(v == 0.0 || v == 1.0) << v;
    ones_count += v == 1.0;
  }
  EXPECT_GT(ones_count, 0);
  EXPECT_LT(ones_count, 1200);
}

TEST(Bernoulli, ProbabilitiesOutsideZeroOneAreErrors) {
  EXPECT_HPML_ERROR(bernoulli(tensor({0.5, 1.5})), "bernoulli", "[0, 1]", "1.5");
  EXPECT_HPML_ERROR(bernoulli(tensor({-0.1, 0.5})), "bernoulli", "-0.1");
  EXPECT_HPML_ERROR(bernoulli(tensor({std::numeric_limits<double>::quiet_NaN()})), "bernoulli", "nan");
  EXPECT_HPML_ERROR(bernoulli(tensor({0, 1})), "bernoulli", "floating");  // i64 probabilities
  EXPECT_HPML_ERROR(bernoulli(zeros({2}), 2.0), "bernoulli", "2");
}

TEST(Bernoulli, SeededDrawsRepeatAndNeedNoGradient) {
  Tensor p = full({64}, 0.5, kFloat32).requires_grad_(true);
  Generator a(42), b(42), c(43);
  Tensor x = bernoulli(p, &a), y = bernoulli(p, &b), z = bernoulli(p, &c);
  EXPECT_EQ(values<float>(x), values<float>(y));
  EXPECT_NE(values<float>(x), values<float>(z));
  EXPECT_FALSE(x.requires_grad());
}

TEST(Bernoulli, InPlaceFormsFillTheTensor) {
  Generator g(9);
  Tensor t = zeros({100000}, kFloat64);
  t.bernoulli_(0.25, &g);
  expect_mean_near(t.mean().item<double>(), 0.25, 100000);
  // A tensor p broadcasts to the filled tensor: column 0 never, column 1 always.
  Tensor m = empty({1000, 2}, kFloat32);
  m.bernoulli_(tensor({0.0, 1.0}), &g);
  EXPECT_EQ(m.select(1, 0).sum().item<double>(), 0.0);
  EXPECT_EQ(m.select(1, 1).sum().item<double>(), 1000.0);
  Tensor i = zeros({3}, kInt64);
  EXPECT_HPML_ERROR(i.bernoulli_(0.5), "bernoulli_", "floating");
}

}  // namespace
}  // namespace hpml
