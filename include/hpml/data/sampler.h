// Samplers (PyTorch's torch.utils.data samplers): each epoch, a Sampler produces the order in
// which a map-style dataset's indices are visited; a BatchSampler groups them into batches. The
// DataLoader asks for one epoch's order in the main process, so the batches (and which samples
// they hold) never depend on how many workers there are or whether they are threads or processes.
//
//   data::SequentialSampler seq(n);                                  // 0, 1, ..., n - 1
//   data::RandomSampler shuffled(n);                                 // a fresh permutation per epoch
//   data::RandomSampler boot(n, {.replacement = true, .num_samples = 10 * n, .generator = gen});
//   data::SubsetRandomSampler val(val_indices, gen);                 // the subset, shuffled
//   data::WeightedRandomSampler balanced(class_weight_per_sample, n);
//   data::DistributedSampler shard(n, world_size, rank, {.seed = 42});  // shard.set_epoch(e) per epoch
//   data::BatchSampler batches(std::make_shared<data::RandomSampler>(n), 64, /*drop_last=*/true);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"

namespace hpml::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Number of indices one epoch yields (len(sampler)).
  virtual int64_t size() const = 0;
  // The next epoch's indices. Random samplers draw from their generator, so consecutive calls
  // give different orders (PyTorch's __iter__).
  virtual std::vector<int64_t> epoch_indices() = 0;
};

using SamplerPtr = std::shared_ptr<Sampler>;

// The generator a random sampler draws from (PyTorch's `generator=` argument): shared (the
// sampler keeps it alive), borrowed (a Generator* the caller keeps alive), or none. Either way
// the sampler and the caller see the same generator, whose state advances as epochs are drawn.
class SamplerGenerator {
 public:
  SamplerGenerator() = default;
  SamplerGenerator(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  SamplerGenerator(std::shared_ptr<Generator> g) : owned_(std::move(g)), ptr_(owned_.get()) {}  // NOLINT
  SamplerGenerator(Generator* g) : ptr_(g) {}  // NOLINT(google-explicit-constructor)
  Generator* get() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  std::shared_ptr<Generator> owned_;
  Generator* ptr_ = nullptr;
};

// 0, 1, ..., n - 1 every epoch (torch.utils.data.SequentialSampler).
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(int64_t n);
  int64_t size() const override { return n_; }
  std::vector<int64_t> epoch_indices() override;

 private:
  int64_t n_;
};

struct RandomSamplerOptions {
  bool replacement = false;
  // Indices per epoch (default: the dataset size). Without replacement, more than n gives
  // whole permutations one after another, then the start of one more (PyTorch 1.13).
  std::optional<int64_t> num_samples = std::nullopt;
  // Without one, each epoch seeds a fresh generator from the default generator, so
  // hpml::manual_seed(s) makes the whole sequence of epochs reproducible (as PyTorch).
  SamplerGenerator generator = {};
};

// A random permutation of 0..n-1 per epoch, or num_samples uniform draws with replacement
// (torch.utils.data.RandomSampler). n is the dataset size.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(int64_t n, RandomSamplerOptions options = {});
  int64_t size() const override { return num_samples_; }
  std::vector<int64_t> epoch_indices() override;
  bool replacement() const { return replacement_; }

 private:
  int64_t n_, num_samples_;
  bool replacement_;
  SamplerGenerator generator_;
};

// The given indices in a random order each epoch (torch.utils.data.SubsetRandomSampler). Without
// a generator it draws from the default generator.
class SubsetRandomSampler : public Sampler {
 public:
  explicit SubsetRandomSampler(std::vector<int64_t> indices, SamplerGenerator generator = {});
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  std::vector<int64_t> epoch_indices() override;
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::vector<int64_t> indices_;
  SamplerGenerator generator_;
};

struct WeightedRandomSamplerOptions {
  bool replacement = true;
  SamplerGenerator generator = {};  // default: the default generator
};

// num_samples indices in 0..len(weights)-1 drawn with probability weights[i] / sum(weights)
// (torch.utils.data.WeightedRandomSampler, i.e. torch.multinomial). Without replacement an index
// is drawn at most once: num_samples may not exceed the number of positive weights, and an index
// of weight zero is never drawn. Weights must be finite and non-negative with a positive sum.
class WeightedRandomSampler : public Sampler {
 public:
  WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, WeightedRandomSamplerOptions options = {});
  // weights: a 1-d tensor of any real dtype.
  WeightedRandomSampler(const Tensor& weights, int64_t num_samples, WeightedRandomSamplerOptions options = {});
  int64_t size() const override { return num_samples_; }
  std::vector<int64_t> epoch_indices() override;
  const std::vector<double>& weights() const { return weights_; }
  bool replacement() const { return replacement_; }

 private:
  std::vector<double> weights_;
  std::vector<double> cumulative_;  // running sums, for drawing with replacement
  int64_t num_samples_;
  bool replacement_;
  SamplerGenerator generator_;
};

struct DistributedSamplerOptions {
  bool shuffle = true;
  uint64_t seed = 0;  // the same on every replica
  bool drop_last = false;
};

// This replica's share of a dataset of `dataset_size` samples split across `num_replicas`
// (torch.utils.data.distributed.DistributedSampler). Every replica computes the same order (a
// permutation from a generator seeded with seed + epoch, or 0..n-1 without shuffle), makes its
// length a multiple of num_replicas (without drop_last by repeating it from the start up to
// ceil(n / R) * R; with drop_last by cutting it to floor(n / R) * R), and takes the indices
// rank, rank + R, rank + 2R, ... Call set_epoch(e) before each epoch so the order changes:
// epoch_indices() gives the same order until then.
class DistributedSampler : public Sampler {
 public:
  DistributedSampler(int64_t dataset_size, int64_t num_replicas, int64_t rank, DistributedSamplerOptions options = {});
  int64_t size() const override { return num_samples_; }
  std::vector<int64_t> epoch_indices() override;
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t epoch() const { return epoch_; }
  int64_t num_replicas() const { return num_replicas_; }
  int64_t rank() const { return rank_; }
  int64_t total_size() const { return total_size_; }  // size() * num_replicas

 private:
  int64_t n_, num_replicas_, rank_;
  DistributedSamplerOptions options_;
  int64_t num_samples_, total_size_;
  int64_t epoch_ = 0;
};

// Groups a sampler's epoch into batches of batch_size indices, the last one shorter unless
// drop_last drops it (torch.utils.data.BatchSampler).
class BatchSampler {
 public:
  BatchSampler(SamplerPtr sampler, int64_t batch_size, bool drop_last);
  int64_t size() const;  // number of batches per epoch
  std::vector<std::vector<int64_t>> epoch_batches();
  const SamplerPtr& sampler() const { return sampler_; }
  int64_t batch_size() const { return batch_size_; }
  bool drop_last() const { return drop_last_; }

 private:
  SamplerPtr sampler_;
  int64_t batch_size_;
  bool drop_last_;
};

}  // namespace hpml::data
