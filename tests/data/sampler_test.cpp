// Samplers (include/hpml/data/sampler.h) against torch.utils.data's semantics: each sampler's size
// and epoch contents, reproducibility from a generator or hpml::manual_seed, WeightedRandomSampler's
// frequencies, DistributedSampler's padding / drop_last / split across replicas, BatchSampler's
// grouping, and every argument error. What involves no random numbers (DistributedSampler without
// shuffle, BatchSampler over a SequentialSampler, RandomSampler's lengths) is compared with PyTorch
// 1.13 itself: tests/python/sampler_torch.py run with /usr/bin/python3 (python3-torch) prints it as
// JSON; the test fails, never skips, when Python or torch is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/test_helpers.h"
#include "hpml/data/sampler.h"

namespace hpml::data {
namespace {

using nlohmann::json;
using Indices = std::vector<int64_t>;

Indices iota_vec(int64_t n, int64_t start = 0) {
  Indices v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

Indices sorted(Indices v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool is_permutation_of_range(const Indices& v, int64_t n) { return sorted(v) == iota_vec(n); }

// The fixture, produced once per test binary run.
const json& torch_fixture() {
  static const json fixture = [] {
    constexpr const char* kPython = "/usr/bin/python3";
    const std::string script =
        (std::filesystem::path(HPML_TESTS_DIR) / "python" / "sampler_torch.py").string();
    if (!std::filesystem::exists(kPython)) {
      ADD_FAILURE() << kPython << " is missing (Debian: apt-get install python3-torch)";
      return json::object();
    }
    const std::string cmd = std::string(kPython) + " '" + script + "' 2>&1";
    std::string text;
    FILE* p = ::popen(cmd.c_str(), "r");
    std::array<char, 4096> buf{};
    while (p && std::fgets(buf.data(), static_cast<int>(buf.size()), p)) text += buf.data();
    if ((p ? ::pclose(p) : -1) != 0) {
      ADD_FAILURE() << "the PyTorch fixture script sampler_torch.py failed (needs python3-torch):\n" << text;
      return json::object();
    }
    return json::parse(text);
  }();
  return fixture;
}

// ---- SequentialSampler ----------------------------------------------------------------------

TEST(SequentialSamplerTest, YieldsZeroToNMinusOne) {
  SequentialSampler s(7);
  EXPECT_EQ(s.size(), 7);
  EXPECT_EQ(s.epoch_indices(), iota_vec(7));
  EXPECT_EQ(s.epoch_indices(), iota_vec(7));  // every epoch
  SequentialSampler empty(0);
  EXPECT_EQ(empty.size(), 0);
  EXPECT_TRUE(empty.epoch_indices().empty());
  EXPECT_HPML_ERROR(SequentialSampler(-1), "SequentialSampler", "non-negative", "-1");
}

// ---- RandomSampler --------------------------------------------------------------------------

TEST(RandomSamplerTest, EpochIsAPermutation) {
  auto gen = std::make_shared<Generator>(123);
  RandomSampler s(100, {.generator = gen});
  EXPECT_EQ(s.size(), 100);
  EXPECT_FALSE(s.replacement());
  const Indices a = s.epoch_indices();
  EXPECT_TRUE(is_permutation_of_range(a, 100));
  EXPECT_NE(a, iota_vec(100));
  RandomSampler one(1);
  EXPECT_EQ(one.epoch_indices(), Indices{0});
}

TEST(RandomSamplerTest, SameSeedSameOrderAndEpochsDiffer) {
  Generator g1(42), g2(42);
  RandomSampler a(50, {.generator = &g1});
  RandomSampler b(50, {.generator = &g2});
  const Indices a1 = a.epoch_indices(), a2 = a.epoch_indices(), a3 = a.epoch_indices();
  EXPECT_EQ(a1, b.epoch_indices());
  EXPECT_EQ(a2, b.epoch_indices());
  EXPECT_EQ(a3, b.epoch_indices());
  EXPECT_NE(a1, a2);
  EXPECT_NE(a2, a3);
  EXPECT_TRUE(is_permutation_of_range(a2, 50));
  // The borrowed generator is the one that advanced.
  EXPECT_GT(g1.offset(), 0U);
  Generator g3(43);
  RandomSampler c(50, {.generator = &g3});
  EXPECT_NE(c.epoch_indices(), a1);
}

TEST(RandomSamplerTest, SharedGeneratorIsSharedAcrossSamplers) {
  // Two samplers over one generator take turns drawing from it, as in PyTorch.
  auto shared = std::make_shared<Generator>(9);
  RandomSampler a(30, {.generator = shared});
  RandomSampler b(30, {.generator = shared});
  const Indices a1 = a.epoch_indices(), b1 = b.epoch_indices();
  EXPECT_NE(a1, b1);
  Generator fresh(9);
  RandomSampler c(30, {.generator = &fresh});
  EXPECT_EQ(c.epoch_indices(), a1);
  EXPECT_EQ(c.epoch_indices(), b1);
}

TEST(RandomSamplerTest, ManualSeedMakesEpochsReproducible) {
  manual_seed(2024);
  RandomSampler a(40);
  const Indices a1 = a.epoch_indices(), a2 = a.epoch_indices();
  RandomSampler ar(40, {.replacement = true, .num_samples = 40});
  const Indices r1 = ar.epoch_indices();
  EXPECT_NE(a1, a2);
  EXPECT_TRUE(is_permutation_of_range(a1, 40));
  EXPECT_TRUE(is_permutation_of_range(a2, 40));
  manual_seed(2024);
  RandomSampler b(40);
  EXPECT_EQ(b.epoch_indices(), a1);
  EXPECT_EQ(b.epoch_indices(), a2);
  RandomSampler br(40, {.replacement = true, .num_samples = 40});
  EXPECT_EQ(br.epoch_indices(), r1);
  // Each epoch draws one seed from the default generator.
  manual_seed(2024);
  const uint64_t before = default_generator().offset();
  (void)b.epoch_indices();
  EXPECT_EQ(default_generator().offset(), before + 1);
}

TEST(RandomSamplerTest, NumSamplesWithoutReplacementChainsPermutations) {
  Generator g(5);
  RandomSampler s(10, {.num_samples = 25, .generator = &g});
  EXPECT_EQ(s.size(), 25);
  const Indices e = s.epoch_indices();
  ASSERT_EQ(e.size(), 25U);
  EXPECT_TRUE(is_permutation_of_range(Indices(e.begin(), e.begin() + 10), 10));
  EXPECT_TRUE(is_permutation_of_range(Indices(e.begin() + 10, e.begin() + 20), 10));
  const std::set<int64_t> tail(e.begin() + 20, e.end());
  EXPECT_EQ(tail.size(), 5U);
  EXPECT_LT(*tail.rbegin(), 10);
  // Fewer than n: the start of one permutation.
  RandomSampler few(10, {.num_samples = 4});
  const Indices f = few.epoch_indices();
  EXPECT_EQ(f.size(), 4U);
  EXPECT_EQ(std::set<int64_t>(f.begin(), f.end()).size(), 4U);
}

TEST(RandomSamplerTest, WithReplacementIsUniform) {
  Generator g(77);
  constexpr int64_t kN = 5, kDraws = 100000;
  RandomSampler s(kN, {.replacement = true, .num_samples = kDraws, .generator = &g});
  EXPECT_EQ(s.size(), kDraws);
  EXPECT_TRUE(s.replacement());
  const Indices e = s.epoch_indices();
  ASSERT_EQ(static_cast<int64_t>(e.size()), kDraws);
  std::map<int64_t, int64_t> count;
  for (int64_t i : e) ++count[i];
  ASSERT_EQ(count.size(), static_cast<size_t>(kN));
  const double p = 1.0 / kN, se = std::sqrt(kDraws * p * (1 - p));
  for (auto [i, c] : count) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, kN);
    EXPECT_NEAR(static_cast<double>(c), kDraws * p, 6 * se) << "index " << i;
  }
  // More samples than the dataset, or fewer.
  RandomSampler small(3, {.replacement = true, .num_samples = 2});
  EXPECT_EQ(small.epoch_indices().size(), 2U);
}

TEST(RandomSamplerTest, LengthsMatchPyTorch) {
  const json& fx = torch_fixture();
  ASSERT_TRUE(fx.contains("random_len"));
  int cases = 0;
  for (const json& c : fx["random_len"]) {
    const int64_t n = c["n"];
    RandomSamplerOptions o{.replacement = c["replacement"].get<bool>()};
    if (!c["num_samples"].is_null()) o.num_samples = c["num_samples"].get<int64_t>();
    RandomSampler s(n, o);
    EXPECT_EQ(s.size(), c["len"].get<int64_t>()) << c.dump();
    EXPECT_EQ(static_cast<int64_t>(s.epoch_indices().size()), c["count"].get<int64_t>()) << c.dump();
    ++cases;
  }
  EXPECT_EQ(cases, 48);
}

TEST(RandomSamplerTest, ArgumentErrors) {
  EXPECT_HPML_ERROR(RandomSampler(-2), "RandomSampler", "non-negative", "-2");
  EXPECT_HPML_ERROR(RandomSampler(0), "RandomSampler", "num_samples should be a positive integer value",
                    "num_samples=0", "dataset size");
  EXPECT_HPML_ERROR(RandomSampler(5, {.num_samples = 0}), "RandomSampler", "num_samples=0");
  EXPECT_HPML_ERROR(RandomSampler(5, {.replacement = true, .num_samples = -3}), "RandomSampler", "num_samples=-3");
  EXPECT_HPML_ERROR(RandomSampler(0, {.num_samples = 4}), "RandomSampler", "empty dataset", "num_samples=4");
  EXPECT_HPML_ERROR(RandomSampler(0, {.replacement = true, .num_samples = 4}), "RandomSampler", "empty dataset");
}

// ---- SubsetRandomSampler --------------------------------------------------------------------

TEST(SubsetRandomSamplerTest, YieldsTheSubsetShuffled) {
  const Indices subset = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38};  // 38 twice
  auto gen = std::make_shared<Generator>(1);
  SubsetRandomSampler s(subset, gen);
  EXPECT_EQ(s.size(), static_cast<int64_t>(subset.size()));
  EXPECT_EQ(s.indices(), subset);
  const Indices e1 = s.epoch_indices(), e2 = s.epoch_indices();
  EXPECT_EQ(sorted(e1), sorted(subset));
  EXPECT_EQ(sorted(e2), sorted(subset));
  EXPECT_NE(e1, e2);
  EXPECT_NE(e1, subset);
  // The same seed gives the same orders.
  SubsetRandomSampler t(subset, std::make_shared<Generator>(1));
  EXPECT_EQ(t.epoch_indices(), e1);
  EXPECT_EQ(t.epoch_indices(), e2);
  // Empty is fine (as PyTorch).
  SubsetRandomSampler empty({});
  EXPECT_EQ(empty.size(), 0);
  EXPECT_TRUE(empty.epoch_indices().empty());
}

TEST(SubsetRandomSamplerTest, DefaultGeneratorFollowsManualSeed) {
  const Indices subset = iota_vec(30, 100);
  manual_seed(11);
  SubsetRandomSampler a(subset);
  const Indices a1 = a.epoch_indices(), a2 = a.epoch_indices();
  EXPECT_NE(a1, a2);
  manual_seed(11);
  SubsetRandomSampler b(subset, nullptr);
  EXPECT_EQ(b.epoch_indices(), a1);
  EXPECT_EQ(b.epoch_indices(), a2);
}

TEST(SubsetRandomSamplerTest, ArgumentErrors) {
  EXPECT_HPML_ERROR(SubsetRandomSampler({0, 4, -1}), "SubsetRandomSampler", "non-negative", "indices[2] = -1");
}

// ---- WeightedRandomSampler ------------------------------------------------------------------

// Counts per index over one epoch.
std::vector<int64_t> counts(const Indices& e, size_t n) {
  std::vector<int64_t> c(n, 0);
  for (int64_t i : e) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, static_cast<int64_t>(n));
    if (i >= 0 && i < static_cast<int64_t>(n)) ++c[static_cast<size_t>(i)];
  }
  return c;
}

