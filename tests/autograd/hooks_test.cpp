// Tensor hooks (leaves and non-leaves, replacement gradients, order) and retain_grad().
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::error_of;
using testing::expect_values;
using testing::leaf;
using testing::values;

TEST(Hooks, LeafHookSeesTheGradient) {
  Tensor x = leaf({1, 2, 3});
  std::vector<double> seen;
  int calls = 0;
  x.register_hook([&](const Tensor& g) {
    ++calls;
    seen = values(g);
    return Tensor();  // keep the gradient
  });
  (x * x).sum().backward();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, (std::vector<double>{2, 4, 6}));
  expect_values(x.grad(), {2, 4, 6});
}

TEST(Hooks, NonLeafHookSeesTheGradientOfThatTensor) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  std::vector<double> seen;
  y.register_hook([&](const Tensor& g) {
    seen = values(g);
    return Tensor();
  });
  (y * y).sum().backward();
  EXPECT_EQ(seen, (std::vector<double>{6, 12}));  // 2y
  expect_values(x.grad(), {18, 36});
  EXPECT_FALSE(y.grad().defined());  // a hook does not retain the gradient
}

TEST(Hooks, ReturnedTensorReplacesTheGradient) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  y.register_hook([](const Tensor& g) { return g * 2; });
  y.sum().backward();
  expect_values(x.grad(), {6, 6});  // 3 * (1 doubled)

  Tensor z = leaf({1, 2});
  z.register_hook([](const Tensor& g) { return g * 10; });
  (z * z).sum().backward();
  expect_values(z.grad(), {20, 40});
}

TEST(Hooks, RunInRegistrationOrderAndChain) {
  Tensor x = leaf({1});
  std::string order;
  Tensor y = x * 1.0;
  y.register_hook([&](const Tensor& g) { order += "a"; return g * 2; });
  y.register_hook([&](const Tensor& g) { order += "b"; return g + 1; });
  y.sum().backward();
  EXPECT_EQ(order, "ab");
  expect_values(x.grad(), {3});  // (1 * 2) + 1, not (1 + 1) * 2

  Tensor z = leaf({1});
  order.clear();
  z.register_hook([&](const Tensor& g) { order += "a"; return g + 1; });
  z.register_hook([&](const Tensor& g) { order += "b"; return g * 2; });
  (z * 1.0).sum().backward();
  EXPECT_EQ(order, "ab");
  expect_values(z.grad(), {4});  // (1 + 1) * 2
}

TEST(Hooks, RegisterReturnsTheHookIndex) {
  Tensor x = leaf({1});
  EXPECT_EQ(x.register_hook([](const Tensor&) { return Tensor(); }), 0u);
  EXPECT_EQ(x.register_hook([](const Tensor&) { return Tensor(); }), 1u);
}

TEST(Hooks, NonLeafHookRunsBeforeTheLeafHook) {
  Tensor x = leaf({2});
  Tensor y = x * 5;
  std::string order;
  x.register_hook([&](const Tensor&) { order += "x"; return Tensor(); });
  y.register_hook([&](const Tensor&) { order += "y"; return Tensor(); });
  y.sum().backward();
  EXPECT_EQ(order, "yx");
}

TEST(Hooks, OnTensorWithoutGradThrows) {
  Tensor c = ones({2});
  std::string msg = error_of([&] { c.register_hook([](const Tensor& g) { return g; }); });
  EXPECT_CONTAINS(msg, "does not require grad");
}

TEST(Hooks, RunOnEveryBackward) {
  Tensor x = leaf({1, 2});
  int calls = 0;
  x.register_hook([&](const Tensor&) { ++calls; return Tensor(); });
  (x * 2).sum().backward();
  (x * 3).sum().backward();
  EXPECT_EQ(calls, 2);
  expect_values(x.grad(), {5, 5});
}

TEST(Hooks, NonLeafHookRunsUnderAutogradGrad) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  int calls = 0;
  y.register_hook([&](const Tensor& g) { ++calls; return g * 0.5; });
  TensorList g = autograd::grad({(y * y).sum()}, {x});
  EXPECT_EQ(calls, 1);
  expect_values(g[0], {9, 18});  // 18x halved
  EXPECT_FALSE(x.grad().defined());
}

TEST(Hooks, LeafHookThatChangesTheShapeThrows) {
  // PyTorch: "hook '0' has changed the size of value"; .grad must never get another shape than the leaf.
  Tensor x = leaf({1, 2, 3});
  x.register_hook([](const Tensor& g) { return g.sum(); });
  EXPECT_THROW((x * 2).sum().backward(), Error);
  if (x.grad().defined()) {
    EXPECT_EQ(x.grad().sizes().vec(), std::vector<int64_t>({3}));
  }
}

TEST(Hooks, NonLeafHookThatChangesTheShapeThrows) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 2;
  y.register_hook([](const Tensor& g) { return g.sum(); });
  EXPECT_THROW(y.sum().backward(), Error);
}

TEST(Hooks, ExceptionFromAHookPropagatesAndRestoresGradMode) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 2;
  y.register_hook([](const Tensor&) -> Tensor { throw std::runtime_error("hook failed"); });
  EXPECT_THROW(y.sum().backward(), std::runtime_error);
  EXPECT_TRUE(autograd::GradMode::is_enabled());
  EXPECT_FALSE(x.grad().defined());
}

// ---- retain_grad -----------------------------------------------------------------------------------

