// The samplers of torch.utils.data with PyTorch 1.13's semantics: sizes, argument checks, how an
// epoch is drawn and, for DistributedSampler, the padding and the split across replicas. The
// random draws come from hpml::Generator, so a seed gives the same orders as in hpml, not as in
// PyTorch; everything that does not depend on random numbers equals PyTorch's exactly.
#include "hpml/data/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "hpml/core/error.h"
#include "hpml/ops/factories.h"

namespace hpml::data {
namespace {

// randperm(n, gen) as a vector.
std::vector<int64_t> permutation(int64_t n, Generator* gen) {
  Tensor p = randperm(n, gen).contiguous();
  const int64_t* d = p.data_ptr<int64_t>();
  return std::vector<int64_t>(d, d + n);
}

// Uniform in [0, n), n > 0.
int64_t uniform_index(Generator& g, int64_t n) {
  return static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(n));
}

std::string shape_str(const Tensor& t) {
  std::string s = "(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.sizes()[static_cast<size_t>(d)]);
  return s + (t.dim() == 1 ? ",)" : ")");
}

}  // namespace

// ---- SequentialSampler ----------------------------------------------------------------------

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
  HPML_CHECK(n >= 0, "SequentialSampler: the dataset size must be non-negative, got ", n);
}

std::vector<int64_t> SequentialSampler::epoch_indices() {
  std::vector<int64_t> out(static_cast<size_t>(n_));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

// ---- RandomSampler --------------------------------------------------------------------------

RandomSampler::RandomSampler(int64_t n, RandomSamplerOptions options)
    : n_(n), num_samples_(options.num_samples.value_or(n)), replacement_(options.replacement),
      generator_(std::move(options.generator)) {
  HPML_CHECK(n >= 0, "RandomSampler: the dataset size must be non-negative, got ", n);
  HPML_CHECK(num_samples_ > 0, "RandomSampler: num_samples should be a positive integer value, but got num_samples=",
             num_samples_, options.num_samples ? "" : " (the dataset size, as num_samples was not given)");
  HPML_CHECK(n > 0, "RandomSampler: cannot draw num_samples=", num_samples_, " samples from an empty dataset");
}

std::vector<int64_t> RandomSampler::epoch_indices() {
  // PyTorch: without a generator, each epoch seeds a fresh one from the default generator.
  Generator local;
  Generator* g = generator_.get();
  if (!g) {
    local.manual_seed(default_generator().next_u64());
    g = &local;
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  if (replacement_) {
    for (int64_t i = 0; i < num_samples_; ++i) out.push_back(uniform_index(*g, n_));
    return out;
  }
  // Whole permutations, then the start of one more (PyTorch 1.13).
  for (int64_t k = 0; k < num_samples_ / n_; ++k) {
    std::vector<int64_t> p = permutation(n_, g);
    out.insert(out.end(), p.begin(), p.end());
  }
  if (const int64_t rest = num_samples_ % n_; rest > 0) {
    std::vector<int64_t> p = permutation(n_, g);
    out.insert(out.end(), p.begin(), p.begin() + rest);
  }
  return out;
}

// ---- SubsetRandomSampler --------------------------------------------------------------------

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices, SamplerGenerator generator)
    : indices_(std::move(indices)), generator_(std::move(generator)) {
  for (size_t i = 0; i < indices_.size(); ++i)
    HPML_CHECK(indices_[i] >= 0, "SubsetRandomSampler: indices must be non-negative, got indices[", i,
               "] = ", indices_[i]);
}

std::vector<int64_t> SubsetRandomSampler::epoch_indices() {
  std::vector<int64_t> order = permutation(size(), generator_.get());
  for (int64_t& i : order) i = indices_[static_cast<size_t>(i)];
  return order;
}

// ---- WeightedRandomSampler ------------------------------------------------------------------

namespace {

std::vector<double> weights_from_tensor(const Tensor& w) {
  HPML_CHECK(w.defined(), "WeightedRandomSampler: weights is an undefined tensor");
  HPML_CHECK(w.dim() == 1, "WeightedRandomSampler: weights should be a 1d sequence but given weights have shape ",
             shape_str(w));
  Tensor c = w.to(kFloat64).contiguous();
  const double* d = c.data_ptr<double>();
  return std::vector<double>(d, d + c.numel());
}

}  // namespace

WeightedRandomSampler::WeightedRandomSampler(const Tensor& weights, int64_t num_samples,
                                             WeightedRandomSamplerOptions options)
    : WeightedRandomSampler(weights_from_tensor(weights), num_samples, std::move(options)) {}

WeightedRandomSampler::WeightedRandomSampler(std::vector<double> weights, int64_t num_samples,
                                             WeightedRandomSamplerOptions options)
    : weights_(std::move(weights)), num_samples_(num_samples), replacement_(options.replacement),
      generator_(std::move(options.generator)) {
  HPML_CHECK(num_samples > 0,
             "WeightedRandomSampler: num_samples should be a positive integer value, but got num_samples=", num_samples);
  HPML_CHECK(!weights_.empty(), "WeightedRandomSampler: weights is empty; it needs at least one positive weight");
  cumulative_.resize(weights_.size());
  double sum = 0;
  int64_t positive = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const double w = weights_[i];
    HPML_CHECK(std::isfinite(w) && w >= 0, "WeightedRandomSampler: weights must be finite and non-negative, got weights[",
               i, "] = ", w);
    sum += w;
    cumulative_[i] = sum;
    positive += w > 0;
  }
  HPML_CHECK(sum > 0, "WeightedRandomSampler: the weights sum to 0 (all ", weights_.size(),
             " are zero); at least one must be positive");
  HPML_CHECK(std::isfinite(sum), "WeightedRandomSampler: the weights' sum overflows to ", sum);
  HPML_CHECK(replacement_ || num_samples <= positive, "WeightedRandomSampler: cannot draw num_samples=", num_samples,
             " without replacement: only ", positive, " of the ", weights_.size(), " weights are positive");
}

