// Internal to src/data: the pieces the DataLoader's epoch driver (dataloader.cpp) shares with
// its worker back ends (thread_workers.cpp, process_workers.cpp).
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "hpml/data/dataloader.h"

namespace hpml::data::detail {

// One batch to load: map-style indices, or (empty) "the next batch of your iteration".
struct Task {
  int64_t batch = 0;
  std::vector<int64_t> indices;
};

struct Result {
  int64_t batch = -1;
  Batch data;
  bool exhausted = false;  // an iterable worker's iteration has ended
  std::exception_ptr error;
};

struct LoaderSpec {
  DatasetPtr dataset;
  std::shared_ptr<const IterableDataset> iterable;
  DataLoaderOptions options;
  Device pin_device = kCPU;  // whose pinned memory the batches go to (options.pin_memory_device)
};

// Loads one map-style batch. An exception from the dataset or the collate function comes out
// as an Error naming the worker (-1: the main thread), the batch and the sample index.
Batch fetch_batch(const LoaderSpec& spec, const std::vector<int64_t>& indices, int worker, int64_t batch);
// The next batch of an iteration; nullopt at its end (a short last batch unless drop_last).
std::optional<Batch> fetch_iterable(const LoaderSpec& spec, std::function<std::optional<Sample>()>& next, int worker,
                                    int64_t batch);

// The workers of a DataLoader (num_workers > 0).
class WorkerPool {
 public:
  virtual ~WorkerPool() = default;
  // Before an epoch's first task: starts the workers if they are not running and gives them
  // the epoch's seeds (worker i gets base_seed + i) and, for iterable datasets, a fresh pass.
  virtual void start_epoch(uint64_t base_seed) = 0;
  virtual void submit(int worker, Task task) = 0;
  // The next finished result from any worker. Throws if a worker died, or if `timeout` > 0
  // seconds pass without one; returns nullopt early when *stop becomes true.
  virtual std::optional<Result> wait_any(double timeout, const std::atomic<bool>* stop) = 0;
  // After an epoch (or when abandoning one): stops the workers unless persistent; a persistent
  // pool first drops the results still in flight.
  virtual void end_epoch(bool abandon) = 0;
};

std::unique_ptr<WorkerPool> make_thread_pool(const LoaderSpec& spec);
std::unique_ptr<WorkerPool> make_process_pool(const LoaderSpec& spec);

// A library thread: starts with SIGINT and SIGTERM blocked (from its first instruction: they are
// blocked in the creating thread around the start), so that a handler the program installs, or
// its sigwait thread, gets them and not a worker thread.
std::thread start_library_thread(std::function<void()> fn);

// Copies every tensor of a batch into page-locked memory (pinned.cpp).
Batch pin_batch(const Batch& b, const Device& device);

}  // namespace hpml::data::detail
