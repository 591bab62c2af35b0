// DataLoader: options checks, the epoch driver (order, prefetch, reordering), and the pinning
// thread. The worker back ends are in thread_workers.cpp and process_workers.cpp.
#include "hpml/data/dataloader.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "data/loader_internal.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"

namespace hpml::data {

// Note [DataLoader workers]
// The main process draws each epoch's batches (the BatchSampler's lists of indices) and hands
// batch k to worker k % num_workers, at most prefetch_factor batches ahead per worker, so which
// worker loads which batch, and the batches themselves, depend only on the seed - not on how
// many workers there are or whether they are threads or processes. Results may finish in any
// order; a reorder buffer yields them in sampler order. Every epoch draws a base seed from the
// loader's generator (PyTorch's base_seed); worker i gets base_seed + i (worker_info().seed, and
// in a worker process hpml::manual_seed). With pin_memory and workers, a pinning thread pulls
// batches in order and copies them to page-locked memory while the training loop runs, so the
// copy is off the critical path. An IterableDataset is iterated whole by each worker (as in
// PyTorch, a dataset that wants to split the work reads worker_info()); batches come round robin
// from the workers still producing.

struct DataLoader::Impl {
  detail::LoaderSpec spec;
  std::shared_ptr<BatchSampler> batch_sampler;
  std::unique_ptr<detail::WorkerPool> pool;
  int workers = 0;

  // The current epoch.
  bool active = false;
  std::vector<std::vector<int64_t>> batches;  // map-style
  std::function<std::optional<Sample>()> iteration;  // iterable, in the main thread
  int64_t next_submit = 0, next_yield = 0;
  std::vector<int> in_flight;
  std::map<int64_t, detail::Result> ready;
  std::map<int64_t, int> batch_worker;  // iterable with workers
  std::vector<bool> worker_done;
  int rr = 0;

  // The pinning thread (pin_memory with workers).
  std::thread pin_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<detail::Result> pinned;  // batch == -1 marks the end
  std::atomic<bool> stop{false};

  int64_t epoch = 0;  // counts begin() calls: an iterator of an earlier epoch must not advance

  ~Impl() {
    try {
      abandon();
    } catch (...) {  // a destructor must not throw; the pool's own destructor stops the workers
    }
  }

  uint64_t draw_seed() {
    Generator* g = spec.options.generator ? spec.options.generator.get() : &default_generator();
    return g->next_u64();
  }

  void start_epoch() {
    abandon();
    ++epoch;
    next_submit = next_yield = 0;
    ready.clear();
    batch_worker.clear();
    rr = 0;
    const uint64_t base_seed = draw_seed();
    if (spec.dataset) batches = batch_sampler->epoch_batches();
    if (workers == 0) {
      if (spec.iterable) iteration = spec.iterable->iterate();
    } else {
      if (!pool)
        pool = spec.options.worker_mode == WorkerMode::thread ? detail::make_thread_pool(spec)
                                                              : detail::make_process_pool(spec);
      pool->start_epoch(base_seed);
      in_flight.assign(static_cast<size_t>(workers), 0);
      worker_done.assign(static_cast<size_t>(workers), false);
    }
    active = true;
    if (spec.options.pin_memory && workers > 0) {
      stop = false;
      pinned.clear();
      pin_thread = detail::start_library_thread([this] { pin_loop(); });
    }
  }

  // Stops the epoch in progress (mid-epoch restart, loader destroyed).
  // Ends the epoch: stops the pin thread and tells the pool whether batches were left undone
  // (always, after an error).
  void abandon(bool after_error = false) {
    if (pin_thread.joinable()) {
      stop = true;
      cv.notify_all();
      pin_thread.join();
    }
    if (pool && active) pool->end_epoch(/*abandon=*/after_error || !next_yield_done());
    active = false;
  }

  bool next_yield_done() const {
    return spec.dataset ? next_yield >= static_cast<int64_t>(batches.size()) : false;
  }

