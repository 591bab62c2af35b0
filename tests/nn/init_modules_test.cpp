// Every module starts from PyTorch's default initialization (its reset_parameters): Linear and
// Conv1d/2d weights and biases uniform in +-1/sqrt(fan_in) (groups included), normalization layers
// as the identity with fresh running statistics, Embedding N(0, 1) with a zero padding row.
// Tolerances: see init_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "nn/init_test_util.h"

namespace hpml {
namespace {

using namespace inittest;  // NOLINT: the shared helpers and constants
using init::FanMode;

// ---- modules start from PyTorch's reset_parameters --------------------------------------------------

// Linear: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a = sqrt(5)).
TEST(InitModules, LinearUniformOneOverSqrtIn) {
  manual_seed(501);
  for (auto [in, out] : {std::pair<int64_t, int64_t>{200, 5000}, {1000, 400}}) {
    nn::Linear fc(in, out);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    const std::string what = "Linear(" + std::to_string(in) + ", " + std::to_string(out) + ")";
    EXPECT_EQ(fc.weight.sizes(), IntArrayRef({out, in}));
    EXPECT_EQ(fc.bias.sizes(), IntArrayRef({out}));
    expect_uniform_param(fc.weight, bound, what + ".weight");
    expect_uniform_param(fc.bias, bound, what + ".bias");
  }
  nn::Linear nobias(300, 700, false);
  EXPECT_FALSE(nobias.bias.defined());
  expect_uniform_param(nobias.weight, 1 / std::sqrt(300.0), "Linear(bias=false).weight");
}

TEST(InitModules, LinearResetParametersRedrawsInPlace) {
  manual_seed(502);
  nn::Linear fc(300, 1000);
  Tensor w = fc.weight;
  const std::vector<double> before = vals(w);
  const uint32_t v0 = w.version();
  fc.reset_parameters();
  EXPECT_TRUE(fc.weight.is_same(w));
  EXPECT_GT(w.version(), v0);
  EXPECT_NE(vals(w), before);
  expect_uniform_param(w, 1 / std::sqrt(300.0), "Linear.weight after reset_parameters");
}

// Conv: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in / groups * prod(kernel).
TEST(InitModules, ConvUniformOverGroupedFanIn) {
  manual_seed(503);
  nn::Conv2d c2(64, 1024, {3, 5}, {.groups = 2});
  EXPECT_EQ(c2.weight.sizes(), IntArrayRef({1024, 32, 3, 5}));
  expect_uniform_param(c2.weight, 1 / std::sqrt(32.0 * 15), "Conv2d.weight");
  expect_uniform_param(c2.bias, 1 / std::sqrt(32.0 * 15), "Conv2d.bias");

  nn::Conv1d c1(32, 2048, 7, {.groups = 4});
  EXPECT_EQ(c1.weight.sizes(), IntArrayRef({2048, 8, 7}));
  expect_uniform_param(c1.weight, 1 / std::sqrt(8.0 * 7), "Conv1d.weight");
  expect_uniform_param(c1.bias, 1 / std::sqrt(8.0 * 7), "Conv1d.bias");

  nn::Conv2d nobias(16, 256, 3, {.bias = false});
  EXPECT_FALSE(nobias.bias.defined());
  expect_uniform_param(nobias.weight, 1 / std::sqrt(144.0), "Conv2d(bias=false).weight");
}

void expect_all(const Tensor& t, double v, const std::string& what) {
  ASSERT_TRUE(t.defined()) << what;
  EXPECT_EQ(vals(t), std::vector<double>(static_cast<size_t>(t.numel()), v)) << what;
}
// An affine norm layer's weight 1 and bias 0, fresh parameters.
void expect_identity_affine(const Tensor& weight, const Tensor& bias, const std::string& what) {
  expect_all(weight, 1, what + ".weight");
  expect_all(bias, 0, what + ".bias");
  expect_fresh_param(weight, what + ".weight");
  expect_fresh_param(bias, what + ".bias");
}

void expect_fresh_batchnorm(const nn::BatchNormBase& bn, const std::string& what) {
  expect_identity_affine(bn.weight, bn.bias, what);
  expect_all(bn.running_mean, 0, what + ".running_mean");
  expect_all(bn.running_var, 1, what + ".running_var");
  expect_all(bn.num_batches_tracked, 0, what + ".num_batches_tracked");
  EXPECT_EQ(bn.num_batches_tracked.dtype(), kInt64) << what;
  EXPECT_EQ(bn.num_batches_tracked.dim(), 0) << what;
  EXPECT_FALSE(bn.running_mean.requires_grad()) << what;
  EXPECT_FALSE(bn.running_var.requires_grad()) << what;
}

TEST(InitModules, NormalizationLayersStartAsTheIdentity) {
  nn::BatchNorm1d bn1(7);
  expect_fresh_batchnorm(bn1, "BatchNorm1d");
  nn::BatchNorm2d bn2(5);
  expect_fresh_batchnorm(bn2, "BatchNorm2d");
  // After training steps, reset_running_stats restores mean 0, var 1, count 0.
  Generator gen(504);
  Tensor x = normal(3.0, 2.0, {16, 7}, &gen);
  bn1.train();
  bn1(x);
  bn1(x);
  EXPECT_NE(vals(bn1.running_mean), std::vector<double>(7, 0.0));
  bn1.reset_running_stats();
  expect_fresh_batchnorm(bn1, "BatchNorm1d after reset_running_stats");

  nn::BatchNorm2d plain(5, {.affine = false, .track_running_stats = false});
  EXPECT_FALSE(plain.weight.defined());
  EXPECT_FALSE(plain.running_mean.defined());

  nn::LayerNorm ln({3, 4});
  EXPECT_EQ(ln.weight.sizes(), IntArrayRef({3, 4}));
  expect_identity_affine(ln.weight, ln.bias, "LayerNorm");

  nn::GroupNorm gn(2, 6);
  EXPECT_EQ(gn.weight.sizes(), IntArrayRef({6}));
  expect_identity_affine(gn.weight, gn.bias, "GroupNorm");
}

// Embedding: N(0, 1), the padding_idx row (negative counts from the end) zero, no other row zero.
TEST(InitModules, EmbeddingStandardNormalWithZeroPaddingRow) {
  manual_seed(505);
  struct Case {
    int64_t num, dim;
    std::optional<int64_t> pad;
    int64_t zero_row;
  };
  for (const Case& c : {Case{2000, 500, 3, 3}, Case{10, 4, -2, 8}, Case{10, 4, std::nullopt, -1}}) {
    nn::Embedding e(c.num, c.dim, c.pad);
    const std::string what = "Embedding(" + std::to_string(c.num) + ", " + std::to_string(c.dim) + ")";
    EXPECT_EQ(e.weight.sizes(), IntArrayRef({c.num, c.dim}));
    expect_fresh_param(e.weight, what + ".weight");
    const std::vector<double> w = vals(e.weight);
    std::vector<double> rest;
    for (int64_t r = 0; r < c.num; ++r) {
      bool all_zero = true;
      for (int64_t j = 0; j < c.dim; ++j) all_zero = all_zero && w[r * c.dim + j] == 0.0;
      EXPECT_EQ(all_zero, r == c.zero_row) << what << " row " << r;
      if (r != c.zero_row) rest.insert(rest.end(), w.begin() + r * c.dim, w.begin() + (r + 1) * c.dim);
    }
    if (rest.size() > 100000) expect_normal(rest, 0.0, 1.0, what + ".weight");
  }
}

}  // namespace
}  // namespace hpml
