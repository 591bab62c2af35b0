// The backward engine: leaves and grad_fn, backward's checks, accumulation, retain_graph, graph shapes, threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::error_of;
using testing::expect_values;
using testing::leaf;
using testing::values;

// ---- leaves, requires_grad, grad_fn --------------------------------------------------------------

TEST(AutogradLeaf, FactoryWithRequiresGradMakesALeaf) {
  Tensor x = ones({2, 3}, TensorOptions(kFloat64).requires_grad(true));
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  EXPECT_EQ(x.grad_fn(), nullptr);
  EXPECT_FALSE(x.grad().defined());
}

TEST(AutogradLeaf, OpsOnTensorsWithoutGradRecordNothing) {
  Tensor a = ones({3});
  Tensor y = a * 2 + a.exp();
  EXPECT_FALSE(a.requires_grad());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(AutogradLeaf, OpOutputsAreNonLeavesWithNamedGradFn) {
  Tensor x = leaf({1, 2, 3});
  Tensor w = leaf({4, 5, 6}, false);
  Tensor m = x * w;
  EXPECT_TRUE(m.requires_grad());
  EXPECT_FALSE(m.is_leaf());
  ASSERT_NE(m.grad_fn(), nullptr);
  EXPECT_STREQ(m.grad_fn()->name(), "mul");
  EXPECT_STREQ((x + w).grad_fn()->name(), "add");
  EXPECT_STREQ(x.exp().grad_fn()->name(), "exp");
  EXPECT_STREQ(m.sum().grad_fn()->name(), "sum");
  // One edge per input: x leads to its accumulator, w (no grad) to nothing.
  ASSERT_EQ(m.grad_fn()->next_edges.size(), 2u);
  ASSERT_TRUE(m.grad_fn()->next_edges[0].valid());
  EXPECT_STREQ(m.grad_fn()->next_edges[0].node->name(), "AccumulateGrad");
  EXPECT_FALSE(m.grad_fn()->next_edges[1].valid());
  // The same leaf used twice feeds one accumulator.
  Tensor sq = x * x;
  EXPECT_EQ(sq.grad_fn()->next_edges[0].node, sq.grad_fn()->next_edges[1].node);
  // The grad_fn of a later op is newer.
  EXPECT_LT(m.grad_fn()->sequence_nr(), sq.grad_fn()->sequence_nr());
}

TEST(AutogradLeaf, RequiresGradOnNonFloatingTensorThrows) {
  Tensor i = zeros({2}, kInt64);
  std::string msg = error_of([&] { i.requires_grad_(); });
  EXPECT_CONTAINS(msg, "requires_grad_");
  EXPECT_CONTAINS(msg, "floating");
  EXPECT_FALSE(i.requires_grad());
  Tensor b = zeros({2}, kBool);
  EXPECT_THROW(b.requires_grad_(true), Error);
  EXPECT_NO_THROW(i.requires_grad_(false));
}

TEST(AutogradLeaf, RequiresGradFalseOnNonLeafThrows) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 2;
  std::string msg = error_of([&] { y.requires_grad_(false); });
  EXPECT_CONTAINS(msg, "leaf");
  EXPECT_CONTAINS(msg, "mul");
  EXPECT_TRUE(y.requires_grad());
  EXPECT_NO_THROW(y.requires_grad_(true));  // a no-op, as in PyTorch
  EXPECT_FALSE(y.is_leaf());
}

TEST(AutogradLeaf, RequiresGradFalseOnLeafStopsRecording) {
  Tensor x = leaf({1, 2});
  x.requires_grad_(false);
  EXPECT_FALSE(x.requires_grad());
  EXPECT_EQ((x * 2).grad_fn(), nullptr);
}

// ---- backward's arguments ------------------------------------------------------------------------

TEST(Backward, ImplicitGradientOnlyForOneElementOutputs) {
  Tensor x = ones({2, 3}, TensorOptions(kFloat64).requires_grad(true));
  Tensor y = x * 2;
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_CONTAINS(msg, "one-element");
  EXPECT_CONTAINS(msg, "[2, 3]");
  EXPECT_FALSE(x.grad().defined());
  // [1, 1] has one element: implicit 1 works.
  Tensor s = ones({1, 1}, TensorOptions(kFloat64).requires_grad(true));
  (s * 3).backward();
  expect_values(s.grad(), {3});
}

TEST(Backward, ExplicitGradientOfWrongShapeThrows) {
  Tensor x = ones({2, 3}, TensorOptions(kFloat64).requires_grad(true));
  Tensor y = x * 2;
  std::string msg = error_of([&] { y.backward(ones({3, 2}, kFloat64)); });
  EXPECT_CONTAINS(msg, "[3, 2]");
  EXPECT_CONTAINS(msg, "[2, 3]");
  EXPECT_THROW(y.backward(ones({6}, kFloat64)), Error);
  EXPECT_FALSE(x.grad().defined());
}

