// docs/concepts.md §1 (BatchNorm identities) and §2 (activation modules: values and derivatives
// against closed forms).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using nntest::error_of;
using nntest::expect_near;
using nntest::vals;
using V = std::vector<double>;

constexpr double kEps = 1e-5;

// Per-channel statistics of x [N, C, *] computed here from the raw values.
struct Stats {
  V mean, biased_var, unbiased_var;
};
Stats channel_stats(const Tensor& x) {
  const V v = vals(x);
  const int64_t N = x.size(0), C = x.size(1), inner = x.numel() / (N * C);
  Stats s{V(C, 0), V(C, 0), V(C, 0)};
  const double m = static_cast<double>(N * inner);
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < inner; ++k) sum += v[static_cast<size_t>((n * C + c) * inner + k)];
    const double mean = sum / m;
    double sq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < inner; ++k) {
        const double d = v[static_cast<size_t>((n * C + c) * inner + k)] - mean;
        sq += d * d;
      }
    s.mean[c] = mean, s.biased_var[c] = sq / m, s.unbiased_var[c] = sq / (m - 1);
  }
  return s;
}

// (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c], elementwise.
V normalize(const Tensor& x, const V& mean, const V& var, const V& gamma, const V& beta) {
  const V v = vals(x);
  const int64_t N = x.size(0), C = x.size(1), inner = x.numel() / (N * C);
  V out(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < inner; ++k) {
        const size_t i = static_cast<size_t>((n * C + c) * inner + k);
        out[i] = (v[i] - mean[c]) / std::sqrt(var[c] + kEps) * gamma[c] + beta[c];
      }
  return out;
}

void set(Tensor t, const V& v) {
  NoGradGuard ng;
  t.copy_(tensor(v, kFloat64));
}

TEST(BatchNormConcepts, GammaAndBetaAreTheOnlyParameters) {
  nn::BatchNorm2d bn(3);
  auto ps = bn.named_parameters(), bs = bn.named_buffers();
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].first, "weight");
  EXPECT_EQ(ps[1].first, "bias");
  ASSERT_EQ(bs.size(), 3u);
  EXPECT_EQ(bs[0].first, "running_mean");
  EXPECT_EQ(bs[1].first, "running_var");
  EXPECT_FALSE(bn.running_mean.requires_grad());
  EXPECT_EQ(vals(bn.weight), V(3, 1.0));
  EXPECT_EQ(vals(bn.bias), V(3, 0.0));
}

TEST(BatchNormConcepts, TrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  manual_seed(11);
  nn::BatchNorm2d bn(2);
  bn.to(kFloat64);
  set(bn.weight, {1.5, -0.5});
  set(bn.bias, {0.25, 2.0});
  Tensor x1 = randn({4, 2, 3, 3}, kFloat64) * 2.0 + 1.0;
  Stats s1 = channel_stats(x1);
  expect_near(vals(bn(x1)), normalize(x1, s1.mean, s1.biased_var, {1.5, -0.5}, {0.25, 2.0}), 1e-12, 1e-12, "batch 1");
  // running = (1 - momentum) running + momentum batch, with the unbiased variance.
  V rm(2), rv(2);
  for (int c = 0; c < 2; ++c) rm[c] = 0.9 * 0.0 + 0.1 * s1.mean[c], rv[c] = 0.9 * 1.0 + 0.1 * s1.unbiased_var[c];
  expect_near(vals(bn.running_mean), rm, 1e-14, 1e-12, "running_mean after 1");
  expect_near(vals(bn.running_var), rv, 1e-14, 1e-12, "running_var after 1");
  EXPECT_EQ(vals(bn.num_batches_tracked), V{1});
  // A second batch with other statistics: normalized with its own, running ones move again.
  Tensor x2 = randn({6, 2, 2, 2}, kFloat64) * 0.5 - 3.0;
  Stats s2 = channel_stats(x2);
  expect_near(vals(bn(x2)), normalize(x2, s2.mean, s2.biased_var, {1.5, -0.5}, {0.25, 2.0}), 1e-12, 1e-12, "batch 2");
  for (int c = 0; c < 2; ++c) rm[c] = 0.9 * rm[c] + 0.1 * s2.mean[c], rv[c] = 0.9 * rv[c] + 0.1 * s2.unbiased_var[c];
  expect_near(vals(bn.running_mean), rm, 1e-14, 1e-12, "running_mean after 2");
  expect_near(vals(bn.running_var), rv, 1e-14, 1e-12, "running_var after 2");
  EXPECT_EQ(vals(bn.num_batches_tracked), V{2});
}

