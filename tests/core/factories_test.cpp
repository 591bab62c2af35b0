// Factories: zeros/ones/full, arange/linspace/eye, from_blob (aliasing and deleter), tensor(values) and _like.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

TEST(Factories, ZerosOnesFull) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.dtype(), kFloat32);
  EXPECT_EQ(shape_of(z), (Shape{2, 3}));
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(values<float>(z), std::vector<float>(6, 0.0f));
  EXPECT_EQ(values<int32_t>(ones({4}, kInt32)), std::vector<int32_t>(4, 1));
  EXPECT_EQ(values<bool>(ones({2}, kBool)), std::vector<bool>(2, true));
  EXPECT_EQ(values<double>(full({3}, 2.5, kFloat64)), std::vector<double>(3, 2.5));
  EXPECT_EQ(values<int64_t>(full({2}, -7, kInt64)), std::vector<int64_t>(2, -7));
  Tensor s = zeros({});
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(zeros({3, 0}).numel(), 0);
  EXPECT_HPML_ERROR(zeros({2, -1}), "negative");
}

TEST(Factories, ArangeDtypeInference) {
  Tensor a = arange(5);
  EXPECT_EQ(a.dtype(), kInt64);
  EXPECT_EQ(values<int64_t>(a), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(5.0).dtype(), kFloat32);
  EXPECT_EQ(arange(0, 5, 2).dtype(), kInt64);
  Tensor f = arange(0, 1, 0.25);
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(values<float>(f), (std::vector<float>{0.0f, 0.25f, 0.5f, 0.75f}));
  Tensor g = arange(1, 2.5, 0.5);
  EXPECT_EQ(values<float>(g), (std::vector<float>{1.0f, 1.5f, 2.0f}));
  Tensor d = arange(0, 3, 1, kFloat64);
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_EQ(values<double>(d), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(arange(0, 3, 1, kInt32).dtype(), kInt32);
}

TEST(Factories, ArangeStepsAndErrors) {
  EXPECT_EQ(values<int64_t>(arange(10, 0, -3)), (std::vector<int64_t>{10, 7, 4, 1}));
  EXPECT_EQ(values<int64_t>(arange(-2, 3, 2)), (std::vector<int64_t>{-2, 0, 2}));
  EXPECT_EQ(values<float>(arange(1.0, 0.0, -0.25)), (std::vector<float>{1.0f, 0.75f, 0.5f, 0.25f}));
  EXPECT_EQ(arange(3, 3).numel(), 0);
  EXPECT_EQ(arange(0, 10, 3).numel(), 4);  // ceil(10 / 3)
  EXPECT_HPML_ERROR(arange(0, 5, 0), "arange", "step");
  EXPECT_HPML_ERROR(arange(0.0, 1.0, 0.0), "arange");
  EXPECT_HPML_ERROR(arange(5, 0, 1), "arange");
  EXPECT_HPML_ERROR(arange(0, 5, -1), "arange");
}

TEST(Factories, LinspaceHasExactEndpoints) {
  Tensor l = linspace(0, 1, 5);
  EXPECT_EQ(l.dtype(), kFloat32);
  EXPECT_EQ(values<float>(l), (std::vector<float>{0.0f, 0.25f, 0.5f, 0.75f, 1.0f}));
  Tensor a = linspace(-1.3, 2.7, 7);
  EXPECT_EQ(values<float>(a).front(), -1.3f);
  EXPECT_EQ(values<float>(a).back(), 2.7f);
  const int64_t n = 1001;
  Tensor b = linspace(0.1, 0.7, n, kFloat64);
  std::vector<double> v = values<double>(b);
  ASSERT_EQ(v.size(), static_cast<size_t>(n));
  EXPECT_EQ(v.front(), 0.1);
  EXPECT_EQ(v.back(), 0.7);
  const double step = (0.7 - 0.1) / (n - 1);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(v[static_cast<size_t>(i)], 0.1 + step * static_cast<double>(i), 1e-12);
  for (int64_t i = 1; i < n; ++i) EXPECT_GT(v[static_cast<size_t>(i)], v[static_cast<size_t>(i - 1)]);
  // Decreasing, one step, zero steps.
  EXPECT_EQ(values<float>(linspace(2, -2, 3)), (std::vector<float>{2.0f, 0.0f, -2.0f}));
  EXPECT_EQ(values<float>(linspace(3, 9, 1)), (std::vector<float>{3.0f}));
  EXPECT_EQ(linspace(0, 1, 0).numel(), 0);
  EXPECT_HPML_ERROR(linspace(0, 1, -1), "linspace");
}

TEST(Factories, Eye) {
  Tensor e = eye(3);
  EXPECT_EQ(e.dtype(), kFloat32);
  EXPECT_EQ(shape_of(e), (Shape{3, 3}));
  EXPECT_EQ(values<float>(e), (std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(values<int64_t>(eye(2, 4, kInt64)), (std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 0}));
  Tensor tall = eye(4, 2);
  EXPECT_EQ(shape_of(tall), (Shape{4, 2}));
  EXPECT_EQ(values<float>(tall), (std::vector<float>{1, 0, 0, 1, 0, 0, 0, 0}));
  EXPECT_EQ(shape_of(eye(0)), (Shape{0, 0}));
  EXPECT_HPML_ERROR(eye(-1), "eye");
}

TEST(Factories, FromBlobAliasesCallerMemory) {
  float buf[6] = {0, 1, 2, 3, 4, 5};
  Tensor t = from_blob(buf, {2, 3});
  EXPECT_EQ(t.data_ptr(), static_cast<void*>(buf));
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(testing::at<float>(t, {1, 1}), 4.0f);
  buf[4] = 42;  // visible through the tensor: nothing was copied
  EXPECT_EQ(t.select(0, 1).select(0, 1).item<float>(), 42.0f);
  t.fill_(3.0);  // and writes through the tensor land in buf
  for (float x : buf) EXPECT_EQ(x, 3.0f);

  double dbuf[4] = {1, 2, 3, 4};
  Tensor s = from_blob(dbuf, {2, 2}, {1, 2}, kFloat64);  // column-major view
  EXPECT_EQ(values<double>(s), (std::vector<double>{1, 3, 2, 4}));
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_HPML_ERROR(from_blob(dbuf, {2, 2}, {1}, kFloat64), "from_blob");
}

TEST(FactoriesFromBlob, DeleterRunsWhenLastTensorDies) {
  std::vector<int32_t> buf = {1, 2, 3, 4};
  int calls = 0;
  void* seen = nullptr;
  {
    Tensor t = from_blob(buf.data(), {4}, kInt32, [&](void* p) {
      ++calls;
      seen = p;
    });
    Tensor view = t.view({2, 2});
    Tensor sel = t.select(0, 3);
    t = Tensor();
    EXPECT_EQ(calls, 0);
    view = Tensor();
    EXPECT_EQ(calls, 0) << "a view still holds the storage";
    EXPECT_EQ(sel.item<int32_t>(), 4);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, static_cast<void*>(buf.data()));
  // Without a deleter nothing is freed (the buffer stays usable).
  { Tensor t = from_blob(buf.data(), {4}, kInt32); }
  EXPECT_EQ(buf[2], 3);
}

TEST(Factories, TensorFromNestedValues) {
  Tensor a = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(a.dtype(), kInt64);
  EXPECT_EQ(shape_of(a), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(a), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(tensor({1.0, 2.0}).dtype(), kFloat32);
  EXPECT_EQ(tensor({true, false}).dtype(), kBool);
  EXPECT_EQ(tensor({1, 2.5}).dtype(), kFloat32);            // int and float mixed: float
  EXPECT_EQ(tensor({{1, 2}, {3.5, 4}}).dtype(), kFloat32);  // float in a later row
  EXPECT_EQ(tensor({true, 2}).dtype(), kInt64);             // bool and int: int
  Tensor s = tensor(3.0);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.dtype(), kFloat32);
  Tensor deep = tensor({{{1}, {2}}});
  EXPECT_EQ(shape_of(deep), (Shape{1, 2, 1}));
  Tensor v = tensor(std::vector<float>{0.5f, 1.5f});
  EXPECT_EQ(v.dtype(), kFloat32);
  EXPECT_EQ(values<float>(v), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(tensor(std::vector<int64_t>{1, 2, 3}).dtype(), kInt64);
  Tensor d = tensor({{1, 2}, {3, 4}}, kFloat64);
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_EQ(values<double>(d), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(values<float>(tensor({1.5, -2.0}, TensorOptions(kFloat32))), (std::vector<float>{1.5f, -2.0f}));
}

TEST(Factories, RaggedNestedListThrows) {
  EXPECT_HPML_ERROR(tensor({{1, 2}, {3}}), "tensor", "inconsistent");
  EXPECT_HPML_ERROR(tensor({{1, 2}, {3, 4, 5}}), "tensor");
  EXPECT_HPML_ERROR(tensor({{{1, 2}}, {{3}, {4}}}), "tensor");
}

TEST(Factories, LikeForms) {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}}, kInt32).t();  // non-contiguous i32 [3, 2]
  Tensor z = zeros_like(x);
  EXPECT_EQ(z.dtype(), kInt32);
  EXPECT_EQ(shape_of(z), (Shape{3, 2}));
  EXPECT_EQ(values<int32_t>(z), std::vector<int32_t>(6, 0));
  EXPECT_EQ(values<int32_t>(ones_like(x)), std::vector<int32_t>(6, 1));
  EXPECT_EQ(values<int32_t>(full_like(x, 9)), std::vector<int32_t>(6, 9));
  Tensor zd = zeros_like(x, kFloat64);
  EXPECT_EQ(zd.dtype(), kFloat64);
  EXPECT_EQ(shape_of(zd), (Shape{3, 2}));
  EXPECT_EQ(shape_of(empty_like(x)), (Shape{3, 2}));
  EXPECT_EQ(empty_like(x).dtype(), kInt32);
  Tensor f = zeros({5}, kFloat64);
  Tensor r = rand_like(f);
  EXPECT_EQ(r.dtype(), kFloat64);
  EXPECT_EQ(shape_of(r), (Shape{5}));
  EXPECT_EQ(randn_like(f).dtype(), kFloat64);
  Tensor ri = randint_like(x, 3, 5);
  EXPECT_EQ(ri.dtype(), kInt32);
  for (int32_t v : values<int32_t>(ri)) EXPECT_TRUE(v == 3 || v == 4) << v;
  // The new tensor does not alias the original.
  Tensor o = ones_like(f);
  EXPECT_NE(o.data_ptr(), f.data_ptr());
}

TEST(Factories, RequiresGradOption) {
  Tensor t = zeros({2}, TensorOptions().requires_grad(true));
  EXPECT_TRUE(t.requires_grad());
  EXPECT_TRUE(t.is_leaf());
  EXPECT_FALSE(zeros({2}).requires_grad());
}

}  // namespace
}  // namespace hpml