TEST(Backward, ExplicitGradientWeightsTheOutputs) {
  Tensor x = leaf({1, 2, 3});
  (x * x).backward(tensor(std::vector<double>{1, 10, 100}, kFloat64));
  expect_values(x.grad(), {2, 40, 600});
}

TEST(Backward, OutputThatDoesNotRequireGradThrows) {
  std::string msg = error_of([] { ones({1}).backward(); });
  EXPECT_CONTAINS(msg, "does not require grad");
}

TEST(Backward, SeveralRootsAddTheirGradients) {
  Tensor x = leaf({1, 2, 3});
  autograd::backward({(x * 2).sum(), (x * x).sum()});
  expect_values(x.grad(), {4, 6, 8});
  // The same root twice counts twice.
  Tensor z = leaf({1, 2});
  Tensor y = (z * 3).sum();
  autograd::backward({y, y});
  expect_values(z.grad(), {6, 6});
}

TEST(Backward, WrongNumberOfGradOutputsThrows) {
  Tensor x = leaf({1, 2});
  Tensor a = (x * 2).sum(), b = (x * 3).sum();
  std::string msg = error_of([&] { autograd::backward({a, b}, {ones({}, kFloat64)}); });
  EXPECT_CONTAINS(msg, "2 outputs");
}

TEST(Backward, LeafAsRootDoesNotAliasTheCallersGradient) {
  Tensor x = leaf({1, 2, 3});
  Tensor g = full({3}, 2.0, kFloat64);
  x.backward(g);
  x.backward(g);
  expect_values(x.grad(), {4, 4, 4});
  expect_values(g, {2, 2, 2});  // accumulating into .grad must not write into g
}

TEST(Backward, LeafRootGradientIsCastToTheLeafDtype) {
  // PyTorch casts root gradients to the root's dtype (libtorch 1.13: x.grad is double here).
  Tensor x = leaf({1, 2, 3});
  x.backward(ones({3}, kFloat32));
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), kFloat64);
  expect_values(x.grad(), {1, 1, 1});
  Tensor z = leaf({1, 2});
  (z * z).backward(ones({2}, kFloat32));  // through an op: the engine casts at the leaf
  EXPECT_EQ(z.grad().dtype(), kFloat64);
  expect_values(z.grad(), {2, 4});
}

TEST(Backward, CreateGraphGradientsAreNotAliased) {
  // With create_graph the first gradient must still be a tensor of the leaf's own (PyTorch clones it):
  // not the caller's gradient, not another leaf's .grad, not a stride-0 broadcast.
  for (bool create_graph : {false, true}) {
    SCOPED_TRACE(create_graph ? "create_graph" : "plain backward");
    Tensor x = leaf({1, 2, 3});
    Tensor b = leaf({4, 5, 6});
    (x + b).sum().backward(Tensor(), false, create_graph);
    EXPECT_NE(x.grad().data_ptr(), b.grad().data_ptr());
    EXPECT_TRUE(x.grad().is_contiguous());
    EXPECT_TRUE(b.grad().is_contiguous());
    {
      NoGradGuard ng;
      x.mutable_grad().zero_();  // what an optimizer's zero_grad does
    }
    expect_values(b.grad(), {1, 1, 1});
  }

  Tensor z = leaf({1, 2, 3});
  Tensor g = ones({3}, kFloat64);
  z.backward(g, false, /*create_graph=*/true);
  {
    NoGradGuard ng;
    z.mutable_grad().zero_();
  }
  expect_values(g, {1, 1, 1});
}

TEST(Backward, GradientsAccumulateUntilZeroed) {
  Tensor x = leaf({1, -2, 3});
  auto step = [&] { (x * x).sum().backward(); };
  step();
  expect_values(x.grad(), {2, -4, 6});
  step();
  expect_values(x.grad(), {4, -8, 12});
  x.mutable_grad().zero_();
  expect_values(x.grad(), {0, 0, 0});
  step();
  expect_values(x.grad(), {2, -4, 6});
  x.set_grad(Tensor());
  EXPECT_FALSE(x.grad().defined());
  step();
  expect_values(x.grad(), {2, -4, 6});
}

TEST(Backward, SetGradChecksShapeAndDtype) {
  Tensor x = leaf({1, 2, 3});
  EXPECT_CONTAINS(error_of([&] { x.set_grad(zeros({2}, kFloat64)); }), "shape");
  EXPECT_CONTAINS(error_of([&] { x.set_grad(zeros({3}, kFloat32)); }), "dtype");
  x.set_grad(full({3}, 5.0, kFloat64));
  (x * 1.0).sum().backward();
  expect_values(x.grad(), {6, 6, 6});
}

// ---- retain_graph ----------------------------------------------------------------------------------

