// Generator: seeding, exact state save/restore, independence, thread-count invariance and distributions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::values;

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.sizes() == b.sizes() && a.is_contiguous() && b.is_contiguous() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()) == 0;
}

std::vector<double> as_doubles(const Tensor& t) {
  if (t.dtype() == kFloat64) return values<double>(t);
  std::vector<double> v;
  for (float x : values<float>(t)) v.push_back(x);
  return v;
}

// Restores the thread count a test changes.
struct ThreadGuard {
  int saved = get_num_threads();
  ~ThreadGuard() { set_num_threads(saved); }
};

TEST(Generator, ManualSeedReproducesEveryRandomFactory) {
  auto draw = [] {
    return TensorList{rand({100}),         randn({101}),         randint(-5, 5, {50}),   randperm(64),
                      rand({7}, kFloat64), randn({9}, kFloat64), normal(2.0, 3.0, {10}), uniform({10}, -2.0, 2.0)};
  };
  manual_seed(1234);
  TensorList a = draw();
  manual_seed(1234);
  TensorList b = draw();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bytes(a[i], b[i])) << "draw " << i;
  manual_seed(1235);
  TensorList c = draw();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FALSE(same_bytes(a[i], c[i])) << "draw " << i << " ignores the seed";
  // Consecutive draws differ (the stream advances).
  manual_seed(1234);
  Tensor x = rand({100}), y = rand({100});
  EXPECT_FALSE(same_bytes(x, y));
}

TEST(Generator, StateRestoresTheExactStream) {
  Generator g(99);
  (void)rand({13}, &g);  // advance to some non-zero offset
  Tensor saved = g.state();
  EXPECT_EQ(saved.dtype(), kUInt8);
  EXPECT_EQ(saved.numel(), 16);
  TensorList first = {rand({1000}, &g), randn({33}, &g), randint(0, 1000, {20}, &g), randperm(50, &g)};
  g.set_state(saved);
  TensorList second = {rand({1000}, &g), randn({33}, &g), randint(0, 1000, {20}, &g), randperm(50, &g)};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_TRUE(same_bytes(first[i], second[i])) << i;
  // The saved state is a snapshot: drawing after state() did not change it.
  Tensor again = g.state();
  EXPECT_NE(std::memcmp(again.data_ptr(), saved.data_ptr(), 16), 0);
  // A copy of the generator continues the same stream.
  Generator h = g;
  EXPECT_TRUE(same_bytes(rand({10}, &g), rand({10}, &h)));
  // set_state validates its argument.
  EXPECT_HPML_ERROR(g.set_state(zeros({16})), "set_state");
  EXPECT_HPML_ERROR(g.set_state(zeros({8}, kUInt8)), "set_state");
}

TEST(Generator, SeparateGeneratorsAreIndependent) {
  Generator g1(5), g2(5);
  Tensor a1 = rand({50}, &g1);
  Tensor a2 = rand({50}, &g1);
  Tensor b1 = rand({50}, &g2);
  EXPECT_TRUE(same_bytes(a1, b1)) << "same seed, same first draw";
  EXPECT_FALSE(same_bytes(a1, a2));
  // Drawing from a private generator does not advance the default one.
  manual_seed(77);
  Tensor d1 = rand({20});
  manual_seed(77);
  Generator other(77);
  (void)rand({1000}, &other);
  (void)randperm(100, &other);
  Tensor d2 = rand({20});
  EXPECT_TRUE(same_bytes(d1, d2));
  EXPECT_EQ(Generator(8).initial_seed(), 8u);
}

TEST(Generator, ValuesDoNotDependOnThreadCount) {
  ThreadGuard guard;
  const int64_t n = 1 << 20;
  set_num_threads(1);
  Generator g1(2024);
  Tensor u1 = rand({n}, &g1), z1 = randn({n}, &g1), i1 = randint(0, 1 << 30, {n}, &g1);
  set_num_threads(2);
  Generator g2(2024);
  Tensor u2 = rand({n}, &g2), z2 = randn({n}, &g2), i2 = randint(0, 1 << 30, {n}, &g2);
  EXPECT_TRUE(same_bytes(u1, u2));
  EXPECT_TRUE(same_bytes(z1, z2));
  EXPECT_TRUE(same_bytes(i1, i2));
  EXPECT_EQ(g1.offset(), g2.offset());
}

