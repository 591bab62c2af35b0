// DataLoader: batching, shuffling, the same batches in every mode, workers (threads and
// processes with fork, spawn and forkserver), zero-copy slots, pinning, iterable datasets.
#include <gtest/gtest.h>

#include <set>

#include "data/dataloader_test_util.h"
#include "hpml/hpml.h"

using namespace hpml;
using data::DataLoader;
using data::DataLoaderOptions;
using data::WorkerMode;
using hpml::testing::indices_of;
using hpml::testing::ProbeDataset;

namespace {

struct Mode {
  const char* name;
  int workers;
  WorkerMode mode;
  mp::StartMethod method;
};

const Mode kModes[] = {
    {"main_thread", 0, WorkerMode::thread, mp::StartMethod::fork},
    {"threads1", 1, WorkerMode::thread, mp::StartMethod::fork},
    {"threads3", 3, WorkerMode::thread, mp::StartMethod::fork},
    {"fork2", 2, WorkerMode::process, mp::StartMethod::fork},
    {"spawn2", 2, WorkerMode::process, mp::StartMethod::spawn},
    {"forkserver3", 3, WorkerMode::process, mp::StartMethod::forkserver},
};

DataLoaderOptions with_mode(DataLoaderOptions o, const Mode& m) {
  o.num_workers = m.workers;
  o.worker_mode = m.mode;
  o.multiprocessing_context = m.method;
  return o;
}

// A TensorDataset (which spawn and forkserver workers can rebuild) with sample i = {[i, 10 i], i}.
data::DatasetPtr tensor_dataset(int64_t n) {
  Tensor x = stack({arange(0, n, 1, kFloat32), arange(0, n, 1, kFloat32) * 10}, 1);
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, arange(0, n, 1, kInt64)});
}

}  // namespace

TEST(DataLoader, BatchesInOrder) {
  DataLoader loader(tensor_dataset(10), {.batch_size = 3});
  EXPECT_EQ(loader.size(), 4);
  auto got = indices_of(loader);
  EXPECT_EQ(got, (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}));
  DataLoader dropped(tensor_dataset(10), {.batch_size = 3, .drop_last = true});
  EXPECT_EQ(dropped.size(), 3);
  EXPECT_EQ(indices_of(dropped).size(), 3u);
  for (data::Batch& b : loader) {  // fields are stacked: x is [B, 2] f32
    EXPECT_EQ(b[0].dim(), 2);
    EXPECT_EQ(b[0].size(1), 2);
    EXPECT_EQ(b[0].data_ptr<float>()[1], 10.0f * static_cast<float>(b[1].data_ptr<int64_t>()[0]));
  }
}

TEST(DataLoader, ShuffleDrawsANewPermutationEachEpoch) {
  auto gen = std::make_shared<Generator>(7);
  DataLoader loader(tensor_dataset(50), {.batch_size = 50, .shuffle = true, .generator = gen});
  auto e1 = indices_of(loader)[0], e2 = indices_of(loader)[0];
  EXPECT_NE(e1, e2);
  auto sorted = e1;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  DataLoader again(tensor_dataset(50), {.batch_size = 50, .shuffle = true, .generator = std::make_shared<Generator>(7)});
  EXPECT_EQ(indices_of(again)[0], e1) << "the same seed gives the same order";
}

class LoaderModes : public ::testing::TestWithParam<Mode> {};

TEST_P(LoaderModes, SameSeedSameBatchesInEveryMode) {
  const Mode& m = GetParam();
  DataLoaderOptions base{.batch_size = 7, .shuffle = true, .generator = std::make_shared<Generator>(3)};
  DataLoader reference(tensor_dataset(100), base);
  base.generator = std::make_shared<Generator>(3);  // its own generator, seeded the same
  DataLoader loader(tensor_dataset(100), with_mode(base, m));
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<data::Batch> want, got;
    for (data::Batch& b : reference) want.push_back(b);
    for (data::Batch& b : loader) got.push_back(b);
    ASSERT_EQ(got.size(), want.size()) << m.name;
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_TRUE(all(eq(got[k][0], want[k][0])).item<bool>()) << m.name << " batch " << k;
      EXPECT_TRUE(all(eq(got[k][1], want[k][1])).item<bool>()) << m.name << " batch " << k;
    }
  }
}

// ProbeDataset is not a TensorDataset, so spawn and forkserver workers cannot rebuild it (tested
// in SpawnRefusesWhatItCannotSend): the failure tests run in the modes that share it in place.
class ForkModes : public ::testing::TestWithParam<Mode> {};

