// numpy's legacy RandomState (MT19937, random_sample, legacy_gauss, shuffle) and scikit-learn's
// make_blobs on it, so that the points equal scikit-learn's bit for bit (include/hpml/data/sklearn.h).
#include "hpml/data/sklearn.h"

#include <cmath>

#include "hpml/core/error.h"
#include "hpml/ops/factories.h"

namespace hpml::data {

// Note [numpy's legacy stream]
// Each step is numpy's code (numpy/random/src/mt19937/mt19937.{c,h}, legacy/legacy-distributions.c,
// distributions/distributions.c, mtrand.pyx), kept in the same order of draws:
// - RandomState(int) seeds with mt19937_seed (Knuth's init_genrand recurrence, multiplier
//   1812433253), not init_by_array; the first draw regenerates the 624 words.
// - random_sample: a = next >> 5, b = next >> 6, (a * 2^26 + b) / 2^53.
// - uniform(low, high) is low + (high - low) * random_sample(), in that floating-point order.
// - standard_normal is the polar method: x1, x2 = 2u - 1 until 0 < r2 = x1^2 + x2^2 < 1; it
//   returns f * x2 and keeps f * x1 (f = sqrt(-2 ln r2 / r2)) for the next call.
// - shuffle: for i = n-1 down to 1, swap x[i] with x[random_interval(i)], where random_interval
//   masks a 32-bit draw (64-bit above 2^32 - 1) to the smallest 2^k - 1 >= max and rejects values
//   above max.
// numpy fills an array draw (size=(n, 2), a broadcast loc) in C order, one call per element.

NumpyRandomState::NumpyRandomState(int64_t s) { seed(s); }

void NumpyRandomState::seed(int64_t s) {
  HPML_CHECK(s >= 0 && s <= 0xffffffffLL, "NumpyRandomState: seed must be between 0 and 2**32 - 1, got ", s);
  auto v = static_cast<uint32_t>(s);
  for (uint32_t i = 0; i < 624; ++i) {
    key_[i] = v;
    v = 1812433253U * (v ^ (v >> 30)) + i + 1;  // mod 2^32, as numpy's & 0xffffffff
  }
  pos_ = 624;
  has_gauss_ = false;
  gauss_ = 0;
}

void NumpyRandomState::generate() {
  constexpr uint32_t kUpper = 0x80000000U, kLower = 0x7fffffffU, kMatrix = 0x9908b0dfU;
  auto twist = [&](int i, int next, int far) {
    const uint32_t y = (key_[static_cast<size_t>(i)] & kUpper) | (key_[static_cast<size_t>(next)] & kLower);
    key_[static_cast<size_t>(i)] = key_[static_cast<size_t>(far)] ^ (y >> 1) ^ ((0U - (y & 1U)) & kMatrix);
  };
  int i = 0;
  for (; i < 624 - 397; ++i) twist(i, i + 1, i + 397);
  for (; i < 623; ++i) twist(i, i + 1, i + 397 - 624);
  twist(623, 0, 396);
  pos_ = 0;
}

uint32_t NumpyRandomState::next_uint32() {
  if (pos_ == 624) generate();
  uint32_t y = key_[static_cast<size_t>(pos_++)];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

double NumpyRandomState::random_sample() {
  const uint32_t a = next_uint32() >> 5, b = next_uint32() >> 6;
  return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
}

double NumpyRandomState::uniform(double low, double high) { return low + (high - low) * random_sample(); }

double NumpyRandomState::standard_normal() {
  if (has_gauss_) {
    has_gauss_ = false;
    const double g = gauss_;
    gauss_ = 0;
    return g;
  }
  double x1 = 0, x2 = 0, r2 = 0;
  do {
    x1 = 2.0 * random_sample() - 1.0;
    x2 = 2.0 * random_sample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return f * x2;
}

double NumpyRandomState::normal(double loc, double scale) { return loc + scale * standard_normal(); }

uint64_t NumpyRandomState::random_interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  for (int s : {1, 2, 4, 8, 16, 32}) mask |= mask >> s;
  uint64_t v = 0;
  if (max <= 0xffffffffULL) {
    while ((v = (next_uint32() & mask)) > max) {
    }
  } else {
    while ((v = (((static_cast<uint64_t>(next_uint32()) << 32) | next_uint32()) & mask)) > max) {
    }
  }
  return v;
}

void NumpyRandomState::shuffle(std::vector<int64_t>& x) {
  for (size_t i = x.size() > 0 ? x.size() - 1 : 0; i >= 1; --i) {
    const auto j = static_cast<size_t>(random_interval(i));
    std::swap(x[i], x[j]);
  }
}

namespace {

// The samples of each center, as make_blobs counts them.
std::vector<int64_t> counts_per_center(const BlobsOptions& o) {
  std::vector<int64_t> per = o.samples_per_center;
  if (!per.empty()) {
    for (size_t c = 0; c < per.size(); ++c)
      HPML_CHECK(per[c] >= 0, "sklearn_make_blobs: samples_per_center[", c, "] is negative (", per[c], ")");
    return per;
  }
  HPML_CHECK(o.n_samples >= 0, "sklearn_make_blobs: n_samples must be non-negative, got ", o.n_samples);
  const int64_t nc = o.centers.defined() ? o.centers.size(0) : o.n_centers;
  HPML_CHECK(nc >= 1, "sklearn_make_blobs: needs at least one center, got ", nc);
  per.assign(static_cast<size_t>(nc), o.n_samples / nc);
  for (int64_t c = 0; c < o.n_samples % nc; ++c) per[static_cast<size_t>(c)] += 1;
  return per;
}

// The centers, [nc, nf] f64: given, or generator.uniform(lo, hi, size=(nc, nf)).
Tensor blob_centers(const BlobsOptions& o, int64_t nc, NumpyRandomState& rs) {
  if (o.centers.defined()) {  // its shape is checked by the caller
    HPML_CHECK(o.centers.size(0) == nc, "sklearn_make_blobs: ", nc, " entries in samples_per_center but ",
               o.centers.size(0), " centers");
    return o.centers.to(kFloat64).contiguous();
  }
  HPML_CHECK(o.n_features >= 1, "sklearn_make_blobs: n_features must be positive, got ", o.n_features);
  const auto [lo, hi] = o.center_box;
  HPML_CHECK(std::isfinite(hi - lo), "sklearn_make_blobs: center_box (", lo, ", ", hi, ") is not a finite range");
  Tensor centers = empty({nc, o.n_features}, kFloat64);
  double* p = centers.data_ptr<double>();
  for (int64_t i = 0; i < nc * o.n_features; ++i) p[i] = rs.uniform(lo, hi);
  return centers;
}

}  // namespace

Blobs sklearn_make_blobs(const BlobsOptions& o) {
  HPML_CHECK(is_floating(o.dtype), "sklearn_make_blobs: dtype must be floating (f32, f64, bf16 or f16), got ", o.dtype);
  HPML_CHECK(o.seed.has_value(), "sklearn_make_blobs: needs a seed (scikit-learn's random_state, an int)");
  HPML_CHECK(*o.seed <= 0xffffffffULL, "sklearn_make_blobs: seed must be between 0 and 2**32 - 1, got ", *o.seed);
  HPML_CHECK(!o.centers.defined() || (o.centers.dim() == 2 && o.centers.size(1) >= 1),
             "sklearn_make_blobs: centers must be [n_centers, n_features], got shape ", o.centers.sizes());
  NumpyRandomState rs(static_cast<int64_t>(*o.seed));
  const std::vector<int64_t> per = counts_per_center(o);
  const auto nc = static_cast<int64_t>(per.size());
  const Tensor centers = blob_centers(o, nc, rs);
  const int64_t nf = centers.size(1);
  const size_t nstd = o.cluster_std.size();
  HPML_CHECK(nstd == 1 || nstd == static_cast<size_t>(nc), "sklearn_make_blobs: cluster_std has ", nstd,
             " values for ", nc, " centers (give one, or one per center)");
  int64_t n = 0;
  for (int64_t c : per) {
    HPML_CHECK(c <= (int64_t{1} << 40) / nf - n, "sklearn_make_blobs: too many samples");
    n += c;
  }
  Tensor X = empty({n, nf}, kFloat64), y = empty({n}, kInt64);
  double* px = X.data_ptr<double>();
  int64_t* py = y.data_ptr<int64_t>();
  const double* pc = centers.data_ptr<double>();
  int64_t row = 0;
  for (int64_t c = 0; c < nc; ++c) {  // generator.normal(loc=centers[c], scale=std, size=(n_c, nf))
    const double sd = o.cluster_std[nstd == 1 ? 0 : static_cast<size_t>(c)];
    HPML_CHECK(sd >= 0, "sklearn_make_blobs: cluster_std[", c, "] is negative (", sd, ")");
    for (int64_t r = 0; r < per[static_cast<size_t>(c)]; ++r, ++row) {
      for (int64_t f = 0; f < nf; ++f) px[row * nf + f] = rs.normal(pc[c * nf + f], sd);
      py[row] = c;
    }
  }
  if (o.shuffle) {  // sklearn.utils.shuffle: indices = arange(n); generator.shuffle(indices); X[indices]
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
    rs.shuffle(idx);
    Tensor Xs = empty({n, nf}, kFloat64), ys = empty({n}, kInt64);
    double* qx = Xs.data_ptr<double>();
    int64_t* qy = ys.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = idx[static_cast<size_t>(i)];
      for (int64_t f = 0; f < nf; ++f) qx[i * nf + f] = px[k * nf + f];
      qy[i] = py[k];
    }
    X = Xs, y = ys;
  }
  return {X.to(o.dtype), y, centers.to(o.dtype)};
}

}  // namespace hpml::data
