// Synthetic data (include/hpml/data/synthetic.h) against scikit-learn's semantics: shapes, the
// split of samples between centers and classes, cluster means and spreads (within ~6 standard
// errors), the moons' and circles' geometry, the regression identity y = X coef + bias, seeding and
// argument errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/test_helpers.h"
#include "data/data_test_util.h"

namespace hpml::data {
namespace {

using datatest::shape;
using datatest::values;

std::vector<int64_t> label_counts(const Tensor& y, int64_t classes) {
  std::vector<int64_t> c(static_cast<size_t>(classes), 0);
  for (double v : values(y)) c[static_cast<size_t>(v)] += 1;
  return c;
}

TEST(SyntheticTest, BlobsShapesAndSplit) {
  Blobs b = make_blobs({.n_samples = 100, .seed = 0});
  EXPECT_EQ(shape(b.X), (std::vector<int64_t>{100, 2}));
  EXPECT_EQ(b.X.dtype(), kFloat32);
  EXPECT_EQ(shape(b.y), (std::vector<int64_t>{100}));
  EXPECT_EQ(b.y.dtype(), kInt64);
  EXPECT_EQ(shape(b.centers), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(label_counts(b.y, 3), (std::vector<int64_t>{34, 33, 33}));  // the first centers get the extra
  // Centers are drawn in center_box.
  EXPECT_GE(b.centers.min().item<float>(), -10.0f);
  EXPECT_LE(b.centers.max().item<float>(), 10.0f);
  Blobs w = make_blobs({.n_samples = 10, .n_features = 5, .n_centers = 4, .center_box = {2.0, 3.0}, .seed = 1});
  EXPECT_EQ(label_counts(w.y, 4), (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(shape(w.X), (std::vector<int64_t>{10, 5}));
  EXPECT_GE(w.centers.min().item<float>(), 2.0f);
  EXPECT_LE(w.centers.max().item<float>(), 3.0f);
  // Explicit counts per center; no shuffle keeps the centers in order; f64 on request.
  Blobs e = make_blobs({.samples_per_center = {2, 0, 3}, .shuffle = false, .seed = 2, .dtype = kFloat64});
  EXPECT_EQ(values(e.y), (std::vector<double>{0, 0, 2, 2, 2}));
  EXPECT_EQ(e.X.dtype(), kFloat64);
  EXPECT_EQ(shape(e.centers), (std::vector<int64_t>{3, 2}));
}

TEST(SyntheticTest, BlobsClusterMeansAndSpreads) {
  // Given centers and one std per center: each cluster's mean lies within 6 standard errors
  // (std / sqrt(n)) of its center, and its sample std within 6 standard errors (about std / sqrt(2n)).
  Tensor centers = tensor({{0.0, 0.0, 0.0}, {10.0, -5.0, 2.0}, {-3.0, 7.0, 30.0}}, kFloat64);
  const std::vector<double> sd{1.0, 0.5, 3.0};
  Blobs b = make_blobs({.n_samples = 6000, .centers = centers, .cluster_std = sd, .seed = 3, .dtype = kFloat64});
  EXPECT_EQ(shape(b.X), (std::vector<int64_t>{6000, 3}));
  EXPECT_EQ(values(b.centers), values(centers));
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<int64_t> idx;
    const std::vector<double> labels = values(b.y);
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == static_cast<double>(c)) idx.push_back(static_cast<int64_t>(i));
    Tensor rows = index_select(b.X, 0, tensor(idx));
    ASSERT_EQ(rows.size(0), 2000);
    const double s = sd[static_cast<size_t>(c)], n = 2000;
    for (int64_t f = 0; f < 3; ++f) {
      Tensor col = rows.select(1, f);
      EXPECT_NEAR(col.mean().item<double>(), centers[c][f].item<double>(), 6 * s / std::sqrt(n)) << "center " << c;
      EXPECT_NEAR(col.std().item<double>(), s, 6 * s / std::sqrt(2 * n)) << "center " << c;
    }
  }
}

TEST(SyntheticTest, BlobsSeedingAndErrors) {
  EXPECT_EQ(values(make_blobs({.seed = 9}).X), values(make_blobs({.seed = 9}).X));
  EXPECT_NE(values(make_blobs({.seed = 9}).X), values(make_blobs({.seed = 10}).X));
  manual_seed(4);
  Tensor a = make_blobs().X;
  manual_seed(4);
  EXPECT_EQ(values(make_blobs().X), values(a));
  EXPECT_HPML_ERROR(make_blobs({.cluster_std = {1.0, 2.0}}), "make_blobs", "cluster_std has 2 values", "3 centers");
  EXPECT_HPML_ERROR(make_blobs({.cluster_std = {-1.0}}), "make_blobs", "negative");
  EXPECT_HPML_ERROR(make_blobs({.n_centers = 0}), "make_blobs", "at least one center");
  EXPECT_HPML_ERROR(make_blobs({.n_samples = -1}), "make_blobs", "n_samples");
  EXPECT_HPML_ERROR(make_blobs({.centers = zeros({3})}), "make_blobs", "centers must be", "[3]");
  EXPECT_HPML_ERROR(make_blobs({.samples_per_center = {1, 2}, .centers = zeros({3, 2})}), "make_blobs", "2 entries",
                    "3 centers");
  EXPECT_HPML_ERROR(make_blobs({.center_box = {1.0, -1.0}}), "make_blobs", "center_box");
  EXPECT_HPML_ERROR(make_blobs({.dtype = kInt64}), "make_blobs", "dtype");
}

TEST(SyntheticTest, MoonsGeometry) {
  Labelled m = make_moons({.n_samples = 7, .shuffle = false});
  EXPECT_EQ(shape(m.X), (std::vector<int64_t>{7, 2}));
  EXPECT_EQ(values(m.y), (std::vector<double>{0, 0, 0, 1, 1, 1, 1}));  // 7 / 2 = 3 outer, 4 inner
  // Outer: the unit circle's upper half from (1, 0) to (-1, 0); inner: the lower half of the unit
  // circle around (1, 0.5), from (0, 0.5) to (2, 0.5).
  Labelled big = make_moons({.n_samples = 501, .seed = 5, .dtype = kFloat64});
  Tensor X = big.X, y = big.y;
  for (int64_t i = 0; i < X.size(0); ++i) {
    const double px = X[i][0].item<double>(), py = X[i][1].item<double>();
    if (y[i].item<int64_t>() == 0) {
      EXPECT_NEAR(px * px + py * py, 1.0, 1e-12);
      EXPECT_GE(py, -1e-12);
    } else {
      EXPECT_NEAR((px - 1) * (px - 1) + (py - 0.5) * (py - 0.5), 1.0, 1e-12);
      EXPECT_LE(py, 0.5 + 1e-12);
    }
  }
  EXPECT_EQ(label_counts(y, 2), (std::vector<int64_t>{250, 251}));
  Labelled ends = make_moons({.n_samples = 4, .shuffle = false, .dtype = kFloat64});
  EXPECT_EQ(values(ends.X.select(0, 0)), (std::vector<double>{1, 0}));
  EXPECT_NEAR(ends.X[1][0].item<double>(), -1, 1e-15);
  EXPECT_NEAR(ends.X[2][0].item<double>(), 0, 1e-15);
  EXPECT_NEAR(ends.X[2][1].item<double>(), 0.5, 1e-15);
  EXPECT_NEAR(ends.X[3][0].item<double>(), 2, 1e-15);
  // Noise: Gaussian with the given std on every coordinate (the same seed without shuffling draws
  // the same noise, so the difference to the clean points is the noise itself).
  Tensor clean = make_moons({.n_samples = 4000, .shuffle = false, .seed = 1, .dtype = kFloat64}).X;
  Tensor noisy = make_moons({.n_samples = 4000, .shuffle = false, .noise = 0.1, .seed = 1, .dtype = kFloat64}).X;
  const double sd = (noisy - clean).std().item<double>();
  EXPECT_NEAR(sd, 0.1, 6 * 0.1 / std::sqrt(2 * 8000.0));
  EXPECT_HPML_ERROR(make_moons({.noise = -1}), "make_moons", "noise");
}

TEST(SyntheticTest, CirclesGeometry) {
  Labelled c = make_circles({.n_samples = 9, .shuffle = false, .factor = 0.5, .dtype = kFloat64});
  EXPECT_EQ(values(c.y), (std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1, 1}));
  for (int64_t i = 0; i < 9; ++i) {
    const double r = c.X[i].norm().item<double>();
    EXPECT_NEAR(r, i < 4 ? 1.0 : 0.5, 1e-12);
  }
  // Evenly spaced without repeating the start: the outer 4 points are at 0, 90, 180, 270 degrees.
  EXPECT_NEAR(c.X[1][0].item<double>(), 0, 1e-12);
  EXPECT_NEAR(c.X[1][1].item<double>(), 1, 1e-12);
  EXPECT_NEAR(c.X[2][0].item<double>(), -1, 1e-12);
  Labelled d = make_circles({.n_samples = 200, .seed = 3});
  EXPECT_EQ(d.X.dtype(), kFloat32);
  EXPECT_EQ(label_counts(d.y, 2), (std::vector<int64_t>{100, 100}));
  Tensor r = d.X.norm(2, {1});
  Tensor expected = where(d.y.eq(0), ones({200}), full({200}, 0.8));
  EXPECT_LT((r - expected).abs().max().item<float>(), 1e-6f);
  EXPECT_HPML_ERROR(make_circles({.factor = 1.0}), "make_circles", "factor", "[0, 1)");
  EXPECT_HPML_ERROR(make_circles({.n_samples = -2}), "make_circles", "n_samples");
}

TEST(SyntheticTest, RegressionIsLinear) {
  Regression r = make_regression(
      {.n_samples = 200, .n_features = 20, .n_informative = 5, .bias = 3.5, .seed = 7, .dtype = kFloat64});
  EXPECT_EQ(shape(r.X), (std::vector<int64_t>{200, 20}));
  EXPECT_EQ(shape(r.y), (std::vector<int64_t>{200}));
  EXPECT_EQ(shape(r.coef), (std::vector<int64_t>{20}));
  EXPECT_LT((matmul(r.X, r.coef) + 3.5 - r.y).abs().max().item<double>(), 1e-9);
  // 5 informative coefficients in [0, 100), shuffled among the features; the rest 0.
  int nonzero = 0;
  for (double v : values(r.coef)) {
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 100);
    nonzero += v != 0;
  }
  EXPECT_EQ(nonzero, 5);
  // X is standard normal.
  EXPECT_NEAR(r.X.mean().item<double>(), 0, 6 / std::sqrt(4000.0));
  EXPECT_NEAR(r.X.std().item<double>(), 1, 6 / std::sqrt(8000.0));

