// DataLoader (torch.utils.data.DataLoader): batches from a dataset in sampler order, loaded in
// the calling thread (num_workers = 0), by worker threads, or by worker processes that write
// each batch into a ring of shared-memory slots the main process reads without a copy.
//
//   data::DataLoader loader(train, {.batch_size = 128, .shuffle = true, .num_workers = 2,
//                                   .worker_mode = data::WorkerMode::process});
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (data::Batch& b : loader) { Tensor x = b[0], y = b[1]; ... }
//
// See Note [DataLoader workers] in src/data/dataloader.cpp and Note [Batch slots] in
// src/data/process_workers.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "hpml/data/dataset.h"
#include "hpml/data/sampler.h"
#include "hpml/mp/process.h"

namespace hpml::data {

// One batch: its fields, each stacked along a new first dimension.
using Batch = std::vector<Tensor>;
using CollateFn = std::function<Batch(const std::vector<Sample>&)>;

// Stacks each field of the samples (numbers are 0-d tensors, so they become a [B] tensor).
// Samples must have the same number of fields and, field by field, the same shape and dtype;
// the error names the first sample and field that differ.
Batch default_collate(const std::vector<Sample>& samples);

enum class WorkerMode { thread, process };

struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;  // a RandomSampler, re-shuffled every epoch
  SamplerPtr sampler = nullptr;
  std::shared_ptr<BatchSampler> batch_sampler = nullptr;  // excludes batch_size, shuffle, sampler, drop_last
  bool drop_last = false;
  CollateFn collate_fn = nullptr;  // default: default_collate (or the dataset's own get_batch)
  int num_workers = 0;
  WorkerMode worker_mode = WorkerMode::thread;
  mp::StartMethod multiprocessing_context = mp::StartMethod::fork;  // for WorkerMode::process
  int prefetch_factor = 2;  // batches in flight per worker
  bool persistent_workers = false;
  bool pin_memory = false;
  // Seconds to wait for a batch before raising (0: no limit). A worker process that dies is
  // noticed as soon as its socket closes, and at the latest after death_check_interval.
  double timeout = 0;
  double death_check_interval = 5;
  std::function<void(int worker_id)> worker_init_fn = nullptr;
  std::shared_ptr<Generator> generator = nullptr;  // shuffling and worker seeds; default: the default generator
  // The device the pinned batches are for ("cuda:0", "sim"); empty: default_pin_device().
  std::string pin_memory_device = {};
};

class DataLoader {
 public:
  DataLoader(DatasetPtr dataset, DataLoaderOptions options = {});
  DataLoader(std::shared_ptr<const IterableDataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Batches per epoch (len(loader)); an error for an IterableDataset, whose length is unknown.
  int64_t size() const;
  const DataLoaderOptions& options() const { return options_; }

  class Iterator {
   public:
    Iterator() = default;
    Batch& operator*() { return current_; }
    Batch* operator->() { return &current_; }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return loader_ == o.loader_; }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader);
    DataLoader* loader_ = nullptr;  // null at the end
    int64_t epoch_ = 0;
    Batch current_;
  };
  // Starts an epoch: draws its order and seeds, starts (or reuses) the workers. A loader has one
  // epoch at a time: begin() again abandons the epoch in progress, and advancing an iterator of
  // the abandoned epoch is an error (PyTorch would give two independent iterators).
  Iterator begin();
  Iterator end() { return Iterator(); }

  struct Impl;  // the epoch machinery (dataloader.cpp); public for the worker back ends

 private:
  DataLoaderOptions options_;
  DatasetPtr dataset_;
  std::shared_ptr<const IterableDataset> iterable_;
  std::shared_ptr<BatchSampler> batch_sampler_;
  std::unique_ptr<Impl> impl_;
};

// Whether t's memory is page-locked (pin_memory); see Note [Pinned memory] in src/core/pinned.cpp.
bool is_pinned(const Tensor& t);
// A copy of the cpu tensor t in the page-locked host memory of `device`'s runtime (Tensor.pin_memory()),
// by default that of default_pin_device() (the first GPU, else the host's).
Tensor pin_memory(const Tensor& t);
Tensor pin_memory(const Tensor& t, const Device& device);

}  // namespace hpml::data