  void submit_what_fits() {
    const int pf = spec.options.prefetch_factor;
    if (spec.dataset) {
      while (next_submit < static_cast<int64_t>(batches.size())) {
        const int w = static_cast<int>(next_submit % workers);
        if (in_flight[static_cast<size_t>(w)] >= pf) break;
        pool->submit(w, {next_submit, batches[static_cast<size_t>(next_submit)]});
        ++in_flight[static_cast<size_t>(w)];
        ++next_submit;
      }
      return;
    }
    for (int tries = 0; tries < workers; ++tries) {
      const int w = rr;
      rr = (rr + 1) % workers;
      if (worker_done[static_cast<size_t>(w)] || in_flight[static_cast<size_t>(w)] >= pf) continue;
      batch_worker[next_submit] = w;
      pool->submit(w, {next_submit++, {}});
      ++in_flight[static_cast<size_t>(w)];
      tries = -1;  // keep filling round robin until every worker is full or done
    }
  }

  // The next batch in order, not pinned; nullopt at the end of the epoch.
  std::optional<Batch> next_unpinned() {
    if (workers == 0) {
      if (spec.dataset) {
        if (next_yield >= static_cast<int64_t>(batches.size())) return std::nullopt;
        const int64_t k = next_yield++;
        return detail::fetch_batch(spec, batches[static_cast<size_t>(k)], -1, k);
      }
      return detail::fetch_iterable(spec, iteration, -1, next_yield++);
    }
    for (;;) {
      if (spec.dataset && next_yield >= static_cast<int64_t>(batches.size())) return std::nullopt;
      submit_what_fits();
      if (auto it = ready.find(next_yield); it != ready.end()) {
        detail::Result r = std::move(it->second);
        ready.erase(it);
        ++next_yield;
        if (r.error) std::rethrow_exception(r.error);
        if (r.exhausted) continue;
        return std::move(r.data);
      }
      if (spec.iterable) {
        bool any = false;
        for (int n : in_flight) any = any || n > 0;
        if (!any) return std::nullopt;  // every worker's iteration has ended
      }
      std::optional<detail::Result> r = pool->wait_any(spec.options.timeout, &stop);
      if (!r) return std::nullopt;  // stopped
      int w = spec.dataset ? static_cast<int>(r->batch % workers) : batch_worker[r->batch];
      --in_flight[static_cast<size_t>(w)];
      if (r->exhausted) worker_done[static_cast<size_t>(w)] = true;
      ready[r->batch] = std::move(*r);
    }
  }

  void pin_loop() {
    record::set_thread_name("DataLoader pin_memory");
    for (;;) {
      detail::Result out;
      try {
        std::optional<Batch> b = next_unpinned();
        if (stop) return;
        if (b) out.data = detail::pin_batch(*b, spec.pin_device);
        out.batch = b ? 0 : -1;
      } catch (...) {
        out.error = std::current_exception();
      }
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || pinned.size() < static_cast<size_t>(workers * spec.options.prefetch_factor); });
      if (stop) return;
      const bool end = out.batch < 0 || out.error;
      pinned.push_back(std::move(out));
      cv.notify_all();
      if (end) return;
    }
  }

  std::optional<Batch> next() {
    if (!active) return std::nullopt;
    std::optional<Batch> b;
    if (spec.options.pin_memory && workers > 0) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !pinned.empty(); });
      detail::Result r = std::move(pinned.front());
      pinned.pop_front();
      cv.notify_all();
      lock.unlock();
      if (r.error) {
        abandon(/*after_error=*/true);  // the pin thread stopped after pushing the error
        std::rethrow_exception(r.error);
      }
      if (r.batch >= 0) b = std::move(r.data);
    } else {
      try {
        b = next_unpinned();
      } catch (...) {
        abandon(/*after_error=*/true);
        throw;
      }
      if (b && spec.options.pin_memory) b = detail::pin_batch(*b, spec.pin_device);
    }
    if (!b) {
      if (pin_thread.joinable()) pin_thread.join();
      if (pool) pool->end_epoch(false);
      active = false;
    }
    return b;
  }
};