void expect_frequencies(const std::vector<int64_t>& c, const std::vector<double>& w, int64_t draws) {
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  for (size_t i = 0; i < w.size(); ++i) {
    const double p = w[i] / sum;
    if (p == 0) {
      EXPECT_EQ(c[i], 0) << "index " << i << " has weight zero";
      continue;
    }
    const double se = std::sqrt(static_cast<double>(draws) * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(c[i]), static_cast<double>(draws) * p, 6 * se) << "index " << i;
  }
}

TEST(WeightedRandomSamplerTest, FrequenciesFollowTheWeights) {
  const std::vector<double> w = {1.0, 2.0, 0.0, 3.5, 0.25, 10.0, 0.0};
  constexpr int64_t kDraws = 100000;
  Generator g(31);
  WeightedRandomSampler s(w, kDraws, {.generator = &g});
  EXPECT_EQ(s.size(), kDraws);
  EXPECT_TRUE(s.replacement());
  EXPECT_EQ(s.weights(), w);
  const Indices e = s.epoch_indices();
  ASSERT_EQ(static_cast<int64_t>(e.size()), kDraws);
  expect_frequencies(counts(e, w.size()), w, kDraws);
  // A zero weight at either end is never drawn either.
  const std::vector<double> ends = {0.0, 1.0, 1.0, 0.0};
  WeightedRandomSampler t(ends, kDraws, {.generator = &g});
  expect_frequencies(counts(t.epoch_indices(), ends.size()), ends, kDraws);
}