TEST_P(ForkModes, WorkerExceptionNamesWorkerAndSample) {
  const Mode& m = GetParam();
  auto ds = std::make_shared<ProbeDataset>(40, hpml::testing::Failure::throws, 23);
  DataLoader loader(ds, with_mode({.batch_size = 4}, m));
  try {
    for (data::Batch& b : loader) (void)b;
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sample 23"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot read sample 23"), std::string::npos) << what;
    if (m.workers > 0) {
      EXPECT_NE(what.find("worker " + std::to_string(5 % m.workers)), std::string::npos) << what;
    }
  }
  // The loader still works for the next epoch after a failed one.
  auto ok = std::make_shared<ProbeDataset>(8);
  DataLoader fine(ok, with_mode({.batch_size = 4}, m));
  EXPECT_EQ(indices_of(fine).size(), 2u);
}

TEST_P(LoaderModes, PinMemory) {
  const Mode& m = GetParam();
  DataLoader loader(tensor_dataset(20), with_mode({.batch_size = 5, .pin_memory = true}, m));
  int n = 0;
  for (data::Batch& b : loader) {
    EXPECT_TRUE(data::is_pinned(b[0])) << m.name;
    EXPECT_EQ(b[1].data_ptr<int64_t>()[0], 5 * n);
    ++n;
  }
  EXPECT_EQ(n, 4);
}

INSTANTIATE_TEST_SUITE_P(All, LoaderModes, ::testing::ValuesIn(kModes),
                         [](const auto& info) { return std::string(info.param.name); });
INSTANTIATE_TEST_SUITE_P(Fork, ForkModes, ::testing::ValuesIn(kModes, kModes + 4),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DataLoader, BatchKComesFromWorkerKModW) {
  for (WorkerMode mode : {WorkerMode::thread, WorkerMode::process}) {
    DataLoader loader(std::make_shared<ProbeDataset>(30), {.batch_size = 3, .num_workers = 3, .worker_mode = mode});
    int k = 0;
    for (data::Batch& b : loader) {
      EXPECT_EQ(b[3].data_ptr<int64_t>()[0], k % 3);
      ++k;
    }
    EXPECT_EQ(k, 10);
  }
}

TEST(DataLoader, ProcessBatchesAreViewsOfReusedSlots) {
  DataLoader loader(tensor_dataset(400), {.batch_size = 10, .num_workers = 2, .worker_mode = WorkerMode::process});
  std::set<const void*> storages;
  for (data::Batch& b : loader) {
    // Zero copy: both fields are views of one storage, the worker's slot (a copy or a collate in
    // this process would give each field its own).
    EXPECT_TRUE(b[0].impl()->storage() == b[1].impl()->storage());
    EXPECT_GT(b[1].storage_offset(), 0);
    storages.insert(b[0].impl()->storage()->data());
  }
  // 40 batches through 2 workers x (prefetch 2 + the one being used): a handful of slots.
  EXPECT_LE(storages.size(), 8u) << "slots are reused once their batch dies";
  std::vector<data::Batch> kept;
  for (data::Batch& b : loader) kept.push_back(b);  // keeping every batch: slots are added, not overwritten
  for (size_t k = 0; k < kept.size(); ++k) EXPECT_EQ(kept[k][1].data_ptr<int64_t>()[0], static_cast<int64_t>(10 * k));
}

TEST(DataLoader, WorkerDeathIsReportedWithTheSignal) {
  for (auto [failure, sig] : {std::pair{hpml::testing::Failure::sigkill, SIGKILL}, {hpml::testing::Failure::segfault, SIGSEGV}}) {
    auto ds = std::make_shared<ProbeDataset>(40, failure, 17);
    DataLoader loader(ds, {.batch_size = 4, .num_workers = 2, .worker_mode = WorkerMode::process,
                           .death_check_interval = 1});
    const auto t0 = std::chrono::steady_clock::now();
    try {
      for (data::Batch& b : loader) (void)b;
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("worker 0"), std::string::npos) << what;  // batch 4 (sample 17) is worker 0's
#if defined(__SANITIZE_ADDRESS__)
      // AddressSanitizer catches SIGSEGV itself, reports, and exits with status 1.
      const std::string expect = sig == SIGSEGV ? "exited unexpectedly with exit code 1" : "signal " + std::to_string(sig);
#else
      const std::string expect = "signal " + std::to_string(sig);
#endif
      EXPECT_NE(what.find(expect), std::string::npos) << what;
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  }
}

