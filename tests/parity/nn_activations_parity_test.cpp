// Parity of the activation modules added with silu ... threshold (SiLU, Mish, Hardswish, ...,
// PReLU) with PyTorch: forward values and input gradients at random points and at the kinks of
// each function (0, +-3, the threshold), PReLU's weight gradient and default weight, and the
// modules' reprs as PyTorch prints them.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parity/nn_parity_util.h"

namespace hpml {
namespace {

namespace tnn = torch::nn;
using nnparity::T;

// randn * 3 with the kinks planted at the front: 0 (SELU, CELU, PReLU), +-3 (Hardswish,
// Hardsigmoid), 0.1 (the Threshold below), and far tails (+-25) where exp-based forms overflow.
Tensor kink_input(IntArrayRef shape, DType dt, Generator& g) {
  Tensor x = randn(shape, &g, kFloat64) * 3.0;
  const std::vector<double> special = {0.0, 3.0, -3.0, 0.1, -0.1, 1.0, -1.0, 25.0, -25.0, 1e-3, -1e-3, 2.999};
  double* p = x.data_ptr<double>();
  for (size_t i = 0; i < special.size() && static_cast<int64_t>(i) < x.numel(); ++i) p[i] = special[i];
  return x.to(dt);
}

struct ActCase {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
  std::function<torch::Tensor(const torch::Tensor&)> ref;  // PyTorch's function of the same module
  std::string repr;                                       // str(module) in Python
  nnparity::Tol f64_grad_tol = nnparity::grad_tol(kFloat64);
};
void PrintTo(const ActCase& c, std::ostream* os) { *os << c.name; }  // not a byte dump in test names

template <typename M, typename... A>
std::function<std::shared_ptr<nn::Module>()> hp(A... a) {
  return [=] { return std::make_shared<M>(a...); };
}

std::vector<ActCase> cases() {
  namespace F = torch::nn::functional;
  using TT = torch::Tensor;
  return {
      {"SiLU", hp<nn::SiLU>(), [](const TT& x) { return torch::silu(x); }, "SiLU()"},
      {"Mish", hp<nn::Mish>(), [](const TT& x) { return torch::mish(x); }, "Mish()"},
      {"Hardswish", hp<nn::Hardswish>(), [](const TT& x) { return torch::hardswish(x); }, "Hardswish()"},
      // PyTorch 1.13's hardsigmoid_backward multiplies by 1/6 rounded to f32 (one_sixth(1.0f / 6.0f)):
      // its f64 gradients are 3e-8 off (relative); hpml's are exact.
      {"Hardsigmoid", hp<nn::Hardsigmoid>(), [](const TT& x) { return torch::hardsigmoid(x); }, "Hardsigmoid()",
       {1e-9, 4e-8}},
      {"SELU", hp<nn::SELU>(), [](const TT& x) { return torch::selu(x); }, "SELU()"},
      {"CELU", hp<nn::CELU>(), [](const TT& x) { return torch::celu(x); }, "CELU(alpha=1.0)"},
      {"CELU_alpha_0_5", hp<nn::CELU>(0.5), [](const TT& x) { return torch::celu(x, 0.5); }, "CELU(alpha=0.5)"},
      {"LogSigmoid", hp<nn::LogSigmoid>(), [](const TT& x) { return torch::log_sigmoid(x); }, "LogSigmoid()"},
      {"Softsign", hp<nn::Softsign>(), [](const TT& x) { return F::softsign(x); }, "Softsign()"},
      {"GLU", hp<nn::GLU>(), [](const TT& x) { return torch::glu(x, -1); }, "GLU(dim=-1)"},
      {"GLU_dim1", hp<nn::GLU>(int64_t{1}), [](const TT& x) { return torch::glu(x, 1); }, "GLU(dim=1)"},
      {"Threshold", hp<nn::Threshold>(0.1, 20.0), [](const TT& x) { return torch::threshold(x, 0.1, 20.0); },
       "Threshold(threshold=0.1, value=20.0)"},
  };
}

class ActivationModuleParity : public ::testing::TestWithParam<ActCase> {};

TEST_P(ActivationModuleParity, ForwardAndInputGradientMatchPyTorchAtKinks) {
  const ActCase& c = GetParam();
  for (DType dt : {kFloat32, kFloat64}) {
    const std::string what = c.name + " (" + dtype_name(dt) + ")";
    Generator g(dt == kFloat32 ? 31 : 32);
    std::shared_ptr<nn::Module> m = c.make();
    Tensor x = kink_input({3, 4, 6}, dt, g).requires_grad_(true);
    torch::Tensor tx = T(x, true);
    Tensor y = (*m)(x);
    torch::Tensor ty = c.ref(tx);
    HPML_EXPECT_PARITY(what + ", output", y, ty, nnparity::fwd_tol(dt));
    Tensor go = randn(y.sizes(), &g, dt);
    y.backward(go);
    ty.backward(T(go));
    HPML_EXPECT_PARITY(what + ", input gradient", x.grad(), tx.grad(),
                       dt == kFloat64 ? c.f64_grad_tol : nnparity::grad_tol(dt));
  }
}

TEST_P(ActivationModuleParity, PrintsLikePyTorch) { EXPECT_EQ(GetParam().make()->repr(), GetParam().repr); }

INSTANTIATE_TEST_SUITE_P(NN, ActivationModuleParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<ActCase>& info) { return info.param.name; });

// PReLU against torch::nn::PReLU holding the same weight: forward, input and weight gradients.
void expect_prelu_parity(int64_t num_parameters, std::vector<int64_t> shape, bool random_weight) {
  for (DType dt : {kFloat32, kFloat64}) {
    std::string dims;
    for (int64_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    const std::string what = "PReLU(" + std::to_string(num_parameters) + ") on [" + dims + "] (" + dtype_name(dt) + ")";
    Generator g(dt == kFloat32 ? 41 : 42);
    nn::PReLU m(num_parameters);
    tnn::PReLU tm(tnn::PReLUOptions().num_parameters(num_parameters));
    if (random_weight) {
      NoGradGuard ng;
      m.weight.copy_(uniform({num_parameters}, -0.5, 1.5, &g, kFloat64));
    }
    m.to(dt);
    nnparity::torch_to(*tm, testing::torch_dtype(dt));
    nnparity::copy_state(m, *tm, what);
    Tensor x = kink_input(shape, dt, g).requires_grad_(true);
    torch::Tensor tx = T(x, true);
    Tensor y = m(x);
    torch::Tensor ty = tm(tx);
    HPML_EXPECT_PARITY(what + ", output", y, ty, nnparity::fwd_tol(dt));
    Tensor go = randn(y.sizes(), &g, dt);
    y.backward(go);
    ty.backward(T(go));
    HPML_EXPECT_PARITY(what + ", input gradient", x.grad(), tx.grad(), nnparity::grad_tol(dt));
    HPML_EXPECT_PARITY(what + ", weight gradient", m.weight.grad(), tm->weight.grad(), nnparity::grad_tol(dt));
  }
}

TEST(ActivationPReLUParity, SharedWeightMatchesPyTorch) {
  expect_prelu_parity(1, {2, 3, 4}, false);
  expect_prelu_parity(1, {7}, true);
}

TEST(ActivationPReLUParity, PerChannelWeightsMatchPyTorch) {
  expect_prelu_parity(3, {2, 3, 4}, true);
  expect_prelu_parity(3, {2, 3, 2, 2}, true);
  expect_prelu_parity(5, {4, 5}, true);
}

TEST(ActivationPReLUParity, DefaultWeightAndReprArePyTorchs) {
  nn::PReLU m(3);
  tnn::PReLU tm(tnn::PReLUOptions().num_parameters(3));
  HPML_EXPECT_PARITY("PReLU(3) default weight", m.weight, tm->weight.detach(), nnparity::Tol{0, 0});
  EXPECT_EQ(m.repr(), "PReLU(num_parameters=3)");
  EXPECT_EQ(nn::PReLU().repr(), "PReLU(num_parameters=1)");
  EXPECT_TRUE(m.weight.requires_grad());
}

TEST(ActivationPReLUParity, WeightOfTheWrongSizeIsAClearError) {
  nn::PReLU m(4);
  try {
    m(randn({2, 3, 5}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("4 elements"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 channels"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hpml