TEST(WeightedRandomSamplerTest, TensorWeightsAndReproducibility) {
  const std::vector<double> w = {0.5, 0.1, 0.9, 0.3};
  Tensor wt = from_blob(const_cast<double*>(w.data()), {4}, kFloat64).to(kFloat32);
  const std::vector<double> w32 = {static_cast<double>(0.5f), static_cast<double>(0.1f), static_cast<double>(0.9f),
                                   static_cast<double>(0.3f)};
  Generator g1(8), g2(8);
  WeightedRandomSampler a(wt, 50, {.generator = &g1});
  WeightedRandomSampler b(w32, 50, {.generator = &g2});
  EXPECT_EQ(a.weights(), w32);
  const Indices a1 = a.epoch_indices(), a2 = a.epoch_indices();
  EXPECT_EQ(a1, b.epoch_indices());
  EXPECT_EQ(a2, b.epoch_indices());
  EXPECT_NE(a1, a2);
  // Without a generator: the default generator, so manual_seed reproduces the epochs.
  manual_seed(3);
  WeightedRandomSampler c(w, 50);
  WeightedRandomSampler d(w, 3, {.replacement = false});
  const Indices c1 = c.epoch_indices(), d1 = d.epoch_indices(), c2 = c.epoch_indices();
  manual_seed(3);
  EXPECT_EQ(c.epoch_indices(), c1);
  EXPECT_EQ(d.epoch_indices(), d1);
  EXPECT_EQ(c.epoch_indices(), c2);
}

