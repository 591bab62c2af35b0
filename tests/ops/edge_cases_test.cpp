// Edge cases found in review: each once crashed, read out of bounds or differed from PyTorch.
#include <gtest/gtest.h>
#include <hpml/hpml.h>

#include <climits>
#include <cmath>

#include "core/test_helpers.h"

namespace hpml {
namespace {

double at(const Tensor& t, int64_t i) { return t.reshape({-1})[i].item<double>(); }

TEST(EdgeCases, AsStridedBackwardAddsOverlappingElements) {
  Tensor x = ones({3}).requires_grad_();
  as_strided(x, {2, 2}, {1, 1}, 0).sum().backward();  // views x[0..1] and x[1..2]
  EXPECT_EQ(at(x.grad(), 0), 1);
  EXPECT_EQ(at(x.grad(), 1), 2);
  EXPECT_EQ(at(x.grad(), 2), 1);
  Tensor y = ones({3}).requires_grad_();
  as_strided(y, {3}, {0}, 0).sum().backward();  // the first element three times
  EXPECT_EQ(at(y.grad(), 0), 3);
  EXPECT_EQ(at(y.grad(), 1), 0);
}

TEST(EdgeCases, AsStridedRejectsNegativeOffsetsAndOverflow) {
  Tensor x = randn({4});
  EXPECT_HPML_ERROR(as_strided(x, {2}, {1}, -1), "as_strided", "negative storage offset");
  EXPECT_HPML_ERROR(as_strided(x, {3}, {int64_t{1} << 62}, 0), "as_strided");
}

TEST(EdgeCases, AsStridedBackwardOutsideTheInputIsAnErrorNotAWrite) {
  Tensor x = randn({4}).requires_grad_();
  Tensor t = x.slice(0, 2, 4);  // contiguous, storage offset 2
  Tensor v = as_strided(t, {2}, {1}, 0);  // reads x[0..1], outside t
  EXPECT_HPML_ERROR(v.sum().backward(), "as_strided", "outside its input");
}

TEST(EdgeCases, InPlaceWriteIntoTheBaseOfAViewIsCaughtAtBackward) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = x * 2;
  Tensor v = y.select(0, 0);
  y.mul_(3);  // v's history is now stale
  EXPECT_HPML_ERROR(v.backward(), "select", "modified by an in-place operation");
}

TEST(EdgeCases, NormBackwardAtZeroEntriesIsFinite) {
  Tensor x = tensor({0.0, 3.0, 4.0}, kFloat64).requires_grad_();
  norm(x, 1.5).backward();
  EXPECT_EQ(at(x.grad(), 0), 0.0);
  // d/dx_i = sign(x_i) |x_i|^0.5 / ||x||^0.5 with ||x||_1.5 = (3^1.5 + 4^1.5)^(1/1.5)
  const double n = std::pow(std::pow(3.0, 1.5) + std::pow(4.0, 1.5), 1 / 1.5);
  EXPECT_NEAR(at(x.grad(), 1), std::sqrt(3.0) / std::sqrt(n), 1e-12);
}

TEST(EdgeCases, PartiallyOverlappingInPlaceOperandsAreRefused) {
  Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}});
  EXPECT_HPML_ERROR(x.add_(x.t()), "add_", "same memory");
  Tensor a = arange(0.0, 5.0);
  Tensor tail = a.slice(0, 1);
  EXPECT_HPML_ERROR(tail.add_(a.slice(0, 0, 4)), "add_", "same memory");
  Tensor c = arange(0.0, 4.0);
  Tensor dst = c.slice(0, 1);
  EXPECT_HPML_ERROR(dst.copy_(c.slice(0, 0, 3)), "copy_", "same memory");
  Tensor same = tensor({1.0, 2.0});
  same.add_(same);  // the identical view is fine
  EXPECT_EQ(at(same, 1), 4.0);
}

