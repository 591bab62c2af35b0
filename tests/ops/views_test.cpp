// View ops share storage with their base (writes go both ways); reshape copies only when it must; view errors.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::at;
using testing::elem_ptr;
using testing::shape_of;
using testing::values;
using Shape = std::vector<int64_t>;

// [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] as f32.
Tensor base34() { return arange(0, 12, 1, kFloat32).view({3, 4}); }

bool shares_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage().get() == b.impl()->storage().get(); }

TEST(Views, WritesThroughViewsReachTheBase) {
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> make;
    std::vector<int64_t> view_index;  // element written in the view
    int64_t base_row, base_col;       // where it must land in the [3, 4] base
  };
  // clang-format off
  const std::vector<Case> cases = {
      {"view", [](const Tensor& b) { return b.view({4, 3}); }, {1, 2}, 1, 1},
      {"view -1", [](const Tensor& b) { return b.view({-1}); }, {7}, 1, 3},
      {"transpose", [](const Tensor& b) { return b.transpose(0, 1); }, {2, 1}, 1, 2},
      {"t", [](const Tensor& b) { return b.t(); }, {3, 0}, 0, 3},
      {"permute", [](const Tensor& b) { return b.permute({1, 0}); }, {0, 2}, 2, 0},
      {"slice", [](const Tensor& b) { return b.slice(1, 1, 4, 2); }, {2, 1}, 2, 3},
      {"slice rows", [](const Tensor& b) { return b.slice(0, 1); }, {1, 0}, 2, 0},
      {"select", [](const Tensor& b) { return b.select(0, 2); }, {1}, 2, 1},
      {"select -1", [](const Tensor& b) { return b.select(1, -1); }, {0}, 0, 3},
      {"narrow", [](const Tensor& b) { return b.narrow(1, 1, 2); }, {0, 1}, 0, 2},
      {"unsqueeze", [](const Tensor& b) { return b.unsqueeze(0); }, {0, 1, 2}, 1, 2},
      {"unsqueeze last", [](const Tensor& b) { return b.unsqueeze(2); }, {2, 3, 0}, 2, 3},
      {"squeeze", [](const Tensor& b) { return b.unsqueeze(1).squeeze(); }, {1, 1}, 1, 1},
      {"squeeze dim", [](const Tensor& b) { return b.unsqueeze(1).squeeze(1); }, {2, 2}, 2, 2},
      {"flatten", [](const Tensor& b) { return b.flatten(); }, {10}, 2, 2},
      {"unflatten", [](const Tensor& b) { return b.unflatten(1, {2, 2}); }, {1, 1, 0}, 1, 2},
      {"chunk", [](const Tensor& b) { return b.chunk(2, 1)[1]; }, {1, 0}, 1, 2},
      {"split", [](const Tensor& b) { return b.split(1, 0)[2]; }, {0, 3}, 2, 3},
      {"split sizes", [](const Tensor& b) { return b.split({1, 3}, 1)[1]; }, {0, 0}, 0, 1},
      {"unbind", [](const Tensor& b) { return b.unbind(1)[3]; }, {2}, 2, 3},
      {"as_strided", [](const Tensor& b) { return as_strided(b, {2, 2}, {4, 1}, 5); }, {1, 1}, 2, 2},
  };
  // clang-format on
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor base = base34();
    Tensor v = c.make(base);
    EXPECT_TRUE(shares_storage(v, base));
    float* p = v.data_ptr<float>();
    for (size_t d = 0; d < c.view_index.size(); ++d) p += c.view_index[d] * v.strides()[d];
    // Reading through the view sees the base's value at that spot, and writing lands there.
    EXPECT_EQ(*p, static_cast<float>(c.base_row * 4 + c.base_col));
    *p = 100.0f;
    EXPECT_EQ(at<float>(base, {c.base_row, c.base_col}), 100.0f);
    // An in-place op on the view reaches the base, and one on the base reaches the view.
    v.add_(1000.0);
    EXPECT_EQ(at<float>(base, {c.base_row, c.base_col}), 1100.0f);
    base.zero_();
    EXPECT_EQ(*p, 0.0f);
  }
}

