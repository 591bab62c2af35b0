// Map-style datasets (include/hpml/data/dataset.h): TensorDataset rows and batched gathers, Subset,
// ConcatDataset, random_split with lengths and with PyTorch's fraction rule, and their errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/test_helpers.h"
#include "data/data_test_util.h"

namespace hpml::data {
namespace {

using datatest::shape;
using datatest::values;

// 10 samples: x = [[0, 1, 2], [3, 4, 5], ...] f32, y = 0..9 i64.
std::shared_ptr<TensorDataset> ten() {
  return std::make_shared<TensorDataset>(
      std::vector<Tensor>{arange(0, 30, 1, kFloat32).reshape({10, 3}), arange(0, 10, 1, kInt64)});
}

// A dataset that only has get(): the default get_many must loop over it.
struct Squares : Dataset {
  int64_t size() const override { return 5; }
  Sample get(int64_t i) const override {
    HPML_CHECK(i >= 0 && i < 5, "Squares: index ", i);
    return {scalar_tensor(i * i, kInt64)};
  }
};

std::vector<int64_t> all_indices(const std::vector<std::shared_ptr<Subset>>& parts) {
  std::vector<int64_t> out;
  for (const auto& p : parts) out.insert(out.end(), p->indices().begin(), p->indices().end());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TensorDatasetTest, GetReturnsEachTensorsRow) {
  auto ds = ten();
  EXPECT_EQ(ds->size(), 10);
  EXPECT_EQ(ds->name(), "TensorDataset");
  Sample s = ds->get(4);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(shape(s[0]), (std::vector<int64_t>{3}));
  EXPECT_EQ(values(s[0]), (std::vector<double>{12, 13, 14}));
  EXPECT_EQ(s[1].dim(), 0);
  EXPECT_EQ(s[1].dtype(), kInt64);
  EXPECT_EQ(s[1].item<int64_t>(), 4);
}

TEST(TensorDatasetTest, GetManyGathersTheSameSamplesAsGet) {
  auto ds = ten();
  const std::vector<int64_t> idx{7, 0, 7, 9, 3};
  std::vector<Sample> batch = ds->get_many(idx);
  ASSERT_EQ(batch.size(), idx.size());
  for (size_t k = 0; k < idx.size(); ++k) {
    Sample one = ds->get(idx[k]);
    ASSERT_EQ(batch[k].size(), 2u);
    EXPECT_EQ(shape(batch[k][0]), shape(one[0]));
    EXPECT_EQ(values(batch[k][0]), values(one[0]));
    EXPECT_EQ(batch[k][1].dim(), 0);
    EXPECT_EQ(batch[k][1].item<int64_t>(), idx[k]);
  }
  EXPECT_TRUE(ds->get_many({}).empty());
}

TEST(TensorDatasetTest, DefaultGetManyCallsGet) {
  Squares sq;
  std::vector<Sample> b = sq.get_many({4, 1, 2});
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0][0].item<int64_t>(), 16);
  EXPECT_EQ(b[1][0].item<int64_t>(), 1);
  EXPECT_EQ(b[2][0].item<int64_t>(), 4);
}

TEST(TensorDatasetTest, Errors) {
  auto ds = ten();
  EXPECT_HPML_ERROR(ds->get(10), "TensorDataset", "index 10", "size 10");
  EXPECT_HPML_ERROR(ds->get(-1), "TensorDataset", "index -1", "size 10");
  EXPECT_HPML_ERROR(ds->get_many({1, 12}), "TensorDataset", "index 12", "size 10");
  EXPECT_HPML_ERROR(TensorDataset({zeros({4, 2}), zeros({5})}), "TensorDataset", "[4, 2]", "[5]");
  EXPECT_HPML_ERROR(TensorDataset({}), "TensorDataset", "at least one tensor");
  EXPECT_HPML_ERROR(TensorDataset({zeros({3}), scalar_tensor(1.0)}), "TensorDataset", "tensor 1", "0-d");
  EXPECT_HPML_ERROR(TensorDataset({zeros({3}), Tensor()}), "TensorDataset", "tensor 1", "undefined");
}

TEST(SubsetTest, MapsIndicesAndGathers) {
  auto ds = ten();
  Subset sub(ds, {9, 2, 5});
  EXPECT_EQ(sub.size(), 3);
  EXPECT_EQ(sub.name(), "Subset(TensorDataset)");
  EXPECT_EQ(sub.get(0)[1].item<int64_t>(), 9);
  EXPECT_EQ(sub.get(2)[1].item<int64_t>(), 5);
  std::vector<Sample> b = sub.get_many({2, 0, 1, 1});
  ASSERT_EQ(b.size(), 4u);
  std::vector<int64_t> got;
  for (const Sample& s : b) got.push_back(s[1].item<int64_t>());
  EXPECT_EQ(got, (std::vector<int64_t>{5, 9, 2, 2}));
  EXPECT_EQ(values(b[0][0]), (std::vector<double>{15, 16, 17}));
  // The batch comes from the dataset's own get_batch, at the mapped indices.
  std::optional<std::vector<Tensor>> batch = sub.get_batch({2, 0});
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(values((*batch)[1]), (std::vector<double>{5, 9}));
  EXPECT_EQ(values((*batch)[0]), (std::vector<double>{15, 16, 17, 27, 28, 29}));
  EXPECT_FALSE(Subset(std::make_shared<Squares>(), {1}).get_batch({0}).has_value());
  EXPECT_HPML_ERROR(sub.get_batch({3}), "Subset(TensorDataset)", "index 3", "size 3");
  EXPECT_HPML_ERROR(sub.get(3), "Subset(TensorDataset)", "index 3", "size 3");
  EXPECT_HPML_ERROR(sub.get_many({0, -2}), "Subset", "index -2");
  EXPECT_HPML_ERROR(Subset(ds, {1, 10}), "Subset", "index 10", "position 1", "TensorDataset", "size 10");
  EXPECT_HPML_ERROR(Subset(nullptr, {}), "Subset", "null");
}

