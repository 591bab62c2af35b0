// make_blobs, make_moons, make_circles, make_regression: scikit-learn's generators on hpml's RNG.
#include "hpml/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "hpml/core/error.h"
#include "hpml/core/generator.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"

namespace hpml::data {

namespace {

// The generator a call draws from: its own, seeded, or the default one.
struct Rng {
  explicit Rng(std::optional<uint64_t> seed) : local(seed.value_or(0)), gen(seed ? &local : &default_generator()) {}
  Generator local;
  Generator* gen;
};

void check_dtype(const char* fn, DType dtype) {
  HPML_CHECK(is_floating(dtype), fn, ": dtype must be floating (f32, f64, bf16 or f16), got ", dtype);
}

// Rows of X (and y) in a random order (sklearn's util.shuffle).
void shuffle_rows(Tensor& X, Tensor& y, Generator* gen) {
  Tensor perm = randperm(X.size(0), gen);
  X = index_select(X, 0, perm);
  y = index_select(y, 0, perm);
}

// [n, 2] f64 from the x and y coordinates.
Tensor points(const std::vector<double>& xs, const std::vector<double>& ys) {
  const int64_t n = static_cast<int64_t>(xs.size());
  Tensor X = empty({n, 2}, kFloat64);
  double* p = X.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) p[2 * i] = xs[static_cast<size_t>(i)], p[2 * i + 1] = ys[static_cast<size_t>(i)];
  return X;
}

// 0 for the first n0 samples, 1 for the next n1.
Tensor two_classes(int64_t n0, int64_t n1) { return cat({zeros({n0}, kInt64), ones({n1}, kInt64)}); }

}  // namespace

Blobs make_blobs(const BlobsOptions& o) {
  check_dtype("make_blobs", o.dtype);
  Rng rng(o.seed);
  std::vector<int64_t> per;
  int64_t nc = 0;
  if (!o.samples_per_center.empty()) {
    per = o.samples_per_center;
    for (size_t c = 0; c < per.size(); ++c)
      HPML_CHECK(per[c] >= 0, "make_blobs: samples_per_center[", c, "] is negative (", per[c], ")");
    nc = static_cast<int64_t>(per.size());
    HPML_CHECK(!o.centers.defined() || o.centers.dim() != 2 || o.centers.size(0) == nc, "make_blobs: ", nc,
               " entries in samples_per_center but ", o.centers.size(0), " centers");
  } else {
    HPML_CHECK(o.n_samples >= 0, "make_blobs: n_samples must be non-negative, got ", o.n_samples);
    nc = o.centers.defined() && o.centers.dim() == 2 ? o.centers.size(0) : o.n_centers;
    HPML_CHECK(nc >= 1, "make_blobs: needs at least one center, got ", nc);
    per.assign(static_cast<size_t>(nc), o.n_samples / nc);
    for (int64_t c = 0; c < o.n_samples % nc; ++c) per[static_cast<size_t>(c)] += 1;
  }

  Tensor centers;  // [nc, nf] f64
  if (o.centers.defined()) {
    HPML_CHECK(o.centers.dim() == 2 && o.centers.size(1) >= 1,
               "make_blobs: centers must be [n_centers, n_features], got shape ", o.centers.sizes());
    centers = o.centers.to(kFloat64).contiguous();
  } else {
    HPML_CHECK(o.n_features >= 1, "make_blobs: n_features must be positive, got ", o.n_features);
    const auto [lo, hi] = o.center_box;
    HPML_CHECK(lo <= hi, "make_blobs: center_box (", lo, ", ", hi, ") is empty");
    centers = uniform({nc, o.n_features}, lo, hi, rng.gen, kFloat64);
  }
  const int64_t nf = centers.size(1);
  const size_t nstd = o.cluster_std.size();
  HPML_CHECK(nstd == 1 || nstd == static_cast<size_t>(nc), "make_blobs: cluster_std has ", nstd, " values for ", nc,
             " centers (give one, or one per center)");
  for (size_t c = 0; c < nstd; ++c)
    HPML_CHECK(o.cluster_std[c] >= 0, "make_blobs: cluster_std[", c, "] is negative (", o.cluster_std[c], ")");

  TensorList xs, ys;
  for (int64_t c = 0; c < nc; ++c) {
    const int64_t n = per[static_cast<size_t>(c)];
    const double sd = o.cluster_std[nstd == 1 ? 0 : static_cast<size_t>(c)];
    xs.push_back(randn({n, nf}, rng.gen, kFloat64) * sd + centers.select(0, c));
    ys.push_back(full({n}, c, kInt64));
  }
  Blobs out{cat(xs), cat(ys), centers.to(o.dtype)};
  if (o.shuffle) shuffle_rows(out.X, out.y, rng.gen);
  out.X = out.X.to(o.dtype);
  return out;
}

