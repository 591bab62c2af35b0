// Datasets (PyTorch's torch.utils.data): a map-style Dataset answers size() and get(i); an
// IterableDataset yields samples in its own order. A sample is a list of tensors, one per field
// (image, label, ...; a number is a 0-d tensor), and the DataLoader's default collate stacks
// each field across a batch. TensorDataset, Subset, ConcatDataset and random_split are here;
// transforms are in transforms.h, the file readers in idx.h / csv.h, synthetic sets in synthetic.h.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"

namespace hpml::data {

// One sample: its fields, e.g. {image [1, 28, 28] f32, label [] i64}.
using Sample = std::vector<Tensor>;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Sample `index`, 0 <= index < size(); out of range is an error naming the index and size.
  virtual Sample get(int64_t index) const = 0;
  // Many samples at once (PyTorch's __getitems__). The default calls get() for each index;
  // a dataset that can gather a whole batch faster (TensorDataset) overrides it.
  virtual std::vector<Sample> get_many(const std::vector<int64_t>& indices) const;
  // The default-collated batch of `indices` (each field stacked), built directly when the
  // dataset can do it faster than get_many + stack (TensorDataset gathers rows straight into the
  // batch); nullopt means "use get_many and collate". The DataLoader calls it only when no
  // collate_fn is given.
  virtual std::optional<std::vector<Tensor>> get_batch(const std::vector<int64_t>& indices) const {
    (void)indices;
    return std::nullopt;
  }
  // A short name for error messages ("TensorDataset", "FashionMNIST(train)").
  virtual std::string name() const { return "Dataset"; }
  // When this dataset is exactly a TensorDataset of these tensors (same samples, no transform),
  // the tensors; else empty. A DataLoader with spawn or forkserver workers needs it: those
  // workers rebuild the dataset from the tensors' shared memory instead of inheriting it.
  virtual std::vector<Tensor> shareable_tensors() const { return {}; }
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// An iterable-style dataset: each call to iterate() starts a fresh pass. In a DataLoader with
// workers, every worker iterates its own copy; worker_info() tells it which worker it is so it
// can yield its own share (as in PyTorch).
class IterableDataset {
 public:
  virtual ~IterableDataset() = default;
  // Returns a function that yields the next sample, or nullopt at the end of the pass.
  virtual std::function<std::optional<Sample>()> iterate() const = 0;
  virtual std::string name() const { return "IterableDataset"; }
};

// Set inside DataLoader worker threads/processes (PyTorch's get_worker_info()); nullopt in the
// main process.
struct WorkerInfo {
  int id = 0;
  int num_workers = 1;
  uint64_t seed = 0;
};
std::optional<WorkerInfo> worker_info();

// Samples are the rows of the given tensors (all with the same first dimension).
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(std::vector<Tensor> tensors);
  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::vector<Sample> get_many(const std::vector<int64_t>& indices) const override;
  std::optional<std::vector<Tensor>> get_batch(const std::vector<int64_t>& indices) const override;
  std::vector<Tensor> shareable_tensors() const override;
  std::string name() const override { return "TensorDataset"; }
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
};

// The samples of `dataset` at `indices`, in that order.
class Subset : public Dataset {
 public:
  Subset(DatasetPtr dataset, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Sample get(int64_t index) const override;
  std::vector<Sample> get_many(const std::vector<int64_t>& indices) const override;
  std::optional<std::vector<Tensor>> get_batch(const std::vector<int64_t>& indices) const override;  // the dataset's
  std::string name() const override;
  const std::vector<int64_t>& indices() const { return indices_; }
  const DatasetPtr& dataset() const { return dataset_; }

 private:
  DatasetPtr dataset_;
  std::vector<int64_t> indices_;
};

// The datasets one after another.
class ConcatDataset : public Dataset {
 public:
  explicit ConcatDataset(std::vector<DatasetPtr> datasets);
  int64_t size() const override;
  Sample get(int64_t index) const override;
  std::string name() const override { return "ConcatDataset"; }

 private:
  std::vector<DatasetPtr> datasets_;
  std::vector<int64_t> ends_;  // cumulative sizes
};

// Splits `dataset` into non-overlapping random subsets of the given lengths (which must sum to
// its size), or fractions summing to 1 (PyTorch's rule: floors, then the remainder goes round
// robin). The permutation comes from `generator` (default: the default generator).
std::vector<std::shared_ptr<Subset>> random_split(DatasetPtr dataset, const std::vector<int64_t>& lengths,
                                                  Generator* generator = nullptr);
std::vector<std::shared_ptr<Subset>> random_split(DatasetPtr dataset, const std::vector<double>& fractions,
                                                  Generator* generator = nullptr);
// A braced list picks by its element type: random_split(ds, {50000, 10000}) are lengths,
// random_split(ds, {0.8, 0.2}) fractions (with the two vector overloads alone both are ambiguous).
template <typename T>
  requires std::is_arithmetic_v<T>
std::vector<std::shared_ptr<Subset>> random_split(DatasetPtr dataset, std::initializer_list<T> sizes,
                                                  Generator* generator = nullptr) {
  if constexpr (std::is_integral_v<T>)
    return random_split(std::move(dataset), std::vector<int64_t>(sizes.begin(), sizes.end()), generator);
  else
    return random_split(std::move(dataset), std::vector<double>(sizes.begin(), sizes.end()), generator);
}

}  // namespace hpml::data