std::vector<int64_t> WeightedRandomSampler::epoch_indices() {
  Generator& g = generator_ ? *generator_.get() : default_generator();
  const size_t n = weights_.size();
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  if (replacement_) {
    // Inverse CDF: the first i with cumulative[i] > u * sum. A zero weight's running sum equals its
    // predecessor's, so it is never the first to exceed u * sum.
    const double total = cumulative_.back();
    size_t last_positive = n - 1;
    while (weights_[last_positive] == 0) --last_positive;
    for (int64_t k = 0; k < num_samples_; ++k) {
      const double u = g.next_double() * total;
      const size_t i = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
      out.push_back(static_cast<int64_t>(std::min(i, last_positive)));  // u * total may round up to total
    }
    return out;
  }
  // Without replacement (as torch.multinomial does it): with E_i ~ Exp(1) independent, the indices
  // ordered by E_i / w_i are distributed as successive draws, each with probability proportional to
  // the weights left. A zero weight's key is +inf, after every positive one.
  std::vector<std::pair<double, int64_t>> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const double e = -std::log1p(-g.next_double());  // 1 - u in (0, 1]
    keys[i] = {weights_[i] > 0 ? e / weights_[i] : INFINITY, static_cast<int64_t>(i)};
  }
  const auto mid = keys.begin() + num_samples_;
  std::partial_sort(keys.begin(), mid, keys.end());
  for (auto it = keys.begin(); it != mid; ++it) out.push_back(it->second);
  return out;
}

// ---- DistributedSampler ---------------------------------------------------------------------

DistributedSampler::DistributedSampler(int64_t dataset_size, int64_t num_replicas, int64_t rank,
                                       DistributedSamplerOptions options)
    : n_(dataset_size), num_replicas_(num_replicas), rank_(rank), options_(options) {
  HPML_CHECK(dataset_size >= 0, "DistributedSampler: the dataset size must be non-negative, got ", dataset_size);
  HPML_CHECK(num_replicas > 0, "DistributedSampler: num_replicas must be positive, got ", num_replicas);
  HPML_CHECK(rank >= 0 && rank < num_replicas, "DistributedSampler: Invalid rank ", rank,
             ", rank should be in the interval [0, ", num_replicas - 1, "]");
  // PyTorch: ceil((n - R) / R) when dropping the tail of an uneven split, which is floor(n / R);
  // otherwise ceil(n / R).
  num_samples_ = options.drop_last ? n_ / num_replicas : n_ / num_replicas + (n_ % num_replicas != 0);
  total_size_ = num_samples_ * num_replicas;
}

std::vector<int64_t> DistributedSampler::epoch_indices() {
  std::vector<int64_t> order;
  if (options_.shuffle) {
    // Every replica seeds its own generator the same way, so all compute the same permutation.
    Generator g(options_.seed + static_cast<uint64_t>(epoch_));
    order = permutation(n_, &g);
  }
  // The order padded by repeating it from the start up to total_size (or cut to total_size, which
  // is at most n with drop_last), then every num_replicas-th entry from rank.
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(num_samples_));
  for (int64_t k = 0; k < num_samples_; ++k) {
    const int64_t pos = (rank_ + k * num_replicas_) % n_;
    out.push_back(options_.shuffle ? order[static_cast<size_t>(pos)] : pos);
  }
  return out;
}

// ---- BatchSampler ---------------------------------------------------------------------------

BatchSampler::BatchSampler(SamplerPtr sampler, int64_t batch_size, bool drop_last)
    : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
  HPML_CHECK(sampler_ != nullptr, "BatchSampler: sampler is null");
  HPML_CHECK(batch_size > 0, "BatchSampler: batch_size should be a positive integer value, but got batch_size=",
             batch_size);
}

int64_t BatchSampler::size() const {
  const int64_t n = sampler_->size();
  return n / batch_size_ + (!drop_last_ && n % batch_size_ != 0);
}

std::vector<std::vector<int64_t>> BatchSampler::epoch_batches() {
  const std::vector<int64_t> indices = sampler_->epoch_indices();
  const size_t b = static_cast<size_t>(batch_size_);
  std::vector<std::vector<int64_t>> out;
  out.reserve(indices.size() / b + 1);
  for (size_t start = 0; start < indices.size(); start += b) {
    const size_t end = std::min(start + b, indices.size());
    if (end - start < b && drop_last_) break;
    out.emplace_back(indices.begin() + static_cast<std::ptrdiff_t>(start),
                     indices.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

}  // namespace hpml::data
