// datasets::FashionMNIST on the real files (scripts/setup installs them; the test fails, never
// skips, when they are missing) — sizes, pixel range, class balance, Normalize statistics fit on
// the training split — and datasets::MNIST on small IDX files written here, with its consistency
// errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/test_helpers.h"
#include "data/data_test_util.h"

namespace hpml::data {
namespace {

using datatest::Bytes;
using datatest::gzip;
using datatest::idx_u8;
using datatest::shape;
using datatest::TempDir;
using datatest::values;
using datatest::write_file;

class FashionMNISTTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(datasets::kFashionMNISTRoot)) return;
    train_ = new datasets::FashionMNIST();
    test_ = new datasets::FashionMNIST(datasets::kFashionMNISTRoot, /*train=*/false);
  }
  static void TearDownTestSuite() {
    delete train_;
    delete test_;
    train_ = test_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(train_ && test_)
        << datasets::kFashionMNISTRoot
        << " is missing: scripts/setup installs dataset-fashion-mnist (the Debian package with "
           "Fashion-MNIST's four IDX files)";
  }
  static datasets::FashionMNIST* train_;
  static datasets::FashionMNIST* test_;
};
datasets::FashionMNIST* FashionMNISTTest::train_ = nullptr;
datasets::FashionMNIST* FashionMNISTTest::test_ = nullptr;

