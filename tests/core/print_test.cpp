// operator<< / to_string: the text must match PyTorch's repr (torch/_tensor_str.py), except dtype names.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "core/test_helpers.h"

namespace hpml {
namespace {

std::string str(const Tensor& t) {
  std::ostringstream os;
  os << t;
  EXPECT_EQ(os.str(), to_string(t));
  return os.str();
}

TEST(Print, FloatMatrixInIntMode) {
  EXPECT_EQ(str(tensor({{1.0, 2.0}, {3.0, 4.0}})), "tensor([[1., 2.],\n        [3., 4.]])");
}

TEST(Print, FixedPointWithFourDecimals) {
  EXPECT_EQ(str(tensor({0.1, 0.2})), "tensor([0.1000, 0.2000])");
  EXPECT_EQ(str(tensor({-1.5, 2.25})), "tensor([-1.5000,  2.2500])");
  EXPECT_EQ(str(tensor({-1.0, 2.0})), "tensor([-1.,  2.])");
}

TEST(Print, ZeroDim) {
  EXPECT_EQ(str(scalar_tensor(3.5)), "tensor(3.5000)");
  EXPECT_EQ(str(scalar_tensor(2.0)), "tensor(2.)");
  EXPECT_EQ(str(tensor(int64_t{3})), "tensor(3)");
  EXPECT_EQ(str(scalar_tensor(3.5, kFloat64)), "tensor(3.5000, dtype=f64)");
}

TEST(Print, IntegersAndBools) {
  EXPECT_EQ(str(tensor({1, 2, 3})), "tensor([1, 2, 3])");
  EXPECT_EQ(str(tensor({-1, 20, 3})), "tensor([-1, 20,  3])");
  // PyTorch pads every element to the widest: "True" gets a leading space next to "False".
  EXPECT_EQ(str(tensor({true, false})), "tensor([ True, False])");
  EXPECT_EQ(str(tensor({true, true})), "tensor([True, True])");
}

TEST(Print, DtypeSuffixForNonDefaultDtypes) {
  EXPECT_EQ(str(tensor({1.0, 2.0}, kFloat64)), "tensor([1., 2.], dtype=f64)");
  EXPECT_EQ(str(tensor({1, 2}, kInt32)), "tensor([1, 2], dtype=i32)");
  EXPECT_EQ(str(tensor({1, 2}, kUInt8)), "tensor([1, 2], dtype=u8)");
  // f32, i64 and bool are the defaults and get no suffix.
  EXPECT_EQ(str(tensor({1, 2}, kInt64)), "tensor([1, 2])");
}

TEST(Print, RequiresGradSuffix) {
  EXPECT_EQ(str(ones({2}, TensorOptions().requires_grad(true))), "tensor([1., 1.], requires_grad=True)");
  EXPECT_EQ(str(ones({2}, TensorOptions(kFloat64).requires_grad(true))),
            "tensor([1., 1.], dtype=f64, requires_grad=True)");
}

TEST(Print, ScientificNotation) {
  EXPECT_EQ(str(tensor({1e-5, 1.0})), "tensor([1.0000e-05, 1.0000e+00])");
  EXPECT_EQ(str(tensor({0.5, 1e9})), "tensor([5.0000e-01, 1.0000e+09])");
  // Whole numbers spanning more than a factor 1000 also switch to scientific notation.
  EXPECT_EQ(str(tensor({1.0, 2000.0})), "tensor([1.0000e+00, 2.0000e+03])");
}

TEST(Print, NonFiniteValues) {
  // The width comes from the finite non-zero values only; shorter entries are right-aligned to it.
  EXPECT_EQ(str(tensor({1.5, static_cast<double>(NAN), static_cast<double>(INFINITY)})),
            "tensor([1.5000,    nan,    inf])");
  EXPECT_EQ(str(tensor({1.0, static_cast<double>(NAN)})), "tensor([1., nan])");
  EXPECT_EQ(str(tensor({1.0, -static_cast<double>(INFINITY)})), "tensor([1., -inf])");
}

TEST(Print, ThreeDimensionsSeparatesBlocksWithBlankLine) {
  EXPECT_EQ(str(ones({2, 1, 2})), "tensor([[[1., 1.]],\n\n        [[1., 1.]]])");
}

TEST(Print, NonContiguousPrintsLogicalOrder) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(str(m.t()), "tensor([[1, 4],\n        [2, 5],\n        [3, 6]])");
}

TEST(Print, LongRowsWrapAt80Columns) {
  // 30 elements of width 2 ("1."): floor((80 - 7) / 4) = 18 per line.
  std::string s = str(ones({30}));
  std::string line1 = "tensor([";
  for (int i = 0; i < 18; ++i) line1 += i ? ", 1." : "1.";
  std::string line2 = std::string(8, ' ');
  for (int i = 0; i < 12; ++i) line2 += i ? ", 1." : "1.";
  EXPECT_EQ(s, line1 + ",\n" + line2 + "])");
}

TEST(Print, SummarizesAbove1000Elements) {
  // Exactly 1000 elements: printed in full.
  EXPECT_EQ(str(zeros({1000}, kInt64)).find("..."), std::string::npos);
  // 1-d: three items each side and " ..." (PyTorch's vector ellipsis carries a leading space).
  EXPECT_EQ(str(arange(2000)), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  EXPECT_EQ(str(ones({1001})), "tensor([1., 1., 1.,  ..., 1., 1., 1.])");
  // 2-d: every row summarised; the width comes from the values shown only.
  EXPECT_EQ(str(arange(2000).view({2, 1000})),
            "tensor([[   0,    1,    2,  ...,  997,  998,  999],\n"
            "        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])");
  // Rows are summarised too: the row ellipsis has no leading space.
  std::string big = str(arange(1010).view({101, 10}));
  const std::string head =
      "tensor([[   0,    1,    2,  ...,    7,    8,    9],\n"
      "        [  10,   11,   12,  ...,   17,   18,   19],\n"
      "        [  20,";
  EXPECT_EQ(big.substr(0, head.size()), head);
  EXPECT_NE(big.find("29],\n        ...,\n        [ 980,"), std::string::npos) << big;
}

TEST(Print, EmptyAndUndefined) {
  EXPECT_EQ(str(zeros({0})), "tensor([])");
  EXPECT_EQ(to_string(Tensor()), "[ undefined tensor ]");
}

}  // namespace
}  // namespace hpml