TEST(WeightedRandomSamplerTest, WithoutReplacementDrawsDistinctPositiveIndices) {
  const std::vector<double> w = {0.0, 4.0, 1.0, 0.0, 2.0, 0.5, 0.0, 2.5};  // five positive
  Generator g(17);
  WeightedRandomSampler all(w, 5, {.replacement = false, .generator = &g});
  WeightedRandomSampler some(w, 3, {.replacement = false, .generator = &g});
  EXPECT_FALSE(all.replacement());
  EXPECT_EQ(all.size(), 5);
  for (int epoch = 0; epoch < 200; ++epoch) {
    const Indices e = all.epoch_indices();
    EXPECT_EQ(sorted(e), (Indices{1, 2, 4, 5, 7}));
    const Indices f = some.epoch_indices();
    ASSERT_EQ(f.size(), 3U);
    EXPECT_EQ(std::set<int64_t>(f.begin(), f.end()).size(), 3U);
    for (int64_t i : f) EXPECT_GT(w[static_cast<size_t>(i)], 0) << "drew index " << i << " of weight zero";
  }
}

TEST(WeightedRandomSamplerTest, WithoutReplacementDrawsSuccessively) {
  // torch.multinomial without replacement draws one index at a time with probability
  // proportional to the weights left: the first draw follows w / sum, and the second, given the
  // first was i, follows w / (sum - w[i]).
  const std::vector<double> w = {1.0, 2.0, 3.0, 4.0};
  constexpr int64_t kEpochs = 40000;
  Generator g(2);
  WeightedRandomSampler s(w, 2, {.replacement = false, .generator = &g});
  std::vector<int64_t> first(4, 0), second_after_3(4, 0);
  int64_t after_3 = 0;
  for (int64_t k = 0; k < kEpochs; ++k) {
    const Indices e = s.epoch_indices();
    ++first[static_cast<size_t>(e[0])];
    if (e[0] == 3) {
      ++after_3;
      ++second_after_3[static_cast<size_t>(e[1])];
    }
  }
  expect_frequencies(first, w, kEpochs);
  expect_frequencies(second_after_3, {1.0, 2.0, 3.0, 0.0}, after_3);
}

