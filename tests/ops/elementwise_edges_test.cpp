// Edges of the elementwise ops added with erf ... clamp(Tensor bounds) that the table-driven tests
// do not reach: integer fmod/remainder (signs, division by zero, INT64_MIN % -1), dtype rules,
// lerp's exact end point, the errors for bad arguments, and hardswish's double backward.
// Expected values are PyTorch 1.13's (checked in Python) or computed by hand.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::values;

TEST(ElementwiseEdges, IntegerFmodAndRemainderTakeTheSignOfTheDividendAndDivisor) {
  Tensor a = tensor({-7, 7, -7, 7}), b = tensor({2, 2, -2, -2});
  EXPECT_EQ(values<int64_t>(fmod(a, b)), (std::vector<int64_t>{-1, 1, -1, 1}));
  EXPECT_EQ(values<int64_t>(remainder(a, b)), (std::vector<int64_t>{1, 1, -1, -1}));
  EXPECT_EQ(values<int64_t>(a.remainder(3)), (std::vector<int64_t>{2, 1, 2, 1}));
  Tensor lowest = tensor(std::vector<int64_t>{std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(values<int64_t>(fmod(lowest, tensor({-1}))), std::vector<int64_t>{0});
  EXPECT_EQ(values<int64_t>(remainder(lowest, tensor({-1}))), std::vector<int64_t>{0});
  EXPECT_EQ(values<uint8_t>(remainder(tensor({7}).to(kUInt8), tensor({3}).to(kUInt8))), std::vector<uint8_t>{1});
  EXPECT_HPML_ERROR(fmod(a, tensor({1, 0, 1, 1})), "fmod", "integer division by zero");
  EXPECT_HPML_ERROR(remainder(a, 0), "remainder", "integer division by zero");
  EXPECT_HPML_ERROR(fmod(tensor({true}), tensor({true})), "fmod", "bool");
}

TEST(ElementwiseEdges, FloatRemainderFollowsTheDivisorAndZeroGivesNaN) {
  Tensor r = remainder(tensor({-7.0, 7.0, -1e-20}, kFloat64), tensor({2.0, -2.0, 2.0}, kFloat64));
  EXPECT_EQ(values<double>(r), (std::vector<double>{1.0, -1.0, 2.0}));  // -1e-20 + 2 rounds to 2, as in PyTorch
  EXPECT_TRUE(std::isnan(values<float>(fmod(tensor({5.0f}), 0.0))[0]));
  EXPECT_TRUE(std::isnan(values<float>(remainder(tensor({-5.0f}), 0.0))[0]));
  EXPECT_EQ(fmod(tensor({5, 6}), 2.5).dtype(), kFloat32);  // a float scalar promotes integers
}

TEST(ElementwiseEdges, DtypesOfTheFloatFunctionsAndThePredicates) {
  Tensor i = tensor({1, -2, 3});
  EXPECT_EQ(erf(i).dtype(), kFloat32);
  EXPECT_EQ(atan2(i, i).dtype(), kFloat32);
  EXPECT_EQ(trunc(i).dtype(), kInt64);
  EXPECT_EQ(logaddexp(i, i).dtype(), kFloat32);
  EXPECT_EQ(values<bool>(isnan(i)), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(values<bool>(isinf(i)), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(values<bool>(isfinite(tensor({true, false}))), (std::vector<bool>{true, true}));
  Tensor n = nan_to_num(i);
  EXPECT_EQ(n.dtype(), kInt64);
  EXPECT_EQ(values<int64_t>(n), (std::vector<int64_t>{1, -2, 3}));
  // threshold keeps x's dtype: the value 0.5 becomes 0 for integers (PyTorch: [0, 0, 3]).
  Tensor t = threshold(i, 1, 0.5);
  EXPECT_EQ(t.dtype(), kInt64);
  EXPECT_EQ(values<int64_t>(t), (std::vector<int64_t>{0, 0, 3}));
  EXPECT_HPML_ERROR(frac(i), "frac", "i64");
}

TEST(ElementwiseEdges, NanToNumDefaultsAreTheDtypesExtremes) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = tensor(std::vector<float>{std::nanf(""), inf, -inf, 1.5f});
  EXPECT_EQ(values<float>(nan_to_num(x)), (std::vector<float>{0.0f, FLT_MAX, -FLT_MAX, 1.5f}));
  EXPECT_EQ(values<float>(x.nan_to_num(2.0, 7.0, -7.0)), (std::vector<float>{2.0f, 7.0f, -7.0f, 1.5f}));
  Tensor d = nan_to_num(x.to(kFloat64));
  EXPECT_EQ(values<double>(d)[1], DBL_MAX);
}

TEST(ElementwiseEdges, LogitClampsWithEps) {
  std::vector<float> v = values<float>(logit(tensor({0.0, 0.3, 1.0}), 0.1));
  const std::vector<double> want = {std::log(0.1 / 0.9), std::log(0.3 / 0.7), std::log(0.9 / 0.1)};
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(v[k], want[k], 1e-5);
  std::vector<float> open = values<float>(logit(tensor({0.0, 1.0})));
  EXPECT_EQ(open[0], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(open[1], std::numeric_limits<float>::infinity());
}

TEST(ElementwiseEdges, LerpIsExactAtBothEnds) {
  // start + 1 * (end - start) loses end here (1e16 - 1 rounds); the two-sided formula does not.
  Tensor s = tensor({1e16}, kFloat64), e = tensor({1.0}, kFloat64);
  EXPECT_EQ(values<double>(lerp(s, e, 1.0))[0], 1.0);
  EXPECT_EQ(values<double>(s.lerp(e, tensor({1.0}, kFloat64)))[0], 1.0);
  EXPECT_EQ(values<double>(lerp(s, e, 0.0))[0], 1e16);
  EXPECT_HPML_ERROR(lerp(tensor({1.0f}), tensor({1.0}, kFloat64), 0.5), "lerp", "f64");
  EXPECT_HPML_ERROR(lerp(tensor({1.0f}), tensor({1.0f}), tensor({0.5}, kFloat64)), "lerp", "weight");
  EXPECT_HPML_ERROR(lerp(tensor({1}), tensor({2}), 0.5), "lerp", "floating");
}

TEST(ElementwiseEdges, AddcmulAndAddcdivDtypeRules) {
  Tensor a = tensor({1, 2}), b = tensor({3, 4});
  EXPECT_EQ(values<int64_t>(addcmul(a, b, b, 2)), (std::vector<int64_t>{19, 34}));
  EXPECT_HPML_ERROR(addcmul(a, b, b, 0.5), "addcmul", "value");
  // Integer tensor1 and tensor2 are refused whatever self is (PyTorch 1.13 too); one float is enough.
  EXPECT_HPML_ERROR(addcdiv(a, b, b), "addcdiv", "integer division");
  EXPECT_HPML_ERROR(addcdiv(tensor({1.0f, 2.0f}), b, b), "addcdiv", "integer division");
  EXPECT_EQ(values<float>(addcdiv(tensor({1.0f, 2.0f}), b.to(kFloat32), b, 2)), (std::vector<float>{3.0f, 4.0f}));
}

TEST(ElementwiseEdges, ClampWithTensorBounds) {
  Tensor x = tensor({1.0f, 2.0f, 3.0f});
  // min > max gives max (PyTorch: [1, 1, 3] for min [2, 2, 2], max [1, 1, 5]).
  EXPECT_EQ(values<float>(clamp(x, tensor({2.0f, 2.0f, 2.0f}), tensor({1.0f, 1.0f, 5.0f}))),
            (std::vector<float>{1.0f, 1.0f, 3.0f}));
  EXPECT_EQ(values<float>(clamp(tensor({1, 2, 3}), tensor({1.5f}), Tensor())), (std::vector<float>{1.5f, 2.0f, 3.0f}));
  EXPECT_TRUE(std::isnan(values<float>(clamp(x, tensor({std::nanf("")}), Tensor()))[0]));
  EXPECT_HPML_ERROR(clamp(x, Tensor(), Tensor()), "clamp", "at least one");
}

TEST(ElementwiseEdges, BadArgumentsOfTheActivations) {
  EXPECT_HPML_ERROR(glu(tensor(1.0)), "glu", "0-d");
  EXPECT_HPML_ERROR(glu(zeros({3, 3})), "glu", "must be even", "size 3");
  EXPECT_HPML_ERROR(celu(zeros({2}), 0.0), "celu", "alpha");
  EXPECT_HPML_ERROR(nn::CELU(0.0), "CELU", "alpha");
  EXPECT_HPML_ERROR(prelu(zeros({2, 3}), zeros({1, 3})), "prelu", "0-d or 1-d");
  EXPECT_HPML_ERROR(prelu(zeros({2, 3}), zeros({3}, kFloat64)), "prelu", "dtype");
  EXPECT_HPML_ERROR(prelu(tensor(1.0), zeros({3})), "prelu", "0-d input");
  EXPECT_HPML_ERROR(prelu(zeros({5}), zeros({5})), "prelu", "5 elements", "1 channels");
  EXPECT_HPML_ERROR(nn::PReLU(0), "PReLU", "positive");
}

TEST(ElementwiseEdges, HardswishHasASecondDerivative) {
  // d/dx hardswish = x / 3 + 1/2 on (-3, 3): the second derivative is 1/3 there, 0 outside.
  Tensor x = tensor({-4.0, 1.0, 2.0, 4.0}, kFloat64).requires_grad_(true);
  autograd::GradOptions o;
  o.create_graph = true;
  Tensor g = autograd::grad({hardswish(x).sum()}, {x}, o)[0];
  EXPECT_EQ(values<double>(g.detach()), (std::vector<double>{0.0, 1.0 / 3 + 0.5, 2.0 / 3 + 0.5, 1.0}));
  Tensor gg = autograd::grad({g.sum()}, {x})[0];
  EXPECT_EQ(values<double>(gg), (std::vector<double>{0.0, 1.0 / 3, 1.0 / 3, 0.0}));
}

TEST(ElementwiseEdges, MethodsForwardToTheFunctions) {
  Tensor x = tensor({0.25, -0.5, 0.75}, kFloat64);
  EXPECT_EQ(values<double>(x.erf()), values<double>(erf(x)));
  EXPECT_EQ(values<double>(x.atan2(x + 1)), values<double>(atan2(x, x + 1)));
  EXPECT_EQ(values<double>(x.frac()), values<double>(x));
  EXPECT_EQ(values<bool>((x / 0).isinf()), (std::vector<bool>{true, true, true}));
}

}  // namespace
}  // namespace hpml