TEST(Views, ExpandAliasesWithZeroStride) {
  Tensor b = tensor({{1.0}, {2.0}, {3.0}});  // [3, 1]
  Tensor e = b.expand({2, 3, 4});
  EXPECT_EQ(shape_of(e), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides().vec(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_TRUE(shares_storage(e, b));
  EXPECT_EQ(at<float>(e, {1, 2, 3}), 3.0f);
  *elem_ptr<float>(b, {1, 0}) = 9.0f;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(at<float>(e, {i, 1, k}), 9.0f);
  EXPECT_EQ(shape_of(b.expand({-1, 5})), (Shape{3, 5}));
  EXPECT_HPML_ERROR(b.expand({2, 4}), "expand");
}

TEST(Views, InPlaceOpOnExpandedViewIsRejected) {
  // Several elements of an expanded tensor share one memory location; PyTorch refuses to write into it
  // ("unsupported operation: more than one element of the written-to tensor refers to a single memory location").
  Tensor b = zeros({3, 1});
  Tensor e = b.expand({3, 4});
  EXPECT_THROW(e.add_(1.0), Error);
  EXPECT_EQ(values<float>(b), (std::vector<float>{0, 0, 0}));
}

TEST(Views, ReshapeViewsWhenPossibleCopiesOtherwise) {
  Tensor base = base34();
  Tensor r = base.reshape({2, 6});
  EXPECT_TRUE(shares_storage(r, base));
  EXPECT_EQ(r.data_ptr(), base.data_ptr());

  // A transposed tensor cannot be flattened without a copy.
  Tensor t = base.t();  // [4, 3]
  Tensor flat = t.reshape({12});
  EXPECT_FALSE(shares_storage(flat, base));
  EXPECT_EQ(values<float>(flat), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  *elem_ptr<float>(flat, {0}) = 55;
  EXPECT_EQ(at<float>(base, {0, 0}), 0.0f) << "the copy must not alias";

  // ...but adding or splitting size-compatible dims of a non-contiguous tensor is still a view.
  Tensor t3 = t.reshape({4, 3, 1});
  EXPECT_TRUE(shares_storage(t3, base));
  Tensor s = base.slice(1, 0, 3);  // [3, 3], strides [4, 1]
  EXPECT_TRUE(shares_storage(s.reshape({3, 3, 1}), base));
  EXPECT_TRUE(shares_storage(s.reshape({3, 1, 3}), base));
  Tensor rows = base.slice(0, 0, 2).reshape({8});  // the first two rows are contiguous
  EXPECT_TRUE(shares_storage(rows, base));
  Tensor s9 = s.reshape({9});  // rows of 3 with stride 4: needs a copy
  EXPECT_FALSE(shares_storage(s9, base));
  EXPECT_EQ(values<float>(s9), (std::vector<float>{0, 1, 2, 4, 5, 6, 8, 9, 10}));
  // Every other column is uniformly strided (stride 2) overall, so flattening it is a view.
  Tensor even = base.slice(1, 0, 4, 2).reshape({6});
  EXPECT_TRUE(shares_storage(even, base));
  EXPECT_EQ(values<float>(even), (std::vector<float>{0, 2, 4, 6, 8, 10}));
}

TEST(Views, ViewErrorsExplainWhy) {
  Tensor t = base34().t();  // [4, 3], strides [1, 4]
  EXPECT_HPML_ERROR(t.view({12}), "view", "[12]", "[4, 3]", "reshape");
  EXPECT_HPML_ERROR(base34().view({5}), "view", "[5]", "12");
  EXPECT_HPML_ERROR(base34().view({-1, -1}), "view", "only one dimension can be inferred");
  EXPECT_HPML_ERROR(base34().view({5, -1}), "view", "12");
  EXPECT_HPML_ERROR(base34().reshape({7}), "reshape", "12");
  EXPECT_HPML_ERROR(base34().select(0, 3), "select", "3");
  EXPECT_HPML_ERROR(base34().narrow(1, 2, 3), "narrow");
  EXPECT_HPML_ERROR(base34().permute({0, 0}), "permute");
  EXPECT_HPML_ERROR(base34().permute({0}), "permute");
  EXPECT_HPML_ERROR(base34().transpose(0, 2), "transpose", "2");
  EXPECT_HPML_ERROR(base34().unsqueeze(3), "unsqueeze");
  EXPECT_HPML_ERROR(ones({2, 2, 2}).t(), "t");
  EXPECT_HPML_ERROR(base34().split({1, 1}, 0), "split");
}

TEST(Views, ShapesOfSplitsAndChunks) {
  Tensor x = arange(10);
  TensorList c = x.chunk(3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(values<int64_t>(c[0]), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(values<int64_t>(c[2]), (std::vector<int64_t>{8, 9}));
  TensorList s = x.split(4);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2].numel(), 2);
  TensorList u = base34().unbind(0);
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(values<float>(u[1]), (std::vector<float>{4, 5, 6, 7}));
  // Slicing with out-of-range bounds clamps like Python.
  EXPECT_EQ(values<int64_t>(x.slice(0, -3, 100)), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(x.slice(0, 8, 2).numel(), 0);
  EXPECT_EQ(values<int64_t>(x.slice(0, std::nullopt, std::nullopt, 3)), (std::vector<int64_t>{0, 3, 6, 9}));
  // squeeze(dim) of a dim that is not 1 is a no-op.
  EXPECT_EQ(shape_of(ones({2, 3}).squeeze(0)), (Shape{2, 3}));
}

TEST(Views, CloneOfViewIsIndependent) {
  Tensor base = base34();
  Tensor c = base.select(1, 2).clone();
  EXPECT_FALSE(shares_storage(c, base));
  base.fill_(-1.0);
  EXPECT_EQ(values<float>(c), (std::vector<float>{2, 6, 10}));
}

}  // namespace
}  // namespace hpml