TEST(DataLoader, TimeoutRaises) {
  auto ds = std::make_shared<ProbeDataset>(8, hpml::testing::Failure::sleeps, 0);
  for (WorkerMode mode : {WorkerMode::thread, WorkerMode::process}) {
    DataLoader loader(ds, {.batch_size = 2, .num_workers = 1, .worker_mode = mode, .timeout = 0.5});
    try {
      for (data::Batch& b : loader) (void)b;
      FAIL() << "expected a timeout";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("timed out after 0.5"), std::string::npos) << e.what();
    }
  }
}

TEST(DataLoader, PersistentWorkersAreReused) {
  auto pids = [](DataLoader& l) {
    std::set<int64_t> s;
    for (data::Batch& b : l)
      for (int64_t k = 0; k < b[2].numel(); ++k) s.insert(b[2].data_ptr<int64_t>()[k]);
    return s;
  };
  auto ds = std::make_shared<ProbeDataset>(16);
  DataLoader persistent(ds, {.batch_size = 4, .num_workers = 2, .worker_mode = WorkerMode::process,
                             .persistent_workers = true});
  auto a = pids(persistent), b = pids(persistent);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a, b);
  DataLoader fresh(ds, {.batch_size = 4, .num_workers = 2, .worker_mode = WorkerMode::process});
  auto c = pids(fresh), d = pids(fresh);
  EXPECT_NE(c, d) << "without persistent_workers each epoch starts new workers";
}

TEST(DataLoader, DestroyingMidEpochStopsTheWorkers) {
  std::set<int64_t> pids;
  {
    DataLoader loader(std::make_shared<ProbeDataset>(1000), {.batch_size = 4, .num_workers = 2,
                                                             .worker_mode = WorkerMode::process});
    int n = 0;
    for (data::Batch& b : loader) {
      pids.insert(b[2].data_ptr<int64_t>()[0]);
      if (++n == 3) break;
    }
  }
  ASSERT_EQ(pids.size(), 2u);
  for (int64_t pid : pids) EXPECT_NE(::kill(static_cast<pid_t>(pid), 0), 0) << "worker " << pid << " still running";
  for (const std::string& s : mp::list_segments())
    for (int64_t pid : pids) EXPECT_EQ(s.find("hpml." + std::to_string(pid) + "."), std::string::npos) << s;
}

TEST(DataLoader, WorkerInitFnAndSeeds) {
  std::atomic<int> calls{0};
  DataLoader loader(std::make_shared<ProbeDataset>(12),
                    {.batch_size = 2, .num_workers = 3, .worker_init_fn = [&](int) { ++calls; },
                     .generator = std::make_shared<Generator>(5)});
  EXPECT_EQ(indices_of(loader).size(), 6u);
  EXPECT_EQ(calls.load(), 3);
  // Seeds: base_seed + worker id, the base drawn from the loader's generator each epoch.
  struct SeedProbe : data::Dataset {
    int64_t size() const override { return 4; }
    data::Sample get(int64_t) const override {
      return {scalar_tensor(static_cast<int64_t>(data::worker_info()->seed), kInt64)};
    }
  };
  DataLoader seeds(std::make_shared<SeedProbe>(), {.batch_size = 1, .num_workers = 2,
                                                   .generator = std::make_shared<Generator>(9)});
  std::vector<int64_t> got;
  for (data::Batch& b : seeds) got.push_back(b[0].item<int64_t>());
  Generator g(9);
  const auto base = static_cast<int64_t>(g.next_u64());
  EXPECT_EQ(got, (std::vector<int64_t>{base, base + 1, base, base + 1}));
}

TEST(DataLoader, SpawnRefusesWhatItCannotSend) {
  DataLoader loader(std::make_shared<ProbeDataset>(8), {.batch_size = 2, .num_workers = 1,
                                                        .worker_mode = WorkerMode::process,
                                                        .multiprocessing_context = mp::StartMethod::spawn});
  try {
    for (data::Batch& b : loader) (void)b;
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ProbeDataset cannot be sent"), std::string::npos) << e.what();
  }
}

namespace {
// Each worker yields its share: samples w, w + W, w + 2W, ... of 0..n-1.
struct Range : data::IterableDataset {
  int64_t n;
  explicit Range(int64_t n_) : n(n_) {}
  std::function<std::optional<data::Sample>()> iterate() const override {
    auto info = data::worker_info();
    const int64_t w = info ? info->id : 0, W = info ? info->num_workers : 1;
    auto i = std::make_shared<int64_t>(w);
    const int64_t end = n;
    return [i, W, end]() -> std::optional<data::Sample> {
      if (*i >= end) return std::nullopt;
      int64_t v = *i;
      *i += W;
      return data::Sample{scalar_tensor(v, kInt64)};
    };
  }
};
}  // namespace

