// Higher-order gradients: autograd::grad / backward with create_graph, checked against closed-form derivatives.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using testing::expect_values;
using testing::leaf;
using testing::values;

autograd::GradOptions create_graph() {
  autograd::GradOptions o;
  o.create_graph = true;
  return o;
}

// First and second derivative of sum(f(x)) at xs, through autograd::grad twice.
void check_second_derivative(const std::function<Tensor(const Tensor&)>& f, const std::vector<double>& xs,
                             const std::function<double(double)>& d1, const std::function<double(double)>& d2) {
  Tensor x = leaf(xs);
  Tensor g = autograd::grad({f(x).sum()}, {x}, create_graph())[0];
  ASSERT_TRUE(g.requires_grad()) << "create_graph must make the gradient differentiable";
  std::vector<double> e1, e2;
  for (double v : xs) {
    e1.push_back(d1(v));
    e2.push_back(d2(v));
  }
  expect_values(g, e1, 1e-12);
  Tensor gg = autograd::grad({g.sum()}, {x})[0];
  expect_values(gg, e2, 1e-12);
  EXPECT_FALSE(x.grad().defined());
}

const std::vector<double> kPoints = {-1.7, -0.3, 0.0, 0.4, 2.2};

TEST(HigherOrder, CubeSecondDerivativeIs6x) {
  check_second_derivative([](const Tensor& x) { return x * x * x; }, kPoints, [](double v) { return 3 * v * v; },
                          [](double v) { return 6 * v; });
  check_second_derivative([](const Tensor& x) { return x.pow(3); }, kPoints, [](double v) { return 3 * v * v; },
                          [](double v) { return 6 * v; });
}

TEST(HigherOrder, Tanh) {
  check_second_derivative([](const Tensor& x) { return x.tanh(); }, kPoints,
                          [](double v) { return 1 - std::tanh(v) * std::tanh(v); },
                          [](double v) { return -2 * std::tanh(v) * (1 - std::tanh(v) * std::tanh(v)); });
}

TEST(HigherOrder, Sigmoid) {
  auto s = [](double v) { return 1 / (1 + std::exp(-v)); };
  check_second_derivative([](const Tensor& x) { return x.sigmoid(); }, kPoints,
                          [&](double v) { return s(v) * (1 - s(v)); },
                          [&](double v) { return s(v) * (1 - s(v)) * (1 - 2 * s(v)); });
}

TEST(HigherOrder, Exp) {
  check_second_derivative([](const Tensor& x) { return x.exp(); }, kPoints, [](double v) { return std::exp(v); },
                          [](double v) { return std::exp(v); });
}

TEST(HigherOrder, SinLogAndReciprocal) {
  check_second_derivative([](const Tensor& x) { return x.sin(); }, kPoints, [](double v) { return std::cos(v); },
                          [](double v) { return -std::sin(v); });
  const std::vector<double> pos = {0.5, 1.0, 3.0};
  check_second_derivative([](const Tensor& x) { return x.log(); }, pos, [](double v) { return 1 / v; },
                          [](double v) { return -1 / (v * v); });
  check_second_derivative([](const Tensor& x) { return x.reciprocal(); }, pos, [](double v) { return -1 / (v * v); },
                          [](double v) { return 2 / (v * v * v); });
}

TEST(HigherOrder, MixedPartialsOfProducts) {
  // f(x, y) = x^2 y: df/dx = 2xy, d2f/dxdy = 2x, d2f/dx2 = 2y.
  Tensor x = leaf({1.5});
  Tensor y = leaf({-2.0});
  Tensor f = (x * x * y).sum();
  TensorList g = autograd::grad({f}, {x, y}, create_graph());
  expect_values(g[0], {2 * 1.5 * -2.0});
  expect_values(g[1], {1.5 * 1.5});
  TensorList gx = autograd::grad({g[0].sum()}, {x, y}, create_graph());
  expect_values(gx[0], {2 * -2.0});  // d2f/dx2
  expect_values(gx[1], {2 * 1.5});   // d2f/dxdy
  TensorList gy = autograd::grad({g[1].sum()}, {x, y}, [] {
    autograd::GradOptions o;
    o.allow_unused = true;
    return o;
  }());
  expect_values(gy[0], {2 * 1.5});  // d2f/dydx, symmetric
  // d2f/dy2 = 0: y^1 only, so either an undefined (unused) or a zero gradient is correct.
  if (gy[1].defined()) expect_values(gy[1], {0});
}

TEST(HigherOrder, ThirdDerivative) {
  Tensor x = leaf({0.7, -1.3});
  Tensor g1 = autograd::grad({(x * x * x * x).sum()}, {x}, create_graph())[0];  // 4x^3
  Tensor g2 = autograd::grad({g1.sum()}, {x}, create_graph())[0];              // 12x^2
  Tensor g3 = autograd::grad({g2.sum()}, {x})[0];                              // 24x
  expect_values(g2, {12 * 0.49, 12 * 1.69}, 1e-12);
  expect_values(g3, {24 * 0.7, 24 * -1.3}, 1e-12);
}

