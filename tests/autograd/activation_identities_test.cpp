// Activation identities from the curriculum (sigmoid, tanh, relu, leaky_relu) and their gradients via autograd.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::expect_values;
using testing::leaf;
using testing::values;

double ref_sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// z = i / 10 for i in [-50, 50]: exact 0 in the middle (index 50).
std::vector<double> grid() {
  std::vector<double> z;
  for (int i = -50; i <= 50; ++i) z.push_back(i / 10.0);
  return z;
}

// d sum(f(z)) / dz at every grid point, through backward (fused kernels) or autograd::grad with create_graph
// (the composite formula used for higher-order gradients).
std::vector<double> derivative(Tensor (*f)(const Tensor&), const std::vector<double>& z, bool create_graph) {
  Tensor x = leaf(z);
  if (!create_graph) {
    f(x).sum().backward();
    return values(x.grad());
  }
  autograd::GradOptions o;
  o.create_graph = true;
  return values(autograd::grad({f(x).sum()}, {x}, o)[0]);
}

Tensor sigmoid_of(const Tensor& x) { return x.sigmoid(); }
Tensor tanh_of(const Tensor& x) { return x.tanh(); }

TEST(ActivationIdentities, SigmoidOfMinusZIsOneMinusSigmoid) {
  Tensor z = leaf(grid(), false);
  std::vector<double> lhs = values((-z).sigmoid());
  std::vector<double> s = values(z.sigmoid());
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_NEAR(lhs[i], 1 - s[i], 1e-15);
    EXPECT_NEAR(s[i], ref_sigmoid(grid()[i]), 1e-15);
  }
}

TEST(ActivationIdentities, TanhIsOdd) {
  Tensor z = leaf(grid(), false);
  std::vector<double> lhs = values((-z).tanh()), t = values(z.tanh());
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_NEAR(lhs[i], -t[i], 1e-15);
    EXPECT_NEAR(t[i], std::tanh(grid()[i]), 1e-15);
  }
}

TEST(ActivationIdentities, TanhIsARescaledSigmoid) {
  Tensor z = leaf(grid(), false);
  std::vector<double> t = values(z.tanh()), s2 = values((z * 2).sigmoid());
  for (size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], 2 * s2[i] - 1, 1e-14);
  // The same in f32.
  Tensor z32 = z.to(kFloat32);
  std::vector<double> t32 = values(z32.tanh()), s32 = values((z32 * 2).sigmoid());
  for (size_t i = 0; i < t32.size(); ++i) EXPECT_NEAR(t32[i], 2 * s32[i] - 1, 1e-6);
}

TEST(ActivationIdentities, SigmoidDerivativeIsSigmoidTimesOneMinusSigmoid) {
  for (bool create_graph : {false, true}) {
    SCOPED_TRACE(create_graph ? "composite backward" : "fused backward");
    std::vector<double> d = derivative(sigmoid_of, grid(), create_graph);
    for (size_t i = 0; i < d.size(); ++i) {
      const double s = ref_sigmoid(grid()[i]);
      EXPECT_NEAR(d[i], s * (1 - s), 1e-15) << "z = " << grid()[i];
    }
  }
}

TEST(ActivationIdentities, TanhDerivativeIsOneMinusTanhSquared) {
  for (bool create_graph : {false, true}) {
    SCOPED_TRACE(create_graph ? "composite backward" : "fused backward");
    std::vector<double> d = derivative(tanh_of, grid(), create_graph);
    for (size_t i = 0; i < d.size(); ++i) {
      const double t = std::tanh(grid()[i]);
      EXPECT_NEAR(d[i], 1 - t * t, 1e-15) << "z = " << grid()[i];
    }
  }
}

TEST(ActivationIdentities, DerivativesPeakAtZero) {
  const std::vector<double> z = grid();
  for (auto [f, peak] : {std::pair{&sigmoid_of, 0.25}, std::pair{&tanh_of, 1.0}}) {
    std::vector<double> d = derivative(f, z, false);
    size_t argmax = 0;
    for (size_t i = 1; i < d.size(); ++i)
      if (d[i] > d[argmax]) argmax = i;
    EXPECT_EQ(z[argmax], 0.0);
    EXPECT_DOUBLE_EQ(d[argmax], peak);
    // Symmetric about 0 and decreasing away from it.
    for (size_t k = 1; k <= 50; ++k) {
      EXPECT_NEAR(d[50 + k], d[50 - k], 1e-15);
      EXPECT_LT(d[50 + k], d[50 + k - 1]);
    }
  }
}

TEST(ActivationIdentities, SaturatedSigmoidAndTanhStayFinite) {
  Tensor x = leaf({-800.0, -40.0, 40.0, 800.0});
  Tensor s = x.sigmoid();
  Tensor t = x.tanh();
  expect_values(s, {0, ref_sigmoid(-40.0), 1, 1}, 1e-15);
  expect_values(t, {-1, -1, 1, 1});
  (s + t).sum().backward();
  for (double g : values(x.grad())) {
    EXPECT_TRUE(std::isfinite(g));
    EXPECT_NEAR(g, 0.0, 1e-16);
  }
  Tensor x32 = tensor(std::vector<float>{-100.0f, 100.0f}).requires_grad_();
  (x32.sigmoid() + x32.tanh()).sum().backward();
  for (double g : values(x32.grad())) EXPECT_EQ(g, 0.0);
}

TEST(ActivationIdentities, ReluGradientIsAStep) {
  Tensor x = leaf({-3.0, -0.5, 0.0, 0.5, 2.0});
  Tensor y = x.relu();
  expect_values(y, {0, 0, 0, 0.5, 2.0});
  y.sum().backward();
  expect_values(x.grad(), {0, 0, 0, 1, 1});  // 0 at exactly 0, as in PyTorch
  Tensor x2 = leaf({-3.0, -0.5, 0.0, 0.5, 2.0});
  autograd::GradOptions o;
  o.create_graph = true;
  expect_values(autograd::grad({x2.relu().sum()}, {x2}, o)[0], {0, 0, 0, 1, 1});
}

TEST(ActivationIdentities, LeakyReluGradientIsTheSlopeForNegatives) {
  for (double slope : {0.01, 0.2}) {
    Tensor x = leaf({-3.0, -0.5, 0.0, 0.5, 2.0});
    Tensor y = leaky_relu(x, slope);
    expect_values(y, {-3.0 * slope, -0.5 * slope, 0, 0.5, 2.0});
    y.sum().backward();
    expect_values(x.grad(), {slope, slope, slope, 1, 1});  // PyTorch: the slope at exactly 0
    Tensor x2 = leaf({-3.0, -0.5, 0.5});
    autograd::GradOptions o;
    o.create_graph = true;
    expect_values(autograd::grad({leaky_relu(x2, slope).sum()}, {x2}, o)[0], {slope, slope, 1});
  }
}

TEST(ActivationIdentities, ReluOfDifferenceIsMax) {
  // relu(a - b) + b = max(a, b), with the gradient going to whichever is larger.
  Tensor a = leaf({1.0, 5.0, -2.0});
  Tensor b = leaf({3.0, 4.0, -7.0});
  Tensor m = (a - b).relu() + b;
  expect_values(m, {3.0, 5.0, -2.0});
  m.sum().backward();
  expect_values(a.grad(), {0, 1, 1});
  expect_values(b.grad(), {1, 0, 0});
}

}  // namespace
}  // namespace hpml
