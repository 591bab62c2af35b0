// In-place ops and autograd: version checks on saved tensors, leaves, non-leaves, views (Note [In-place ops ...]).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::error_of;
using testing::expect_values;
using testing::leaf;
using testing::values;

std::string version_text(const char* what, uint32_t v) { return std::string(what) + " version " + std::to_string(v); }

TEST(InplaceVersion, EveryInPlaceOpBumpsTheVersion) {
  Tensor t = ones({3}, kFloat64);
  uint32_t v = t.version();
  t.add_(1);
  EXPECT_EQ(t.version(), ++v);
  t.mul_(2);
  EXPECT_EQ(t.version(), ++v);
  t.exp_();
  EXPECT_EQ(t.version(), ++v);
  t.zero_();
  EXPECT_EQ(t.version(), ++v);
  Tensor view = t.narrow(0, 0, 2);
  view.fill_(3);
  EXPECT_EQ(t.version(), ++v);  // writes through a view bump the base's counter
  (void)(t * 2);
  EXPECT_EQ(t.version(), v);  // out-of-place ops do not
}

TEST(InplaceVersion, ModifyingASavedOutputIsCaughtAtBackward) {
  Tensor x = leaf({0.0, 1.0});
  Tensor a = x.sigmoid();  // sigmoid saves its output
  const uint32_t saved = a.version();
  a.add_(1);
  const uint32_t now = a.version();
  ASSERT_EQ(now, saved + 1);
  std::string msg = error_of([&] { a.sum().backward(); });
  EXPECT_CONTAINS(msg, "sigmoid");
  EXPECT_CONTAINS(msg, "in-place");
  EXPECT_CONTAINS(msg, version_text("saved at", saved));
  EXPECT_CONTAINS(msg, version_text("now at", now));
  EXPECT_FALSE(x.grad().defined());
}

TEST(InplaceVersion, ModifyingASavedInputUnderNoGradIsCaughtAtBackward) {
  Tensor x = leaf({1, 2});
  Tensor w = leaf({3, 4}, false);
  Tensor y = x * w;  // mul saves w
  const uint32_t saved = w.version();
  {
    NoGradGuard ng;
    w.mul_(2);
  }
  std::string msg = error_of([&] { y.sum().backward(); });
  EXPECT_CONTAINS(msg, "mul");
  EXPECT_CONTAINS(msg, version_text("saved at", saved));
  EXPECT_CONTAINS(msg, version_text("now at", saved + 1));
}

TEST(InplaceVersion, ModifyingANonLeafThatALaterOpSavedIsCaught) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 2;
  Tensor z = y * y;  // saves y
  y.mul_(3);
  std::string msg = error_of([&] { z.sum().backward(); });
  EXPECT_CONTAINS(msg, "mul");
  EXPECT_CONTAINS(msg, "version");
}

TEST(InplaceVersion, ModifyingATensorNoOneSavedIsFine) {
  // z = y + 1 saves nothing, so changing y afterwards leaves z's graph valid.
  Tensor x = leaf({1, 2});
  Tensor y = x * 2;
  Tensor z = y + 1;
  y.mul_(3);
  z.sum().backward(Tensor(), /*retain_graph=*/true);  // y's new history runs through x * 2 again below
  expect_values(x.grad(), {2, 2});  // z still depends on the old y = 2x
  expect_values(z, {3, 5});
  x.set_grad(Tensor());
  y.sum().backward();
  expect_values(x.grad(), {6, 6});
}

// ---- leaves ------------------------------------------------------------------------------------------

TEST(InplaceLeaf, LeafThatRequiresGradCannotBeModified) {
  Tensor x = leaf({1, 2});
  const uint32_t v = x.version();
  for (auto op : {+[](Tensor& t) { t.add_(1); }, +[](Tensor& t) { t.mul_(2); }, +[](Tensor& t) { t.exp_(); },
                  +[](Tensor& t) { t.zero_(); }}) {
    std::string msg = error_of([&] { op(x); });
    EXPECT_CONTAINS(msg, "leaf");
    EXPECT_CONTAINS(msg, "requires grad");
  }
  EXPECT_EQ(x.version(), v);
  expect_values(x, {1, 2});  // nothing was written
}

TEST(InplaceLeaf, AllowedUnderNoGradAndBumpsTheVersion) {
  Tensor x = leaf({1, 2});
  const uint32_t v = x.version();
  {
    NoGradGuard ng;
    x.mul_(3);
    x.add_(1);
  }
  EXPECT_EQ(x.version(), v + 2);
  expect_values(x, {4, 7});
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  (x * x).sum().backward();
  expect_values(x.grad(), {8, 14});
}

TEST(InplaceLeaf, SgdStepUnderNoGradThenFreshGraph) {
  Tensor w = leaf({1.0, -1.0});
  for (int step = 0; step < 3; ++step) {
    (w * w).sum().backward();  // grad 2w
    NoGradGuard ng;
    w.sub_(w.grad(), 0.25);  // w <- w - 0.25 * 2w = w / 2
    w.mutable_grad().zero_();
  }
  expect_values(w, {0.125, -0.125});
}