TEST(BatchNormConcepts, CumulativeAverageWithoutMomentum) {
  manual_seed(12);
  nn::BatchNorm1d bn(3, {.momentum = std::nullopt});
  bn.to(kFloat64);
  V sum_mean(3, 0), sum_var(3, 0);
  for (int b = 1; b <= 3; ++b) {
    Tensor x = randn({5, 3}, kFloat64) * static_cast<double>(b) + static_cast<double>(b);
    Stats s = channel_stats(x);
    bn(x);
    for (int c = 0; c < 3; ++c) sum_mean[c] += s.mean[c], sum_var[c] += s.unbiased_var[c];
  }
  // Running statistics are the plain averages over the batches seen (the initial 0 / 1 weigh nothing).
  V mean_avg(3), var_avg(3);
  for (int c = 0; c < 3; ++c) mean_avg[c] = sum_mean[c] / 3, var_avg[c] = sum_var[c] / 3;
  expect_near(vals(bn.running_mean), mean_avg, 1e-13, 1e-12, "running_mean");
  expect_near(vals(bn.running_var), var_avg, 1e-13, 1e-12, "running_var");
}

TEST(BatchNormConcepts, EvalUsesRunningStatisticsUnchanged) {
  manual_seed(13);
  nn::BatchNorm2d bn(2);
  bn.to(kFloat64);
  set(bn.weight, {2.0, 0.5});
  set(bn.bias, {-1.0, 0.3});
  bn(randn({8, 2, 4, 4}, kFloat64) * 3.0 + 5.0);  // statistics from "training data"
  const V rm = vals(bn.running_mean), rv = vals(bn.running_var), nbt = vals(bn.num_batches_tracked);
  bn.eval();
  // Two validation batches with very different statistics are normalized with the same running ones.
  Tensor a = randn({3, 2, 2, 2}, kFloat64), b = randn({1, 2, 5, 1}, kFloat64) * 10.0 - 4.0;
  expect_near(vals(bn(a)), normalize(a, rm, rv, {2.0, 0.5}, {-1.0, 0.3}), 1e-12, 1e-12, "eval batch a");
  expect_near(vals(bn(b)), normalize(b, rm, rv, {2.0, 0.5}, {-1.0, 0.3}), 1e-12, 1e-12, "eval batch b");
  EXPECT_EQ(vals(bn.running_mean), rm);
  EXPECT_EQ(vals(bn.running_var), rv);
  EXPECT_EQ(vals(bn.num_batches_tracked), nbt);
  // One sample in eval mode is fine: nothing is estimated from the batch.
  Tensor one = randn({1, 2, 1, 1}, kFloat64);
  expect_near(vals(bn(one)), normalize(one, rm, rv, {2.0, 0.5}, {-1.0, 0.3}), 1e-12, 1e-12, "eval single");
}

TEST(BatchNormConcepts, OneValuePerChannelInTrainingIsAnError) {
  nn::BatchNorm1d bn1(4);
  const std::string e1 = error_of([&] { bn1(randn({1, 4})); });
  EXPECT_CONTAINS(e1, "[1, 4]");
  EXPECT_CONTAINS(e1, "BatchNorm1d");
  nn::BatchNorm2d bn2(3);
  const std::string e2 = error_of([&] { bn2(randn({1, 3, 1, 1})); });
  EXPECT_CONTAINS(e2, "[1, 3, 1, 1]");
  // No update happened from the failed batch.
  EXPECT_EQ(vals(bn2.running_mean), V(3, 0.0));
  EXPECT_EQ(vals(bn2.running_var), V(3, 1.0));
  // Two values per channel are enough: [1, 3, 1, 2] or [2, 4].
  EXPECT_EQ(error_of([&] { bn2(randn({1, 3, 1, 2})); }), "<no error>");
  EXPECT_EQ(error_of([&] { bn1(randn({2, 4})); }), "<no error>");
}

TEST(BatchNormConcepts, GammaSqrtVarBetaMeanGivesBackTheInput) {
  manual_seed(14);
  for (bool image : {false, true}) {
    SCOPED_TRACE(image ? "BatchNorm2d" : "BatchNorm1d");
    std::unique_ptr<nn::BatchNormBase> bn;
    if (image) bn = std::make_unique<nn::BatchNorm2d>(3);
    else bn = std::make_unique<nn::BatchNorm1d>(3);
    bn->to(kFloat64);
    Tensor x = image ? randn({4, 3, 2, 3}, kFloat64) * 4.0 + 2.0 : randn({16, 3}, kFloat64) * 0.3 - 7.0;
    Stats s = channel_stats(x);
    V gamma(3);
    for (int c = 0; c < 3; ++c) gamma[c] = std::sqrt(s.biased_var[c] + kEps);
    set(bn->weight, gamma);
    set(bn->bias, s.mean);
    expect_near(vals((*bn)(x)), vals(x), 1e-12, 1e-12, "y == x");
  }
}

