// Binary ops: PyTorch broadcasting rules and errors, result-type promotion (tensors, 0-d tensors, scalars),
// integer true division and div rounding modes with Python semantics.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

const DType kAll[] = {kFloat32, kFloat64, kInt64, kInt32, kUInt8, kBool};

TEST(Broadcast, ResultShapes) {
  struct Case {
    Shape a, b, out;
  };
  const Case cases[] = {
      {{2, 3}, {3}, {2, 3}},
      {{2, 1}, {1, 3}, {2, 3}},
      {{4, 1, 3}, {2, 1}, {4, 2, 3}},
      {{}, {2}, {2}},
      {{5}, {}, {5}},
      {{0}, {1}, {0}},
      {{2, 0}, {2, 1}, {2, 0}},
      {{1}, {3, 1, 1}, {3, 1, 1}},
      {{3, 1, 5}, {3, 4, 1}, {3, 4, 5}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.a) + " + " + ::testing::PrintToString(c.b));
    EXPECT_EQ(shape_of(add(ones(c.a), ones(c.b))), c.out);
    EXPECT_EQ(shape_of(mul(ones(c.b), ones(c.a))), c.out);
  }
}

TEST(Broadcast, ValuesFollowTheBroadcastIndexing) {
  // a [2, 1] = [[10], [20]], b [3] = [1, 2, 3]: out[i][j] = a[i][0] + b[j]
  Tensor a = tensor({{10}, {20}}), b = tensor({1, 2, 3});
  EXPECT_EQ(values<int64_t>(a + b), (std::vector<int64_t>{11, 12, 13, 21, 22, 23}));
  EXPECT_EQ(values<int64_t>(b - a), (std::vector<int64_t>{-9, -8, -7, -19, -18, -17}));
  // Through a non-contiguous operand.
  Tensor m = tensor({{1.0, 2.0}, {3.0, 4.0}}).t();  // [[1, 3], [2, 4]]
  EXPECT_EQ(values<float>(m * tensor({10.0, 100.0})), (std::vector<float>{10, 300, 20, 400}));
}

TEST(Broadcast, MismatchErrorNamesOpAndBothShapes) {
  Tensor a = ones({2, 3}), b = ones({4});
  EXPECT_HPML_ERROR(add(a, b), "add", "[2, 3]", "[4]");
  EXPECT_HPML_ERROR(a * b, "mul", "[2, 3]", "[4]");
  EXPECT_HPML_ERROR(a - b, "sub", "[2, 3]", "[4]");
  EXPECT_HPML_ERROR(a / b, "div", "[2, 3]", "[4]");
  EXPECT_HPML_ERROR(maximum(a, b), "maximum", "[2, 3]", "[4]");
  EXPECT_HPML_ERROR(lt(a, b), "lt", "[2, 3]", "[4]");
  EXPECT_HPML_ERROR(add(ones({0}), ones({2})), "add", "[0]", "[2]");
  EXPECT_HPML_ERROR(add(ones({2, 3, 4}), ones({3, 3, 4})), "add", "[2, 3, 4]", "[3, 3, 4]");
  EXPECT_HPML_ERROR(where(ones({2}, kBool), ones({3}), ones({2})), "where");
}

// torch.promote_types, written out by hand (order: f32, f64, i64, i32, u8, bool).
DType expected_promotion(int r, int c) {
  const DType F = kFloat32, D = kFloat64, L = kInt64, I = kInt32, B = kUInt8, O = kBool;
  const DType table[6][6] = {{F, D, F, F, F, F}, {D, D, D, D, D, D}, {F, D, L, L, L, L},
                             {F, D, L, I, I, I}, {F, D, L, I, B, B}, {F, D, L, I, B, O}};
  return table[r][c];
}

TEST(Promotion, TensorTensorForEveryDtypePair) {
  for (int r = 0; r < 6; ++r) {
    for (int c = 0; c < 6; ++c) {
      const DType a = kAll[r], b = kAll[c], want = expected_promotion(r, c);
      SCOPED_TRACE(std::string(dtype_name(a)) + " op " + dtype_name(b));
      Tensor x = ones({2}, a), y = ones({2}, b);
      EXPECT_EQ((x + y).dtype(), want);
      EXPECT_EQ((x * y).dtype(), want);
      EXPECT_EQ((x / y).dtype(), is_floating(want) ? want : kFloat32) << "true division of integers gives f32";
      EXPECT_EQ(maximum(x, y).dtype(), want);
      EXPECT_EQ(eq(x, y).dtype(), kBool);
      if (a != kBool && b != kBool) {
        EXPECT_EQ((x - y).dtype(), want);
      }
    }
  }
}

