// autograd::gradcheck itself: passes correct functions, catches wrong backwards (naming input and output), checks args.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/autograd_test_util.h"

namespace hpml {
namespace {

using autograd::gradcheck;
using autograd::GradcheckOptions;
using autograd::GradcheckResult;
using testing::error_of;
using testing::leaf;
using testing::values;

GradcheckOptions no_throw() {
  GradcheckOptions o;
  o.raise_exception = false;
  return o;
}

TEST(Gradcheck, PassesForACorrectFunction) {
  Tensor x = leaf({0.3, -1.1, 2.0});
  Tensor y = leaf({0.5, 0.25, -0.75});
  GradcheckResult r = gradcheck([](const TensorList& in) { return TensorList{in[0].sin() * in[1] + in[1].exp()}; },
                                {x, y}, no_throw());
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_TRUE(r.message.empty());
  EXPECT_LT(r.max_abs_error, 1e-6);
  EXPECT_FALSE(x.grad().defined());  // gradcheck does not leave gradients behind
  EXPECT_NO_THROW(gradcheck([](const TensorList& in) { return TensorList{in[0] * in[0]}; }, {x}));
}

TEST(Gradcheck, PassesWithSeveralOutputsAndReductions) {
  Tensor x = tensor({{1.0, 2.0}, {3.0, -4.0}}, kFloat64).requires_grad_();
  GradcheckResult r = gradcheck(
      [](const TensorList& in) { return TensorList{in[0].tanh().sum({0}), (in[0] * in[0]).mean(), in[0].t()}; }, {x},
      no_throw());
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(Gradcheck, CatchesAWrongBackward) {
  // f(x) = x * x.detach(): forward x^2, but backward only sees one factor: analytical x, numerical 2x.
  Tensor x = leaf({1, -2, 3});
  auto f = [](const TensorList& in) { return TensorList{in[0] * in[0].detach()}; };
  GradcheckResult r = gradcheck(f, {x}, no_throw());
  EXPECT_FALSE(r.ok);
  EXPECT_CONTAINS(r.message, "output 0");
  EXPECT_CONTAINS(r.message, "input 0");
  EXPECT_CONTAINS(r.message, "numerical 2");
  EXPECT_CONTAINS(r.message, "analytical 1");
  EXPECT_NEAR(r.max_abs_error, 3.0, 1e-5);  // |2x - x| is largest at x = 3

  std::string msg = error_of([&] { gradcheck(f, {x}); });
  EXPECT_CONTAINS(msg, "gradcheck");
  EXPECT_CONTAINS(msg, "input 0");
}

TEST(Gradcheck, NamesTheInputAndOutputThatDisagree) {
  Tensor a = leaf({1.5, 2.5});
  Tensor b = leaf({-0.5, 0.75});
  GradcheckResult r = gradcheck(
      [](const TensorList& in) { return TensorList{in[0] * in[1] + in[1] * in[1].detach()}; }, {a, b}, no_throw());
  EXPECT_FALSE(r.ok);
  EXPECT_CONTAINS(r.message, "input 1");
  EXPECT_CONTAINS(r.message, "output 0");

  GradcheckResult r2 = gradcheck(
      [](const TensorList& in) { return TensorList{in[0].sin(), in[0] * in[0].detach()}; }, {a}, no_throw());
  EXPECT_FALSE(r2.ok);
  EXPECT_CONTAINS(r2.message, "output 1");
  EXPECT_CONTAINS(r2.message, "input 0");
}

TEST(Gradcheck, CatchesAMissingGradient) {
  // The whole function is cut from the graph for the second input: analytical 0, numerical 1.
  Tensor a = leaf({1.0});
  Tensor b = leaf({2.0});
  GradcheckResult r =
      gradcheck([](const TensorList& in) { return TensorList{in[0] * 3 + in[1].detach()}; }, {a, b}, no_throw());
  EXPECT_FALSE(r.ok);
  EXPECT_CONTAINS(r.message, "input 1");
  EXPECT_NEAR(r.max_abs_error, 1.0, 1e-6);
}

TEST(Gradcheck, ToleranceOptionsAreUsed) {
  Tensor x = leaf({0.001, -0.002});
  auto f = [](const TensorList& in) { return TensorList{in[0] * in[0].detach()}; };
  GradcheckOptions loose = no_throw();
  loose.atol = 0.01;  // the error is |x| <= 0.002
  EXPECT_TRUE(gradcheck(f, {x}, loose).ok);
  EXPECT_FALSE(gradcheck(f, {x}, no_throw()).ok);
}

TEST(Gradcheck, RejectsF32Inputs) {
  Tensor x = tensor(std::vector<float>{1.0f, 2.0f}).requires_grad_();
  std::string msg = error_of([&] { gradcheck([](const TensorList& in) { return TensorList{in[0] * 2}; }, {x}); });
  EXPECT_CONTAINS(msg, "input 0");
  EXPECT_CONTAINS(msg, "f32");
  EXPECT_CONTAINS(msg, "f64");
}

TEST(Gradcheck, RejectsOverlappingInputs) {
  Tensor x = leaf({1.0}).expand({3});
  std::string msg = error_of([&] { gradcheck([](const TensorList& in) { return TensorList{in[0] * 2}; }, {x}); });
  EXPECT_CONTAINS(msg, "overlapping");
}

TEST(Gradcheck, InputsWithoutGradArePassedThroughUnchanged) {
  Tensor x = leaf({0.5, -0.5});
  Tensor c = leaf({3.0, 4.0}, false);
  Tensor idx = tensor(std::vector<int64_t>{1, 0});
  int calls = 0;
  GradcheckResult r = gradcheck(
      [&](const TensorList& in) {
        ++calls;
        EXPECT_EQ(values(in[1]), (std::vector<double>{3.0, 4.0}));
        EXPECT_EQ(in[2].dtype(), kInt64);
        return TensorList{in[0].index_select(0, in[2]) * in[1]};
      },
      {x, c, idx}, no_throw());
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GE(calls, 1 + 2 * 2);  // a recorded pass, then +eps and -eps for each of x's two elements
  EXPECT_EQ(values(x), (std::vector<double>{0.5, -0.5}));  // restored exactly
}

TEST(Gradcheck, NonContiguousInput) {
  Tensor base = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat64);
  Tensor x = base.t();  // [3, 2], not contiguous
  ASSERT_FALSE(x.is_contiguous());
  x.requires_grad_();
  GradcheckResult r =
      gradcheck([](const TensorList& in) { return TensorList{(in[0] * in[0]).sum({1})}; }, {x}, no_throw());
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(values(base), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

}  // namespace
}  // namespace hpml
