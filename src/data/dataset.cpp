// Map-style datasets: the default get_many, TensorDataset, Subset, ConcatDataset, random_split.
#include "hpml/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hpml/core/error.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"

namespace hpml::data {

namespace {

void check_index(const Dataset& d, int64_t index, int64_t size) {
  HPML_CHECK(index >= 0 && index < size, d.name(), ": index ", index, " is out of range for a dataset of size ", size);
}

}  // namespace

std::vector<Sample> Dataset::get_many(const std::vector<int64_t>& indices) const {
  std::vector<Sample> out;
  out.reserve(indices.size());
  for (int64_t i : indices) out.push_back(get(i));
  return out;
}

// ---- TensorDataset ------------------------------------------------------------------------------

TensorDataset::TensorDataset(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
  HPML_CHECK(!tensors_.empty(), "TensorDataset: needs at least one tensor");
  for (size_t k = 0; k < tensors_.size(); ++k) {
    HPML_CHECK(tensors_[k].defined(), "TensorDataset: tensor ", k, " is undefined");
    HPML_CHECK(tensors_[k].dim() >= 1, "TensorDataset: tensor ", k,
               " is 0-d; every tensor needs a first dimension to index");
  }
  for (size_t k = 1; k < tensors_.size(); ++k)
    HPML_CHECK(tensors_[k].size(0) == tensors_[0].size(0),
               "TensorDataset: size mismatch between tensors: tensor 0 has shape ", tensors_[0].sizes(), " but tensor ",
               k, " has shape ", tensors_[k].sizes(), " (the first dimensions must agree)");
}

int64_t TensorDataset::size() const { return tensors_[0].size(0); }

Sample TensorDataset::get(int64_t index) const {
  check_index(*this, index, size());
  Sample s;
  s.reserve(tensors_.size());
  for (const Tensor& t : tensors_) s.push_back(t.select(0, index));
  return s;
}

// Note [TensorDataset gathers]
// One index_select per field gathers the whole batch into fresh memory (a parallel copy), and
// each sample is a row view of it: a collate that stacks the rows again copies contiguous memory
// once more, which is cheap next to B separate get() calls through the virtual interface.
std::vector<Sample> TensorDataset::get_many(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  for (int64_t i : indices) check_index(*this, i, n);
  const int64_t b = static_cast<int64_t>(indices.size());
  std::vector<Sample> out(indices.size());
  if (b == 0) return out;
  Tensor idx = from_blob(const_cast<int64_t*>(indices.data()), {b}, kInt64);  // read only
  for (Sample& s : out) s.reserve(tensors_.size());
  for (const Tensor& t : tensors_) {
    Tensor batch = index_select(t, 0, idx);  // [B, ...]
    for (int64_t j = 0; j < b; ++j) out[static_cast<size_t>(j)].push_back(batch.select(0, j));
  }
  return out;
}

// ---- Subset -------------------------------------------------------------------------------------

Subset::Subset(DatasetPtr dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  HPML_CHECK(dataset_ != nullptr, "Subset: the dataset is null");
  const int64_t n = dataset_->size();
  for (size_t k = 0; k < indices_.size(); ++k)
    HPML_CHECK(indices_[k] >= 0 && indices_[k] < n, "Subset: index ", indices_[k], " (position ", k,
               ") is out of range for ", dataset_->name(), " of size ", n);
}

Sample Subset::get(int64_t index) const {
  check_index(*this, index, size());
  return dataset_->get(indices_[static_cast<size_t>(index)]);
}

namespace {
std::vector<int64_t> map_indices(const Subset& s, const std::vector<int64_t>& indices) {
  const int64_t n = s.size();
  std::vector<int64_t> mapped;
  mapped.reserve(indices.size());
  for (int64_t i : indices) {
    check_index(s, i, n);
    mapped.push_back(s.indices()[static_cast<size_t>(i)]);
  }
  return mapped;
}
}  // namespace

std::vector<Sample> Subset::get_many(const std::vector<int64_t>& indices) const {
  return dataset_->get_many(map_indices(*this, indices));
}

std::optional<std::vector<Tensor>> Subset::get_batch(const std::vector<int64_t>& indices) const {
  return dataset_->get_batch(map_indices(*this, indices));
}

std::string Subset::name() const { return "Subset(" + dataset_->name() + ")"; }

// ---- ConcatDataset ------------------------------------------------------------------------------

ConcatDataset::ConcatDataset(std::vector<DatasetPtr> datasets) : datasets_(std::move(datasets)) {
  HPML_CHECK(!datasets_.empty(), "ConcatDataset: needs at least one dataset");
  int64_t total = 0;
  for (size_t k = 0; k < datasets_.size(); ++k) {
    HPML_CHECK(datasets_[k] != nullptr, "ConcatDataset: dataset ", k, " is null");
    total += datasets_[k]->size();
    ends_.push_back(total);
  }
}

int64_t ConcatDataset::size() const { return ends_.back(); }

Sample ConcatDataset::get(int64_t index) const {
  check_index(*this, index, size());
  // The first dataset whose end lies past `index` (empty datasets have end == previous end).
  const size_t k = static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), index) - ends_.begin());
  const int64_t begin = k == 0 ? 0 : ends_[k - 1];
  return datasets_[k]->get(index - begin);
}