TEST(WeightedRandomSamplerTest, ArgumentErrors) {
  const std::vector<double> ok = {1.0, 2.0};
  EXPECT_HPML_ERROR(WeightedRandomSampler(ok, 0), "WeightedRandomSampler",
                    "num_samples should be a positive integer value", "num_samples=0");
  EXPECT_HPML_ERROR(WeightedRandomSampler(ok, -5), "WeightedRandomSampler", "num_samples=-5");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{1.0, -0.5, 2.0}, 3), "WeightedRandomSampler",
                    "non-negative", "weights[1] = -0.5");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{1.0, 2.0, NAN}, 3), "WeightedRandomSampler", "finite",
                    "weights[2] = nan");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{INFINITY, 1.0}, 3), "WeightedRandomSampler", "finite",
                    "weights[0] = inf");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{0.0, 0.0, 0.0}, 1), "WeightedRandomSampler",
                    "sum to 0", "all 3 are zero");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{}, 1), "WeightedRandomSampler", "empty");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{1.5e308, 1.5e308}, 1), "WeightedRandomSampler",
                    "overflows");
  EXPECT_HPML_ERROR(WeightedRandomSampler(std::vector<double>{1.0, 0.0, 2.0, 0.0}, 3, {.replacement = false}),
                    "WeightedRandomSampler", "num_samples=3", "without replacement", "only 2 of the 4");
  EXPECT_HPML_ERROR(WeightedRandomSampler(zeros({2, 3}, kFloat64), 1), "WeightedRandomSampler", "1d",
                    "shape (2, 3)");
  EXPECT_HPML_ERROR(WeightedRandomSampler(Tensor(), 1), "WeightedRandomSampler", "undefined");
  // With replacement, more samples than positive weights is fine.
  WeightedRandomSampler many(std::vector<double>{1.0, 0.0}, 10);
  EXPECT_EQ(many.epoch_indices(), Indices(10, 0));
}

// ---- DistributedSampler ---------------------------------------------------------------------

