// Reduction edge cases: empty inputs, result dtypes, var corrections, tie-breaking, and NaN propagation through
// max/amax/maximum/clamp/relu as in PyTorch.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(ReduceEdge, SumAndProdOfEmpty) {
  Tensor e = zeros({0});
  EXPECT_EQ(e.sum().dim(), 0);
  EXPECT_EQ(e.sum().item<float>(), 0.0f);
  EXPECT_EQ(e.prod().item<float>(), 1.0f);
  EXPECT_EQ(zeros({0}, kInt64).sum().item<int64_t>(), 0);
  EXPECT_EQ(zeros({0}, kInt32).prod().item<int64_t>(), 1);
  Tensor m = zeros({2, 0});
  Tensor s1 = m.sum({1});
  EXPECT_EQ(shape_of(s1), (Shape{2}));
  EXPECT_EQ(values<float>(s1), (std::vector<float>{0, 0}));
  EXPECT_EQ(values<float>(m.prod({1})), (std::vector<float>{1, 1}));
  EXPECT_EQ(shape_of(m.sum({0})), (Shape{0}));
  EXPECT_EQ(shape_of(m.sum({1}, true)), (Shape{2, 1}));
}

TEST(ReduceEdge, IntegerSumsAndProductsGiveI64) {
  Tensor i = tensor({1, 2, 3}, kInt32);
  EXPECT_EQ(i.sum().dtype(), kInt64);
  EXPECT_EQ(i.sum().item<int64_t>(), 6);
  Tensor u = tensor({200, 200, 200}, kUInt8);
  EXPECT_EQ(u.sum().dtype(), kInt64);
  EXPECT_EQ(u.sum().item<int64_t>(), 600) << "no u8 overflow";
  Tensor b = tensor({true, false, true, true});
  EXPECT_EQ(b.sum().dtype(), kInt64);
  EXPECT_EQ(b.sum().item<int64_t>(), 3);
  EXPECT_EQ(tensor({2, 3, 4}, kInt32).prod().dtype(), kInt64);
  EXPECT_EQ(tensor({2, 3, 4}, kInt32).prod().item<int64_t>(), 24);
  EXPECT_EQ(ones({2}, kFloat64).sum().dtype(), kFloat64);
  EXPECT_EQ(ones({2}).sum().dtype(), kFloat32);
}

TEST(ReduceEdge, MeanVarStdNeedFloatingInput) {
  EXPECT_HPML_ERROR(tensor({1, 2}).mean(), "mean");
  EXPECT_HPML_ERROR(tensor({1, 2}, kInt32).mean(), "mean");
  EXPECT_HPML_ERROR(tensor({1, 2}).var(), "var");
  EXPECT_HPML_ERROR(tensor({true}).mean(), "mean");
  EXPECT_EQ(tensor({1.0, 2.0}, kFloat64).mean().dtype(), kFloat64);
}

TEST(ReduceEdge, VarianceCorrection) {
  const std::vector<double> x = {1.0, 2.0, 4.0, 7.0, 11.0};
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double n = static_cast<double>(x.size());
  Tensor t = tensor(x, kFloat64);
  EXPECT_NEAR(t.var({}, 1).item<double>(), ss / (n - 1), 1e-12);
  EXPECT_NEAR(t.var({}, 0).item<double>(), ss / n, 1e-12);
  EXPECT_NEAR(t.var().item<double>(), ss / (n - 1), 1e-12) << "default correction is 1 (unbiased)";
  EXPECT_NEAR(t.std({}, 0).item<double>(), std::sqrt(ss / n), 1e-12);
  // Along a dim, with keepdim.
  Tensor m = tensor({{1.0, 3.0}, {2.0, 6.0}});  // column variances (correction 1): 0.5 and 4.5
  Tensor v = m.var({0}, 1, true);
  EXPECT_EQ(shape_of(v), (Shape{1, 2}));
  EXPECT_EQ(values<float>(v), (std::vector<float>{0.5f, 4.5f}));
  EXPECT_EQ(values<float>(m.var({1}, 0)), (std::vector<float>{1.0f, 4.0f}));
  // One sample with correction 1: 0/0 -> nan (PyTorch warns and returns nan).
  EXPECT_TRUE(std::isnan(tensor({5.0}).var().item<float>()));
}

