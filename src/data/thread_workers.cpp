// DataLoader worker threads (WorkerMode::thread): one thread per worker, each with its own task
// queue, sharing the dataset in place.
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "data/loader_internal.h"
#include "data/worker_state.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/threads.h"

namespace hpml::data::detail {

namespace {

class ThreadPool : public WorkerPool {
 public:
  explicit ThreadPool(const LoaderSpec& spec) : spec_(spec), n_(spec.options.num_workers) {}
  ~ThreadPool() override { stop_threads(); }

  void start_epoch(uint64_t base_seed) override {
    std::unique_lock<std::mutex> lock(mu_);
    base_seed_ = base_seed;
    ++epoch_;
    if (!threads_.empty()) return;  // persistent: the workers pick up the new seed and epoch
    quit_ = false;
    tasks_.assign(static_cast<size_t>(n_), {});
    for (int w = 0; w < n_; ++w) threads_.push_back(start_library_thread([this, w] { run(w); }));
  }

  void submit(int worker, Task task) override {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_[static_cast<size_t>(worker)].push_back(std::move(task));
    task_cv_.notify_all();
  }

  std::optional<Result> wait_any(double timeout, const std::atomic<bool>* stop) override {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      while (!results_.empty()) {
        auto [gen, r] = std::move(results_.front());
        results_.pop_front();
        if (gen == generation_) return std::move(r);  // else: a task of an abandoned epoch
      }
      if (stop && *stop) return std::nullopt;
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      HPML_CHECK(timeout <= 0 || waited < timeout, "DataLoader timed out after ", timeout,
                 " s waiting for a batch from its worker threads");
      result_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }

  void end_epoch(bool abandon) override {
    {
      // Queued tasks are dropped; a task being loaded right now finishes later and its result is
      // recognised as stale by its generation, so nothing here waits for a worker.
      std::lock_guard<std::mutex> lock(mu_);
      if (abandon)
        for (auto& q : tasks_) q.clear();
      ++generation_;
      results_.clear();
    }
    // A thread cannot be interrupted: a non-persistent pool waits here for a task still running
    // (a dataset call that never returns would hang here; worker processes do not have this).
    if (!spec_.options.persistent_workers) stop_threads();
  }

 private:
  void stop_threads() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
      task_cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void run(int w) {
    hpml::detail::set_thread_serial(true);
    record::set_thread_name("DataLoader worker " + std::to_string(w));
    std::function<std::optional<Sample>()> iteration;
    int64_t seen_epoch = -1;
    std::unique_lock<std::mutex> lock(mu_);
    bool initialized = false;
    for (;;) {
      task_cv_.wait(lock, [&] { return quit_ || !tasks_[static_cast<size_t>(w)].empty(); });
      if (quit_) return;
      Task task = std::move(tasks_[static_cast<size_t>(w)].front());
      tasks_[static_cast<size_t>(w)].pop_front();
      const uint64_t seed = base_seed_ + static_cast<uint64_t>(w);
      const int64_t epoch = epoch_, generation = generation_;
      lock.unlock();
      Result r;
      r.batch = task.batch;
      try {
        set_thread_worker_info(WorkerInfo{w, n_, seed});
        if (!initialized) {
          initialized = true;
          if (spec_.options.worker_init_fn) spec_.options.worker_init_fn(w);
        }
        if (spec_.dataset) {
          r.data = fetch_batch(spec_, task.indices, w, task.batch);
        } else {
          if (seen_epoch != epoch) {
            iteration = spec_.iterable->iterate();
            seen_epoch = epoch;
          }
          std::optional<Batch> b = fetch_iterable(spec_, iteration, w, task.batch);
          if (b) r.data = std::move(*b);
          else r.exhausted = true;
        }
      } catch (...) {
        r.error = std::current_exception();
      }
      lock.lock();
      results_.emplace_back(generation, std::move(r));
      result_cv_.notify_all();
    }
  }

  LoaderSpec spec_;
  int n_;
  std::mutex mu_;
  std::condition_variable task_cv_, result_cv_;
  std::vector<std::deque<Task>> tasks_;
  std::deque<std::pair<int64_t, Result>> results_;  // (generation, result)
  std::vector<std::thread> threads_;
  uint64_t base_seed_ = 0;
  int64_t epoch_ = 0;
  int64_t generation_ = 0;  // bumped when an epoch ends: results of older tasks are dropped
  bool quit_ = false;
};

}  // namespace

std::thread start_library_thread(std::function<void()> fn) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::thread t;
  try {
    t = std::thread(std::move(fn));  // inherits the mask
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

std::unique_ptr<WorkerPool> make_thread_pool(const LoaderSpec& spec) { return std::make_unique<ThreadPool>(spec); }

}  // namespace hpml::data::detail
