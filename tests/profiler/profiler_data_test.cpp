// The profiler across threads and processes: DataLoader worker threads and worker processes
// (their events come back under their own pids), the wire format those events travel in, and
// training that is bit for bit the same with the profiler on.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "hpml/hpml.h"

namespace hpml {
namespace {

using profiler::Profile;
using record::Event;

data::DatasetPtr squares(int64_t n) {
  Tensor x = arange(0, n, 1, TensorOptions(kFloat32)).unsqueeze(1);
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{x, x * x});
}

// Every batch of a loader, inside a profile; returns the profile's events.
std::vector<Event> profile_epoch(data::DataLoaderOptions o, record::Recording* rec = nullptr) {
  data::DataLoader loader(squares(64), o);
  Profile prof({.record_shapes = true});
  prof.start();
  int batches = 0;
  for (data::Batch& b : loader) batches += b[0].size(0) > 0;
  prof.stop();
  EXPECT_EQ(batches, 8);
  if (rec) *rec = prof.result();
  return prof.events();
}

TEST(ProfilerData, MainThreadWaitsAndWorkerThreadsFetch) {
  record::Recording rec;
  const std::vector<Event> ev = profile_epoch({.batch_size = 8, .num_workers = 2}, &rec);
  int next = 0, fetch_elsewhere = 0;
  std::set<int32_t> worker_tids;
  for (const Event& e : ev) {
    if (e.name == "DataLoader.next") {
      ++next;
      EXPECT_EQ(e.tid, static_cast<int32_t>(getpid()));  // the main thread
    }
    if (e.name == "DataLoader.fetch" && e.tid != static_cast<int32_t>(getpid())) {
      ++fetch_elsewhere;
      worker_tids.insert(e.tid);
    }
  }
  EXPECT_EQ(next, 9);  // eight batches and the end of the epoch
  EXPECT_EQ(fetch_elsewhere, 8);
  EXPECT_EQ(worker_tids.size(), 2u);
  int named = 0;
  for (const auto& [tid, name] : rec.thread_names)
    named += worker_tids.count(tid) && name.rfind("DataLoader worker ", 0) == 0;
  EXPECT_EQ(named, 2);
}

void expect_worker_process_events(mp::StartMethod method) {
  record::Recording rec;
  const std::vector<Event> ev =
      profile_epoch({.batch_size = 8, .num_workers = 2, .worker_mode = data::WorkerMode::process,
                     .multiprocessing_context = method}, &rec);
  const int32_t me = static_cast<int32_t>(getpid());
  std::set<int32_t> pids;
  int fetch = 0, copy = 0;
  for (const Event& e : ev) {
    if (e.pid == me) continue;
    pids.insert(e.pid);
    fetch += e.name == "DataLoader.fetch";
    copy += e.name == "DataLoader.to_shared_memory";
    EXPECT_GE(e.start_ns, rec.start_ns - 1000000000);  // one clock for both processes: within the
    EXPECT_LE(e.end_ns, rec.stop_ns);                   // recording (tasks may start a little before)
  }
  EXPECT_EQ(pids.size(), 2u) << "events from two worker processes";
  EXPECT_EQ(fetch, 8);
  EXPECT_EQ(copy, 8);
  for (int32_t pid : pids) {
    bool named = false;
    for (const auto& [p, name] : rec.process_names)
      named = named || (p == pid && name.rfind("DataLoader worker ", 0) == 0);
    EXPECT_TRUE(named) << "pid " << pid << " has no process name";
  }
}

TEST(ProfilerData, ForkWorkerProcessesSendTheirEvents) { expect_worker_process_events(mp::StartMethod::fork); }
TEST(ProfilerData, SpawnWorkerProcessesSendTheirEvents) { expect_worker_process_events(mp::StartMethod::spawn); }

// A few SGD steps over a loader; the parameters after them.
std::vector<Tensor> train(bool profiled) {
  manual_seed(7);
  nn::Sequential model;
  model.push_back(std::make_shared<nn::Linear>(1, 8));
  model.push_back(std::make_shared<nn::Tanh>());
  model.push_back(std::make_shared<nn::Linear>(8, 1));
  optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  data::DataLoader loader(squares(64), {.batch_size = 8, .shuffle = true, .num_workers = 2,
                                        .generator = std::make_shared<Generator>(3)});
  Profile prof({.record_shapes = true, .profile_memory = true, .schedule = profiler::Schedule{.wait = 1, .active = 3}});
  if (profiled) prof.start();
  for (data::Batch& b : loader) {
    Tensor loss = nn::functional::mse_loss(model.forward(b[0] / 64), b[1] / 4096);
    loss.backward();
    opt.step();
    opt.zero_grad();
    if (profiled) prof.step();
  }
  if (profiled) {
    prof.stop();
    EXPECT_FALSE(prof.events().empty());
  }
  std::vector<Tensor> out;
  for (const Tensor& p : model.parameters()) out.push_back(p.clone());
  return out;
}

TEST(ProfilerData, TrainingIsBitIdenticalWithTheProfilerOn) {
  const std::vector<Tensor> off = train(false), on = train(true);
  ASSERT_EQ(off.size(), on.size());
  for (size_t i = 0; i < off.size(); ++i) {
    ASSERT_EQ(off[i].sizes(), on[i].sizes());
    EXPECT_EQ(std::memcmp(off[i].data_ptr(), on[i].data_ptr(), off[i].nbytes()), 0) << "parameter " << i;
  }
}

TEST(ProfilerData, EventBytesRoundTripAndMalformedOnesAreRefused) {
  Event e;
  e.name = "DataLoader.fetch";
  e.kind = record::Kind::data;
  e.start_ns = 10;
  e.end_ns = 25;
  e.tid = 42;
  e.depth = 1;
  e.inputs.push_back({kFloat64, DimVector({2, 3})});
  const std::string bytes = record::encode_events({e, e});
  const std::vector<Event> back = record::decode_events(bytes, "worker 0");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].name, "DataLoader.fetch");
  EXPECT_EQ(back[1].end_ns, 25);
  EXPECT_EQ(back[1].inputs[0].sizes, DimVector({2, 3}));
  // Every truncation is refused, never read past the end.
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(record::decode_events(bytes.substr(0, n), "worker 0"), Error) << "truncated at " << n;
  EXPECT_THROW(record::decode_events(bytes + "x", "worker 0"), Error);
  std::string huge = bytes;
  const uint32_t many = 0xffffffffu;
  std::memcpy(huge.data(), &many, 4);
  try {
    record::decode_events(huge, "DataLoader worker 3 (pid 99)");
    ADD_FAILURE() << "a count of 2^32 - 1 events was accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("DataLoader worker 3 (pid 99)"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("4294967295"), std::string::npos) << err.what();
  }
  std::string backwards = record::encode_events({e});
  const int64_t before = 5;  // end_ns is at offset 4 + 4 + 16 + 1 + 8
  std::memcpy(backwards.data() + 4 + 4 + e.name.size() + 1 + 8, &before, 8);
  EXPECT_THROW(record::decode_events(backwards, "worker 0"), Error);
}

}  // namespace
}  // namespace hpml
