// hpml's side of the DataLoader benchmark (group "data"): Fashion-MNIST train, batch 128,
// shuffle, the consumer does nothing. Each run makes a fresh DataLoader and times two epochs
// (the first includes starting the workers; the second shows persistent workers), and the time
// from begin() to the first batch. One configuration per process, so that its peak RSS is its own.
// Usage: data_bench CONFIG [RUNS=5]   CONFIG: w0 w0_items threads2 procs2 procs2p
// The PyTorch side is bench/torch_dataloader.py (same configurations and row names).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "bench_util.h"
#include "hpml/hpml.h"

using namespace hpml;
using clock_type = std::chrono::steady_clock;

namespace {

// PyTorch's benchmark dataset: one sample at a time (get(), no batched gather), default collate.
class PerItem : public data::Dataset {
 public:
  explicit PerItem(std::shared_ptr<data::datasets::FashionMNIST> d) : d_(std::move(d)) {}
  int64_t size() const override { return d_->size(); }
  data::Sample get(int64_t i) const override { return d_->get(i); }
  std::string name() const override { return "PerItem"; }

 private:
  std::shared_ptr<data::datasets::FashionMNIST> d_;
};

struct Epoch {
  double first_ms, seconds;
  int64_t batches;
};

Epoch run_epoch(data::DataLoader& loader) {
  const auto t0 = clock_type::now();
  auto it = loader.begin();
  const double first = std::chrono::duration<double>(clock_type::now() - t0).count() * 1e3;
  int64_t n = 0;
  for (; it != loader.end(); ++it) ++n;
  return {first, std::chrono::duration<double>(clock_type::now() - t0).count(), n};
}

double max_rss_mb(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s w0|w0_items|threads2|procs2|procs2p [runs]\n", argv[0]);
    return 2;
  }
  const std::string config = argv[1];
  const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  auto fmnist = std::make_shared<data::datasets::FashionMNIST>();
  data::DatasetPtr ds = fmnist;
  data::DataLoaderOptions o{.batch_size = 128, .shuffle = true};
  std::string label;
  if (config == "w0") {
    label = "in-process (0 workers)";
  } else if (config == "w0_items") {
    label = "in-process, per-item dataset";
    ds = std::make_shared<PerItem>(fmnist);
  } else if (config == "threads2") {
    label = "2 worker threads";
    o.num_workers = 2;
  } else if (config == "procs2" || config == "procs2p") {
    label = config == "procs2" ? "2 worker processes" : "2 worker processes, persistent";
    o.num_workers = 2;
    o.worker_mode = data::WorkerMode::process;
    o.persistent_workers = config == "procs2p";
  } else {
    std::fprintf(stderr, "unknown configuration %s\n", config.c_str());
    return 2;
  }
  std::vector<double> first1, first2, bps1, bps2;
  for (int r = 0; r < runs; ++r) {
    data::DataLoader loader(ds, o);
    Epoch e1 = run_epoch(loader), e2 = run_epoch(loader);
    first1.push_back(e1.first_ms);
    first2.push_back(e2.first_ms);
    bps1.push_back(static_cast<double>(e1.batches) / e1.seconds);
    bps2.push_back(static_cast<double>(e2.batches) / e2.seconds);
  }
  const int threads = get_num_threads();
  bench::report("data", label + ", first batch ms (epoch 1)", threads, "ms", first1);
  bench::report("data", label + ", first batch ms (epoch 2)", threads, "ms", first2);
  bench::report("data", label + ", batches/s (epoch 1)", threads, "batches/s", bps1);
  bench::report("data", label + ", batches/s (epoch 2)", threads, "batches/s", bps2);
  bench::report("data", label + ", peak RSS MB (main process)", threads, "MB", {max_rss_mb(RUSAGE_SELF)});
  if (o.num_workers > 0 && o.worker_mode == data::WorkerMode::process)
    bench::report("data", label + ", peak RSS MB (largest worker)", threads, "MB", {max_rss_mb(RUSAGE_CHILDREN)});
  return 0;
}