namespace {

// The shared end of make_moons and make_circles: the points of the outer curve (label 0) then
// the inner one (label 1), shuffled, with Gaussian noise, in the requested dtype.
template <class Options>
Labelled two_curves(const std::vector<double>& xs, const std::vector<double>& ys, int64_t n_out, int64_t n_in,
                    const Options& o, Rng& rng) {
  Labelled out{points(xs, ys), two_classes(n_out, n_in)};
  if (o.shuffle) shuffle_rows(out.X, out.y, rng.gen);
  if (o.noise > 0) out.X = out.X + normal(0.0, o.noise, {o.n_samples, 2}, rng.gen, kFloat64);
  out.X = out.X.to(o.dtype);
  return out;
}

}  // namespace

Labelled make_moons(const MoonsOptions& o) {
  check_dtype("make_moons", o.dtype);
  HPML_CHECK(o.n_samples >= 0, "make_moons: n_samples must be non-negative, got ", o.n_samples);
  HPML_CHECK(o.noise >= 0, "make_moons: noise must be non-negative, got ", o.noise);
  Rng rng(o.seed);
  const int64_t n_out = o.n_samples / 2, n_in = o.n_samples - n_out;
  std::vector<double> xs, ys;
  // np.linspace(0, pi, n): n points with both ends included.
  auto angle = [](int64_t i, int64_t n) {
    return n == 1 ? 0.0 : std::numbers::pi * static_cast<double>(i) / static_cast<double>(n - 1);
  };
  for (int64_t i = 0; i < n_out; ++i) xs.push_back(std::cos(angle(i, n_out))), ys.push_back(std::sin(angle(i, n_out)));
  for (int64_t i = 0; i < n_in; ++i)
    xs.push_back(1 - std::cos(angle(i, n_in))), ys.push_back(1 - std::sin(angle(i, n_in)) - 0.5);
  return two_curves(xs, ys, n_out, n_in, o, rng);
}

Labelled make_circles(const CirclesOptions& o) {
  check_dtype("make_circles", o.dtype);
  HPML_CHECK(o.n_samples >= 0, "make_circles: n_samples must be non-negative, got ", o.n_samples);
  HPML_CHECK(o.noise >= 0, "make_circles: noise must be non-negative, got ", o.noise);
  HPML_CHECK(o.factor >= 0 && o.factor < 1, "make_circles: factor has to be in [0, 1), got ", o.factor);
  Rng rng(o.seed);
  const int64_t n_out = o.n_samples / 2, n_in = o.n_samples - n_out;
  std::vector<double> xs, ys;
  // np.linspace(0, 2 pi, n, endpoint=False).
  auto angle = [](int64_t i, int64_t n) {
    return 2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n);
  };
  for (int64_t i = 0; i < n_out; ++i) xs.push_back(std::cos(angle(i, n_out))), ys.push_back(std::sin(angle(i, n_out)));
  for (int64_t i = 0; i < n_in; ++i)
    xs.push_back(o.factor * std::cos(angle(i, n_in))), ys.push_back(o.factor * std::sin(angle(i, n_in)));
  return two_curves(xs, ys, n_out, n_in, o, rng);
}

Regression make_regression(const RegressionOptions& o) {
  check_dtype("make_regression", o.dtype);
  HPML_CHECK(o.n_samples >= 0, "make_regression: n_samples must be non-negative, got ", o.n_samples);
  HPML_CHECK(o.n_features >= 1, "make_regression: n_features must be positive, got ", o.n_features);
  HPML_CHECK(o.n_informative >= 0, "make_regression: n_informative must be non-negative, got ", o.n_informative);
  HPML_CHECK(o.n_targets >= 1, "make_regression: n_targets must be positive, got ", o.n_targets);
  HPML_CHECK(o.noise >= 0, "make_regression: noise must be non-negative, got ", o.noise);
  Rng rng(o.seed);
  const int64_t informative = std::min(o.n_features, o.n_informative);
  Tensor X = randn({o.n_samples, o.n_features}, rng.gen, kFloat64);
  Tensor coef = zeros({o.n_features, o.n_targets}, kFloat64);
  if (informative > 0)
    coef.narrow(0, 0, informative).copy_(uniform({informative, o.n_targets}, 0.0, 100.0, rng.gen, kFloat64));
  Tensor y = matmul(X, coef) + o.bias;  // [n, targets]
  if (o.noise > 0) y = y + normal(0.0, o.noise, {o.n_samples, o.n_targets}, rng.gen, kFloat64);
  if (o.shuffle) {
    shuffle_rows(X, y, rng.gen);
    // Permuting the features together with the coefficients leaves X coef unchanged.
    Tensor perm = randperm(o.n_features, rng.gen);
    X = index_select(X, 1, perm);
    coef = index_select(coef, 0, perm);
  }
  if (o.n_targets == 1) y = y.squeeze(1), coef = coef.squeeze(1);
  return {X.to(o.dtype), y.to(o.dtype), coef.to(o.dtype)};
}

}  // namespace hpml::data