TEST(RetainGraph, SecondBackwardThroughFreedSavedTensorsThrows) {
  Tensor x = leaf({1, 2});
  Tensor y = (x * x).sum();
  y.backward();
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_CONTAINS(msg, "retain_graph");
  EXPECT_CONTAINS(msg, "mul");
  expect_values(x.grad(), {2, 4});  // the failed pass added nothing

  Tensor e = x.exp().sum();
  e.backward();
  msg = error_of([&] { e.backward(); });
  EXPECT_CONTAINS(msg, "retain_graph");
  EXPECT_CONTAINS(msg, "exp");
}

TEST(RetainGraph, RetainedGraphCanBeRunTwice) {
  Tensor x = leaf({1, 2});
  Tensor y = (x * x).exp().sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  std::vector<double> once = values(x.grad());
  const double e1 = std::exp(1.0), e4 = std::exp(4.0);
  expect_values(x.grad(), {2 * e1, 4 * e4}, 1e-12);
  y.backward();  // frees the graph this time
  EXPECT_NEAR(values(x.grad())[0], 2 * once[0], 1e-12);
  EXPECT_NEAR(values(x.grad())[1], 2 * once[1], 1e-12);
  EXPECT_CONTAINS(error_of([&] { y.backward(); }), "retain_graph");
}

TEST(RetainGraph, GraphWithoutSavedTensorsCanBeRerun) {
  // add and sum save no tensors, so (as in PyTorch) nothing stops a second pass.
  Tensor x = leaf({1, 2});
  Tensor y = (x + 1).sum();
  y.backward();
  y.backward();
  expect_values(x.grad(), {2, 2});
}

TEST(RetainGraph, FailedBackwardRestoresGradMode) {
  Tensor x = leaf({1, 2});
  Tensor y = (x * x).sum();
  y.backward();
  EXPECT_THROW(y.backward(), Error);
  EXPECT_TRUE(autograd::GradMode::is_enabled());
  {
    NoGradGuard ng;
    EXPECT_THROW(y.backward(Tensor(), false, /*create_graph=*/true), Error);
    EXPECT_FALSE(autograd::GradMode::is_enabled());
  }
  EXPECT_TRUE(autograd::GradMode::is_enabled());
}

// ---- graph shapes: diamonds, broadcasting, dtypes, multi-output nodes ------------------------------

TEST(EngineGraph, DiamondAccumulatesAndRunsEachNodeOnce) {
  Tensor x = leaf({0.3, -1.2});
  Tensor h = x * 1.5;
  int h_calls = 0, x_calls = 0;
  h.register_hook([&](const Tensor&) { ++h_calls; return Tensor(); });
  x.register_hook([&](const Tensor&) { ++x_calls; return Tensor(); });
  (h.sin() + h.cos() + h).sum().backward();
  EXPECT_EQ(h_calls, 1);  // the three branches are summed before h's node runs
  EXPECT_EQ(x_calls, 1);
  std::vector<double> xv = {0.3, -1.2}, expected;
  for (double v : xv) expected.push_back(1.5 * (std::cos(1.5 * v) - std::sin(1.5 * v) + 1));
  expect_values(x.grad(), expected, 1e-12);
}

TEST(EngineGraph, LeafUsedByTwoBranches) {
  Tensor x = leaf({0.5, 2.0});
  (x.sin() * x.exp()).sum().backward();
  expect_values(x.grad(), {std::exp(0.5) * (std::cos(0.5) + std::sin(0.5)),
                           std::exp(2.0) * (std::cos(2.0) + std::sin(2.0))}, 1e-12);
}

TEST(EngineGraph, BroadcastGradientsSumToInputShape) {
  Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat64).requires_grad_();
  Tensor b = leaf({10, 20, 30});
  (a + b).sum().backward();
  EXPECT_EQ(b.grad().sizes().vec(), std::vector<int64_t>({3}));
  expect_values(b.grad(), {2, 2, 2});
  expect_values(a.grad(), {1, 1, 1, 1, 1, 1});

  Tensor c = tensor({{1.0}, {2.0}}, kFloat64).requires_grad_();  // [2, 1]
  Tensor s = scalar_tensor(3.0, kFloat64).requires_grad_();       // 0-d
  (a.detach() * c * s).sum().backward();
  EXPECT_EQ(c.grad().sizes().vec(), std::vector<int64_t>({2, 1}));
  expect_values(c.grad(), {3 * 6, 3 * 15});  // s * row sums of a
  EXPECT_EQ(s.grad().dim(), 0);
  expect_values(s.grad(), {1 * 6 + 2 * 15});
}

