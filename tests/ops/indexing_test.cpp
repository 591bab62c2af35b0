// Indexing and joining semantics: bounds errors naming the bad index, one_hot, cat/stack shape rules,
// masked_fill/where broadcasting, and pad with negative (cropping) amounts.
#include <gtest/gtest.h>

#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] as i64.
Tensor m34() { return arange(12).view({3, 4}); }

TEST(IndexBounds, IndexSelect) {
  Tensor x = m34();
  EXPECT_EQ(values<int64_t>(x.index_select(0, tensor({2, 0}))), (std::vector<int64_t>{8, 9, 10, 11, 0, 1, 2, 3}));
  EXPECT_EQ(values<int64_t>(x.index_select(1, tensor({3, 3}))), (std::vector<int64_t>{3, 3, 7, 7, 11, 11}));
  EXPECT_HPML_ERROR(x.index_select(0, tensor({0, 9})), "index_select", "9", "out of bounds");
  EXPECT_HPML_ERROR(x.index_select(1, tensor({4})), "index_select", "4");
  EXPECT_HPML_ERROR(x.index_select(0, tensor({-1})), "index_select", "-1");
  EXPECT_HPML_ERROR(x.index_select(2, tensor({0})), "index_select");
  EXPECT_HPML_ERROR(x.index_select(0, tensor({{0}})), "index_select");  // index must be <= 1-d
}

TEST(IndexBounds, Gather) {
  Tensor x = m34();
  Tensor g = x.gather(1, tensor({{3, 0}, {1, 1}, {2, 3}}));
  EXPECT_EQ(values<int64_t>(g), (std::vector<int64_t>{3, 0, 5, 5, 10, 11}));
  EXPECT_HPML_ERROR(x.gather(1, tensor({{0, 5}, {1, 2}})), "gather", "5", "out of bounds");
  EXPECT_HPML_ERROR(x.gather(0, tensor({{7}})), "gather", "7");
  EXPECT_HPML_ERROR(x.gather(0, tensor({{-2}})), "gather", "-2");
  EXPECT_HPML_ERROR(x.gather(1, tensor({0, 1})), "gather");  // rank mismatch
}