TEST(Promotion, WithScalars) {
  EXPECT_EQ((ones({2}, kInt64) * 2.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kInt32) * 2.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kInt32) * 2).dtype(), kInt32);
  EXPECT_EQ((ones({2}, kUInt8) + 1).dtype(), kUInt8);
  EXPECT_EQ((ones({2}, kFloat32) * 2.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kFloat64) * 2.5).dtype(), kFloat64);
  EXPECT_EQ((ones({2}, kBool) + 1).dtype(), kInt64);
  EXPECT_EQ((ones({2}, kBool) * 2.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kBool) + true).dtype(), kBool);
  EXPECT_EQ((2.5 * ones({2}, kInt64)).dtype(), kFloat32);
  EXPECT_EQ((1 - ones({2}, kUInt8)).dtype(), kUInt8);
  EXPECT_EQ(values<float>(tensor({1, 2}) * 2.5), (std::vector<float>{2.5f, 5.0f}));
  EXPECT_EQ(values<int32_t>(tensor({1, 2}, kInt32) * 3), (std::vector<int32_t>{3, 6}));
  // An f64 scalar value does not lift an f32 tensor to f64 (it is rounded to f32).
  EXPECT_EQ(values<float>(tensor({1.0}) + 0.1), (std::vector<float>{1.0f + 0.1f}));
}

TEST(Promotion, ZeroDimTensorsOnlyLiftTheCategory) {
  Tensor f32 = ones({3}), i32 = ones({3}, kInt32), u8 = ones({3}, kUInt8);
  EXPECT_EQ((f32 + scalar_tensor(1.0, kFloat64)).dtype(), kFloat32);
  EXPECT_EQ((scalar_tensor(1.0, kFloat64) + f32).dtype(), kFloat32);
  EXPECT_EQ((i32 + scalar_tensor(1, kInt64)).dtype(), kInt32);
  EXPECT_EQ((u8 + scalar_tensor(1, kInt64)).dtype(), kUInt8);
  EXPECT_EQ((i32 + scalar_tensor(1.5, kFloat64)).dtype(), kFloat64);  // higher category: its own dtype
  EXPECT_EQ((i32 + scalar_tensor(1.5, kFloat32)).dtype(), kFloat32);
  EXPECT_EQ((ones({3}, kBool) + scalar_tensor(1, kInt32)).dtype(), kInt32);
  // Two 0-d tensors promote normally; two dimensioned tensors too.
  EXPECT_EQ((scalar_tensor(1, kInt32) + scalar_tensor(1, kInt64)).dtype(), kInt64);
  EXPECT_EQ((i32 + ones({3}, kInt64)).dtype(), kInt64);
  EXPECT_EQ((scalar_tensor(1.0) + scalar_tensor(1.0, kFloat64)).dtype(), kFloat64);
}

TEST(Promotion, BoolArithmetic) {
  Tensor a = tensor({true, false, true, false}), b = tensor({true, true, false, false});
  Tensor s = a + b;
  EXPECT_EQ(s.dtype(), kBool);
  EXPECT_EQ(values<bool>(s), (std::vector<bool>{true, true, true, false}));
  Tensor p = a * b;
  EXPECT_EQ(p.dtype(), kBool);
  EXPECT_EQ(values<bool>(p), (std::vector<bool>{true, false, false, false}));
  EXPECT_HPML_ERROR(a - b, "sub", "bool");
}

TEST(Promotion, ComparisonsPromoteBeforeComparing) {
  // 1 < 1.5 must compare as floats, not truncate 1.5 to 1.
  EXPECT_EQ(values<bool>(lt(tensor({1, 2}), tensor({1.5, 1.5}))), (std::vector<bool>{true, false}));
  EXPECT_EQ(values<bool>(tensor({1, 2}).gt(1.5)), (std::vector<bool>{false, true}));
  EXPECT_EQ(values<bool>(eq(tensor({255}, kUInt8), tensor({-1}, kInt32))), (std::vector<bool>{false}));
}

TEST(Promotion, IntegerOverflowWraps) {
  EXPECT_EQ(values<uint8_t>(tensor({200}, kUInt8) + tensor({100}, kUInt8)), (std::vector<uint8_t>{44}));
  EXPECT_EQ(values<uint8_t>(tensor({3}, kUInt8) - tensor({5}, kUInt8)), (std::vector<uint8_t>{254}));
}

