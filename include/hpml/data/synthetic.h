// Synthetic data sets with scikit-learn's semantics (sklearn.datasets.make_blobs, make_moons,
// make_circles, make_regression): the same shapes, sample counts, label order, geometry and
// parameter rules. The random streams are hpml's (a Generator seeded with `seed`, or the default
// generator when no seed is given), so the numbers differ from scikit-learn's.
//   auto [X, y, centers] = data::make_blobs({.n_samples = 300, .n_centers = 4, .seed = 0});
//   auto moons = data::make_moons({.n_samples = 200, .noise = 0.1, .seed = 1});
// Features come as f32 (or f64 with .dtype = kFloat64), class labels as i64.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::data {

struct BlobsOptions {
  int64_t n_samples = 100;                       // split as evenly as possible, the first centers getting one more
  std::vector<int64_t> samples_per_center = {};  // or the count of each center (scikit-learn's array n_samples)
  int64_t n_features = 2;
  int64_t n_centers = 3;                    // drawn uniformly in center_box...
  Tensor centers = {};                      // ...unless given: [n_centers, n_features] (sets both counts)
  std::vector<double> cluster_std = {1.0};  // one for every center, or one per center
  std::pair<double, double> center_box = {-10.0, 10.0};
  bool shuffle = true;
  std::optional<uint64_t> seed = std::nullopt;
  DType dtype = kFloat32;
};
struct Blobs {
  Tensor X;        // [n_samples, n_features]
  Tensor y;        // i64 [n_samples]: the center of each sample
  Tensor centers;  // [n_centers, n_features]
};
// Isotropic Gaussian clusters: sample i of center c is centers[c] + cluster_std[c] * N(0, I).
Blobs make_blobs(const BlobsOptions& options = {});

struct MoonsOptions {
  int64_t n_samples = 100;  // the outer moon gets n_samples / 2 (rounded down), the inner the rest
  bool shuffle = true;
  double noise = 0;  // std of Gaussian noise added to every coordinate
  std::optional<uint64_t> seed = std::nullopt;
  DType dtype = kFloat32;
};
struct Labelled {
  Tensor X;  // [n_samples, 2]
  Tensor y;  // i64 [n_samples]
};
// Two interleaving half circles: the outer (label 0) on the unit circle's upper half, the inner
// (label 1) on the lower half of the unit circle centred at (1, 0.5).
Labelled make_moons(const MoonsOptions& options = {});

struct CirclesOptions {
  int64_t n_samples = 100;  // the outer circle gets n_samples / 2 (rounded down), the inner the rest
  bool shuffle = true;
  double noise = 0;
  std::optional<uint64_t> seed = std::nullopt;
  double factor = 0.8;  // the inner circle's radius, in [0, 1)
  DType dtype = kFloat32;
};
// Two concentric circles, evenly spaced points: the outer of radius 1 (label 0), the inner of
// radius `factor` (label 1).
Labelled make_circles(const CirclesOptions& options = {});

struct RegressionOptions {
  int64_t n_samples = 100;
  int64_t n_features = 100;
  int64_t n_informative = 10;  // features with a non-zero coefficient (capped at n_features)
  int64_t n_targets = 1;
  double bias = 0;
  double noise = 0;     // std of Gaussian noise added to y
  bool shuffle = true;  // shuffles the samples and the features
  std::optional<uint64_t> seed = std::nullopt;
  DType dtype = kFloat32;
};
struct Regression {
  Tensor X;     // [n_samples, n_features], standard normal
  Tensor y;     // [n_samples] (n_targets == 1) or [n_samples, n_targets]: X coef + bias + noise
  Tensor coef;  // [n_features] or [n_features, n_targets]: 100 * U(0, 1) on the informative features, else 0
};
// A random linear regression problem. scikit-learn's effective_rank (a low-rank X) is not offered.
Regression make_regression(const RegressionOptions& options = {});

}  // namespace hpml::data
