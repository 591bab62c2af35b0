// docs/concepts.md §6: n accumulated micro-batches (loss / n each) give the same parameters as one batch n
// times larger, for SGD with momentum and for Adam (f32); the linear scaling rule.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "nn/nn_test_util.h"
#include "optim/optim_test_util.h"

namespace hpml {
namespace {

struct Net : nn::Module {
  nn::Linear fc1{10, 16}, fc2{16, 3};
  Net() : Module("Net") {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) override { return fc2(tanh(fc1(x))); }
};

using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)>;

void compare(const MakeOpt& make, const char* what) {
  Generator g(5);
  const int64_t n = 4, micro = 8, updates = 5;
  Tensor x = randn({updates * n * micro, 10}, &g), y = randint(0, 3, {updates * n * micro}, &g);
  manual_seed(1);
  Net big, small;
  small.load_state_dict(big.state_dict());
  auto opt_big = make(big.parameters()), opt_small = make(small.parameters());
  optim::GradientAccumulation acc(*opt_small, n);
  for (int64_t u = 0; u < updates; ++u) {
    Tensor xb = x.narrow(0, u * n * micro, n * micro), yb = y.narrow(0, u * n * micro, n * micro);
    opt_big->zero_grad();
    nn::functional::cross_entropy(big(xb), yb).backward();
    opt_big->step();
    for (int64_t k = 0; k < n; ++k) {
      const bool stepped = acc.backward(nn::functional::cross_entropy(small(xb.narrow(0, k * micro, micro)),
                                                                      yb.narrow(0, k * micro, micro)));
      EXPECT_EQ(stepped, k == n - 1);
    }
  }
  const auto a = big.state_dict(), b = small.state_dict();
  for (size_t i = 0; i < a.size(); ++i) {
    // f32: the micro-batch sums are added in another order than the big batch's.
    EXPECT_LT((a[i].second - b[i].second).abs().max().item<double>(), 1e-5) << what << ": " << a[i].first;
  }
  // The parameters moved: the comparison is not between two untouched copies.
  manual_seed(1);
  Net start;
  EXPECT_GT((big.fc1.weight - start.fc1.weight).abs().max().item<double>(), 1e-3) << what;
}

TEST(GradientAccumulation, FourMicroBatchesEqualOneBatchFourTimesLarger) {
  compare([](const TensorList& ps) { return std::make_unique<optim::SGD>(ps, optim::SGDOptions{.lr = 0.1, .momentum = 0.9}); },
          "SGD momentum");
  compare([](const TensorList& ps) { return std::make_unique<optim::Adam>(ps, optim::AdamOptions{.lr = 0.01}); }, "Adam");
}

TEST(GradientAccumulation, ChecksItsArguments) {
  Tensor p = optimtest::initial_param(2, 0);
  optim::SGD opt({p}, {.lr = 0.1});
  EXPECT_CONTAINS(nntest::error_of([&] { optim::GradientAccumulation a(opt, 0); }), "at least 1, got 0");
  optim::GradientAccumulation a(opt, 2);
  EXPECT_CONTAINS(nntest::error_of([&] { a.backward(p * 2); }), "expected a scalar loss, got shape [2]");
}

TEST(LinearScaling, LrProportionalToBatchSize) {
  EXPECT_DOUBLE_EQ(optim::linear_scaled_lr(0.1, 1024), 0.4);
  EXPECT_DOUBLE_EQ(optim::linear_scaled_lr(0.1, 64, 32), 0.2);
  EXPECT_CONTAINS(nntest::error_of([] { optim::linear_scaled_lr(0.1, 0); }), "batch sizes must be positive");
}

}  // namespace
}  // namespace hpml