TEST(ReduceEdge, ExtremaOfEmptyDimThrow) {
  EXPECT_HPML_ERROR(zeros({2, 0}).amax({1}), "amax", "[2, 0]");
  EXPECT_HPML_ERROR(zeros({2, 0}).amin({1}), "amin");
  EXPECT_THROW(zeros({0}).max(), Error);
  EXPECT_THROW(zeros({0}).min(), Error);
  EXPECT_HPML_ERROR(zeros({2, 0}).max(1), "max");
  EXPECT_HPML_ERROR(zeros({0}).argmax(), "argmax");
  // Reducing a non-empty dim of an empty tensor is fine.
  EXPECT_EQ(shape_of(zeros({0, 3}).amax({1})), (Shape{0}));
  EXPECT_EQ(shape_of(zeros({0, 3}).max(1).second), (Shape{0}));
}

TEST(ReduceEdge, MaxAndMinReturnTheFirstIndexOfTies) {
  auto [mv, mi] = tensor({1.0, 3.0, 3.0, 2.0}).max(0);
  EXPECT_EQ(mv.item<float>(), 3.0f);
  EXPECT_EQ(mi.item<int64_t>(), 1);
  EXPECT_EQ(mi.dtype(), kInt64);
  auto [nv, ni] = tensor({2, 0, 5, 0}).min(0);
  EXPECT_EQ(nv.item<int64_t>(), 0);
  EXPECT_EQ(ni.item<int64_t>(), 1);
  EXPECT_EQ(tensor({4.0, 9.0, 9.0, 9.0}).argmax().item<int64_t>(), 1);
  EXPECT_EQ(tensor({4.0, 1.0, 9.0, 1.0}).argmin().item<int64_t>(), 1);
  // Along dim 1 of a matrix with ties in every row, and with keepdim.
  Tensor m = tensor({{7, 7, 1}, {0, 5, 5}, {2, 2, 2}});
  auto [v1, i1] = m.max(1, true);
  EXPECT_EQ(shape_of(i1), (Shape{3, 1}));
  EXPECT_EQ(values<int64_t>(v1), (std::vector<int64_t>{7, 5, 2}));
  EXPECT_EQ(values<int64_t>(i1), (std::vector<int64_t>{0, 1, 0}));
  auto [v0, i0] = m.min(0);
  EXPECT_EQ(values<int64_t>(v0), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(values<int64_t>(i0), (std::vector<int64_t>{1, 2, 0}));
  // Long rows (vectorised paths) still pick the first of equal maxima.
  std::vector<double> big(300, 1.0);
  big[123] = big[200] = big[299] = 5.0;
  EXPECT_EQ(tensor(big).argmax().item<int64_t>(), 123);
  EXPECT_EQ(tensor(big).max(0).second.item<int64_t>(), 123);
}

TEST(ReduceEdge, NaNPropagatesThroughMaxLikePyTorch) {
  Tensor x = tensor({1.0f, kNaN, 3.0f});
  EXPECT_TRUE(std::isnan(x.max().item<float>()));
  EXPECT_TRUE(std::isnan(x.min().item<float>()));
  EXPECT_TRUE(std::isnan(x.amax().item<float>()));
  EXPECT_TRUE(std::isnan(x.amin().item<float>()));
  auto [v, i] = x.max(0);
  EXPECT_TRUE(std::isnan(v.item<float>()));
  EXPECT_EQ(i.item<int64_t>(), 1) << "the index of the NaN";
  EXPECT_EQ(x.argmax().item<int64_t>(), 1);
  EXPECT_EQ(x.argmin().item<int64_t>(), 1);
  // NaN first or last in the row.
  EXPECT_TRUE(std::isnan(tensor({kNaN, 1.0f}).amax().item<float>()));
  EXPECT_TRUE(std::isnan(tensor({1.0f, kNaN}).amax().item<float>()));
  // Long rows (vectorised reductions) and per-row along a dim.
  for (DType d : {kFloat32, kFloat64}) {
    for (int64_t pos : {0, 7, 57, 199}) {
      SCOPED_TRACE(::testing::Message() << d << " NaN at " << pos);
      std::vector<double> big(200);
      for (size_t k = 0; k < big.size(); ++k) big[k] = static_cast<double>(k % 17);
      big[static_cast<size_t>(pos)] = std::nan("");
      Tensor b = tensor(big, d);
      EXPECT_TRUE(std::isnan(b.amax().to(kFloat64).item<double>()));
      EXPECT_TRUE(std::isnan(b.amin().to(kFloat64).item<double>()));
      EXPECT_EQ(b.argmax().item<int64_t>(), pos);
      Tensor rows = b.view({2, 100});
      std::vector<double> rmax = values<double>(rows.amax({1}).to(kFloat64));
      EXPECT_EQ(std::isnan(rmax[0]), pos < 100);
      EXPECT_EQ(std::isnan(rmax[1]), pos >= 100);
      EXPECT_TRUE(std::isnan(b.sum().to(kFloat64).item<double>()));
    }
  }
}

TEST(ReduceEdge, NaNPropagatesThroughElementwiseMaxClampRelu) {
  Tensor a = tensor({1.0f, kNaN, kNaN, 4.0f}), b = tensor({kNaN, 2.0f, kNaN, 3.0f});
  std::vector<float> mx = values<float>(maximum(a, b)), mn = values<float>(minimum(a, b));
  EXPECT_TRUE(std::isnan(mx[0]) && std::isnan(mx[1]) && std::isnan(mx[2]));
  EXPECT_EQ(mx[3], 4.0f);
  EXPECT_TRUE(std::isnan(mn[0]) && std::isnan(mn[1]) && std::isnan(mn[2]));
  EXPECT_EQ(mn[3], 3.0f);
  Tensor c = tensor({kNaN, -1.0f, 0.5f, 2.0f});
  std::vector<float> cl = values<float>(c.clamp(0.0, 1.0));
  EXPECT_TRUE(std::isnan(cl[0]));
  EXPECT_EQ(cl[1], 0.0f);
  EXPECT_EQ(cl[2], 0.5f);
  EXPECT_EQ(cl[3], 1.0f);
  EXPECT_TRUE(std::isnan(values<float>(c.clamp(std::nullopt, 1.0))[0]));
  EXPECT_TRUE(std::isnan(values<float>(c.clamp(0.0))[0]));
  std::vector<float> r = values<float>(c.relu());
  EXPECT_TRUE(std::isnan(r[0]));
  EXPECT_EQ(r[1], 0.0f);
  Tensor ci = c.clone();
  ci.clamp_(0.0, 1.0);
  EXPECT_TRUE(std::isnan(values<float>(ci)[0]));
  Tensor ri = c.clone();
  ri.relu_();
  EXPECT_TRUE(std::isnan(values<float>(ri)[0]));
  // Long tensors (vectorised kernels), NaN in several lanes, both dtypes.
  for (DType d : {kFloat32, kFloat64}) {
    SCOPED_TRACE(::testing::Message() << d);
    std::vector<double> xs(203), ys(203);
    for (size_t k = 0; k < xs.size(); ++k) {
      xs[k] = (k % 5 == 0) ? std::nan("") : static_cast<double>(k) - 100.0;
      ys[k] = (k % 7 == 3) ? std::nan("") : 100.0 - static_cast<double>(k);
    }
    Tensor X = tensor(xs, d), Y = tensor(ys, d);
    std::vector<double> M = values<double>(maximum(X, Y).to(kFloat64));
    std::vector<double> C = values<double>(X.clamp(-50.0, 50.0).to(kFloat64));
    std::vector<double> R = values<double>(X.relu().to(kFloat64));
    for (size_t k = 0; k < xs.size(); ++k) {
      const bool xn = std::isnan(xs[k]), yn = std::isnan(ys[k]);
      if (xn || yn) {
        EXPECT_TRUE(std::isnan(M[k])) << k;
      } else {
        EXPECT_EQ(M[k], std::max(xs[k], ys[k])) << k;
      }
      if (xn) {
        EXPECT_TRUE(std::isnan(C[k])) << k;
        EXPECT_TRUE(std::isnan(R[k])) << k;
      } else {
        EXPECT_EQ(C[k], std::min(50.0, std::max(-50.0, xs[k]))) << k;
        EXPECT_EQ(R[k], std::max(0.0, xs[k])) << k;
      }
    }
  }
}

}  // namespace
}  // namespace hpml