TEST_F(FashionMNISTTest, SizesShapesAndPixelRange) {
  EXPECT_EQ(train_->size(), 60000);
  EXPECT_EQ(test_->size(), 10000);
  EXPECT_EQ(train_->name(), "FashionMNIST(train)");
  EXPECT_EQ(test_->name(), "FashionMNIST(test)");
  EXPECT_EQ(train_->classes().size(), 10u);
  EXPECT_EQ(train_->classes()[9], "Ankle boot");
  for (const datasets::FashionMNIST* ds : {train_, test_}) {
    SCOPED_TRACE(ds->name());
    EXPECT_EQ(ds->images().dtype(), kFloat32);
    EXPECT_EQ(shape(ds->images()), (std::vector<int64_t>{ds->size(), 1, 28, 28}));
    EXPECT_EQ(ds->labels().dtype(), kInt64);
    EXPECT_EQ(shape(ds->labels()), (std::vector<int64_t>{ds->size()}));
    // Pixels are byte / 255: in [0, 1], both ends used, and multiples of 1/255.
    EXPECT_EQ(ds->images().min().item<float>(), 0.0f);
    EXPECT_EQ(ds->images().max().item<float>(), 1.0f);
    Tensor bytes = (ds->images() * 255.0).round();
    EXPECT_LT((ds->images() * 255.0 - bytes).abs().max().item<float>(), 1e-4f);
  }
  Sample s = train_->get(0);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(shape(s[0]), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(s[1].dim(), 0);
  EXPECT_EQ(s[1].item<int64_t>(), 9);  // the first training image is an ankle boot
  std::vector<Sample> b = train_->get_many({59999, 0});
  EXPECT_EQ(values(b[1][0]), values(s[0]));
  EXPECT_EQ(b[0][1].item<int64_t>(), train_->labels()[59999].item<int64_t>());
  EXPECT_HPML_ERROR(train_->get(60000), "FashionMNIST(train)", "index 60000", "size 60000");
}

TEST_F(FashionMNISTTest, EveryClassEquallyOften) {
  Tensor train_counts = one_hot(train_->labels(), 10).sum({0});
  Tensor test_counts = one_hot(test_->labels(), 10).sum({0});
  EXPECT_EQ(values(train_counts), std::vector<double>(10, 6000));
  EXPECT_EQ(values(test_counts), std::vector<double>(10, 1000));
}

TEST_F(FashionMNISTTest, NormalizeFitOnTrainAppliedToTest) {
  transforms::Normalize norm = transforms::Normalize::fit(*train_);
  ASSERT_EQ(norm.mean().size(), 1u);
  EXPECT_NEAR(norm.mean()[0], 0.2860, 5e-4);
  EXPECT_NEAR(norm.std()[0], 0.3530, 5e-4);
  // The training statistics, applied unchanged to the test split, leave it close to mean 0, std 1
  // (the test split's own are 0.2868 and 0.3524).
  auto test_ptr = std::shared_ptr<const Dataset>(test_, [](const Dataset*) {});
  TransformedDataset normalized(test_ptr, norm);
  Tensor x = norm(test_->images()).to(kFloat64);
  EXPECT_NEAR(x.mean().item<double>(), (0.2868 - 0.2860) / 0.3530, 3e-3);
  EXPECT_NEAR(x.std({}, 0).item<double>(), 0.3524 / 0.3530, 3e-3);
  EXPECT_EQ(values(normalized.get(5)[0]), values(norm(test_->get(5)[0])));
  // The same through the dataset's own transform= argument.
  datasets::FashionMNIST with_transform(datasets::kFashionMNISTRoot, false, norm,
                                        [](const Tensor& y) { return y * 10; });
  Sample s = with_transform.get(5);
  EXPECT_EQ(values(s[0]), values(norm(test_->get(5)[0])));
  EXPECT_EQ(s[1].item<int64_t>(), test_->labels()[5].item<int64_t>() * 10);
  EXPECT_EQ(values(with_transform.get_many({5})[0][0]), values(s[0]));
}

// ---- MNIST on small files -------------------------------------------------------------------------

// Writes an MNIST-layout split into `dir`: n images of 28x28 (pixel k of image i = 50 i + k % 7) and labels.
void write_split(const TempDir& dir, const std::string& split, uint32_t n, const Bytes& labels, bool gz,
                 std::vector<uint32_t> image_dims = {}) {
  if (image_dims.empty()) image_dims = {n, 28, 28};
  const uint32_t count = image_dims[0] * image_dims[1] * image_dims[2];
  Bytes pixels(count);
  const uint32_t per_image = image_dims[1] * image_dims[2];
  for (uint32_t i = 0; i < count; ++i) pixels[i] = static_cast<uint8_t>(i / per_image * 50 + i % per_image % 7);
  const Bytes images = idx_u8(image_dims, pixels), lab = idx_u8({static_cast<uint32_t>(labels.size())}, labels);
  const std::string ext = gz ? ".gz" : "";
  write_file(dir.file(split + "-images-idx3-ubyte" + ext), gz ? gzip(images) : images);
  write_file(dir.file(split + "-labels-idx1-ubyte" + ext), gz ? gzip(lab) : lab);
}

TEST(MNISTTest, ReadsSmallRawAndGzippedSplits) {
  TempDir dir;
  write_split(dir, "train", 3, {5, 0, 9}, /*gz=*/true);
  write_split(dir, "t10k", 2, {1, 2}, /*gz=*/false);
  datasets::MNIST train(dir.path()), test(dir.path(), false);
  EXPECT_EQ(train.size(), 3);
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(train.name(), "MNIST(train)");
  EXPECT_EQ(train.classes()[5], "5 - five");
  EXPECT_EQ(values(train.labels()), (std::vector<double>{5, 0, 9}));
  Sample s = train.get(2);
  EXPECT_EQ(shape(s[0]), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_FLOAT_EQ(s[0][0][0][0].item<float>(), 100.0f / 255.0f);  // image 2, pixel 0: 2 * 50
  EXPECT_FLOAT_EQ(s[0][0][0][3].item<float>(), 103.0f / 255.0f);
  EXPECT_EQ(s[1].item<int64_t>(), 9);
  EXPECT_EQ(values(test.labels()), (std::vector<double>{1, 2}));
  // Without a transform a batch is gathered directly and the tensors can be shared with workers;
  // with one, the DataLoader must go through get_many (which applies it).
  std::optional<std::vector<Tensor>> batch = train.get_batch({2, 0});
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(shape((*batch)[0]), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_EQ(values((*batch)[1]), (std::vector<double>{9, 5}));
  EXPECT_EQ(train.shareable_tensors().size(), 2u);
  datasets::MNIST doubled(dir.path(), true, [](const Tensor& x) { return x * 2.0; });
  EXPECT_FALSE(doubled.get_batch({0}).has_value());
  EXPECT_TRUE(doubled.shareable_tensors().empty());
  EXPECT_FLOAT_EQ(doubled.get_many({2})[0][0][0][0][0].item<float>(), 200.0f / 255.0f);
}

TEST(MNISTTest, ConsistencyErrorsNameTheFiles) {
  {
    TempDir dir;
    write_split(dir, "train", 3, {5, 0}, true);
    EXPECT_HPML_ERROR(datasets::MNIST(dir.path()), "MNIST", "train-images-idx3-ubyte.gz", "3 images",
                      "train-labels-idx1-ubyte.gz", "2 labels");
  }
  {
    TempDir dir;
    write_split(dir, "train", 2, {5, 0}, false, {2, 27, 28});
    EXPECT_HPML_ERROR(datasets::MNIST(dir.path()), "MNIST", dir.file("train-images-idx3-ubyte"), "[2, 27, 28]",
                      "[N, 28, 28]");
  }
  {
    TempDir dir;
    write_split(dir, "train", 3, {5, 10, 1}, false);
    EXPECT_HPML_ERROR(datasets::MNIST(dir.path()), dir.file("train-labels-idx1-ubyte"), "byte 9", "label 10",
                      "[0, 10)");
  }
  {
    TempDir dir;
    EXPECT_HPML_ERROR(datasets::MNIST(dir.path()), "MNIST", "cannot find", dir.file("train-images-idx3-ubyte.gz"),
                      "four IDX files");
    EXPECT_HPML_ERROR(datasets::FashionMNIST(dir.path(), false), "FashionMNIST", "cannot find",
                      dir.file("t10k-images-idx3-ubyte.gz"), "scripts/setup", "dataset-fashion-mnist");
  }
}

}  // namespace
}  // namespace hpml::data