TEST(HigherOrder, HessianVectorProduct) {
  // f(x) = sum(x_i^2 x_{i+1}) on 3 elements; H v computed as grad(grad(f) . v).
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor v = leaf({0.5, -1.0, 2.0}, false);
  Tensor f = (x.narrow(0, 0, 2) * x.narrow(0, 0, 2) * x.narrow(0, 1, 2)).sum();
  Tensor g = autograd::grad({f}, {x}, create_graph())[0];
  Tensor hv = autograd::grad({(g * v).sum()}, {x})[0];
  // H = [[2 x1, 2 x0, 0], [2 x0, 2 x2, 2 x1], [0, 2 x1, 0]] at x = (1, 2, 3).
  const double H[3][3] = {{4, 2, 0}, {2, 6, 4}, {0, 4, 0}};
  const double vv[3] = {0.5, -1.0, 2.0};
  std::vector<double> expected;
  for (const auto& row : H) expected.push_back(row[0] * vv[0] + row[1] * vv[1] + row[2] * vv[2]);
  expect_values(hv, expected, 1e-12);
}

TEST(HigherOrder, BackwardWithCreateGraphMakesGradDifferentiable) {
  Tensor x = leaf({1.0, -2.0});
  (x * x * x).sum().backward(Tensor(), false, /*create_graph=*/true);
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(x.grad().requires_grad());
  expect_values(x.grad(), {3, 12});
  Tensor g = x.grad();
  x.set_grad(Tensor());
  g.sum().backward();
  expect_values(x.grad(), {6, -12});
}

TEST(HigherOrder, WithoutCreateGraphTheGradientIsConstant) {
  Tensor x = leaf({1.0});
  Tensor g = autograd::grad({(x * x).sum()}, {x})[0];
  EXPECT_FALSE(g.requires_grad());
  EXPECT_EQ(g.grad_fn(), nullptr);
}

TEST(HigherOrder, ThroughViewsAndBroadcasting) {
  // f = sum((a + b)^2) with a [2, 2], b [2] broadcast: d2f/db2 = 2 * 2 (two rows) per element.
  Tensor a = tensor({{1.0, 2.0}, {3.0, 4.0}}, kFloat64).requires_grad_();
  Tensor b = leaf({0.5, -0.5});
  Tensor s = a + b;
  Tensor f = (s * s).sum();
  Tensor gb = autograd::grad({f}, {b}, create_graph())[0];
  expect_values(gb, {2 * (1.5 + 3.5), 2 * (1.5 + 3.5)});
  Tensor gbb = autograd::grad({gb.narrow(0, 0, 1).sum()}, {b, a})[0];
  expect_values(gbb, {4, 0});
}

// batch_norm's backward runs fused kernels, or differentiable ops under create_graph (Note [Fused
// batch norm]): the two give the same first derivatives, and the second derivatives (through the
// composite) pass gradcheck, in training mode (batch statistics) and evaluation mode.
TEST(HigherOrder, BatchNormFusedAndCompositeBackwardAgreeAndSecondDerivativesCheck) {
  Generator gen(7);
  for (bool training : {true, false}) {
    Tensor x = randn({3, 2, 4, 5}, &gen, kFloat64).requires_grad_();
    Tensor w = uniform({2}, 0.5, 1.5, &gen, kFloat64).requires_grad_();
    Tensor b = randn({2}, &gen, kFloat64).requires_grad_();
    Tensor v = randn({3, 2, 4, 5}, &gen, kFloat64);  // upstream gradient, so the sum is not trivial
    Tensor rm = tensor(std::vector<double>{0.3, -0.2}, kFloat64), rv = tensor(std::vector<double>{0.8, 1.7}, kFloat64);
    auto bn = [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
      return batch_norm(xx, ww, bb, training ? Tensor() : rm, training ? Tensor() : rv, training, 0.1, 1e-5);
    };
    TensorList fused = autograd::grad({(bn(x, w, b) * v).sum()}, {x, w, b});
    TensorList composite = autograd::grad({(bn(x, w, b) * v).sum()}, {x, w, b}, create_graph());
    for (size_t i = 0; i < 3; ++i) {
      // grad_bias = sum(v) is a constant; the other two depend on the inputs.
      EXPECT_EQ(composite[i].requires_grad(), i < 2) << "gradient " << i;
      EXPECT_LT((fused[i] - composite[i].detach()).abs().max().item<double>(), 1e-12) << "gradient " << i;
    }
    // Second derivatives, one direction at a time: phi(x, w) = sum(grad_x * r) + sum(grad_w * q)
    // (grad_* from the first backward); its gradient by double backward, projected on a random
    // direction (dx, dw), against a central finite difference of phi along that direction.
    Tensor r = randn(x.sizes(), &gen, kFloat64), q = randn({2}, &gen, kFloat64);
    auto phi = [&](const Tensor& xx, const Tensor& ww, bool graph) {
      autograd::GradOptions o;
      o.create_graph = graph;
      TensorList g = autograd::grad({(bn(xx, ww, b) * v).sum()}, {xx, ww}, o);
      return (g[0] * r).sum() + (g[1] * q).sum();
    };
    TensorList h = autograd::grad({phi(x, w, true)}, {x, w});
    Tensor dx = randn(x.sizes(), &gen, kFloat64), dw = randn({2}, &gen, kFloat64);
    const double analytic = ((h[0] * dx).sum() + (h[1] * dw).sum()).item<double>();
    const double e = 1e-6;
    auto at = [&](double t) {
      Tensor xx = (x.detach() + dx * t).requires_grad_(), ww = (w.detach() + dw * t).requires_grad_();
      return phi(xx, ww, false).item<double>();
    };
    const double numeric = (at(e) - at(-e)) / (2 * e);
    EXPECT_NEAR(analytic, numeric, 1e-5 * (1 + std::fabs(numeric))) << (training ? "training" : "evaluation");
  }
}

}  // namespace
}  // namespace hpml
