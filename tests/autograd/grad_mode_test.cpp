// Grad mode (NoGradGuard, EnableGradGuard, per thread) and detach()/detach_().
#include <gtest/gtest.h>

#include <thread>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using autograd::GradMode;
using testing::error_of;
using testing::expect_values;
using testing::leaf;
using testing::values;

TEST(GradMode, EnabledByDefault) { EXPECT_TRUE(GradMode::is_enabled()); }

TEST(GradMode, NoGradGuardStopsRecording) {
  Tensor x = leaf({1, 2});
  Tensor y;
  {
    NoGradGuard ng;
    EXPECT_FALSE(GradMode::is_enabled());
    y = x * 2 + x.exp();
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_TRUE(x.requires_grad());  // the leaf itself is unchanged
  EXPECT_CONTAINS(error_of([&] { y.sum().backward(); }), "does not require grad");
}

TEST(GradMode, NestedGuardsRestoreThePreviousState) {
  {
    NoGradGuard outer;
    {
      NoGradGuard inner;
      EXPECT_FALSE(GradMode::is_enabled());
    }
    EXPECT_FALSE(GradMode::is_enabled());  // still inside outer
    {
      EnableGradGuard eg;
      EXPECT_TRUE(GradMode::is_enabled());
      {
        NoGradGuard inner2;
        EXPECT_FALSE(GradMode::is_enabled());
      }
      EXPECT_TRUE(GradMode::is_enabled());
    }
    EXPECT_FALSE(GradMode::is_enabled());
  }
  EXPECT_TRUE(GradMode::is_enabled());
}

TEST(GradMode, EnableGradGuardRecordsInsideNoGrad) {
  Tensor x = leaf({1, 2});
  Tensor inside, after;
  {
    NoGradGuard ng;
    {
      EnableGradGuard eg;
      inside = x * x;
    }
    after = x * x;
  }
  EXPECT_TRUE(inside.requires_grad());
  ASSERT_NE(inside.grad_fn(), nullptr);
  EXPECT_STREQ(inside.grad_fn()->name(), "mul");
  EXPECT_FALSE(after.requires_grad());
  inside.sum().backward();
  expect_values(x.grad(), {2, 4});
}

TEST(GradMode, IsPerThread) {
  Tensor x = leaf({3});
  NoGradGuard ng;
  bool other_enabled = false, other_records = false;
  std::thread t([&] {
    other_enabled = GradMode::is_enabled();
    other_records = (x * 2).requires_grad();
  });
  t.join();
  EXPECT_TRUE(other_enabled);
  EXPECT_TRUE(other_records);
  EXPECT_FALSE(GradMode::is_enabled());
  EXPECT_FALSE((x * 2).requires_grad());
}

TEST(GradMode, BackwardWorksUnderNoGradAndKeepsTheMode) {
  Tensor x = leaf({1, 2});
  Tensor y = (x * x * x).sum();
  NoGradGuard ng;
  y.backward();
  expect_values(x.grad(), {3, 12});
  EXPECT_FALSE(x.grad().requires_grad());
  EXPECT_FALSE(GradMode::is_enabled());
}

TEST(GradMode, BackwardWithoutCreateGraphRecordsNothing) {
  Tensor x = leaf({1, 2});
  (x * x).sum().backward();
  EXPECT_FALSE(x.grad().requires_grad());
  EXPECT_EQ(x.grad().grad_fn(), nullptr);
  EXPECT_TRUE(GradMode::is_enabled());  // restored after the pass
}

// ---- detach ----------------------------------------------------------------------------------------

TEST(Detach, SharesStorageAndCutsTheGraph) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 2;
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_EQ(d.grad_fn(), nullptr);
  EXPECT_EQ(d.data_ptr(), y.data_ptr());
  EXPECT_EQ(d.sizes().vec(), y.sizes().vec());
  // y keeps its history.
  EXPECT_FALSE(y.is_leaf());
  // Writes through the detached tensor are visible in y (same memory).
  static_cast<double*>(d.data_ptr())[0] = 42;
  EXPECT_EQ(values(y)[0], 42);
  // Gradients do not flow through the detached part: d(sum(d * x))/dx = d.
  (d * x).sum().backward();
  expect_values(x.grad(), {42, 4, 6});
}

TEST(Detach, OfALeafSharesStorage) {
  Tensor x = leaf({1, 2});
  Tensor d = x.detach();
  EXPECT_EQ(d.data_ptr(), x.data_ptr());
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(x.requires_grad());
}

TEST(Detach, SharesTheVersionCounter) {
  Tensor x = leaf({0.5, 1.0});
  Tensor a = x.exp();  // saves its output for backward
  Tensor d = a.detach();
  const uint32_t v0 = a.version();
  d.add_(1);  // allowed: d does not require grad
  EXPECT_EQ(a.version(), v0 + 1);
  std::string msg = error_of([&] { a.sum().backward(); });
  EXPECT_CONTAINS(msg, "exp");
  EXPECT_CONTAINS(msg, "in-place");
}

TEST(Detach, DetachInPlaceTurnsANonLeafIntoALeaf) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 2;
  ASSERT_FALSE(y.is_leaf());
  Tensor& r = y.detach_();
  EXPECT_TRUE(&r == &y);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  EXPECT_EQ(y.grad_fn(), nullptr);
  expect_values(y, {2, 4});
  EXPECT_CONTAINS(error_of([&] { y.sum().backward(); }), "does not require grad");
  // The detached tensor can become a fresh leaf.
  y.requires_grad_();
  (y * y).sum().backward();
  expect_values(y.grad(), {4, 8});
  EXPECT_FALSE(x.grad().defined());
}

TEST(Detach, DetachedViewCanBeWrittenInPlace) {
  Tensor x = leaf({1, 2, 3, 4});
  Tensor v = x.detach().narrow(0, 1, 2);
  EXPECT_NO_THROW(v.mul_(10));
  expect_values(x, {1, 20, 30, 4});
}

}  // namespace
}  // namespace hpml
