// The sorting family's edge cases, against hand-computed values: stable order of ties, NaN
// placement (last ascending, first descending, as PyTorch), integer and bool dtypes, median's
// lower middle and NaN, unique's inverse and counts, bucketize's right, cumprod's gradient at
// zeros, and the errors for bad k, dims and boundaries.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;
using I = std::vector<int64_t>;
using F = std::vector<float>;

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// NaN-aware equality of float vectors.
bool same(const F& a, const F& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

TEST(Sorting, TiesKeepTheirOrderBothWays) {
  Tensor x = tensor({2.0f, 1.0f, 2.0f, 1.0f, 0.0f});
  for (bool stable : {false, true}) {
    auto [v, i] = sort(x, -1, false, stable);
    EXPECT_EQ(values<float>(v), (F{0, 1, 1, 2, 2}));
    EXPECT_EQ(values<int64_t>(i), (I{4, 1, 3, 0, 2}));
    auto [vd, id] = sort(x, 0, true, stable);
    EXPECT_EQ(values<float>(vd), (F{2, 2, 1, 1, 0}));
    EXPECT_EQ(values<int64_t>(id), (I{0, 2, 1, 3, 4}));
  }
  EXPECT_EQ(values<int64_t>(argsort(x)), (I{4, 1, 3, 0, 2}));
  // topk's ties keep index order too.
  EXPECT_EQ(values<int64_t>(topk(x, 3).second), (I{0, 2, 1}));
  EXPECT_EQ(values<int64_t>(topk(x, 2, 0, false).second), (I{4, 1}));
}

TEST(Sorting, NaNIsLastAscendingAndFirstDescending) {
  Tensor x = tensor({1.0f, kNaN, -1.0f, kNaN, 0.0f});
  auto [v, i] = sort(x);
  EXPECT_TRUE(same(values<float>(v), F{-1, 0, 1, kNaN, kNaN}));
  EXPECT_EQ(values<int64_t>(i), (I{2, 4, 0, 1, 3}));
  auto [vd, id] = sort(x, 0, true);
  EXPECT_TRUE(same(values<float>(vd), F{kNaN, kNaN, 1, 0, -1}));
  EXPECT_EQ(values<int64_t>(id), (I{1, 3, 0, 4, 2}));
  EXPECT_EQ(values<int64_t>(topk(x, 2).second), (I{1, 3}));  // NaN is the largest
  EXPECT_EQ(values<int64_t>(topk(x, 2, 0, false).second), (I{2, 4}));
}

TEST(Sorting, AlongEachDimWithContiguousResults) {
  Tensor x = tensor({{3.0f, 1.0f, 2.0f}, {0.0f, 5.0f, 4.0f}});
  auto [v0, i0] = x.sort(0);
  EXPECT_EQ(values<float>(v0), (F{0, 1, 2, 3, 5, 4}));
  EXPECT_EQ(values<int64_t>(i0), (I{1, 0, 0, 0, 1, 1}));
  EXPECT_TRUE(v0.is_contiguous());
  EXPECT_EQ(values<int64_t>(x.argsort(1)), (I{1, 2, 0, 0, 2, 1}));
  auto [tv, ti] = x.topk(2, 0);  // [2, 3]: both rows, larger first
  EXPECT_EQ(shape_of(tv), (Shape{2, 3}));
  EXPECT_EQ(values<float>(tv), (F{3, 5, 4, 0, 1, 2}));
  EXPECT_EQ(values<int64_t>(ti), (I{0, 1, 1, 1, 0, 0}));
}

TEST(Sorting, IntegerAndBoolDtypes) {
  auto [v, i] = sort(tensor({5, -2, 7}, kInt32));
  EXPECT_EQ(v.dtype(), kInt32);
  EXPECT_EQ(values<int32_t>(v), (std::vector<int32_t>{-2, 5, 7}));
  EXPECT_EQ(values<int64_t>(i), (I{1, 0, 2}));
  EXPECT_EQ(values<uint8_t>(topk(tensor({3, 200, 1}, kUInt8), 2).first), (std::vector<uint8_t>{200, 3}));
  auto [b, bi] = sort(tensor({true, false, true}));
  EXPECT_EQ(values<bool>(b), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(values<int64_t>(bi), (I{1, 0, 2}));
  EXPECT_EQ(median(tensor({9, 4, 7, 1}, kInt64)).item<int64_t>(), 4);
  EXPECT_HPML_ERROR(topk(tensor({true, false}), 1), "topk", "bool");
  EXPECT_HPML_ERROR(median(tensor({true, false})), "median", "bool");
}

TEST(Sorting, BadKAndDimsNameTheOpAndTheValues) {
  Tensor x = zeros({2, 3});
  EXPECT_HPML_ERROR(topk(x, 4), "topk", "k (4)", "size 3");
  EXPECT_HPML_ERROR(topk(x, -1), "topk", "k (-1)");
  EXPECT_HPML_ERROR(topk(x, 3, 0), "topk", "k (3)", "dimension 0 of size 2");
  EXPECT_HPML_ERROR(sort(x, 2), "sort", "dimension 2");
  EXPECT_HPML_ERROR(argsort(x, -3), "argsort", "dimension -3");
  EXPECT_HPML_ERROR(cumsum(x, 2), "cumsum", "dimension 2");
  EXPECT_HPML_ERROR(median(x, 5), "median", "dimension 5");
  EXPECT_HPML_ERROR(median(zeros({3, 0}), 1), "median", "size 0", "[3, 0]");
  EXPECT_HPML_ERROR(median(zeros({0}, kInt64)), "median", "empty", "i64");
}

TEST(Sorting, MedianIsTheLowerMiddleAndPropagatesNaN) {
  EXPECT_EQ(median(tensor({3.0f, 1.0f, 4.0f, 2.0f})).item<float>(), 2.0f);  // not 2.5
  EXPECT_EQ(median(tensor({5.0f, 1.0f, 3.0f})).item<float>(), 3.0f);
  EXPECT_TRUE(std::isnan(median(tensor({1.0f, kNaN, 2.0f})).item<float>()));
  EXPECT_TRUE(std::isnan(median(zeros({0})).item<float>()));
  auto [v, i] = median(tensor({{3.0f, kNaN, 2.0f, kNaN}, {4.0f, 1.0f, 3.0f, 2.0f}}), 1);
  EXPECT_TRUE(same(values<float>(v), F{kNaN, 2}));
  EXPECT_EQ(values<int64_t>(i), (I{1, 3}));  // the first NaN; the lower middle 2 at index 3
  auto [vk, ik] = median(tensor({{1.0f, 2.0f}, {0.0f, 5.0f}}), 0, true);
  EXPECT_EQ(shape_of(vk), (Shape{1, 2}));
  EXPECT_EQ(values<float>(vk), (F{0, 2}));
}

TEST(Sorting, MedianGradients) {
  // Global: shared evenly by the elements equal to the median (PyTorch's evenly_distribute_backward).
  Tensor x = tensor({1.0, 2.0, 2.0, 3.0}, kFloat64).requires_grad_();
  median(x).backward();
  EXPECT_EQ(values<double>(x.grad()), (std::vector<double>{0, 0.5, 0.5, 0}));
  // Along a dim: all of it to the one index returned.
  Tensor y = tensor({{4.0, 1.0, 3.0}}, kFloat64).requires_grad_();
  auto [v, i] = median(y, 1);
  v.sum().backward();
  EXPECT_EQ(values<double>(y.grad()), (std::vector<double>{0, 0, 1}));
}

TEST(Sorting, UniqueInverseAndCounts) {
  Tensor x = tensor({{3, 1}, {3, 2}, {1, 3}});
  auto [v, inv, cnt] = unique(x, true, true, true);
  EXPECT_EQ(values<int64_t>(v), (I{1, 2, 3}));
  EXPECT_EQ(shape_of(inv), (Shape{3, 2}));
  EXPECT_EQ(values<int64_t>(inv), (I{2, 0, 2, 1, 0, 2}));
  EXPECT_EQ(values<int64_t>(cnt), (I{2, 1, 3}));
  auto [u, no_inv, no_cnt] = x.unique(/*sorted=*/false);
  EXPECT_EQ(values<int64_t>(u), (I{1, 2, 3})) << "hpml always sorts";
  EXPECT_FALSE(no_inv.defined());
  EXPECT_FALSE(no_cnt.defined());
  // Each NaN is its own value.
  auto [fv, finv, fcnt] = unique(tensor({kNaN, 1.0f, kNaN}), true, true, true);
  EXPECT_TRUE(same(values<float>(fv), F{1, kNaN, kNaN}));
  EXPECT_EQ(values<int64_t>(finv), (I{1, 0, 2}));
  EXPECT_EQ(values<int64_t>(fcnt), (I{1, 1, 1}));
}

TEST(Sorting, NonzeroShapes) {
  EXPECT_EQ(values<int64_t>(nonzero(tensor({{0, 1}, {2, 0}}))), (I{0, 1, 1, 0}));
  EXPECT_EQ(shape_of(tensor({{0, 1}, {2, 0}}).nonzero()), (Shape{2, 2}));
  EXPECT_EQ(shape_of(nonzero(scalar_tensor(3.0))), (Shape{1, 0}));
  EXPECT_EQ(shape_of(nonzero(scalar_tensor(0.0))), (Shape{0, 0}));
  EXPECT_EQ(values<int64_t>(nonzero(tensor({0.0f, kNaN, -0.0f}))), (I{1}));  // NaN is non-zero, -0 is zero
}

TEST(Sorting, BucketizeRightAndSearchsortedSides) {
  Tensor b = tensor({1.0f, 3.0f, 5.0f});
  Tensor x = tensor({1.0f, 3.0f, 4.0f, 5.0f, 6.0f, 0.0f});
  EXPECT_EQ(values<int64_t>(bucketize(x, b)), (I{0, 1, 2, 2, 3, 0}));        // b[i-1] < x <= b[i]
  EXPECT_EQ(values<int64_t>(bucketize(x, b, true)), (I{1, 2, 2, 3, 3, 0}));  // b[i-1] <= x < b[i]
  EXPECT_EQ(values<int64_t>(searchsorted(b, x, false, "right")), (I{1, 2, 2, 3, 3, 0}));
  EXPECT_EQ(bucketize(4, b).item<int64_t>(), 2);
  EXPECT_EQ(searchsorted(b, 3.0, true).item<int64_t>(), 2);
  Tensor rows = tensor({{1, 3, 5}, {2, 4, 6}});
  EXPECT_EQ(values<int64_t>(searchsorted(rows, tensor({{2, 5}, {2, 5}}))), (I{1, 2, 0, 2}));
}

TEST(Sorting, BadBoundariesAndSidesAreErrors) {
  Tensor b = tensor({1.0f, 3.0f});
  EXPECT_HPML_ERROR(bucketize(zeros({2}), tensor({{1.0f, 3.0f}})), "bucketize", "1-d", "[1, 2]");
  EXPECT_HPML_ERROR(bucketize(zeros({2}), scalar_tensor(1.0)), "bucketize", "1-d");
  EXPECT_HPML_ERROR(searchsorted(scalar_tensor(1.0), zeros({2})), "searchsorted", "0-d");
  EXPECT_HPML_ERROR(searchsorted(b, zeros({2}), false, "middle"), "searchsorted", "middle");
  EXPECT_HPML_ERROR(searchsorted(b, zeros({2}), true, "left"), "searchsorted", "left", "right=true");
  EXPECT_HPML_ERROR(searchsorted(zeros({2, 3}), zeros({3, 2})), "searchsorted", "[2, 3]", "[3, 2]");
  EXPECT_HPML_ERROR(searchsorted(tensor({true}), tensor({true})), "searchsorted", "bool");
}

TEST(Sorting, ScansOfIntegersAndTheirGradients) {
  Tensor c = cumsum(tensor({1, 2, 3}, kInt32), 0);
  EXPECT_EQ(c.dtype(), kInt64);
  EXPECT_EQ(values<int64_t>(c), (I{1, 3, 6}));
  EXPECT_EQ(values<int64_t>(cumprod(tensor({true, true, false}), 0)), (I{1, 1, 0}));
  Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  x.cumsum(0).backward(tensor({1.0, 2.0, 3.0}, kFloat64));
  EXPECT_EQ(values<double>(x.grad()), (std::vector<double>{6, 5, 3}));  // each x_k feeds y_j, j >= k
  // cumprod at zeros (Note [cumprod's gradient at zeros]): d y_j / d x_k = prod_{i <= j, i != k} x_i.
  Tensor z = tensor({2.0, 0.0, 3.0}, kFloat64).requires_grad_();
  z.cumprod(0).backward(ones({3}, kFloat64));
  EXPECT_EQ(values<double>(z.grad()), (std::vector<double>{1, 8, 0}));  // 1 + 0 + 0, 2 + 2*3, 0
  Tensor zz = tensor({2.0, 0.0, 3.0, 0.0, 4.0}, kFloat64).requires_grad_();
  zz.cumprod(0).backward(tensor({1.0, 2.0, 3.0, 4.0, 5.0}, kFloat64));
  EXPECT_EQ(values<double>(zz.grad()), (std::vector<double>{1, 22, 0, 0, 0}));  // 2*2 + 3*2*3 at k = 1
}

TEST(Sorting, CumprodDoubleBackwardAtAZero) {
  // L = sum(cumprod(x)) = x0 + x0 x1 + x0 x1 x2 for x = [2, 0, 3]: dL/dx = [1 + x1 + x1 x2, x0 + x0 x2,
  // x0 x1] = [1, 8, 0]; the sum of those has gradient [1 + x1 + x2, 1 + x0 + x2, x0 + x1] = [4, 6, 2].
  Tensor x = tensor({2.0, 0.0, 3.0}, kFloat64).requires_grad_();
  autograd::GradOptions second_order;
  second_order.create_graph = true;
  Tensor g = autograd::grad({cumprod(x, 0).sum()}, {x}, second_order)[0];
  EXPECT_EQ(values<double>(g), (std::vector<double>{1, 8, 0}));
  Tensor gg = autograd::grad({g.sum()}, {x})[0];
  EXPECT_EQ(values<double>(gg), (std::vector<double>{4, 6, 2}));
}

}  // namespace
}  // namespace hpml
