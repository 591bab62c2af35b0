// scikit-learn's make_blobs bit for bit: numpy's legacy RandomState (MT19937 seeded from an int,
// 53-bit doubles, the polar-method Gaussian, the legacy shuffle) and make_blobs' own steps, so that
// sklearn_make_blobs({..., .seed = 2}) gives the very points of make_blobs(..., random_state=2).
//   auto [X, y, centers] = data::sklearn_make_blobs({.n_samples = 1000, .cluster_std = {2.0}, .seed = 2});
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "hpml/data/synthetic.h"

namespace hpml::data {

// numpy.random.RandomState(seed) for the draws make_blobs needs. Every value equals numpy's,
// including the cached second Gaussian of each polar pair (Note [numpy's legacy stream] in
// src/data/sklearn.cpp).
class NumpyRandomState {
 public:
  explicit NumpyRandomState(int64_t seed);  // an int in [0, 2^32 - 1], as numpy requires
  void seed(int64_t seed);                  // RandomState.seed(seed): also drops the cached Gaussian

  uint32_t next_uint32();  // one tempered MT19937 output (MT19937.random_raw)
  double random_sample();  // [0, 1) with 53 random bits
  double uniform(double low, double high);  // low + (high - low) * random_sample()
  double standard_normal();                 // legacy_gauss
  double normal(double loc, double scale);  // loc + scale * standard_normal()
  uint64_t random_interval(uint64_t max);   // uniform in [0, max], numpy's masked rejection
  void shuffle(std::vector<int64_t>& x);    // RandomState.shuffle of a 1-d array

 private:
  void generate();  // the next 624 words
  std::array<uint32_t, 624> key_{};
  int pos_ = 624;
  bool has_gauss_ = false;
  double gauss_ = 0;
};

// sklearn.datasets.make_blobs with numpy's stream: `seed` (required) is random_state, an int in
// [0, 2^32 - 1]. The options mean what they mean for make_blobs (synthetic.h): n_samples split
// as scikit-learn splits it (or samples_per_center), centers drawn uniformly in center_box unless
// given, one cluster_std or one per center, shuffle. X is computed in f64 and returned in
// `dtype`; y is i64; centers are f64 rounded to `dtype`.
Blobs sklearn_make_blobs(const BlobsOptions& options);

}  // namespace hpml::data