TEST(IndexBounds, ScatterAndIndexAdd) {
  Tensor z = zeros({2, 3});
  Tensor s = scatter(z, 1, tensor({{2}, {0}}), ones({2, 1}));
  EXPECT_EQ(values<float>(s), (std::vector<float>{0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(values<float>(z), std::vector<float>(6, 0.0f)) << "scatter is out of place";
  EXPECT_HPML_ERROR(scatter(z, 1, tensor({{3}, {0}}), ones({2, 1})), "scatter", "3");
  EXPECT_HPML_ERROR(scatter_add(z, 0, tensor({{0, 2, 0}}), ones({1, 3})), "scatter_add", "2");
  Tensor a = index_add(z, 0, tensor({1, 1}), ones({2, 3}));
  EXPECT_EQ(values<float>(a), (std::vector<float>{0, 0, 0, 2, 2, 2}));
  EXPECT_HPML_ERROR(index_add(z, 0, tensor({2}), ones({1, 3})), "index_add", "2");
}

TEST(IndexBounds, OneHot) {
  Tensor o = one_hot(tensor({0, 2, 1}));
  EXPECT_EQ(o.dtype(), kInt64);
  EXPECT_EQ(shape_of(o), (Shape{3, 3}));
  EXPECT_EQ(values<int64_t>(o), (std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0}));
  Tensor o2 = one_hot(tensor({{1}, {0}}), 4);
  EXPECT_EQ(shape_of(o2), (Shape{2, 1, 4}));
  EXPECT_EQ(values<int64_t>(o2), (std::vector<int64_t>{0, 1, 0, 0, 1, 0, 0, 0}));
  EXPECT_HPML_ERROR(one_hot(tensor({0, 7}), 3), "one_hot", "7");
  EXPECT_HPML_ERROR(one_hot(tensor({1, -1})), "one_hot", "-1", "non-negative");
  EXPECT_HPML_ERROR(one_hot(tensor({1.0})), "one_hot");
}

TEST(Join, CatShapes) {
  Tensor a = ones({2, 3}), b = zeros({2, 4});
  Tensor c = cat({a, b}, 1);
  EXPECT_EQ(shape_of(c), (Shape{2, 7}));
  EXPECT_EQ(values<float>(c), (std::vector<float>{1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(shape_of(cat({a, ones({5, 3})}, 0)), (Shape{7, 3}));
  EXPECT_EQ(shape_of(cat({a, b}, -1)), (Shape{2, 7}));
  EXPECT_HPML_ERROR(cat({a, b}, 0), "cat", "[2, 3]", "[2, 4]");
  EXPECT_HPML_ERROR(cat({a, ones({2, 3, 1})}, 0), "cat", "dimensions");
  EXPECT_HPML_ERROR(cat({scalar_tensor(1.0), scalar_tensor(2.0)}), "cat", "zero-dimensional");
  EXPECT_HPML_ERROR(cat({}), "cat");
  EXPECT_HPML_ERROR(cat({a, b}, 2), "cat");
  // Mixed dtypes promote (PyTorch >= 1.5).
  Tensor m = cat({tensor({1, 2}), tensor({0.5})});
  EXPECT_EQ(m.dtype(), kFloat32);
  EXPECT_EQ(values<float>(m), (std::vector<float>{1, 2, 0.5f}));
  // Non-contiguous inputs.
  Tensor t = cat({m34().t(), m34().t()}, 1);
  EXPECT_EQ(shape_of(t), (Shape{4, 6}));
  EXPECT_EQ(values<int64_t>(t.select(0, 1)), (std::vector<int64_t>{1, 5, 9, 1, 5, 9}));
}

TEST(Join, StackShapes) {
  Tensor a = tensor({1, 2}), b = tensor({3, 4});
  Tensor s0 = stack({a, b});
  EXPECT_EQ(shape_of(s0), (Shape{2, 2}));
  EXPECT_EQ(values<int64_t>(s0), (std::vector<int64_t>{1, 2, 3, 4}));
  Tensor s1 = stack({a, b}, 1);
  EXPECT_EQ(values<int64_t>(s1), (std::vector<int64_t>{1, 3, 2, 4}));
  EXPECT_EQ(shape_of(stack({a, b}, -1)), (Shape{2, 2}));
  EXPECT_EQ(shape_of(stack({ones({2, 3}), ones({2, 3}), ones({2, 3})}, 2)), (Shape{2, 3, 3}));
  EXPECT_HPML_ERROR(stack({a, tensor({1, 2, 3})}), "stack", "[2]", "[3]");
  EXPECT_HPML_ERROR(stack({ones({2, 3}), ones({3, 2})}), "stack");
  EXPECT_HPML_ERROR(stack({a, b}, 3), "stack");
  EXPECT_EQ(shape_of(stack({scalar_tensor(1.0), scalar_tensor(2.0)})), (Shape{2}));
}

TEST(Masking, MaskedFillBroadcastsTheMask) {
  Tensor x = zeros({2, 3});
  Tensor r = x.masked_fill(tensor({true, false, true}), 5.0);
  EXPECT_EQ(values<float>(r), (std::vector<float>{5, 0, 5, 5, 0, 5}));
  Tensor rr = x.masked_fill(tensor({{false}, {true}}), -1.0);
  EXPECT_EQ(values<float>(rr), (std::vector<float>{0, 0, 0, -1, -1, -1}));
  EXPECT_EQ(values<float>(x), std::vector<float>(6, 0.0f)) << "masked_fill is out of place";
  x.masked_fill_(tensor({false, true, false}), 2.0);
  EXPECT_EQ(values<float>(x), (std::vector<float>{0, 2, 0, 0, 2, 0}));
  EXPECT_HPML_ERROR(zeros({3}).masked_fill(ones({2, 3}, kBool), 1.0), "masked_fill");
  EXPECT_HPML_ERROR(zeros({3}).masked_fill(ones({3}), 1.0), "masked_fill", "bool");
  EXPECT_EQ(values<int64_t>(zeros({2}, kInt64).masked_fill(ones({2}, kBool), 7)), (std::vector<int64_t>{7, 7}));
}

TEST(Masking, WhereBroadcastsAllThree) {
  Tensor cond = tensor({{true}, {false}});  // [2, 1]
  Tensor a = tensor({1.0, 2.0, 3.0});       // [3]
  Tensor w = where(cond, a, scalar_tensor(-1.0));
  EXPECT_EQ(shape_of(w), (Shape{2, 3}));
  EXPECT_EQ(values<float>(w), (std::vector<float>{1, 2, 3, -1, -1, -1}));
  Tensor w2 = where(tensor({true, false, true}), a, 0.0);
  EXPECT_EQ(values<float>(w2), (std::vector<float>{1, 0, 3}));
  // Promotion between the two branches.
  EXPECT_EQ(where(tensor({true}), tensor({1}), tensor({2.5})).dtype(), kFloat32);
  EXPECT_EQ(where(tensor({true}), tensor({1}), tensor({2}, kInt32)).dtype(), kInt64);
  EXPECT_EQ(where(tensor({false}), tensor({1.0}), 2).dtype(), kFloat32);
  EXPECT_HPML_ERROR(where(ones({2}), a, a), "where", "bool");
  EXPECT_HPML_ERROR(where(ones({2}, kBool), a, a), "where", "[2]", "[3]");
}

TEST(Pad, NegativeAmountsCrop) {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor p = pad(x, {1, 2});
  EXPECT_EQ(shape_of(p), (Shape{2, 6}));
  EXPECT_EQ(values<int64_t>(p), (std::vector<int64_t>{0, 1, 2, 3, 0, 0, 0, 4, 5, 6, 0, 0}));
  EXPECT_EQ(values<int64_t>(pad(x, {0, 1}, 9)), (std::vector<int64_t>{1, 2, 3, 9, 4, 5, 6, 9}));
  Tensor c = pad(x, {-1, 0});
  EXPECT_EQ(shape_of(c), (Shape{2, 2}));
  EXPECT_EQ(values<int64_t>(c), (std::vector<int64_t>{2, 3, 5, 6}));
  EXPECT_EQ(values<int64_t>(pad(x, {-1, -1})), (std::vector<int64_t>{2, 5}));
  Tensor mixed = pad(x, {2, -1});
  EXPECT_EQ(shape_of(mixed), (Shape{2, 4}));
  EXPECT_EQ(values<int64_t>(mixed), (std::vector<int64_t>{0, 0, 1, 2, 0, 0, 4, 5}));
  // Second pair pads the dim before the last: drop the first row, add one at the bottom.
  Tensor rows = pad(x, {0, 0, -1, 1}, 7);
  EXPECT_EQ(shape_of(rows), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(rows), (std::vector<int64_t>{4, 5, 6, 7, 7, 7}));
  EXPECT_EQ(pad(x, {-3, 0}).numel(), 0);
  EXPECT_HPML_ERROR(pad(x, {-2, -2}), "pad");
  EXPECT_HPML_ERROR(pad(x, {1}), "pad");
  EXPECT_HPML_ERROR(pad(x, {1, 1, 1, 1, 1, 1}), "pad");
}

// index_select along dim 0 copies whole rows with memcpy when rows are contiguous blocks; rows
// that are not (a transposed or column-sliced input), 1-d inputs, repeated indices and a strided
// index must give the same values as the element-by-element definition.
TEST(IndexSelect, RowsContiguousOrNotMatchTheDefinition) {
  Tensor base = arange(0, 24, 1, kInt64).reshape({4, 6});
  const Tensor idx = tensor({3, 0, 3, 1});
  for (const Tensor& x : {base, base.t().contiguous().t(), base.slice(1, 1, 5), base.t(), base.reshape({24})}) {
    Tensor r = x.index_select(0, idx);
    std::vector<int64_t> want;
    std::vector<int64_t> xs = values<int64_t>(x);
    const int64_t row = x.dim() == 1 ? 1 : x.sizes()[1];
    for (int64_t i : {3, 0, 3, 1})
      for (int64_t j = 0; j < row; ++j) want.push_back(xs[static_cast<size_t>(i * row + j)]);
    EXPECT_EQ(values<int64_t>(r), want) << "input shape " << x.sizes() << " strides " << x.strides();
  }
  Tensor strided_idx = tensor({2, 9, 0, 9}).slice(0, 0, 4, 2);  // [2, 0], stride 2
  EXPECT_EQ(values<int64_t>(base.index_select(0, strided_idx)),
            (std::vector<int64_t>{12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace hpml