TEST(Division, IntegerTrueDivisionGivesFloat) {
  Tensor q = tensor({1, 2, 3}) / tensor({2, 2, 2});
  EXPECT_EQ(q.dtype(), kFloat32);
  EXPECT_EQ(values<float>(q), (std::vector<float>{0.5f, 1.0f, 1.5f}));
  EXPECT_EQ(values<float>(tensor({7}, kInt32) / 2), (std::vector<float>{3.5f}));
  EXPECT_EQ((tensor({7}) / 2.5).dtype(), kFloat32);
  EXPECT_EQ((tensor({1.0}, kFloat64) / tensor({3})).dtype(), kFloat64);
  std::vector<float> z = values<float>(tensor({1, -1, 0}) / tensor({0, 0, 0}));
  EXPECT_TRUE(std::isinf(z[0]) && z[0] > 0);
  EXPECT_TRUE(std::isinf(z[1]) && z[1] < 0);
  EXPECT_TRUE(std::isnan(z[2]));
}

// C's INT_MIN / -1 traps (SIGFPE) on x86; hpml's integer division wraps, as two's complement
// negation does: the most negative value over -1 is itself.
TEST(Division, TheMostNegativeIntegerOverMinusOneWrapsInsteadOfTrapping) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (const char* mode : {"trunc", "floor"}) {
    EXPECT_EQ(values<int64_t>(div(tensor(std::vector<int64_t>{kMin, 6, -7}), tensor(std::vector<int64_t>{-1, -1, -1}), mode)),
              (std::vector<int64_t>{kMin, -6, 7}))
        << mode;
    EXPECT_EQ(values<int32_t>(div(tensor({-2147483647 - 1}, kInt32), tensor({-1}, kInt32), mode)),
              (std::vector<int32_t>{-2147483647 - 1}))
        << mode;
  }
}

TEST(Division, RoundingModesMatchPython) {
  const std::vector<int64_t> a = {7, -7, 7, -7, 0, 5, -1, 9};
  const std::vector<int64_t> b = {2, 2, -2, -2, 3, 5, 4, -4};
  Tensor ta = tensor(a), tb = tensor(b);
  Tensor tr = div(ta, tb, "trunc"), fl = div(ta, tb, "floor");
  EXPECT_EQ(tr.dtype(), kInt64);
  EXPECT_EQ(fl.dtype(), kInt64);
  std::vector<int64_t> want_trunc, want_floor;
  for (size_t i = 0; i < a.size(); ++i) {
    const double q = static_cast<double>(a[i]) / static_cast<double>(b[i]);
    want_trunc.push_back(static_cast<int64_t>(std::trunc(q)));
    want_floor.push_back(static_cast<int64_t>(std::floor(q)));  // Python's a // b
  }
  EXPECT_EQ(values<int64_t>(tr), want_trunc);
  EXPECT_EQ(values<int64_t>(fl), want_floor);
  EXPECT_EQ(values<int64_t>(fl), (std::vector<int64_t>{3, -4, -4, 3, 0, 1, -1, -3}));  // spelled out
  // i32 keeps its dtype; floats round but stay float.
  EXPECT_EQ(div(tensor({-7}, kInt32), tensor({2}, kInt32), "floor").dtype(), kInt32);
  EXPECT_EQ(values<int32_t>(div(tensor({-7}, kInt32), tensor({2}, kInt32), "floor")), (std::vector<int32_t>{-4}));
  Tensor ff = div(tensor({7.5, -7.5}), tensor({-2.0, 2.0}), "floor");
  EXPECT_EQ(ff.dtype(), kFloat32);
  EXPECT_EQ(values<float>(ff), (std::vector<float>{-4.0f, -4.0f}));
  EXPECT_EQ(values<float>(div(tensor({7.5, -7.5}), tensor({-2.0, 2.0}), "trunc")), (std::vector<float>{-3.0f, -3.0f}));
  // Mixed int / float with rounding: promotes to float.
  EXPECT_EQ(div(tensor({7}), tensor({2.0}), "floor").dtype(), kFloat32);
  EXPECT_HPML_ERROR(div(tensor({1}), tensor({0}), "floor"), "div", "zero");
  EXPECT_HPML_ERROR(div(tensor({1}), tensor({0}), "trunc"), "div", "zero");
  EXPECT_HPML_ERROR(div(ta, tb, "round"), "div", "rounding_mode");
}

TEST(Binary, AlphaArgument) {
  EXPECT_EQ(values<float>(add(tensor({1.0, 2.0}), tensor({10.0, 20.0}), 0.5)), (std::vector<float>{6.0f, 12.0f}));
  EXPECT_EQ(values<int64_t>(sub(tensor({1, 2}), tensor({10, 20}), 2)), (std::vector<int64_t>{-19, -38}));
  EXPECT_HPML_ERROR(add(tensor({1}), tensor({2}), 0.5), "add", "alpha");
}

}  // namespace
}  // namespace hpml