TEST(ConcatDatasetTest, IndexesAcrossDatasets) {
  auto a = std::make_shared<TensorDataset>(std::vector<Tensor>{arange(0, 3, 1, kInt64)});
  auto empty_ds = std::make_shared<TensorDataset>(std::vector<Tensor>{zeros({0}, kInt64)});
  auto b = std::make_shared<TensorDataset>(std::vector<Tensor>{arange(100, 104, 1, kInt64)});
  ConcatDataset cat({a, empty_ds, b, empty_ds});
  EXPECT_EQ(cat.size(), 7);
  std::vector<int64_t> got;
  for (int64_t i = 0; i < cat.size(); ++i) got.push_back(cat.get(i)[0].item<int64_t>());
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1, 2, 100, 101, 102, 103}));
  std::vector<Sample> many = cat.get_many({6, 0, 3});
  EXPECT_EQ(many[0][0].item<int64_t>(), 103);
  EXPECT_EQ(many[1][0].item<int64_t>(), 0);
  EXPECT_EQ(many[2][0].item<int64_t>(), 100);
  EXPECT_HPML_ERROR(cat.get(7), "ConcatDataset", "index 7", "size 7");
  EXPECT_HPML_ERROR(cat.get(-1), "ConcatDataset", "index -1");
  EXPECT_HPML_ERROR(ConcatDataset({}), "ConcatDataset", "at least one");
  EXPECT_HPML_ERROR(ConcatDataset({a, nullptr}), "ConcatDataset", "dataset 1", "null");
}

TEST(RandomSplitTest, LengthsPartitionTheDataset) {
  auto ds = ten();
  Generator g(42);
  auto parts = random_split(ds, {6, 0, 4}, &g);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]->size(), 6);
  EXPECT_EQ(parts[1]->size(), 0);
  EXPECT_EQ(parts[2]->size(), 4);
  std::vector<int64_t> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all_indices(parts), expected);
  // The samples are the dataset's.
  for (int64_t i = 0; i < parts[2]->size(); ++i)
    EXPECT_EQ(parts[2]->get(i)[1].item<int64_t>(), parts[2]->indices()[static_cast<size_t>(i)]);
  // The same generator state gives the same split; another seed another one.
  Generator g2(42), g3(7);
  EXPECT_EQ(random_split(ds, {6, 0, 4}, &g2)[0]->indices(), parts[0]->indices());
  EXPECT_NE(random_split(ds, {6, 0, 4}, &g3)[0]->indices(), parts[0]->indices());
  // Without a generator it follows the default one.
  manual_seed(5);
  auto a = random_split(ds, std::vector<int64_t>{5, 5});
  manual_seed(5);
  auto b = random_split(ds, std::vector<int64_t>{5, 5});
  EXPECT_EQ(a[0]->indices(), b[0]->indices());
}

TEST(RandomSplitTest, FractionsFollowPyTorch) {
  // torch.utils.data.random_split(range(n), fractions): floors, then the remainder round robin.
  auto sizes = [](int64_t n, std::vector<double> f) {
    auto ds = std::make_shared<TensorDataset>(std::vector<Tensor>{zeros({n})});
    Generator g(0);
    std::vector<int64_t> out;
    auto parts = random_split(ds, f, &g);
    for (const auto& p : parts) out.push_back(p->size());
    EXPECT_EQ(static_cast<int64_t>(all_indices(parts).size()), n);
    return out;
  };
  EXPECT_EQ(sizes(10, {0.3, 0.3, 0.4}), (std::vector<int64_t>{3, 3, 4}));
  EXPECT_EQ(sizes(11, {0.5, 0.5}), (std::vector<int64_t>{6, 5}));
  EXPECT_EQ(sizes(10, {0.25, 0.25, 0.25, 0.25}), (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(sizes(7, {0.1, 0.1, 0.8}), (std::vector<int64_t>{1, 1, 5}));
  EXPECT_EQ(sizes(60000, {0.9, 0.1}), (std::vector<int64_t>{54000, 6000}));
  EXPECT_EQ(sizes(3, {1.0}), (std::vector<int64_t>{3}));
  // Braced lists pick lengths or fractions by their element type.
  auto ds = ten();
  EXPECT_EQ(random_split(ds, {7, 3})[0]->size(), 7);
  EXPECT_EQ(random_split(ds, {0.7, 0.3})[0]->size(), 7);
}

TEST(RandomSplitTest, Errors) {
  auto ds = ten();
  EXPECT_HPML_ERROR(random_split(ds, {6, 5}), "random_split", "sum to 11", "10");
  EXPECT_HPML_ERROR(random_split(ds, {12, -2}), "random_split", "negative");
  EXPECT_HPML_ERROR(random_split(ds, {0.5, 0.4}), "random_split", "sum to 0.9");
  EXPECT_HPML_ERROR(random_split(ds, {1.5, -0.5}), "random_split", "between 0 and 1");
  EXPECT_HPML_ERROR(random_split(ds, std::vector<double>{}), "random_split", "no fractions");
  EXPECT_HPML_ERROR(random_split(nullptr, {1}), "random_split", "null");
}

}  // namespace
}  // namespace hpml::data