TEST(DistributedSamplerTest, WithoutShuffleMatchesPyTorch) {
  const json& fx = torch_fixture();
  ASSERT_TRUE(fx.contains("distributed"));
  int cases = 0;
  for (const json& c : fx["distributed"]) {
    const int64_t n = c["n"], replicas = c["replicas"];
    const bool drop_last = c["drop_last"];
    for (int64_t r = 0; r < replicas; ++r) {
      DistributedSampler s(n, replicas, r, {.shuffle = false, .drop_last = drop_last});
      EXPECT_EQ(s.size(), c["len"].get<int64_t>()) << c.dump();
      EXPECT_EQ(s.total_size(), s.size() * replicas);
      EXPECT_EQ(s.epoch_indices(), c["ranks"][static_cast<size_t>(r)].get<Indices>())
          << "n=" << n << " replicas=" << replicas << " rank=" << r << " drop_last=" << drop_last;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 110);
}

TEST(DistributedSamplerTest, SizesFollowPyTorchFormulas) {
  for (int64_t n : {0, 1, 2, 3, 4, 5, 9, 10, 11, 100, 101, 1000}) {
    for (int64_t r : {1, 2, 3, 4, 7, 8, 16}) {
      DistributedSampler pad(n, r, r - 1);
      DistributedSampler drop(n, r, 0, {.drop_last = true});
      // Without drop_last: ceil(n / R) each, padded to a multiple of R; with it: floor(n / R).
      EXPECT_EQ(pad.size(), (n + r - 1) / r) << n << " " << r;
      EXPECT_EQ(pad.total_size(), (n + r - 1) / r * r);
      EXPECT_EQ(drop.size(), n / r) << n << " " << r;
      EXPECT_EQ(drop.total_size(), n / r * r);
      EXPECT_EQ(static_cast<int64_t>(pad.epoch_indices().size()), pad.size());
      EXPECT_EQ(static_cast<int64_t>(drop.epoch_indices().size()), drop.size());
    }
  }
  // n < replicas: everyone gets one index (repeating from the start), or nothing with drop_last.
  DistributedSampler few(3, 8, 6, {.shuffle = false});
  EXPECT_EQ(few.epoch_indices(), Indices{0});
  DistributedSampler none(3, 8, 6, {.drop_last = true});
  EXPECT_TRUE(none.epoch_indices().empty());
}

TEST(DistributedSamplerTest, WithoutShuffleTakesEveryRthIndex) {
  DistributedSampler s(20, 4, 1, {.shuffle = false});
  EXPECT_EQ(s.epoch_indices(), (Indices{1, 5, 9, 13, 17}));
  s.set_epoch(3);  // no effect without shuffle
  EXPECT_EQ(s.epoch_indices(), (Indices{1, 5, 9, 13, 17}));
  DistributedSampler padded(10, 4, 3, {.shuffle = false});
  EXPECT_EQ(padded.epoch_indices(), (Indices{3, 7, 1}));  // 0..9 then 0, 1 as padding
  DistributedSampler dropped(10, 4, 3, {.shuffle = false, .drop_last = true});
  EXPECT_EQ(dropped.epoch_indices(), (Indices{3, 7}));
}

// The ranks' epochs interleaved: entry rank + k * R is rank's k-th index (PyTorch's subsampling).
Indices interleave(const std::vector<Indices>& ranks) {
  Indices all;
  for (size_t k = 0; k < ranks[0].size(); ++k)
    for (const Indices& r : ranks) all.push_back(r[k]);
  return all;
}

std::vector<Indices> all_ranks(int64_t n, int64_t replicas, int64_t epoch, DistributedSamplerOptions o) {
  std::vector<Indices> out;
  for (int64_t r = 0; r < replicas; ++r) {
    DistributedSampler s(n, replicas, r, o);  // one sampler per replica, as in separate processes
    s.set_epoch(epoch);
    EXPECT_EQ(s.epoch(), epoch);
    out.push_back(s.epoch_indices());
  }
  return out;
}

TEST(DistributedSamplerTest, ShuffledRanksShareOnePermutation) {
  for (auto [n, replicas] : std::vector<std::pair<int64_t, int64_t>>{{10, 3}, {12, 4}, {7, 2}, {3, 5}, {50, 8}}) {
    // Without drop_last: interleaving the ranks gives one permutation of 0..n-1 followed by its
    // own start as padding, so the ranks together cover the dataset.
    const Indices all = interleave(all_ranks(n, replicas, 0, {.seed = 7}));
    ASSERT_EQ(static_cast<int64_t>(all.size()), (n + replicas - 1) / replicas * replicas);
    const Indices perm(all.begin(), all.begin() + n);
    EXPECT_TRUE(is_permutation_of_range(perm, n)) << n << " " << replicas;
    for (size_t i = static_cast<size_t>(n); i < all.size(); ++i) EXPECT_EQ(all[i], perm[(i - static_cast<size_t>(n)) % perm.size()]);
    EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), static_cast<size_t>(n));
    // With drop_last: the start of the same permutation, each index at most once.
    const Indices kept = interleave(all_ranks(n, replicas, 0, {.seed = 7, .drop_last = true}));
    EXPECT_EQ(static_cast<int64_t>(kept.size()), n / replicas * replicas);
    EXPECT_EQ(kept, Indices(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(kept.size())));
  }
}

TEST(DistributedSamplerTest, EpochAndSeedDetermineTheOrder) {
  const int64_t n = 40, replicas = 4;
  DistributedSampler s(n, replicas, 2, {.seed = 5});
  EXPECT_EQ(s.epoch(), 0);
  const Indices e0 = s.epoch_indices();
  EXPECT_EQ(s.epoch_indices(), e0);  // the same epoch again until set_epoch
  s.set_epoch(1);
  const Indices e1 = s.epoch_indices();
  EXPECT_NE(e1, e0);
  s.set_epoch(0);
  EXPECT_EQ(s.epoch_indices(), e0);
  // Another sampler of the same rank (another process) agrees; another seed does not.
  DistributedSampler twin(n, replicas, 2, {.seed = 5});
  EXPECT_EQ(twin.epoch_indices(), e0);
  DistributedSampler other(n, replicas, 2, {.seed = 6});
  EXPECT_NE(other.epoch_indices(), e0);
  // The permutation comes from a generator seeded with seed + epoch: seed 6 at epoch 0 is seed 5
  // at epoch 1.
  EXPECT_EQ(other.epoch_indices(), e1);
  // Independent of the default generator.
  manual_seed(1);
  EXPECT_EQ(twin.epoch_indices(), e0);
  manual_seed(2);
  EXPECT_EQ(twin.epoch_indices(), e0);
  EXPECT_EQ(s.num_replicas(), replicas);
  EXPECT_EQ(s.rank(), 2);
}