// ---- random_split -------------------------------------------------------------------------------

std::vector<std::shared_ptr<Subset>> random_split(DatasetPtr dataset, const std::vector<int64_t>& lengths,
                                                  Generator* generator) {
  HPML_CHECK(dataset != nullptr, "random_split: the dataset is null");
  const int64_t n = dataset->size();
  int64_t total = 0;
  for (size_t k = 0; k < lengths.size(); ++k) {
    HPML_CHECK(lengths[k] >= 0, "random_split: length ", k, " is negative (", lengths[k], ")");
    total += lengths[k];
  }
  HPML_CHECK(total == n, "random_split: the lengths sum to ", total, " but ", dataset->name(), " has ", n,
             " samples (they must be equal, or give fractions summing to 1)");
  Tensor perm = randperm(n, generator);
  const int64_t* p = perm.data_ptr<int64_t>();
  std::vector<std::shared_ptr<Subset>> out;
  int64_t offset = 0;
  for (int64_t len : lengths) {
    out.push_back(std::make_shared<Subset>(dataset, std::vector<int64_t>(p + offset, p + offset + len)));
    offset += len;
  }
  return out;
}

// PyTorch's rule: floor(n * fraction) each, then the remainder one by one, round robin from the
// first subset.
std::vector<std::shared_ptr<Subset>> random_split(DatasetPtr dataset, const std::vector<double>& fractions,
                                                  Generator* generator) {
  HPML_CHECK(dataset != nullptr, "random_split: the dataset is null");
  HPML_CHECK(!fractions.empty(), "random_split: no fractions given");
  double sum = 0;
  for (size_t k = 0; k < fractions.size(); ++k) {
    HPML_CHECK(fractions[k] >= 0 && fractions[k] <= 1, "random_split: fraction ", k, " (", fractions[k],
               ") is not between 0 and 1");
    sum += fractions[k];
  }
  HPML_CHECK(std::abs(sum - 1) <= 1e-9 && sum <= 1 + 1e-9, "random_split: the fractions sum to ", sum, ", not 1");
  const int64_t n = dataset->size();
  std::vector<int64_t> lengths;
  for (double f : fractions) lengths.push_back(static_cast<int64_t>(std::floor(static_cast<double>(n) * f)));
  const int64_t remainder = n - std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  HPML_CHECK(remainder >= 0, "random_split: the fractions sum to more than 1 (", sum, ") for ", n, " samples");
  for (int64_t i = 0; i < remainder; ++i) lengths[static_cast<size_t>(i) % lengths.size()] += 1;
  return random_split(std::move(dataset), lengths, generator);
}

}  // namespace hpml::data
