// In-place ops keep self's shape and dtype (PyTorch's casting and broadcast rules); _out forms write into
// a preallocated output.
#include <gtest/gtest.h>

#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

TEST(InPlace, KeepsSelfDtypeWhenTheResultCanBeCast) {
  Tensor a = tensor({1.0, 2.0});
  void* p = a.data_ptr();
  a.add_(tensor({0.5, 0.25}, kFloat64));  // f32 += f64: computed, then stored as f32
  EXPECT_EQ(a.dtype(), kFloat32);
  EXPECT_EQ(a.data_ptr(), p);
  EXPECT_EQ(values<float>(a), (std::vector<float>{1.5f, 2.25f}));
  a.mul_(scalar_tensor(2.0, kFloat64));
  EXPECT_EQ(values<float>(a), (std::vector<float>{3.0f, 4.5f}));
  a.add_(tensor({1, 2}));  // f32 += i64
  EXPECT_EQ(values<float>(a), (std::vector<float>{4.0f, 6.5f}));

  Tensor i = tensor({1, 2}, kInt32);
  i.add_(tensor({10, 20}));  // i32 += i64: same category, stored as i32
  EXPECT_EQ(i.dtype(), kInt32);
  EXPECT_EQ(values<int32_t>(i), (std::vector<int32_t>{11, 22}));
  i.mul_(3);
  EXPECT_EQ(values<int32_t>(i), (std::vector<int32_t>{33, 66}));
  Tensor b = tensor({true, false});
  b.mul_(tensor({true, true}));
  EXPECT_EQ(values<bool>(b), (std::vector<bool>{true, false}));
}

TEST(InPlace, RefusesResultsThatCannotBeCastToSelf) {
  Tensor i = tensor({1, 2});
  EXPECT_HPML_ERROR(i.add_(tensor({0.5, 0.5})), "add_", "can't be cast", "i64");
  EXPECT_HPML_ERROR(i.add_(2.5), "add_", "can't be cast");
  EXPECT_HPML_ERROR(i.mul_(tensor({1.5, 1.5}, kFloat64)), "mul_", "can't be cast");
  EXPECT_HPML_ERROR(i.div_(2), "div_", "can't be cast");  // true division gives a float
  EXPECT_EQ(values<int64_t>(i), (std::vector<int64_t>{1, 2})) << "a refused op must not write";
  Tensor b = tensor({true, false});
  EXPECT_HPML_ERROR(b.add_(1), "add_", "can't be cast", "bool");
  Tensor u = tensor({1}, kUInt8);
  EXPECT_HPML_ERROR(u.add_(0.5), "add_", "can't be cast");
}

TEST(InPlace, BroadcastsTheOtherOperandIntoSelf) {
  Tensor a = zeros({2, 3});
  a.add_(tensor({1.0, 2.0, 3.0}));
  a.add_(tensor({{10.0}, {20.0}}));
  EXPECT_EQ(values<float>(a), (std::vector<float>{11, 12, 13, 21, 22, 23}));
  a.sub_(scalar_tensor(1.0));
  EXPECT_EQ(values<float>(a), (std::vector<float>{10, 11, 12, 20, 21, 22}));
  Tensor c = zeros({2, 2});
  c.copy_(tensor({5, 6}));  // copy_ broadcasts and casts
  EXPECT_EQ(values<float>(c), (std::vector<float>{5, 6, 5, 6}));
}

TEST(InPlace, SelfSmallerThanTheBroadcastShapeThrows) {
  Tensor a = zeros({3});
  EXPECT_HPML_ERROR(a.add_(ones({2, 3})), "add_", "doesn't match the broadcast shape", "[3]", "[2, 3]");
  EXPECT_HPML_ERROR(a.mul_(ones({2, 1})), "mul_", "doesn't match the broadcast shape");
  Tensor b = zeros({2, 1});
  EXPECT_HPML_ERROR(b.add_(ones({2, 3})), "add_", "doesn't match the broadcast shape", "[2, 1]", "[2, 3]");
  EXPECT_HPML_ERROR(b.add_(ones({4})), "add_", "[2, 1]", "[2, 4]");  // broadcastable, but not into self
  EXPECT_HPML_ERROR(a.copy_(ones({2, 3})), "copy_");
  EXPECT_EQ(values<float>(a), (std::vector<float>{0, 0, 0}));
}