  // Several targets; n_informative above n_features is capped; f32.
  Regression m = make_regression({.n_samples = 50, .n_features = 4, .n_informative = 10, .n_targets = 3, .seed = 1});
  EXPECT_EQ(shape(m.y), (std::vector<int64_t>{50, 3}));
  EXPECT_EQ(shape(m.coef), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(m.X.dtype(), kFloat32);
  EXPECT_GT(m.coef.amin().item<float>(), 0.0f);
  EXPECT_LT((matmul(m.X, m.coef) - m.y).abs().max().item<float>(), 1e-3f);

  // Noise: the residual has the noise's std.
  Regression n = make_regression({.n_samples = 5000, .n_features = 3, .noise = 2.0, .seed = 2, .dtype = kFloat64});
  const double sd = (n.y - matmul(n.X, n.coef)).std().item<double>();
  EXPECT_NEAR(sd, 2.0, 6 * 2.0 / std::sqrt(2 * 5000.0));
  EXPECT_HPML_ERROR(make_regression({.n_features = 0}), "make_regression", "n_features");
  EXPECT_HPML_ERROR(make_regression({.n_targets = 0}), "make_regression", "n_targets");
  EXPECT_HPML_ERROR(make_regression({.noise = -0.5}), "make_regression", "noise");
}

}  // namespace
}  // namespace hpml::data