namespace {
void check_options(const DataLoaderOptions& o, bool iterable) {
  HPML_CHECK(o.batch_size >= 1, "DataLoader: batch_size should be a positive integer, got ", o.batch_size);
  HPML_CHECK(o.num_workers >= 0, "DataLoader: num_workers should be >= 0, got ", o.num_workers);
  HPML_CHECK(o.prefetch_factor >= 1, "DataLoader: prefetch_factor should be >= 1, got ", o.prefetch_factor);
  HPML_CHECK(o.timeout >= 0, "DataLoader: timeout should be >= 0, got ", o.timeout);
  HPML_CHECK(o.death_check_interval > 0, "DataLoader: death_check_interval should be > 0, got ", o.death_check_interval);
  HPML_CHECK(!(o.persistent_workers && o.num_workers == 0), "DataLoader: persistent_workers needs num_workers > 0");
  HPML_CHECK(!(o.sampler && o.shuffle), "DataLoader: sampler option is mutually exclusive with shuffle");
  if (o.batch_sampler)
    HPML_CHECK(o.batch_size == 1 && !o.shuffle && !o.sampler && !o.drop_last,
               "DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last");
  if (iterable)
    HPML_CHECK(!o.sampler && !o.batch_sampler && !o.shuffle,
               "DataLoader: an IterableDataset has its own order: sampler, batch_sampler and shuffle are not allowed");
}
}  // namespace

namespace {
// The device of options.pin_memory_device ("" : default_pin_device()), checked to exist.
Device pin_device_of(const DataLoaderOptions& o) {
  if (o.pin_memory_device.empty()) return default_pin_device();
  const Device d(o.pin_memory_device);
  return d.is_cpu() ? d : resolve_device(d, "DataLoader: pin_memory_device");
}
}  // namespace

DataLoader::DataLoader(DatasetPtr dataset, DataLoaderOptions options) : options_(std::move(options)), dataset_(dataset) {
  HPML_CHECK(dataset_ != nullptr, "DataLoader: null dataset");
  check_options(options_, false);
  if (options_.batch_sampler) {
    batch_sampler_ = options_.batch_sampler;
  } else {
    SamplerPtr s = options_.sampler;
    if (!s) {
      if (options_.shuffle)
        s = std::make_shared<RandomSampler>(dataset_->size(), RandomSamplerOptions{.generator = options_.generator});
      else
        s = std::make_shared<SequentialSampler>(dataset_->size());
    }
    batch_sampler_ = std::make_shared<BatchSampler>(s, options_.batch_size, options_.drop_last);
  }
  impl_ = std::make_unique<Impl>();
  impl_->spec = {dataset_, nullptr, options_, pin_device_of(options_)};
  impl_->batch_sampler = batch_sampler_;
  impl_->workers = options_.num_workers;
}

DataLoader::DataLoader(std::shared_ptr<const IterableDataset> dataset, DataLoaderOptions options)
    : options_(std::move(options)), iterable_(std::move(dataset)) {
  HPML_CHECK(iterable_ != nullptr, "DataLoader: null dataset");
  check_options(options_, true);
  impl_ = std::make_unique<Impl>();
  impl_->spec = {nullptr, iterable_, options_, pin_device_of(options_)};
  impl_->workers = options_.num_workers;
}

DataLoader::~DataLoader() = default;

int64_t DataLoader::size() const {
  HPML_CHECK(batch_sampler_ != nullptr, "DataLoader: the length of an IterableDataset's loader is unknown");
  return batch_sampler_->size();
}

DataLoader::Iterator DataLoader::begin() {
  impl_->start_epoch();
  return Iterator(this);
}

DataLoader::Iterator::Iterator(DataLoader* loader) : loader_(loader), epoch_(loader->impl_->epoch) { ++*this; }

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (!loader_) return *this;
  HPML_CHECK(loader_->impl_->epoch == epoch_, "DataLoader: this iterator belongs to epoch ", epoch_,
             ", but begin() has since started epoch ", loader_->impl_->epoch,
             "; a DataLoader runs one epoch at a time (make a second DataLoader to iterate twice at once)");
  std::optional<Batch> b;
  {
    record::Scope wait(record::Kind::data, "DataLoader.next");  // the training loop waiting for a batch
    b = loader_->impl_->next();
  }
  if (b) {
    current_ = std::move(*b);
  } else {
    current_.clear();
    loader_ = nullptr;
  }
  return *this;
}

}  // namespace hpml::data