TEST(InPlace, AliasedOperandsAndStridedSelf) {
  Tensor a = tensor({1.0, 2.0, 3.0});
  a.add_(a);
  EXPECT_EQ(values<float>(a), (std::vector<float>{2, 4, 6}));
  a.mul_(a);
  EXPECT_EQ(values<float>(a), (std::vector<float>{4, 16, 36}));
  // Self a non-contiguous view: only its elements change.
  Tensor m = zeros({3, 4});
  Tensor col = m.select(1, 2);
  col.add_(tensor({1.0, 2.0, 3.0}));
  EXPECT_EQ(values<float>(m), (std::vector<float>{0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0}));
  Tensor mt = m.t();                       // [4, 3]
  mt.add_(tensor({100.0, 200.0, 300.0}));  // broadcast over rows of the transposed view
  EXPECT_EQ(values<float>(m), (std::vector<float>{100, 100, 101, 100, 200, 200, 202, 200, 300, 300, 303, 300}));
}

TEST(InPlace, ReturnsSelf) {
  Tensor a = ones({2});
  EXPECT_EQ(&a.add_(1.0), &a);
  EXPECT_EQ(&a.mul_(ones({2})), &a);
  EXPECT_EQ(&a.zero_(), &a);
  EXPECT_EQ(&a.fill_(2.0), &a);
  EXPECT_EQ(&a.clamp_(0.0, 1.0), &a);
  EXPECT_EQ(&(a += 1.0), &a);
  EXPECT_EQ(values<float>(a), (std::vector<float>{2, 2}));
}

TEST(OutVariants, WriteIntoPreallocatedOutput) {
  Tensor out = empty({2, 3});
  void* p = out.data_ptr();
  Tensor& r = add_out(out, tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}), tensor({10.0, 20.0, 30.0}));
  EXPECT_EQ(&r, &out);
  EXPECT_EQ(out.data_ptr(), p);
  EXPECT_EQ(values<float>(out), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  const uint32_t v = out.version();
  mul_out(out, tensor({{1.0}, {2.0}}), tensor({1.0, 2.0, 3.0}));
  EXPECT_EQ(values<float>(out), (std::vector<float>{1, 2, 3, 2, 4, 6}));
  EXPECT_GT(out.version(), v);
  sub_out(out, out, ones({3}), 2);  // out may also be an input
  EXPECT_EQ(values<float>(out), (std::vector<float>{-1, 0, 1, 0, 2, 4}));
  div_out(out, out, full({2, 3}, 2.0));
  EXPECT_EQ(values<float>(out), (std::vector<float>{-0.5f, 0, 0.5f, 0, 1, 2}));
  // A strided (transposed) out receives values at its logical positions.
  Tensor base = zeros({3, 2});
  Tensor ot = base.t();
  add_out(ot, tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}), scalar_tensor(0.0));
  EXPECT_EQ(values<float>(base), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  // Integer true division into a float out.
  Tensor q = empty({2});
  div_out(q, tensor({1, 3}), tensor({2, 2}));
  EXPECT_EQ(values<float>(q), (std::vector<float>{0.5f, 1.5f}));
}

TEST(OutVariants, WrongShapeThrows) {
  Tensor out = zeros({3});
  EXPECT_HPML_ERROR(add_out(out, ones({2, 3}), ones({3})), "add_out", "[3]", "[2, 3]");
  EXPECT_HPML_ERROR(mul_out(out, ones({4}), ones({4})), "mul_out", "[4]");
  EXPECT_HPML_ERROR(sub_out(out, ones({1}), ones({1})), "sub_out");
  EXPECT_HPML_ERROR(div_out(out, ones({2, 3}), ones({2, 3})), "div_out");
  EXPECT_HPML_ERROR(add_out(out, ones({2}), ones({3})), "add_out", "[2]", "[3]");
  EXPECT_EQ(values<float>(out), (std::vector<float>{0, 0, 0})) << "a refused op must not write";
}

TEST(OutVariants, CastsIntoOutLikePyTorch) {
  // torch.add(int, int, out=float_tensor) is allowed: the result is cast to out's dtype.
  Tensor f = zeros({2});
  add_out(f, tensor({1, 2}), tensor({3, 4}));
  EXPECT_EQ(values<float>(f), (std::vector<float>{4, 6}));
  // ...but a float result cannot be stored in an integer out.
  Tensor i = zeros({2}, kInt64);
  EXPECT_THROW(add_out(i, tensor({1.5, 2.5}), tensor({1.0, 1.0})), Error);
}

TEST(OutVariants, MatmulOut) {
  Tensor out = empty({2, 2});
  mm_out(out, tensor({{1.0, 2.0}, {3.0, 4.0}}), eye(2));
  EXPECT_EQ(values<float>(out), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_HPML_ERROR(mm_out(out, ones({2, 3}), ones({3, 3})), "mm_out", "[2, 3]");
  Tensor bout = empty({2, 1, 2});
  matmul_out(bout, ones({2, 1, 3}), ones({3, 2}));
  EXPECT_EQ(values<float>(bout), std::vector<float>(4, 3.0f));
  EXPECT_HPML_ERROR(matmul_out(bout, ones({2, 1, 3}), ones({3, 5})), "matmul_out");
}

}  // namespace
}  // namespace hpml
