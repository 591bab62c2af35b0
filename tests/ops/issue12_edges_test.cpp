// Edge cases of ops, one exact example each: masked_select's gradient through a transposed
// input, std's gradient on a zero-variance row, ceil_mode pooling of an input smaller than the
// kernel, group_norm's one-value-per-group error, and cat skipping a legacy empty [0] tensor.
// The op-table tests (OpGradcheck, OpParity) carry the same cases on random values.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/test_helpers.h"
#include "hpml/nn/functional.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

// Note [masked_select through a transposed input]: PyTorch 1.13 gives x.grad =
// [[1, 0, 2, 0], [0, 3, 4, 0], [5, 6, 0, 7]] for this example, and it is not the reference: it is
// PyTorch 1.13's own bug (its masked_scatter_ into a non-contiguous zeros_like walks memory
// order; torch.autograd.gradcheck fails on this very example, and a .contiguous() input gives the
// values below). out[k] = x.t()[mask][k] = x[j, i], so out's gradient k lands at x[j, i].
TEST(Issue12, MaskedSelectGradientThroughTransposedInput) {
  Tensor x = arange(0, 12, 1, TensorOptions(kFloat64)).reshape({3, 4}).requires_grad_(true);
  Tensor m = tensor({{1, 0, 1}, {0, 1, 1}, {1, 1, 0}, {0, 0, 1}}).to(kBool);
  Tensor y = masked_select(x.t(), m);
  EXPECT_EQ(values<double>(y), (std::vector<double>{0, 8, 5, 9, 2, 6, 11}));
  y.backward(arange(1, 8, 1, TensorOptions(kFloat64)));
  EXPECT_EQ(values<double>(x.grad()), (std::vector<double>{1, 0, 5, 0, 0, 3, 6, 0, 2, 4, 0, 7}));
}

TEST(Issue12, StdGradientIsZeroOnAConstantRow) {
  for (DType dt : {kFloat32, kFloat64}) {
    for (double corr : {0.0, 1.0}) {
      Tensor x = tensor({{1., 1., 1.}, {2., 3., 4.}}).to(dt).requires_grad_(true);
      hpml::std(x, {1}, corr, false).sum().backward();
      std::vector<double> g = values<double>(x.grad().to(kFloat64));
      const double s = corr == 0 ? std::sqrt(2.0 / 3.0) : 1.0;  // row 1's std
      const double dof = 3 - corr;
      std::vector<double> want = {0, 0, 0, -1 / (dof * s), 0, 1 / (dof * s)};
      for (size_t i = 0; i < g.size(); ++i)
        EXPECT_NEAR(g[i], want[i], 1e-6) << dtype_name(dt) << " correction " << corr << " at " << i;
    }
  }
}

TEST(Issue12, CeilModePoolingOfAnInputSmallerThanTheKernel) {
  Tensor x = arange(0, 4, 1, TensorOptions(kFloat32)).reshape({1, 1, 2, 2});
  // PyTorch 1.13: padding 0 -> one window [1, 1]; padding 1 -> [2, 2].
  PoolOptions p0{.kernel_size = 3, .stride = Dims(2), .padding = 0, .ceil_mode = true};
  EXPECT_EQ(values<float>(max_pool2d(x, p0)), (std::vector<float>{3}));
  EXPECT_EQ(values<float>(avg_pool2d(x, p0)), (std::vector<float>{1.5f}));
  PoolOptions p1 = p0;
  p1.padding = 1;
  EXPECT_EQ(shape_of(max_pool2d(x, p1)), (Shape{1, 1, 2, 2}));
  std::vector<float> avg = values<float>(avg_pool2d(x, p1));
  std::vector<float> want = {6.f / 9, 6.f / 9, 5.f / 6, 3.f / 4};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(avg[i], want[i], 1e-6) << i;
  // Without ceil_mode the output is empty, an error that names the sizes.
  p0.ceil_mode = false;
  EXPECT_HPML_ERROR(max_pool2d(x, p0), "max_pool2d", "[2, 2]", "[3, 3]", "output");
}

TEST(Issue12, GroupNormRefusesOneValuePerGroup) {
  EXPECT_HPML_ERROR(nn::functional::group_norm(randn({1, 4, 1, 1}), 4), "group_norm", "[1, 4, 1, 1]", "4",
                    "more than 1 value");
  EXPECT_HPML_ERROR(nn::functional::group_norm(randn({1, 4}), 4), "group_norm", "[1, 4]");
  // Like PyTorch 1.13, a batch of such inputs passes (N * C/G * spatial > 1).
  EXPECT_EQ(shape_of(nn::functional::group_norm(randn({2, 4, 1, 1}), 4)), (Shape{2, 4, 1, 1}));
}

TEST(Issue12, CatSkipsLegacyEmptyTensors) {
  Tensor a = ones({2, 3}).requires_grad_(true), e = zeros({0}).requires_grad_(true);
  Tensor c = cat({a, e}, 1);
  EXPECT_EQ(shape_of(c), (Shape{2, 3}));
  EXPECT_EQ(shape_of(cat({e, a}, 0)), (Shape{2, 3}));
  EXPECT_EQ(shape_of(cat({e, e}, 0)), (Shape{0}));
  c.sum().backward();
  ASSERT_TRUE(e.grad().defined());
  EXPECT_EQ(shape_of(e.grad()), (Shape{0}));
  EXPECT_EQ(values<float>(a.grad()), (std::vector<float>(6, 1.f)));
  // A 2-d empty tensor is not skipped: its other sizes must still match.
  EXPECT_HPML_ERROR(cat({a, zeros({0, 2})}, 0), "cat", "[2, 3]", "[0, 2]");
}

}  // namespace
}  // namespace hpml