TEST(EngineGraph, GradientDtypeFollowsTheLeaf) {
  Tensor x = tensor(std::vector<float>{1.5f, -2.0f}).requires_grad_();
  ASSERT_EQ(x.dtype(), kFloat32);
  Tensor y = x.to(kFloat64);
  EXPECT_STREQ(y.grad_fn()->name(), "to");
  (y * y).sum().backward();
  EXPECT_EQ(x.grad().dtype(), kFloat32);
  expect_values(x.grad(), {3, -4});

  Tensor a = tensor(std::vector<float>{2.0f}).requires_grad_();
  Tensor b = leaf({3.0});
  Tensor p = (a * b).sum();
  EXPECT_EQ(p.dtype(), kFloat64);
  p.backward();
  EXPECT_EQ(a.grad().dtype(), kFloat32);
  EXPECT_EQ(b.grad().dtype(), kFloat64);
  expect_values(a.grad(), {3});
  expect_values(b.grad(), {2});
  TensorList g = autograd::grad({(x.to(kFloat64) * 2).sum()}, {x});
  EXPECT_EQ(g[0].dtype(), kFloat32);
}

TEST(EngineGraph, UnusedOutputOfMultiOutputOpGetsZeros) {
  Tensor x = leaf({1, 2, 3, 6});
  auto [v, m] = var_mean(x);
  m.backward();  // var gets no gradient
  expect_values(x.grad(), {0.25, 0.25, 0.25, 0.25});
  x.set_grad(Tensor());
  auto [v2, m2] = var_mean(x);
  v2.backward();  // d var / dx = 2 (x - mean) / (n - 1), mean 3
  expect_values(x.grad(), {-4.0 / 3, -2.0 / 3, 0, 2.0});
}

TEST(EngineGraph, GradientsOnlyReachTheChunkThatWasUsed) {
  Tensor x = leaf({1, 2, 3, 4});
  TensorList parts = x.chunk(2);
  (parts[1] * parts[1]).sum().backward();
  expect_values(x.grad(), {0, 0, 6, 8});
}

// Note [One node for split]: the pieces share one node, whose backward concatenates.
TEST(EngineGraph, SplitAndUnbindPiecesShareOneNode) {
  Tensor x = leaf({1, 2, 3, 4, 5, 6});
  TensorList parts = x.split(std::vector<int64_t>{1, 2, 3});
  ASSERT_NE(parts[0].grad_fn(), nullptr);
  EXPECT_EQ(parts[0].grad_fn(), parts[2].grad_fn());
  EXPECT_STREQ(parts[0].grad_fn()->name(), "split");
  EXPECT_TRUE(parts[1].is_view());
  // The middle piece unused: its gradient is zeros of its shape.
  (parts[0] * 10 + parts[2].sum()).sum().backward();
  expect_values(x.grad(), {10, 0, 0, 1, 1, 1});

  Tensor y = leaf({1, 2, 3, 4, 5, 6});
  TensorList rows = y.view({3, 2}).unbind(0);
  EXPECT_EQ(rows[0].grad_fn(), rows[2].grad_fn());
  EXPECT_STREQ(rows[0].grad_fn()->name(), "unbind");
  (rows[2] * rows[2]).sum().backward();  // d/dy of the last row squared: 2 y there, 0 elsewhere
  expect_values(y.grad(), {0, 0, 0, 0, 10, 12});
}

TEST(EngineGraph, UnbindBackwardOfALongDimIsOnePass) {
  // 2000 pieces, each used: the old per-piece backward did 2000 full-size scatters and adds.
  Tensor x = leaf(std::vector<double>(2000, 1.0));
  TensorList p = x.unbind(0);
  Tensor s = p[0] * 0;
  for (size_t i = 0; i < p.size(); ++i) s = s + p[i] * static_cast<double>(i);
  s.backward();
  std::vector<double> want(2000);
  for (size_t i = 0; i < want.size(); ++i) want[i] = static_cast<double>(i);
  expect_values(x.grad(), want);
}

TEST(EngineGraph, WritingIntoTheBaseAfterASplitIsCaughtAtBackward) {
  Tensor x = leaf({1, 2, 3, 4});
  Tensor y = x * 1;
  TensorList parts = y.chunk(2);
  Tensor loss = parts[0].sum();
  {
    NoGradGuard ng;
    y.add_(1);
  }
  EXPECT_CONTAINS(error_of([&] { loss.backward(); }), "modified by an in-place operation");
  EXPECT_CONTAINS(error_of([&] { parts[1].mul_(2); }), "view");
}

TEST(EngineThreads, IndependentGraphsOnSeveralThreads) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&wrong, t] {
      for (int i = 0; i < 100; ++i) {
        Tensor x = full({16}, static_cast<double>(t + 1), kFloat64).requires_grad_();
        (x * x * x).sum().backward();  // 3 x^2
        for (double g : values(x.grad()))
          if (std::fabs(g - 3.0 * (t + 1) * (t + 1)) > 1e-12) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace hpml