TEST(EdgeCases, ClampWithMinAboveMaxGivesMax) {
  Tensor r = clamp(tensor({0.0, 1.5, 3.0}), 2.0, 1.0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(at(r, i), 1.0);
}

TEST(EdgeCases, ReductionsWithAnEmptyOutputDoNotCrash) {
  EXPECT_EQ(zeros({5, 3, 0}).sum({0}).sizes(), IntArrayRef({3, 0}));
  EXPECT_EQ(zeros({5, 3, 0}).mean({0}).sizes(), IntArrayRef({3, 0}));
  EXPECT_EQ(zeros({0, 4}).var({1}).sizes(), IntArrayRef({0}));
}

TEST(EdgeCases, HugeShapesAreRefusedNotWrapped) {
  EXPECT_HPML_ERROR(zeros({int64_t{1} << 62}, kFloat64), "too large");
  EXPECT_HPML_ERROR(empty({(int64_t{1} << 61) - 1}, kFloat64), "too large");
}

TEST(EdgeCases, LongGraphWithRepeatedEdgesFreesWithoutRecursion) {
  Tensor y = ones({1}).requires_grad_();
  for (int i = 0; i < 200000; ++i) y = y + y * 0.001;  // two edges to the same node each step
  y = Tensor();  // must not overflow the stack
  SUCCEED();
}

TEST(EdgeCases, Int64ValuesPrintExactly) {
  EXPECT_EQ(to_string(tensor({int64_t{9007199254740993}})), "tensor([9007199254740993])");
  EXPECT_EQ(to_string(full({1}, INT64_MAX)), "tensor([9223372036854775807])");
}

TEST(EdgeCases, KernelLargerThanTheInputIsAnError) {
  EXPECT_HPML_ERROR(conv2d(randn({1, 1, 3, 3}), randn({1, 1, 5, 5}), Tensor(), {.stride = 3}), "conv2d", "smaller");
  EXPECT_HPML_ERROR(max_pool2d(randn({1, 1, 2, 2}), {.kernel_size = 3, .stride = 3}), "max_pool2d");
}

TEST(EdgeCases, ShapeChecksOnZeroDimAndNegativeSizes) {
  EXPECT_HPML_ERROR(unflatten(scalar_tensor(1.0), 0, {1}), "unflatten", "0-d");
  EXPECT_HPML_ERROR(ones({1}).expand({-2}), "expand", "-2");
}

TEST(EdgeCases, GradWithoutInputsIsAnError) {
  Tensor w = ones({2}).requires_grad_();
  Tensor loss = (w * 2).sum();
  EXPECT_HPML_ERROR(autograd::grad({loss}, {}), "autograd::grad", "non-empty");
  EXPECT_FALSE(w.grad().defined());
}

TEST(EdgeCases, MatmulWithAnEmptyInnerDimGivesZeros) {
  Tensor r = matmul(zeros({2, 3, 0}), zeros({0, 4}));
  EXPECT_EQ(r.sizes(), IntArrayRef({2, 3, 4}));
  EXPECT_EQ(r.abs().sum().item<double>(), 0.0);
}

TEST(EdgeCases, ScatterChecksTheRankOfSrcFirst) {
  EXPECT_HPML_ERROR(scatter(zeros({2, 3}), 0, zeros({1, 1}, kInt64), ones({1})), "scatter", "src must have as many dims");
}

TEST(EdgeCases, LogsumexpOverAnEmptyDimIsMinusInfinity) {
  Tensor r = logsumexp(zeros({0}), {0});
  EXPECT_TRUE(std::isinf(r.item<double>()) && r.item<double>() < 0);
}

TEST(EdgeCases, ChunkOfAnEmptyDimGivesThatManyEmptyChunks) {
  TensorList c = zeros({0}).chunk(3);
  ASSERT_EQ(c.size(), 3u);
  for (const Tensor& t : c) EXPECT_EQ(t.numel(), 0);
}

TEST(EdgeCases, RandintChecksTheRangeAgainstTheDtype) {
  EXPECT_HPML_ERROR(randint(0, 1000, {4}, nullptr, kUInt8), "randint", "does not fit");
}

TEST(EdgeCases, NegAndReluInPlaceRefuseBool) {
  Tensor b = tensor({true, false});
  EXPECT_HPML_ERROR(b.neg_(), "neg_", "bool");
  EXPECT_HPML_ERROR(b.relu_(), "relu_", "bool");
}

}  // namespace
}  // namespace hpml
