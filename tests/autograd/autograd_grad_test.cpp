// autograd::grad: gradients returned (not accumulated), non-leaf inputs, allow_unused, grad_outputs, graph freeing.
#include <gtest/gtest.h>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::error_of;
using testing::expect_values;
using testing::leaf;

// ---- autograd::grad ---------------------------------------------------------------------------------

TEST(AutogradGrad, ReturnsGradientsWithoutTouchingDotGrad) {
  Tensor x = leaf({1, 2, 3});
  Tensor w = leaf({2, 2, 2});
  Tensor y = (x * x * w).sum();
  TensorList g = autograd::grad({y}, {x});
  ASSERT_EQ(g.size(), 1u);
  expect_values(g[0], {4, 8, 12});
  EXPECT_FALSE(g[0].requires_grad());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());  // w was not asked for: its accumulator must not run
}

TEST(AutogradGrad, WorksForNonLeafInputs) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  Tensor z = (y * y).sum();
  TensorList g = autograd::grad({z}, {y, x});
  ASSERT_EQ(g.size(), 2u);
  expect_values(g[0], {6, 12});   // 2y
  expect_values(g[1], {18, 36});  // 18x
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(y.grad().defined());
}

TEST(AutogradGrad, AllowUnused) {
  Tensor x = leaf({1, 2});
  Tensor unused = leaf({7, 7, 7});
  Tensor y = (x * x).sum();
  std::string msg = error_of([&] { autograd::grad({y}, {x, unused}, {.grad_outputs = {}, .retain_graph = true}); });
  EXPECT_CONTAINS(msg, "input 1");
  EXPECT_CONTAINS(msg, "not used");
  EXPECT_CONTAINS(msg, "allow_unused");
  autograd::GradOptions opts;
  opts.allow_unused = true;
  TensorList g = autograd::grad({y}, {x, unused}, opts);
  ASSERT_EQ(g.size(), 2u);
  expect_values(g[0], {2, 4});
  EXPECT_FALSE(g[1].defined());
}

TEST(AutogradGrad, GradOutputsWeightTheOutputs) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * x;
  TensorList g = autograd::grad({y}, {x}, {.grad_outputs = {tensor(std::vector<double>{1, -1, 0.5}, kFloat64)}});
  expect_values(g[0], {2, -4, 3});
  Tensor y2 = x * 2;
  EXPECT_CONTAINS(error_of([&] { autograd::grad({y2}, {x}); }), "one-element");
}

TEST(AutogradGrad, InputThatDoesNotRequireGradThrows) {
  Tensor x = leaf({1, 2});
  Tensor c = leaf({1, 2}, false);
  Tensor y = (x * c).sum();
  EXPECT_CONTAINS(error_of([&] { autograd::grad({y}, {c}); }), "does not require grad");
}

TEST(AutogradGrad, FreesTheGraphUnlessRetained) {
  Tensor x = leaf({1, 2});
  Tensor y = (x * x).sum();
  TensorList a = autograd::grad({y}, {x}, {.grad_outputs = {}, .retain_graph = true});
  TensorList b = autograd::grad({y}, {x});
  expect_values(a[0], {2, 4});
  expect_values(b[0], {2, 4});  // not accumulated
  EXPECT_CONTAINS(error_of([&] { autograd::grad({y}, {x}); }), "retain_graph");
}

}  // namespace
}  // namespace hpml
