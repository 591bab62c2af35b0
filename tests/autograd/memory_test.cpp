// Autograd memory: saved tensors freed by backward, no graph cycles, allocator back to baseline, very long chains.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::expect_values;
using testing::leaf;

size_t allocated() { return cpu_allocator_stats().allocated_bytes; }

TEST(AutogradMemory, SavedInputIsReleasedByBackward) {
  Tensor x = leaf({1, 2, 3});
  Tensor w = leaf({4, 5, 6}, false);
  const uint32_t alone = w.use_count();
  Tensor y = (x * w).sum();
  EXPECT_GT(w.use_count(), alone);  // mul saved w
  y.backward();
  EXPECT_EQ(w.use_count(), alone);  // freed by the pass, though y (and its graph) are still alive
  expect_values(x.grad(), {4, 5, 6});
}

TEST(AutogradMemory, RetainGraphKeepsSavedTensorsUntilTheGraphDies) {
  Tensor x = leaf({1, 2, 3});
  Tensor w = leaf({4, 5, 6}, false);
  const uint32_t alone = w.use_count();
  Tensor y = (x * w).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_GT(w.use_count(), alone);
  y = Tensor();
  EXPECT_EQ(w.use_count(), alone);
}

TEST(AutogradMemory, OutputAndGradFnFormNoCycle) {
  Tensor x = leaf({1, 2});
  Tensor y = x.exp();  // exp saves its own output
  std::weak_ptr<autograd::Node> node = y.grad_fn();
  y.retain_grad();
  y.register_hook([](const Tensor& g) { return g; });
  ASSERT_FALSE(node.expired());
  y = Tensor();
  EXPECT_TRUE(node.expired()) << "the exp node outlived its only output";
}

TEST(AutogradMemory, GraphKeepsIntermediatesAliveOnlyWhileNeeded) {
  const int64_t n = 1 << 16;  // 512 KiB of f64 per tensor
  const size_t bytes = static_cast<size_t>(n) * sizeof(double);
  Tensor x = full({n}, 0.5, kFloat64).requires_grad_();
  const size_t baseline = allocated();
  {
    Tensor loss = x.exp().sin().sum();  // exp's output is saved (by exp and by sin)
    EXPECT_GE(allocated(), baseline + bytes);
    loss.backward();
    x.set_grad(Tensor());
    EXPECT_LT(allocated(), baseline + bytes) << "saved intermediates outlived a backward without retain_graph";
  }
  EXPECT_EQ(allocated(), baseline);
  {
    Tensor loss = x.exp().sin().sum();
    loss.backward(Tensor(), /*retain_graph=*/true);
    x.set_grad(Tensor());
    EXPECT_GE(allocated(), baseline + bytes);  // retained for a second pass
  }
  EXPECT_EQ(allocated(), baseline) << "dropping a retained graph must free it";
  {
    Tensor loss = (x * x).exp().sum();  // never differentiated
  }
  EXPECT_EQ(allocated(), baseline);
}

TEST(AutogradMemory, AutogradGradFreesTheGraphToo) {
  const int64_t n = 1 << 16;
  const size_t bytes = static_cast<size_t>(n) * sizeof(double);
  Tensor x = full({n}, 0.25, kFloat64).requires_grad_();
  const size_t baseline = allocated();
  Tensor loss = x.exp().sin().sum();
  {
    TensorList g = autograd::grad({loss}, {x});
    EXPECT_GE(allocated(), baseline + bytes);  // g[0]
  }
  EXPECT_LT(allocated(), baseline + bytes);
  loss = Tensor();
  EXPECT_EQ(allocated(), baseline);
}

TEST(AutogradMemory, LeafIsNotKeptAliveByAnAbandonedGraph) {
  Tensor x = leaf({1, 2});
  const uint32_t alone = x.use_count();
  {
    Tensor y = (x * x).sum();
    EXPECT_GT(x.use_count(), alone);
  }
  EXPECT_EQ(x.use_count(), alone);
}

TEST(AutogradMemory, LongChainOfAddsBackward) {
  Tensor x = leaf({1.0, -1.0});
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y + x;  // 10001 x, and 10001 edges into x's accumulator
  y.sum().backward();
  expect_values(x.grad(), {10001, 10001});
  y = Tensor();  // tearing the 10000-node graph down must not overflow the stack either
  EXPECT_EQ(x.grad_fn(), nullptr);
}

TEST(AutogradMemory, LongSequentialChainWithSavedTensors) {
  Tensor x = leaf({0.5});
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = y * 1.0001;
  y.sum().backward();
  expect_values(x.grad(), {std::pow(1.0001, 10000)}, 1e-9);
  // And a second, longer one built from a mix of ops, differentiated with autograd::grad.
  Tensor z = x;
  for (int i = 0; i < 20000; ++i) z = (i % 2 == 0) ? z + 1.0 : z - 1.0;
  expect_values(autograd::grad({z.sum()}, {x})[0], {1.0});
}

TEST(AutogradMemory, TearingDownAVeryDeepGraphDoesNotOverflowTheStack) {
  // PyTorch deletes graph nodes iteratively (libtorch 1.13 frees a 500000-node chain). Run in a child process:
  // a recursive teardown crashes with a stack overflow.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Tensor x = leaf({1.0});
        Tensor y = x;
        for (int i = 0; i < 500000; ++i) y = y + 1.0;
        y = Tensor();
        std::fprintf(stderr, "teardown done\n");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "teardown done");
}

}  // namespace
}  // namespace hpml