TEST(DistributedSamplerTest, ArgumentErrors) {
  EXPECT_HPML_ERROR(DistributedSampler(10, 4, 4), "DistributedSampler", "Invalid rank 4",
                    "rank should be in the interval [0, 3]");
  EXPECT_HPML_ERROR(DistributedSampler(10, 4, -1), "DistributedSampler", "Invalid rank -1", "[0, 3]");
  EXPECT_HPML_ERROR(DistributedSampler(10, 0, 0), "DistributedSampler", "num_replicas must be positive", "got 0");
  EXPECT_HPML_ERROR(DistributedSampler(10, -2, 0), "DistributedSampler", "num_replicas", "-2");
  EXPECT_HPML_ERROR(DistributedSampler(-1, 2, 0), "DistributedSampler", "non-negative", "-1");
}

// ---- BatchSampler ---------------------------------------------------------------------------

TEST(BatchSamplerTest, MatchesPyTorch) {
  const json& fx = torch_fixture();
  ASSERT_TRUE(fx.contains("batch"));
  int cases = 0;
  for (const json& c : fx["batch"]) {
    BatchSampler b(std::make_shared<SequentialSampler>(c["n"].get<int64_t>()), c["batch_size"].get<int64_t>(),
                   c["drop_last"].get<bool>());
    EXPECT_EQ(b.size(), c["len"].get<int64_t>()) << c.dump();
    EXPECT_EQ(b.epoch_batches(), c["batches"].get<std::vector<Indices>>()) << c.dump();
    ++cases;
  }
  EXPECT_EQ(cases, 84);
}

TEST(BatchSamplerTest, SizesAndGrouping) {
  for (int64_t n : {0, 1, 9, 10, 11, 100}) {
    for (int64_t bs : {1, 3, 10, 128}) {
      auto seq = std::make_shared<SequentialSampler>(n);
      BatchSampler keep(seq, bs, false), drop(seq, bs, true);
      EXPECT_EQ(keep.size(), (n + bs - 1) / bs);
      EXPECT_EQ(drop.size(), n / bs);
      EXPECT_EQ(static_cast<int64_t>(keep.epoch_batches().size()), keep.size());
      EXPECT_EQ(static_cast<int64_t>(drop.epoch_batches().size()), drop.size());
      EXPECT_EQ(keep.batch_size(), bs);
      EXPECT_TRUE(drop.drop_last());
      EXPECT_EQ(keep.sampler(), seq);
    }
  }
  // Over a random sampler: the batches, joined, are one epoch of it.
  auto gen = std::make_shared<Generator>(4);
  BatchSampler b(std::make_shared<RandomSampler>(23, RandomSamplerOptions{.generator = gen}), 5, false);
  const auto batches = b.epoch_batches();
  ASSERT_EQ(batches.size(), 5U);
  Indices joined;
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ(batches[i].size(), i + 1 < batches.size() ? 5U : 3U);
    joined.insert(joined.end(), batches[i].begin(), batches[i].end());
  }
  EXPECT_TRUE(is_permutation_of_range(joined, 23));
  RandomSampler same(23, {.generator = std::make_shared<Generator>(4)});
  EXPECT_EQ(joined, same.epoch_indices());
  EXPECT_NE(b.epoch_batches(), batches);  // the next epoch
  BatchSampler dropped(std::make_shared<RandomSampler>(23), 5, true);
  for (const Indices& batch : dropped.epoch_batches()) EXPECT_EQ(batch.size(), 5U);
}

TEST(BatchSamplerTest, ArgumentErrors) {
  auto seq = std::make_shared<SequentialSampler>(4);
  EXPECT_HPML_ERROR(BatchSampler(seq, 0, false), "BatchSampler",
                    "batch_size should be a positive integer value, but got batch_size=0");
  EXPECT_HPML_ERROR(BatchSampler(seq, -3, true), "BatchSampler", "batch_size=-3");
  EXPECT_HPML_ERROR(BatchSampler(nullptr, 2, false), "BatchSampler", "sampler is null");
}

}  // namespace
}  // namespace hpml::data