TEST(Generator, RandIsInHalfOpenUnitInterval) {
  Generator g(1);
  for (DType d : {kFloat32, kFloat64}) {
    Tensor u = rand({1 << 18}, &g, d);
    EXPECT_EQ(u.dtype(), d);
    std::vector<double> v = as_doubles(u);
    double lo = 1, hi = 0, sum = 0;
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x), sum += x;
    EXPECT_GE(lo, 0.0);
    EXPECT_LT(hi, 1.0);
    EXPECT_NEAR(sum / static_cast<double>(v.size()), 0.5, 0.01);
    EXPECT_LT(lo, 1e-3);
    EXPECT_GT(hi, 1 - 1e-3);
  }
  Tensor w = uniform({10000}, -3.0, -1.0, &g);
  for (float x : values<float>(w)) ASSERT_TRUE(x >= -3.0f && x < -1.0f) << x;
}

TEST(Generator, RandnHasZeroMeanUnitStd) {
  Generator g(3);
  for (DType d : {kFloat32, kFloat64}) {
    Tensor z = randn({1000000}, &g, d);
    std::vector<double> v = as_doubles(z);
    double s = 0, s2 = 0;
    for (double x : v) s += x, s2 += x * x;
    const double n = static_cast<double>(v.size()), mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
    EXPECT_NEAR(mean, 0.0, 0.01) << d;
    EXPECT_NEAR(sd, 1.0, 0.01) << d;
    for (double x : v) ASSERT_TRUE(std::isfinite(x));
  }
  Tensor m = normal(10.0, 0.5, {100000}, &g);
  double s = 0;
  for (float x : values<float>(m)) s += x;
  EXPECT_NEAR(s / 100000.0, 10.0, 0.02);
}

TEST(Generator, RandpermIsAPermutation) {
  Generator g(11);
  for (int64_t n : {0, 1, 2, 17, 1000}) {
    Tensor p = randperm(n, &g);
    EXPECT_EQ(p.dtype(), kInt64);
    EXPECT_EQ(p.numel(), n);
    std::vector<int64_t> v = values<int64_t>(p), sorted = v;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> iota(static_cast<size_t>(n));
    std::iota(iota.begin(), iota.end(), 0);
    EXPECT_EQ(sorted, iota) << n;
    if (n == 1000) {
      EXPECT_NE(v, iota) << "a shuffle of 1000 left everything in place";
    }
  }
  EXPECT_EQ(randperm(5, &g, kInt32).dtype(), kInt32);
  EXPECT_HPML_ERROR(randperm(-1, &g), "randperm");
}

TEST(Generator, RandintStaysInRange) {
  Generator g(12);
  Tensor r = randint(-3, 4, {20000}, &g);
  EXPECT_EQ(r.dtype(), kInt64);
  std::set<int64_t> seen;
  for (int64_t x : values<int64_t>(r)) {
    ASSERT_TRUE(x >= -3 && x < 4) << x;
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 7u) << "every value of [-3, 4) should appear in 20000 draws";
  Tensor r8 = randint(0, 256, {5000}, &g, kUInt8);
  EXPECT_EQ(r8.dtype(), kUInt8);
  Tensor one = randint(5, {100}, &g);
  for (int64_t x : values<int64_t>(one)) ASSERT_TRUE(x >= 0 && x < 5);
  EXPECT_HPML_ERROR(randint(3, 3, {2}, &g), "randint");
  EXPECT_HPML_ERROR(randint(4, 1, {2}, &g), "randint");
  EXPECT_HPML_ERROR(rand({2}, &g, kInt64), "uniform");
}

}  // namespace
}  // namespace hpml