TEST(RetainGrad, NonLeafKeepsItsGradient) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  Tensor z = x * 4;
  y.retain_grad();
  EXPECT_TRUE(y.retains_grad());
  EXPECT_FALSE(z.retains_grad());
  (y * y + z).sum().backward();
  expect_values(y.grad(), {6, 12});  // 2y
  EXPECT_FALSE(z.grad().defined());   // not retained
  expect_values(x.grad(), {22, 40});  // 18x + 4
  EXPECT_FALSE(y.grad().requires_grad());
}

TEST(RetainGrad, AccumulatesAcrossBackwardCalls) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  y.retain_grad();
  Tensor s = (y * y).sum();
  s.backward(Tensor(), /*retain_graph=*/true);
  s.backward();
  expect_values(y.grad(), {12, 24});
}

TEST(RetainGrad, OnLeafIsANoOpAndOnConstantThrows) {
  Tensor x = leaf({1, 2});
  EXPECT_NO_THROW(x.retain_grad());
  EXPECT_FALSE(x.retains_grad());  // a leaf keeps its grad anyway
  (x * 2).sum().backward();
  expect_values(x.grad(), {2, 2});
  Tensor c = ones({2});
  EXPECT_CONTAINS(error_of([&] { c.retain_grad(); }), "does not require grad");
}

TEST(RetainGrad, FollowsTheTensorThroughInPlaceOps) {
  // y.grad is the gradient w.r.t. y's current value (libtorch 1.13 gives 2 * (2x) = [4, 8]).
  Tensor x = leaf({1, 2});
  Tensor y = x * 1.0;
  y.retain_grad();
  y.mul_(2);
  (y * y).sum().backward();
  expect_values(y.grad(), {4, 8});
  expect_values(x.grad(), {8, 16});
}

TEST(RetainGrad, WithCreateGraphTheRetainedGradIsDifferentiable) {
  // libtorch 1.13: y.grad.requires_grad() is true after backward(create_graph=true).
  Tensor x = leaf({1, 2});
  Tensor y = x * x;
  y.retain_grad();
  (y * y).sum().backward(Tensor(), false, /*create_graph=*/true);
  expect_values(y.grad(), {2, 8});  // 2y
  EXPECT_TRUE(y.grad().requires_grad());
  // A differentiable .grad refers to a graph that holds y and x again: a reference cycle, as in
  // PyTorch (which warns about it). Resetting the gradients breaks it.
  y.mutable_grad() = Tensor();
  x.mutable_grad() = Tensor();
}

TEST(RetainGrad, CallingTwiceDoesNotDoubleTheGradient) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  y.retain_grad();
  y.retain_grad();
  y.sum().backward();
  expect_values(y.grad(), {1, 1});
}

TEST(RetainGrad, RetainedGradientIsNotAliasedToTheEnginesBuffer) {
  // y.grad must not change when later nodes modify or reuse the gradient flowing through.
  Tensor x = leaf({1, 2});
  Tensor y = x * 1.0;
  y.retain_grad();
  Tensor g = ones({2}, kFloat64);
  y.backward(g);
  {
    NoGradGuard ng;
    g.mul_(100);
  }
  expect_values(y.grad(), {1, 1});
  expect_values(x.grad(), {1, 1});
}

// ---- post-accumulate-grad hooks and end-of-backward callbacks (DistributedDataParallel's) ----

TEST(PostAccumulateHooks, RunAfterTheGradientIsAccumulatedOncePerBackward) {
  Tensor x = leaf({1, 2});
  std::vector<std::vector<double>> seen;
  const size_t h = x.register_post_accumulate_grad_hook([&](const Tensor& t) { seen.push_back(values(t.grad())); });
  (x * x).sum().backward();   // x used twice: still one accumulation, one call
  (x * 3.0).sum().backward();  // accumulates onto 2x: [2, 4] + [3, 3]
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::vector<double>{2, 4}));
  EXPECT_EQ(seen[1], (std::vector<double>{5, 7}));
  x.remove_post_accumulate_grad_hook(h);
  (x * 1.0).sum().backward();
  EXPECT_EQ(seen.size(), 2u);
}

TEST(PostAccumulateHooks, OnlyLeavesThatRequireGradTakeThem) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 2;
  EXPECT_NE(error_of([&] { y.register_post_accumulate_grad_hook([](const Tensor&) {}); }).find("is not a leaf"),
            std::string::npos);
  Tensor c = ones({2});
  EXPECT_NE(error_of([&] { c.register_post_accumulate_grad_hook([](const Tensor&) {}); }).find("does not require grad"),
            std::string::npos);
  EXPECT_NE(error_of([&] { x.remove_post_accumulate_grad_hook(5); }).find("no hook 5"), std::string::npos);
}

TEST(QueueCallback, RunsOnceEveryNodeHasRun) {
  Tensor a = leaf({1}), b = leaf({2});
  bool b_done_when_called = false;
  int calls = 0;
  // a's gradient arrives first (it is nearer the output); the callback must still see b's.
  a.register_post_accumulate_grad_hook([&](const Tensor&) {
    autograd::queue_callback([&] {
      ++calls;
      b_done_when_called = b.grad().defined();
    });
  });
  (a * 3.0 + (b * 2.0).exp()).sum().backward();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(b_done_when_called);
  EXPECT_NE(error_of([] { autograd::queue_callback([] {}); }).find("outside a backward pass"), std::string::npos);
}

}  // namespace
}  // namespace hpml