// ---- non-leaves --------------------------------------------------------------------------------------

TEST(InplaceNonLeaf, RecordedLikeTheOutOfPlaceOp) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 2;
  auto before = y.grad_fn();
  const void* data = y.data_ptr();
  Tensor& r = y.mul_(3);
  EXPECT_EQ(&r, &y);
  EXPECT_EQ(y.data_ptr(), data);  // same memory
  ASSERT_NE(y.grad_fn(), nullptr);
  EXPECT_NE(y.grad_fn(), before);  // new history
  EXPECT_STREQ(y.grad_fn()->name(), "mul");
  EXPECT_FALSE(y.is_leaf());
  expect_values(y, {6, 12, 18});
  y.sum().backward();
  expect_values(x.grad(), {6, 6, 6});
}

TEST(InplaceNonLeaf, ExpInPlaceMatchesClosedForm) {
  const std::vector<double> xv = {-0.5, 0.25, 1.0};
  Tensor x = leaf(xv);
  Tensor y = x * 2;
  y.exp_();
  EXPECT_STREQ(y.grad_fn()->name(), "exp");
  (y * x).sum().backward();  // d/dx [x e^{2x}] = e^{2x} (1 + 2x)
  std::vector<double> expected;
  for (double v : xv) expected.push_back(std::exp(2 * v) * (1 + 2 * v));
  expect_values(x.grad(), expected, 1e-12);
  // The out-of-place form agrees.
  Tensor x2 = leaf(xv);
  ((x2 * 2).exp() * x2).sum().backward();
  expect_values(x2.grad(), values(x.grad()), 1e-15);
}

TEST(InplaceNonLeaf, ChainOfInPlaceOps) {
  Tensor x = leaf({1.0, 4.0});
  Tensor y = x * 1.0;
  y.add_(x);     // 2x
  y.mul_(x);     // 2x^2
  y.mul_(2);     // 4x^2
  y.sqrt_();     // 2x (x > 0)
  y.relu_();     // 2x
  y.neg_();      // -2x
  y.add_(x, 3);  // x
  (y * x).sum().backward();  // d/dx x^2 = 2x
  expect_values(y, {1, 4});
  expect_values(x.grad(), {2, 8});
}

TEST(InplaceNonLeaf, ConstantGetsHistoryFromAnOperandThatRequiresGrad) {
  Tensor x = leaf({1, 2});
  Tensor acc = zeros({2}, kFloat64);
  acc.add_(x);
  acc.add_(x * x);
  EXPECT_TRUE(acc.requires_grad());
  EXPECT_FALSE(acc.is_leaf());
  acc.sum().backward();
  expect_values(x.grad(), {3, 5});  // 1 + 2x
}

TEST(InplaceNonLeaf, MaskedFillAndClampInPlace) {
  Tensor x = leaf({-2, 0.5, 3});
  Tensor y = x * 1.0;
  y.clamp_(-1, 1);  // grad 1 only inside (-1, 1)
  Tensor mask = tensor({true, false, false});
  Tensor z = x * 2;
  z.masked_fill_(mask, 7.0);  // element 0 is constant now
  (y + z).sum().backward();
  expect_values(x.grad(), {0, 3, 2});
}

// ---- views -------------------------------------------------------------------------------------------

TEST(InplaceView, ViewOfTensorThatRequiresGradCannotBeModified) {
  Tensor x = leaf({1, 2, 3, 4});
  Tensor y = x * 2;
  Tensor v = y.narrow(0, 1, 2);
  EXPECT_TRUE(v.is_view());
  std::string msg = error_of([&] { v.mul_(3); });
  EXPECT_CONTAINS(msg, "mul_");
  EXPECT_CONTAINS(msg, "view");
  EXPECT_CONTAINS(msg, "hint");
  expect_values(y, {2, 4, 6, 8});  // untouched

  Tensor lv = x[0];  // a view of a leaf
  msg = error_of([&] { lv.add_(1); });
  EXPECT_CONTAINS(msg, "view");
  EXPECT_CONTAINS(msg, "hint");
}

TEST(InplaceView, ClonedViewCanBeModified) {
  Tensor x = leaf({1, 2, 3, 4});
  Tensor v = x.narrow(0, 1, 2).clone();
  EXPECT_FALSE(v.is_view());
  v.mul_(3);
  v.sum().backward();
  expect_values(x.grad(), {0, 3, 3, 0});
}

TEST(InplaceView, ViewUnderNoGradIsAllowed) {
  Tensor x = leaf({1, 2, 3, 4});
  Tensor y = x * 2;
  {
    NoGradGuard ng;
    Tensor v = y.narrow(0, 0, 2);
    v.fill_(0);
  }
  expect_values(y, {0, 0, 6, 8});
}

}  // namespace
}  // namespace hpml