TEST(DataLoader, IterableDatasetInEveryMode) {
  for (const Mode& m : kModes) {
    if (m.method != mp::StartMethod::fork) continue;
    DataLoader loader(std::make_shared<Range>(23), with_mode({.batch_size = 4}, m));
    std::multiset<int64_t> seen;
    for (data::Batch& b : loader)
      for (int64_t k = 0; k < b[0].numel(); ++k) seen.insert(b[0].data_ptr<int64_t>()[k]);
    EXPECT_EQ(seen.size(), 23u) << m.name;
    for (int64_t v = 0; v < 23; ++v) EXPECT_EQ(seen.count(v), 1u) << m.name << " value " << v;
  }
  DataLoader loader(std::make_shared<Range>(5), {.batch_size = 2});
  EXPECT_THROW(loader.size(), Error);
}

TEST(DataLoader, CollateFnAndDefaultCollateErrors) {
  DataLoader loader(tensor_dataset(6), {.batch_size = 3, .collate_fn = [](const std::vector<data::Sample>& s) {
                                          return data::Batch{scalar_tensor(static_cast<int64_t>(s.size()), kInt64)};
                                        }});
  for (data::Batch& b : loader) EXPECT_EQ(b[0].item<int64_t>(), 3);
  try {
    data::default_collate({{zeros({2})}, {zeros({3})}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("field 0 of sample 1 is [3]"), std::string::npos) << e.what();
  }
}

TEST(DataLoader, BadOptions) {
  auto ds = tensor_dataset(4);
  EXPECT_THROW(DataLoader(ds, {.batch_size = 0}), Error);
  EXPECT_THROW(DataLoader(ds, {.num_workers = -1}), Error);
  EXPECT_THROW(DataLoader(ds, {.persistent_workers = true}), Error);
  EXPECT_THROW(DataLoader(ds, {.shuffle = true, .sampler = std::make_shared<data::SequentialSampler>(4)}), Error);
  EXPECT_THROW(DataLoader(ds, {.batch_size = 2, .batch_sampler = std::make_shared<data::BatchSampler>(
                                                    std::make_shared<data::SequentialSampler>(4), 2, false)}),
               Error);
  EXPECT_THROW(DataLoader(data::DatasetPtr{}, {}), Error);
}

TEST(DataLoader, ATimeoutDoesNotWaitForTheStuckPersistentWorker) {
  auto slow = std::make_shared<ProbeDataset>(8, hpml::testing::Failure::sleeps, 0);
  DataLoader loader(slow, {.batch_size = 2, .num_workers = 1, .worker_mode = WorkerMode::process,
                           .persistent_workers = true, .timeout = 0.3});
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(indices_of(loader), Error);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.5)
      << "the error must not wait for the stuck worker";
}

TEST(DataLoader, ErrorWithPinMemoryThenANewEpoch) {
  for (WorkerMode mode : {WorkerMode::thread, WorkerMode::process}) {
    auto ds = std::make_shared<ProbeDataset>(40, hpml::testing::Failure::throws, 9);
    DataLoader loader(ds, {.batch_size = 4, .num_workers = 2, .worker_mode = mode, .pin_memory = true});
    EXPECT_THROW(indices_of(loader), Error);
    int n = 0;
    try {
      for (data::Batch& b : loader) {  // the next epoch starts clean: batches 0 and 1, then the error again
        EXPECT_EQ(b[1].data_ptr<int64_t>()[0], 4 * n);
        ++n;
      }
    } catch (const Error&) {
    }
    EXPECT_EQ(n, 2);
  }
}

TEST(DataLoader, OneEpochAtATime) {
  DataLoader loader(tensor_dataset(10), {.batch_size = 2});
  auto first = loader.begin();
  auto second = loader.begin();  // abandons the first epoch
  EXPECT_THROW(++first, Error);
  int n = 0;
  for (; second != loader.end(); ++second) ++n;
  EXPECT_EQ(n, 5);
}

TEST(DataLoader, WorkerInitFnSeesWorkerInfoInProcesses) {
  Tensor seen = full({2}, -1, kInt64);
  seen.share_memory_();
  DataLoader loader(std::make_shared<ProbeDataset>(8),
                    {.batch_size = 2, .num_workers = 2, .worker_mode = WorkerMode::process,
                     .worker_init_fn = [seen](int id) mutable {
                       auto info = data::worker_info();
                       seen.data_ptr<int64_t>()[id] = info && info->id == id ? 1 : 0;
                     }});
  EXPECT_EQ(indices_of(loader).size(), 4u);
  EXPECT_EQ(seen.sum().item<int64_t>(), 2);
}