// ---- activations (docs/concepts.md §2) -----------------------------------------------------------

// z = k / 8 for odd k in [-25, 25]: never exactly at a kink (0, +-1, 0.5, -2).
V grid() {
  V z;
  for (int k = -25; k <= 25; k += 2) z.push_back(k / 8.0);
  return z;
}

// Runs the module forward and backward (sum of outputs) on the grid in f64 and compares value and
// derivative with the closed forms.
void check_activation(nn::Module& m, const std::function<double(double)>& f, const std::function<double(double)>& df,
                      const V& z = grid(), double tol = 1e-14) {
  Tensor x = tensor(z, kFloat64).requires_grad_(true);
  Tensor y = m(x);
  ASSERT_EQ(y.sizes(), x.sizes());
  y.sum().backward();
  ASSERT_TRUE(x.grad().defined()) << m.type_name() << " passed no gradient";
  const V yv = vals(y), gv = vals(x.grad());
  for (size_t i = 0; i < z.size(); ++i) {
    EXPECT_NEAR(yv[i], f(z[i]), tol * std::max(1.0, std::fabs(f(z[i])))) << m.type_name() << " value at z = " << z[i];
    EXPECT_NEAR(gv[i], df(z[i]), tol) << m.type_name() << " derivative at z = " << z[i];
  }
}

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }

TEST(ActivationModules, SigmoidDerivativeIsSTimesOneMinusS) {
  nn::Sigmoid m;
  check_activation(m, sig, [](double z) { return sig(z) * (1 - sig(z)); });
  check_activation(m, sig, [](double) { return 0.25; }, V{0.0});  // the peak
}

TEST(ActivationModules, TanhDerivativeIsOneMinusTanhSquared) {
  nn::Tanh m;
  auto th = [](double z) { return std::tanh(z); };
  check_activation(m, th, [](double z) { return 1 - std::tanh(z) * std::tanh(z); });
  check_activation(m, th, [](double) { return 1.0; }, V{0.0});  // the peak
}

TEST(ActivationModules, ReluDerivativeIsZeroBelowAndOneAbove) {
  nn::ReLU m;
  check_activation(m, [](double z) { return z > 0 ? z : 0.0; }, [](double z) { return z > 0 ? 1.0 : 0.0; });
}

TEST(ActivationModules, LeakyReluDerivativeIsNegativeSlopeBelow) {
  for (double slope : {0.01, 0.2}) {
    nn::LeakyReLU m(slope);
    check_activation(m, [&](double z) { return z > 0 ? z : slope * z; },
                     [&](double z) { return z > 0 ? 1.0 : slope; });
  }
}

TEST(ActivationModules, HardtanhDerivativeIsOneInsideZeroOutside) {
  nn::Hardtanh standard;
  check_activation(standard, [](double z) { return std::min(1.0, std::max(-1.0, z)); },
                   [](double z) { return z > -1 && z < 1 ? 1.0 : 0.0; });
  nn::Hardtanh custom(-2.0, 0.5);
  check_activation(custom, [](double z) { return std::min(0.5, std::max(-2.0, z)); },
                   [](double z) { return z > -2 && z < 0.5 ? 1.0 : 0.0; });
}

TEST(ActivationModules, IdentityDerivativeIsOne) {
  nn::Identity m;
  check_activation(m, [](double z) { return z; }, [](double) { return 1.0; });
}

TEST(ActivationModules, SoftplusAndGeluClosedForms) {
  nn::Softplus sp(2.0, 20.0);
  check_activation(sp, [](double z) { return std::log1p(std::exp(2 * z)) / 2; }, [](double z) { return sig(2 * z); },
                   grid(), 1e-13);
  nn::GELU gelu;
  const double inv_sqrt2 = 1 / std::sqrt(2.0), inv_sqrt2pi = 1 / std::sqrt(2 * std::numbers::pi);
  check_activation(
      gelu, [&](double z) { return z * 0.5 * (1 + std::erf(z * inv_sqrt2)); },
      [&](double z) { return 0.5 * (1 + std::erf(z * inv_sqrt2)) + z * inv_sqrt2pi * std::exp(-z * z / 2); }, grid(),
      1e-13);
}

}  // namespace
}  // namespace hpml
