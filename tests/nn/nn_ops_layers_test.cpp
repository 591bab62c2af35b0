// The layers and ops of the nn-ops family outside the op table: Dropout2d (random, so checked by
// its properties), how the new modules print (strings written down from PyTorch 1.13), the
// modules with two inputs, and the errors for bad input (op name and offending values).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "nn/nn_test_util.h"

namespace hpml {
namespace {

namespace F = nn::functional;
using nntest::error_of;
using nntest::vals;

// ---- Dropout2d --------------------------------------------------------------------------------

// Every (sample, channel) plane of y is either all zeros or x's plane times 1 / (1 - p); returns
// how many planes were dropped.
int64_t check_planes(const Tensor& x, const Tensor& y, double p) {
  const int64_t planes = x.sizes()[0] * x.sizes()[1], per = x.numel() / planes;
  const std::vector<double> xv = vals(x), yv = vals(y);
  int64_t dropped = 0;
  for (int64_t c = 0; c < planes; ++c) {
    const bool zero = yv[c * per] == 0.0;
    dropped += zero;
    for (int64_t i = c * per; i < (c + 1) * per; ++i) {
      if (zero) EXPECT_EQ(yv[i], 0.0) << "plane " << c << " is zero at its first element only";
      else EXPECT_NEAR(yv[i], xv[i] / (1 - p), 1e-6 * std::fabs(xv[i])) << "plane " << c << ", element " << i;
    }
  }
  return dropped;
}

TEST(Dropout2d, ZeroesWholeChannelsAndScalesTheRest) {
  Generator g(5);
  Tensor x = uniform({40, 50, 3, 2}, 0.5, 1.5, &g);  // no zeros: a zero in y means dropped
  const double p = 0.3;
  Tensor y = F::dropout2d(x, p, true, &g);
  const int64_t dropped = check_planes(x, y, p);
  // 2000 planes: the dropped fraction is p within 5 standard deviations (sqrt(p (1 - p) / 2000) ~ 0.01).
  EXPECT_NEAR(static_cast<double>(dropped) / 2000.0, p, 0.05);
}

TEST(Dropout2d, ThreeDimensionalInputIsReadAsNCL) {
  // PyTorch 1.13 treats a 3-d input as [N, C, L] (with a warning): one draw per (n, c) row.
  Generator g(6);
  Tensor x = uniform({30, 20, 7}, 0.5, 1.5, &g);
  Tensor y = F::dropout2d(x, 0.5, true, &g);
  const int64_t dropped = check_planes(x, y, 0.5);
  EXPECT_GT(dropped, 200);
  EXPECT_LT(dropped, 400);
}

TEST(Dropout2d, GradientIsTheMaskTimesTheScale) {
  Generator g(7);
  Tensor x = uniform({6, 8, 2, 3}, 0.5, 1.5, &g).requires_grad_();
  Tensor y = F::dropout2d(x, 0.25, true, &g);
  y.sum().backward();
  const std::vector<double> yv = vals(y), gv = vals(x.grad());
  for (size_t i = 0; i < yv.size(); ++i) EXPECT_NEAR(gv[i], yv[i] == 0.0 ? 0.0 : 1 / 0.75, 1e-6) << i;
}

TEST(Dropout2d, EvalModeAndEdgeProbabilities) {
  Generator g(8);
  Tensor x = randn({2, 3, 4, 4}, &g);
  EXPECT_EQ(vals(F::dropout2d(x, 0.5, false)), vals(x));
  EXPECT_EQ(vals(F::dropout2d(x, 0.0, true)), vals(x));
  for (double v : vals(F::dropout2d(x, 1.0, true))) EXPECT_EQ(v, 0.0);
  nn::Dropout2d m(0.5);
  m.eval();
  EXPECT_EQ(vals(m(x)), vals(x));
  m.train();
  Tensor xp = uniform({8, 16, 2, 2}, 0.5, 1.5, &g);
  check_planes(xp, m(xp), 0.5);
}

TEST(Dropout2d, SameGeneratorSeedSameChannels) {
  Tensor x = ones({4, 10, 2, 2});
  Generator a(42), b(42);
  EXPECT_EQ(vals(F::dropout2d(x, 0.5, true, &a)), vals(F::dropout2d(x, 0.5, true, &b)));
}

TEST(Dropout2d, BadInput) {
  EXPECT_NE(error_of([] { F::dropout2d(ones({3, 4}), 0.5); }).find("dropout2d: expected a 3-d [N, C, L] or 4-d"),
            std::string::npos);
  EXPECT_NE(error_of([] { F::dropout2d(ones({2, 3, 4}), 1.5); }).find("between 0 and 1, but got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::Dropout2d(-0.1); }).find("Dropout2d: probability"), std::string::npos);
}

// ---- printing (expected strings from PyTorch 1.13's repr of the same modules) -------------------

TEST(NNOpsLayers, PrintLikePyTorch) {
  EXPECT_EQ(nn::AvgPool1d(3).repr(), "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))");
  EXPECT_EQ(nn::MaxPool1d(3).repr(), "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)");
  EXPECT_EQ(nn::AdaptiveAvgPool1d(3).repr(), "AdaptiveAvgPool1d(output_size=3)");
  EXPECT_EQ(nn::AdaptiveMaxPool2d(Dims{3, 2}).repr(), "AdaptiveMaxPool2d(output_size=(3, 2))");
  EXPECT_EQ(nn::ConvTranspose2d(2, 4, 3, {.stride = 2, .output_padding = 1, .dilation = 2}).repr(),
            "ConvTranspose2d(2, 4, kernel_size=(3, 3), stride=(2, 2), dilation=(2, 2), output_padding=(1, 1))");
  EXPECT_EQ(nn::ConvTranspose1d(2, 4, 3).repr(), "ConvTranspose1d(2, 4, kernel_size=(3,), stride=(1,))");
  EXPECT_EQ(nn::Conv3d(2, 4, 3, {.padding = 1}).repr(),
            "Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))");
  EXPECT_EQ(nn::Upsample({.scale_factor = {2.0}}).repr(), "Upsample(scale_factor=2.0, mode=nearest)");
  EXPECT_EQ(nn::Upsample({.size = Dims{4, 5}, .mode = "bilinear", .align_corners = true}).repr(),
            "Upsample(size=(4, 5), mode=bilinear)");
  EXPECT_EQ(nn::Unfold(3).repr(), "Unfold(kernel_size=3, dilation=1, padding=0, stride=1)");
  EXPECT_EQ(nn::Fold(Dims{4, 5}, 2, {.stride = 2}).repr(),
            "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=2)");
  EXPECT_EQ(nn::PixelShuffle(2).repr(), "PixelShuffle(upscale_factor=2)");
  EXPECT_EQ(nn::PixelUnshuffle(3).repr(), "PixelUnshuffle(downscale_factor=3)");
  EXPECT_EQ(nn::InstanceNorm1d(3).repr(),
            "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
  EXPECT_EQ(nn::InstanceNorm2d(3, {.affine = true}).repr(),
            "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=False)");
  EXPECT_EQ(nn::Dropout2d().repr(), "Dropout2d(p=0.5, inplace=False)");
  EXPECT_EQ(nn::EmbeddingBag(10, 3).repr(), "EmbeddingBag(10, 3, mode=mean)");
  EXPECT_EQ(nn::EmbeddingBag(10, 3, {.mode = "max", .padding_idx = 2}).repr(),
            "EmbeddingBag(10, 3, mode=max, padding_idx=2)");
  EXPECT_EQ(nn::CosineSimilarity().repr(), "CosineSimilarity()");
  EXPECT_EQ(nn::PairwiseDistance().repr(), "PairwiseDistance()");
}

TEST(NNOpsLayers, ParameterShapesAndBuffersAsPyTorch) {
  nn::ConvTranspose2d ct(4, 6, Dims{3, 2}, {.groups = 2});
  EXPECT_EQ(ct.weight.sizes(), IntArrayRef({4, 3, 3, 2}));  // [in, out / groups, kH, kW]
  EXPECT_EQ(ct.bias.sizes(), IntArrayRef({6}));
  nn::Conv3d c3(4, 6, Dims{3, 2, 1}, {.groups = 2, .bias = false});
  EXPECT_EQ(c3.weight.sizes(), IntArrayRef({6, 2, 3, 2, 1}));
  EXPECT_FALSE(c3.bias.defined());
  nn::InstanceNorm1d plain(3);
  EXPECT_TRUE(plain.state_dict().empty());
  nn::InstanceNorm2d tracked(3, {.track_running_stats = true});
  std::vector<std::string> names;
  for (const auto& [n, t] : tracked.state_dict()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
  nn::EmbeddingBag bag(5, 2, {.padding_idx = -1});
  EXPECT_EQ(bag.padding_idx, 4);
  EXPECT_EQ(vals(bag.weight.select(0, 4)), (std::vector<double>{0.0, 0.0}));
}

// ---- modules with other inputs ------------------------------------------------------------------

TEST(NNOpsLayers, TwoInputModulesMatchTheirFunctions) {
  Generator g(9);
  Tensor a = randn({4, 5}, &g), b = randn({4, 5}, &g);
  EXPECT_EQ(vals(nn::CosineSimilarity(0, 1e-6)(a, b)), vals(cosine_similarity(a, b, 0, 1e-6)));
  EXPECT_EQ(vals(nn::PairwiseDistance(1.0, 1e-3, true)(a, b)), vals(pairwise_distance(a, b, 1.0, 1e-3, true)));
  nn::EmbeddingBag bag(6, 3, {.mode = "sum"});
  Tensor idx = tensor({1, 2, 5, 0}), offs = tensor({0, 1}), w = tensor({0.5, 2.0, -1.0, 1.0});
  // Bag 0 = row 1, bag 1 = rows 2, 5, 0, each weighted.
  Tensor want = stack({bag.weight[1] * 0.5, bag.weight[2] * 2.0 - bag.weight[5] + bag.weight[0]});
  std::vector<double> got = vals(bag(idx, offs, w)), expect = vals(want);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expect[i], 1e-6) << i;
  nn::AdaptiveMaxPool2d pool(Dims{1, 2});
  auto [v, i] = pool.forward_with_indices(tensor({{{1.0, 5.0, 2.0}, {4.0, 3.0, 6.0}}}));
  EXPECT_EQ(vals(v), (std::vector<double>{5.0, 6.0}));  // windows: columns [0, 2) and [1, 3)
  EXPECT_EQ(vals(i), (std::vector<double>{1.0, 5.0}));
}

TEST(NNOpsLayers, InstanceNormTakesUnbatchedInput) {
  Generator g(10);
  Tensor x = randn({3, 8}, &g);  // [C, L]
  nn::InstanceNorm1d m(3);
  std::vector<double> y = vals(m(x)), yb = vals(m(x.unsqueeze(0)).squeeze(0));
  EXPECT_EQ(y, yb);
  // Each channel normalized: mean 0, biased variance 1 / (1 + eps / var) ~ 1.
  for (int c = 0; c < 3; ++c) {
    double s = 0;
    for (int i = 0; i < 8; ++i) s += y[c * 8 + i];
    EXPECT_NEAR(s / 8, 0.0, 1e-6);
  }
}

TEST(NNOpsLayers, PixelUnshuffleOfAnEmptyBatchHasTheDocumentedShape) {
  // PyTorch 1.13 returns an empty input unchanged here; [N, C r^2, H / r, W / r] is what its docs say.
  EXPECT_EQ(pixel_unshuffle(zeros({0, 1, 2, 2}), 2).sizes(), IntArrayRef({0, 4, 1, 1}));
  EXPECT_EQ(pixel_shuffle(zeros({0, 4, 2, 2}), 2).sizes(), IntArrayRef({0, 1, 4, 4}));
}

// ---- bad input ----------------------------------------------------------------------------------

void expect_error(const std::string& err, const std::vector<std::string>& parts) {
  for (const std::string& p : parts) EXPECT_NE(err.find(p), std::string::npos) << "'" << p << "' not in: " << err;
}

TEST(NNOpsErrors, NameTheOpAndTheValues) {
  Tensor x4 = ones({1, 2, 3, 3});
  expect_error(error_of([&] {
                 conv_transpose2d(x4, ones({2, 2, 3, 3}), Tensor(), {.stride = 2, .output_padding = 2});
               }),
               {"conv_transpose2d", "output_padding must be smaller than either stride or dilation", "[2, 2]"});
  expect_error(error_of([&] { conv_transpose2d(ones({2, 3}), ones({2, 2, 3, 3})); }), {"conv_transpose2d", "[2, 3]"});
  expect_error(error_of([&] { conv_transpose2d(x4, ones({3, 2, 3, 3})); }), {"conv_transpose2d", "3 channels"});
  expect_error(error_of([&] {
                 conv_transpose1d(ones({1, 2, 4}), ones({2, 2, 3}), Tensor(), {.stride = 1, .output_padding = 1});
               }),
               {"conv_transpose1d", "output_padding [1], stride [1], dilation [1]"});
  expect_error(error_of([&] { conv3d(ones({2, 3}), ones({2, 2, 3, 3, 3})); }),
               {"conv3d", "4-d [C, D, H, W]", "[2, 3]"});
  expect_error(error_of([&] { conv3d(ones({1, 2, 2, 3, 3}), ones({2, 2, 3, 3, 3})); }),
               {"conv3d", "input depth 2 is smaller than the dilated kernel depth 3"});
  expect_error(error_of([&] { max_pool1d(x4, {.kernel_size = 2}); }), {"max_pool1d", "[1, 2, 3, 3]"});
  expect_error(error_of([&] { max_pool1d(ones({1, 2, 5}), {.kernel_size = 2, .padding = 2}); }),
               {"max_pool1d", "padding 2 for kernel_size 2"});
  expect_error(error_of([&] { avg_pool1d(ones({1, 2, 5}), {.kernel_size = Dims{2, 2}}); }),
               {"avg_pool1d", "kernel_size must have 1 values"});
  expect_error(error_of([&] { adaptive_max_pool2d(ones({2, 3}), 2); }), {"adaptive_max_pool2d", "[2, 3]"});
  expect_error(error_of([&] { unfold(ones({1, 1, 2, 2}), 3); }), {"unfold", "block grid of [0, 0]"});
  expect_error(error_of([&] { fold(ones({1, 4, 9}), Dims{4, 5}, 2); }), {"fold", "12 blocks", "last dim is 9"});
  expect_error(error_of([&] { fold(ones({1, 5, 12}), Dims{4, 5}, 2); }), {"fold", "divisible", "(5)"});
  expect_error(error_of([&] { pixel_shuffle(ones({1, 5, 2, 2}), 2); }),
               {"pixel_shuffle", "(5", "upscale_factor^2 = 4"});
  expect_error(error_of([&] { pixel_unshuffle(ones({1, 1, 3, 2}), 2); }), {"pixel_unshuffle", "(3, 2", "2"});
  expect_error(error_of([&] { interpolate(x4, {.size = 4, .scale_factor = {2.0}}); }),
               {"interpolate", "only one of size or scale_factor"});
  expect_error(error_of([&] { interpolate(ones({1, 2, 3}), {.size = 4, .mode = "bilinear"}); }),
               {"interpolate", "\"bilinear\" needs a 4-d input"});
  expect_error(error_of([&] { interpolate(x4, {.size = 4, .align_corners = true}); }),
               {"interpolate", "align_corners"});
  expect_error(error_of([&] { interpolate(x4, {.size = 4, .mode = "bicubic"}); }), {"interpolate", "\"bicubic\""});
  expect_error(error_of([&] {
                 instance_norm(ones({2, 3, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
               }),
               {"instance_norm", "more than 1 spatial element", "[2, 3, 1]"});
  expect_error(error_of([&] { cosine_similarity(tensor({1, 2}), tensor({3, 4})); }),
               {"cosine_similarity", "floating"});
  expect_error(error_of([&] { normalize(ones({3}), 2.0, 1); }), {"normalize", "dim"});
  Tensor w = ones({5, 2});
  expect_error(error_of([&] {
                 F::embedding_bag(tensor({1, 2}), w, tensor({0}), {.mode = "mean", .per_sample_weights = ones({2})});
               }),
               {"embedding_bag", "per_sample_weights is only supported for mode \"sum\""});
  expect_error(error_of([&] { F::embedding_bag(tensor({1, 7}), w, tensor({0})); }),
               {"embedding_bag", "index 7", "5 embeddings"});
  expect_error(error_of([&] { F::embedding_bag(tensor({1, 2}), w, tensor({1})); }),
               {"embedding_bag", "offsets[0]", "got 1"});
  expect_error(error_of([&] { F::embedding_bag(tensor({1, 2}), w); }), {"embedding_bag", "offsets"});
  expect_error(error_of([&] { F::embedding_bag(tensor({1, 2, 3}), w, tensor({0, 2}), {.include_last_offset = true}); }),
               {"embedding_bag", "last offset must be the number of indices (3), got 2"});
  expect_error(error_of([&] { F::embedding_bag(tensor({1, 2, 3}), w, tensor({0, 2, 1})); }),
               {"embedding_bag", "non-decreasing", "offsets[2] = 1 after 2"});
  expect_error(error_of([&] { F::embedding_bag(tensor({{1, 2}}), w, tensor({0})); }), {"embedding_bag", "2-d input"});
  nn::InstanceNorm2d affine(3, {.affine = true});
  expect_error(error_of([&] { affine(ones({1, 4, 2, 2})); }), {"InstanceNorm2d", "num_features (3)"});
  expect_error(error_of([&] { affine(ones({4, 2})); }), {"InstanceNorm2d", "3-d or 4-d"});
}

}  // namespace
}  // namespace hpml
