// Transforms (include/hpml/data/transforms.h): Normalize per channel and its fit, Lambda, Compose,
// RandomHorizontalFlip, RandomCrop with padding, TransformedDataset, and their errors.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <utility>

#include "core/test_helpers.h"
#include "data/data_test_util.h"

namespace hpml::data {
namespace {

using datatest::shape;
using datatest::values;

TEST(TransformsTest, NormalizePerChannelImage) {
  // [2, 2, 2]: channel 0 all 1, channel 1 all 3.
  Tensor x = cat({ones({1, 2, 2}), full({1, 2, 2}, 3.0)});
  Tensor y = transforms::Normalize({1.0, 2.0}, {0.5, 4.0})(x);
  EXPECT_EQ(shape(y), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(y.dtype(), kFloat32);
  EXPECT_EQ(values(y), (std::vector<double>{0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25}));
  // A batch [B, C, H, W] uses dim -3 too; f64 stays f64.
  Tensor yb = transforms::Normalize({1.0, 2.0}, {0.5, 4.0})(x.to(kFloat64).unsqueeze(0));
  EXPECT_EQ(yb.dtype(), kFloat64);
  EXPECT_EQ(values(yb), values(y));
}

TEST(TransformsTest, NormalizeFeaturesAndScalar) {
  Tensor f = tensor({1.0, 2.0, 3.0});
  EXPECT_EQ(values(transforms::Normalize({1, 0, 1}, {1, 2, 0.5})(f)), (std::vector<double>{0, 1, 4}));
  // One value normalizes every element, whatever the shape.
  EXPECT_EQ(values(transforms::Normalize({1}, {2})(tensor({{1.0, 3.0}, {5.0, 7.0}}))),
            (std::vector<double>{0, 1, 2, 3}));
}

TEST(TransformsTest, NormalizeErrors) {
  EXPECT_HPML_ERROR(transforms::Normalize({0.5, 0.5}, {1.0}), "Normalize", "2 values", "1");
  EXPECT_HPML_ERROR(transforms::Normalize({0.5}, {0.0}), "Normalize", "zero");
  EXPECT_HPML_ERROR(transforms::Normalize({}, {}), "Normalize", "empty");
  transforms::Normalize n3({0, 0, 0}, {1, 1, 1});
  EXPECT_HPML_ERROR(n3(zeros({2, 4, 4})), "Normalize", "3 means", "2 channels");
  EXPECT_HPML_ERROR(n3(zeros({4})), "Normalize", "3 means", "4 features");
  EXPECT_HPML_ERROR(n3(zeros({3, 3})), "Normalize", "[3, 3]");
  EXPECT_HPML_ERROR(transforms::Normalize({0}, {1})(zeros({3}, kUInt8)), "Normalize", "floating", "u8");
}

TEST(TransformsTest, NormalizeFitComputesPopulationStatistics) {
  // 5000 samples [2, 3, 3] (more than one batch of fit): channel 0 ~ 10 + 2 N(0, 1), channel 1 ~ -3 + 0.5 N(0, 1).
  Generator g(3);
  Tensor x = randn({5000, 2, 3, 3}, &g, kFloat64);
  x = x * tensor({2.0, 0.5}, kFloat64).view({1, 2, 1, 1}) + tensor({10.0, -3.0}, kFloat64).view({1, 2, 1, 1});
  TensorDataset ds({x.to(kFloat32), zeros({5000}, kInt64)});
  transforms::Normalize n = transforms::Normalize::fit(ds);
  ASSERT_EQ(n.mean().size(), 2u);
  Tensor xf = x.to(kFloat32).to(kFloat64);
  for (int64_t c = 0; c < 2; ++c) {
    Tensor ch = xf.select(1, c);
    const double mean = ch.mean().item<double>(), sd = ch.std({}, /*correction=*/0).item<double>();
    EXPECT_NEAR(n.mean()[static_cast<size_t>(c)], mean, 1e-9 * std::abs(mean) + 1e-12);
    EXPECT_NEAR(n.std()[static_cast<size_t>(c)], sd, 1e-9 * sd);
  }
  // Applied to the data it was fit on, each channel has mean 0 and std 1.
  EXPECT_EQ(shape(n(x.to(kFloat32)[0])), (std::vector<int64_t>{2, 3, 3}));
  Tensor z = n(x.to(kFloat32)).to(kFloat64);  // [5000, 2, 3, 3]: channels are dim -3 here too
  for (int64_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(z.select(1, c).mean().item<double>(), 0.0, 1e-5);
    EXPECT_NEAR(z.select(1, c).std({}, 0).item<double>(), 1.0, 1e-5);
  }

  // Feature vectors: one statistic per feature; a 0-d field (the labels): one.
  TensorDataset feats({tensor({{1.0, 10.0}, {3.0, 10.0}, {5.0, 40.0}, {7.0, 40.0}}), arange(0, 4, 1, kInt64)});
  transforms::Normalize nf = transforms::Normalize::fit(feats);
  EXPECT_EQ(nf.mean(), (std::vector<double>{4, 25}));
  EXPECT_NEAR(nf.std()[0], std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(nf.std()[1], 15.0, 1e-12);
  transforms::Normalize nl = transforms::Normalize::fit(feats, 1);
  EXPECT_EQ(nl.mean(), (std::vector<double>{1.5}));
  EXPECT_NEAR(nl.std()[0], std::sqrt(1.25), 1e-12);
}

TEST(TransformsTest, NormalizeFitErrors) {
  TensorDataset ds({tensor({{1.0, 5.0}, {2.0, 5.0}})});
  EXPECT_HPML_ERROR(transforms::Normalize::fit(ds), "Normalize::fit", "channel 1", "constant");
  EXPECT_HPML_ERROR(transforms::Normalize::fit(ds, 1), "Normalize::fit", "TensorDataset", "1 fields", "no field 1");
  TensorDataset empty_ds({zeros({0, 3})});
  EXPECT_HPML_ERROR(transforms::Normalize::fit(empty_ds), "Normalize::fit", "empty");
}

TEST(TransformsTest, LambdaAndCompose) {
  transforms::Compose c({transforms::Lambda([](const Tensor& x) { return x + 1.0; }),
                         [](const Tensor& x) { return x * 10.0; }, transforms::Normalize({5}, {5})});
  EXPECT_EQ(values(c(tensor({0.0, 1.0}))), (std::vector<double>{1, 3}));  // ((x + 1) * 10 - 5) / 5
  EXPECT_EQ(c.transforms().size(), 3u);
  EXPECT_EQ(values(transforms::Compose({})(tensor({2.0}))), (std::vector<double>{2}));
  EXPECT_HPML_ERROR(transforms::Lambda(nullptr), "Lambda", "empty");
  EXPECT_HPML_ERROR(transforms::Compose({Transform()}), "Compose", "transform 0", "empty");
}

TEST(TransformsTest, RandomHorizontalFlip) {
  Tensor img = arange(0, 6, 1, kFloat32).reshape({1, 2, 3});
  EXPECT_EQ(values(transforms::RandomHorizontalFlip(1.0)(img)), (std::vector<double>{2, 1, 0, 5, 4, 3}));
  EXPECT_EQ(values(transforms::RandomHorizontalFlip(0.0)(img)), values(img));
  // p = 0.5: about half flipped (binomial, 2000 draws: 6 standard deviations = 134).
  Generator g(11);
  transforms::RandomHorizontalFlip flip(0.5, &g);
  int flipped = 0;
  for (int i = 0; i < 2000; ++i) flipped += flip(img)[0][0][0].item<float>() == 2.0f;
  EXPECT_NEAR(flipped, 1000, 134);
  // The same generator state gives the same decisions.
  Generator a(5), b(5);
  transforms::RandomHorizontalFlip fa(0.5, &a), fb(0.5, &b);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(values(fa(img)), values(fb(img)));
  EXPECT_HPML_ERROR(transforms::RandomHorizontalFlip(1.5), "RandomHorizontalFlip", "[0, 1]");
  EXPECT_HPML_ERROR(transforms::RandomHorizontalFlip()(scalar_tensor(1.0)), "RandomHorizontalFlip", "dimension");
}

TEST(TransformsTest, RandomCropWithPaddingCoversEveryOffset) {
  // A 1 x 5 x 5 image of 1..25, padded by 2 with zeros and cropped back to 5 x 5: the crop is the
  // padded image's window at some (i, j) in [0, 4]^2, and every offset occurs.
  Tensor img = arange(1, 26, 1, kFloat32).reshape({1, 5, 5});
  Tensor padded = pad(img, {2, 2, 2, 2});
  Generator g(1);
  transforms::RandomCrop crop(5, {.padding = 2, .generator = &g});
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int k = 0; k < 1000; ++k) {
    Tensor c = crop(img);
    ASSERT_EQ(shape(c), (std::vector<int64_t>{1, 5, 5}));
    bool found = false;
    for (int64_t i = 0; i <= 4 && !found; ++i)
      for (int64_t j = 0; j <= 4 && !found; ++j)
        if (values(padded.narrow(1, i, 5).narrow(2, j, 5)) == values(c)) found = true, seen.insert({i, j});
    ASSERT_TRUE(found) << "the crop is no window of the padded image";
  }
  EXPECT_EQ(seen.size(), 25u);
  // Without padding, a crop of the full size is the image itself.
  EXPECT_EQ(values(transforms::RandomCrop(5)(img)), values(img));
}

TEST(TransformsTest, RandomCropSizesAndErrors) {
  Tensor img = ones({3, 8, 6});
  EXPECT_EQ(shape(transforms::RandomCrop({4, 2})(img)), (std::vector<int64_t>{3, 4, 2}));
  EXPECT_EQ(shape(transforms::RandomCrop(2)(ones({8, 6}))), (std::vector<int64_t>{2, 2}));
  // pad_if_needed pads a small image up to the crop, with `fill`.
  Tensor small = ones({1, 3, 3});
  Tensor c = transforms::RandomCrop(5, {.pad_if_needed = true, .fill = 7})(small);
  EXPECT_EQ(shape(c), (std::vector<int64_t>{1, 5, 5}));
  double ones_count = 0, sevens = 0;
  for (double v : values(c)) ones_count += v == 1, sevens += v == 7;
  EXPECT_EQ(ones_count + sevens, 25);
  EXPECT_HPML_ERROR(transforms::RandomCrop(10)(img), "RandomCrop", "(10, 10)", "(8, 6)");
  EXPECT_HPML_ERROR(transforms::RandomCrop(0), "RandomCrop", "positive");
  EXPECT_HPML_ERROR(transforms::RandomCrop(3, {.padding = -1}), "RandomCrop", "padding");
  EXPECT_HPML_ERROR(transforms::RandomCrop(1)(ones({4})), "RandomCrop", "[..., H, W]");
}

TEST(TransformsTest, TransformedDatasetAppliesBothTransforms) {
  auto base = std::make_shared<TensorDataset>(
      std::vector<Tensor>{arange(0, 8, 1, kFloat32).reshape({4, 2}), arange(0, 4, 1, kInt64)});
  TransformedDataset ds(
      base, [](const Tensor& x) { return x * 2.0; }, [](const Tensor& y) { return y + 100; });
  EXPECT_EQ(ds.size(), 4);
  EXPECT_EQ(ds.name(), "TransformedDataset(TensorDataset)");
  Sample s = ds.get(3);
  EXPECT_EQ(values(s[0]), (std::vector<double>{12, 14}));
  EXPECT_EQ(s[1].item<int64_t>(), 103);
  std::vector<Sample> b = ds.get_many({1, 3});
  EXPECT_EQ(values(b[0][0]), (std::vector<double>{4, 6}));
  EXPECT_EQ(b[1][1].item<int64_t>(), 103);
  // Only an input transform: the target is untouched.
  TransformedDataset only_x(base, transforms::Normalize({1}, {1}));
  EXPECT_EQ(only_x.get(0)[1].item<int64_t>(), 0);
  EXPECT_EQ(values(only_x.get(0)[0]), (std::vector<double>{-1, 0}));

  auto one_field = std::make_shared<TensorDataset>(std::vector<Tensor>{zeros({2})});
  TransformedDataset bad(one_field, Transform(), [](const Tensor& y) { return y; });
  EXPECT_HPML_ERROR(bad.get(0), "TransformedDataset(TensorDataset)", "target_transform", "1 field");
  TransformedDataset undefined_out(base, [](const Tensor&) { return Tensor(); });
  EXPECT_HPML_ERROR(undefined_out.get(0), "TransformedDataset", "undefined");
  EXPECT_HPML_ERROR(ds.get(4), "TensorDataset", "index 4");
  EXPECT_HPML_ERROR(TransformedDataset(nullptr, Transform()), "TransformedDataset", "null");
}

}  // namespace
}  // namespace hpml::data
