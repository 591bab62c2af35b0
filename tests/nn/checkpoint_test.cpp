// Training checkpoints (io::save_checkpoint / load_checkpoint): a run interrupted and resumed -
// at an epoch boundary, after an epoch's last batch, or inside an epoch - ends bit for bit where
// an uninterrupted run ends; truncated, corrupted, incomplete or mismatched checkpoints are refused
// naming the file and what is wrong; a failed write keeps the previous checkpoint.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "hpml/io/checkpoint.h"
#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using nntest::error_of;
using nntest::read_bytes;
using nntest::TempDir;
using nntest::write_bytes;

// ---- a small training run: MLP with dropout, SGD with momentum, StepLR, a shuffled loader ------

data::DatasetPtr blobs() {
  static const data::Blobs b = data::make_blobs({.n_samples = 64, .n_features = 2, .n_centers = 3, .seed = 0});
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{b.X, b.y});
}

// Seeds the default generator (initial weights, dropout) and gives the loader's own generator.
std::shared_ptr<Generator> seeded(uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<Generator>(seed + 1000);
}

struct TrainRun {
  std::shared_ptr<Generator> data_gen;
  nn::Sequential net;
  optim::SGD opt;
  optim::StepLR sched;
  data::DataLoader loader;

  explicit TrainRun(uint64_t seed, int64_t hidden = 16)
      : data_gen(seeded(seed)),
        net(nn::Linear(2, hidden), nn::ReLU(), nn::Dropout(0.25), nn::Linear(hidden, 3)),
        opt(net.parameters(), {.lr = 0.1, .momentum = 0.9}),
        sched(opt, 1, 0.7),
        loader(blobs(), {.batch_size = 8, .shuffle = true, .generator = data_gen}) {}
  io::TrainingObjects objects() {
    return {.model = &net, .optimizer = &opt, .scheduler = &sched, .generators = {{"data", data_gen.get()}}};
  }
};

struct SavePoint {
  int64_t epoch, batch;
  std::string path;
};

// The resume recipe (Note [Resuming inside an epoch]): from `pos` to the end of epoch `epochs`,
// skipping the batches of pos.epoch already done, and saving a checkpoint where a save point says
// (batch 0: at the top of the epoch; batch k: after the epoch's k-th batch).
void train(TrainRun& r, io::TrainingProgress pos, int64_t epochs, const std::vector<SavePoint>& saves = {}) {
  for (; pos.epoch < epochs; ++pos.epoch, pos.batch = 0) {
    const Tensor epoch_start = r.data_gen->state();  // before the loader draws the epoch's order
    auto save_if_due = [&] {
      for (const SavePoint& s : saves)
        if (s.epoch == pos.epoch && s.batch == pos.batch) {
          io::CheckpointState ck = io::capture(r.objects(), pos, {{"command", "hpml train --epochs 4"}});
          ck.rng["data"] = epoch_start;
          io::save_checkpoint(s.path, ck);
        }
    };
    if (pos.batch == 0) save_if_due();
    int64_t k = 0;
    for (data::Batch& b : r.loader) {
      if (k++ < pos.batch) continue;  // done before the checkpoint
      r.opt.zero_grad();
      nn::functional::cross_entropy(r.net(b[0]), b[1]).backward();
      r.opt.step();
      ++pos.step;
      ++pos.batch;
      save_if_due();
    }
    r.sched.step();
  }
}

// Names, dtypes, shapes and bytes equal.
void expect_same_bytes(const io::NamedTensors& a, const io::NamedTensors& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(what + " " + a[i].first);
    ASSERT_EQ(a[i].first, b[i].first);
    const Tensor x = a[i].second.detach().contiguous(), y = b[i].second.detach().contiguous();
    ASSERT_EQ(x.dtype(), y.dtype());
    ASSERT_EQ(x.sizes(), y.sizes());
    EXPECT_EQ(std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()), 0) << "bytes differ";
  }
}

bool same_bytes(const io::NamedTensors& a, const io::NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor x = a[i].second.detach().contiguous(), y = b[i].second.detach().contiguous();
    if (a[i].first != b[i].first || x.dtype() != y.dtype() || x.sizes() != y.sizes() ||
        std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes()) != 0)
      return false;
  }
  return true;
}

// Sorted by name: a loaded file lists its tensors in the header's order, not the state dict's.
io::NamedTensors by_name(io::NamedTensors t) {
  std::sort(t.begin(), t.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return t;
}

// A clone of a state dict, to compare with later.
io::NamedTensors snapshot(const io::NamedTensors& sd) {
  io::NamedTensors out;
  for (const auto& [n, t] : sd) out.emplace_back(n, t.detach().clone());
  return out;
}

uint64_t header_end(const std::string& bytes) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return 8 + n;
}

// ---- (a) resume bit for bit ---------------------------------------------------------------------

TEST(Checkpoint, ResumedRunsEndBitForBitWhereTheStraightRunEnds) {
  TempDir dir;
  const std::vector<SavePoint> saves = {{1, 8, dir.file("after_last_batch.ckpt")},  // 2 epochs done, before sched.step
                                        {2, 0, dir.file("epoch_boundary.ckpt")},    // after sched.step
                                        {2, 3, dir.file("mid_epoch.ckpt")}};
  TrainRun straight(0);
  ASSERT_EQ(straight.loader.size(), 8);
  train(straight, {}, 4, saves);  // saving must not disturb the run
  const io::NamedTensors want_model = snapshot(straight.net.state_dict());
  const io::NamedTensors want_opt = straight.opt.state_dict();
  const Tensor want_default = default_generator().state(), want_data = straight.data_gen->state();

  const int64_t steps[] = {16, 16, 19};
  for (size_t i = 0; i < saves.size(); ++i) {
    SCOPED_TRACE(saves[i].path);
    TrainRun resumed(1234 + i);  // other weights, data order and dropout masks until restored
    ASSERT_FALSE(same_bytes(resumed.net.state_dict(), want_model));
    io::Metadata meta;
    const io::TrainingProgress pos = io::load_checkpoint(saves[i].path, resumed.objects(), &meta);
    EXPECT_EQ(pos, (io::TrainingProgress{saves[i].epoch, steps[i], saves[i].batch}));
    EXPECT_EQ(meta, (io::Metadata{{"command", "hpml train --epochs 4"}}));
    train(resumed, pos, 4);
    expect_same_bytes(resumed.net.state_dict(), want_model, "model");
    expect_same_bytes(resumed.opt.state_dict(), want_opt, "optimizer");
    EXPECT_EQ(resumed.sched.get_last_lr(), straight.sched.get_last_lr());
    EXPECT_EQ(resumed.sched.last_epoch(), straight.sched.last_epoch());
    expect_same_bytes({{"default", default_generator().state()}, {"data", resumed.data_gen->state()}},
                      {{"default", want_default}, {"data", want_data}}, "generators");
  }

  // Controls: without the dropout stream, or inside an epoch without the loader's epoch-start
  // state, the resumed run ends elsewhere - the restored generators are what makes it exact.
  {
    TrainRun r(7);
    const io::TrainingProgress pos = io::load_checkpoint(saves[1].path, r.objects());
    manual_seed(77);
    train(r, pos, 4);
    EXPECT_FALSE(same_bytes(r.net.state_dict(), want_model)) << "dropout draws did not matter";
  }
  {
    TrainRun r(8);
    io::CheckpointState ck = io::load_checkpoint(saves[2].path);
    const Tensor epoch_start = ck.rng.at("data");
    Generator g;
    g.set_state(epoch_start);
    g.next_u64();  // the state after the epoch's first draw, not before it
    ck.rng["data"] = g.state();
    const io::TrainingProgress pos = io::restore(ck, r.objects());
    train(r, pos, 4);
    EXPECT_FALSE(same_bytes(r.net.state_dict(), want_model)) << "the epoch's data order did not matter";
  }
}

TEST(Checkpoint, CaptureCopiesAndRoundTripsEverySection) {
  TempDir dir;
  TrainRun r(3);
  train(r, {}, 1);
  io::CheckpointState ck = io::capture(r.objects(), {1, 8, 0}, {{"note", "x"}});
  EXPECT_EQ(ck.optimizer_type, "SGD");
  EXPECT_EQ(ck.scheduler_type, "StepLR");
  EXPECT_EQ(ck.rng.size(), 2u);
  const io::NamedTensors model_then = snapshot(ck.model);
  train(r, {1, 8, 0}, 2);  // training on does not change what was captured
  expect_same_bytes(ck.model, model_then, "captured model");
  io::save_checkpoint(dir.file("c.ckpt"), ck);
  const io::CheckpointState back = io::load_checkpoint(dir.file("c.ckpt"));
  EXPECT_EQ(back.progress, (io::TrainingProgress{1, 8, 0}));
  EXPECT_EQ(back.optimizer_type, "SGD");
  EXPECT_EQ(back.scheduler_type, "StepLR");
  EXPECT_EQ(back.metadata, (io::Metadata{{"note", "x"}}));
  expect_same_bytes(by_name(back.model), by_name(ck.model), "model after the round trip");
  expect_same_bytes(by_name(back.optimizer), by_name(ck.optimizer), "optimizer after the round trip");
  expect_same_bytes(by_name(back.scheduler), by_name(ck.scheduler), "scheduler after the round trip");
  EXPECT_TRUE(back.plateau.empty());
  // The file itself: prefixed names and hpml's metadata.
  io::Metadata meta;
  std::map<std::string, Tensor> raw;
  for (auto& [n, t] : io::load_safetensors(dir.file("c.ckpt"), &meta)) raw[n] = t;
  for (const char* name :
       {"model.0.weight", "model.3.bias", "optimizer.param_groups.0.lr", "optimizer.state.0.momentum_buffer",
        "scheduler.last_epoch", "rng.default", "rng.data", "meta.epoch", "meta.step", "meta.batch"})
    EXPECT_EQ(raw.count(name), 1u) << name;
  EXPECT_EQ(meta["hpml.format"], "hpml.checkpoint");
  EXPECT_EQ(meta["hpml.format_version"], "1");
  EXPECT_EQ(meta["hpml.optimizer"], "SGD");
  EXPECT_EQ(meta["hpml.checksum"].rfind("crc32:", 0), 0u);
  EXPECT_EQ(meta["hpml.checksum"].size(), 14u);
  EXPECT_EQ(meta["hpml.checksum"], io::checkpoint_checksum(io::load_safetensors(dir.file("c.ckpt")), meta));
}

// ---- (b) truncated and (c) corrupted files ---------------------------------------------------------

class BadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    TrainRun r(5);
    train(r, {}, 1);
    io::save_checkpoint(good, r.objects(), {1, 8, 0});
    bytes = read_bytes(good);
    ASSERT_GT(bytes.size(), header_end(bytes) + 100);
  }
  // The error of loading `b` (plain and into live objects, which must stay as they were).
  std::string load_error(const std::string& b) {
    write_bytes(bad, b);
    const std::string e = error_of([&] { io::load_checkpoint(bad); });
    TrainRun target(9);
    const io::NamedTensors before = snapshot(target.net.state_dict());
    const Tensor gen_before = default_generator().state();
    EXPECT_EQ(error_of([&] { io::load_checkpoint(bad, target.objects()); }), e);
    expect_same_bytes(target.net.state_dict(), before, "model after a refused load");
    expect_same_bytes({{"g", default_generator().state()}}, {{"g", gen_before}},
                      "default generator after a refused load");
    EXPECT_CONTAINS(e, bad);
    return e;
  }
  TempDir dir;
  const std::string good = dir.file("good.ckpt"), bad = dir.file("bad.ckpt");
  std::string bytes;
};

TEST_F(BadFile, TruncatedAnywhereIsRefused) {
  const uint64_t h = header_end(bytes);
  for (uint64_t cut : {uint64_t{0}, uint64_t{5}, uint64_t{8}, uint64_t{40}, h - 1, h, h + 1, h + 100,
                       uint64_t{bytes.size()} - 4, uint64_t{bytes.size()} - 1}) {
    SCOPED_TRACE(cut);
    const std::string e = load_error(bytes.substr(0, cut));
    EXPECT_CONTAINS(e, "is truncated or corrupted (" + std::to_string(cut) + " bytes)");
  }
}

TEST_F(BadFile, FlippedDataByteFailsTheChecksum) {
  const uint64_t h = header_end(bytes);
  for (uint64_t at : {h, h + 77, uint64_t{bytes.size()} - 1}) {
    SCOPED_TRACE(at);
    std::string b = bytes;
    b[at] = static_cast<char>(b[at] ^ 0x10);
    const std::string e = load_error(b);
    EXPECT_CONTAINS(e, "is corrupted: checksum mismatch, the file records crc32:");
    EXPECT_CONTAINS(e, " but its contents give crc32:");
  }
}

TEST_F(BadFile, ChangedHeaderFailsTheChecksum) {
  // Still valid safetensors, but a name, the format field or the recorded checksum itself changed.
  for (auto [from, to] :
       std::vector<std::pair<std::string, std::string>>{{"\"meta.step\"", "\"meta.stEp\""},
                                                        {"\"model.0.bias\"", "\"model.0.bia_\""},
                                                        {"\"hpml.checkpoint\"", "\"hpml.checkpoinT\""}}) {
    SCOPED_TRACE(from);
    std::string b = bytes;
    const size_t at = b.find(from);
    ASSERT_NE(at, std::string::npos);
    ASSERT_LT(at, header_end(b));
    b.replace(at, from.size(), to);
    EXPECT_CONTAINS(load_error(b), "checksum mismatch");
  }
  std::string b = bytes;
  const size_t digit = b.find("crc32:") + 6;
  b[digit] = b[digit] == '0' ? '1' : '0';
  EXPECT_CONTAINS(load_error(b), "checksum mismatch");
}

TEST_F(BadFile, NotACheckpointOrIncomplete) {
  TrainRun r(5);
  io::save(r.net, bad);  // a plain state dict
  EXPECT_CONTAINS(error_of([&] { io::load_checkpoint(bad); }), "is a safetensors file but not an hpml checkpoint");
  EXPECT_CONTAINS(error_of([&] { io::load_checkpoint(dir.file("missing.ckpt")); }),
                  "cannot open " + dir.file("missing.ckpt"));
  // A file with a valid checksum but without meta.step (another writer's mistake).
  io::Metadata meta;
  io::NamedTensors ts;
  for (auto& e : io::load_safetensors(good, &meta))
    if (e.first != "meta.step") ts.push_back(e);
  meta["hpml.checksum"] = io::checkpoint_checksum(ts, meta);
  io::save_safetensors(bad, ts, meta);
  const std::string e = error_of([&] { io::load_checkpoint(bad); });
  EXPECT_CONTAINS(e, bad);
  EXPECT_CONTAINS(e, "the entry 'meta.step' is missing");
  // A newer format version.
  meta["hpml.format_version"] = "2";
  meta["hpml.checksum"] = io::checkpoint_checksum(ts, meta);
  io::save_safetensors(bad, ts, meta);
  EXPECT_CONTAINS(error_of([&] { io::load_checkpoint(bad); }),
                  "has checkpoint format version '2'; this hpml reads version 1");
}

// ---- (d) a failed write keeps the previous checkpoint ----------------------------------------------

TEST(Checkpoint, FailedWriteKeepsThePreviousCheckpoint) {
  TempDir dir;
  const std::string path = dir.file("run.ckpt");
  TrainRun r(11);
  io::save_checkpoint(path, r.objects(), {0, 0, 0});
  const std::string good = read_bytes(path);
  ASSERT_LT(good.size(), 64u * 1024);
  auto still_good = [&](const std::string& e, const std::string& want) {
    EXPECT_CONTAINS(e, want);
    EXPECT_EQ(read_bytes(path), good);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"run.ckpt"}) << "a temporary file was left behind";
    TrainRun fresh(12);
    EXPECT_EQ(io::load_checkpoint(path, fresh.objects()), (io::TrainingProgress{0, 0, 0}));
    expect_same_bytes(fresh.net.state_dict(), r.net.state_dict(), "model from the kept checkpoint");
  };
  io::CheckpointState big = io::capture(r.objects(), {1, 8, 0});
  big.model.emplace_back("big", zeros({1 << 20}));  // 4 MB

  // The disk fills up in the middle of the write: the process may not grow files past 64 KiB.
  const std::string e = nntest::error_with_file_size_limit(64 * 1024, [&] { io::save_checkpoint(path, big); });
  still_good(e, "(any previous checkpoint at " + path + " is unchanged)");

  // The folder is read-only (root writes anyway, so only as another user).
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
    const std::string e3 = error_of([&] { io::save_checkpoint(path, big); });
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    still_good(e3, "is unchanged");
  } else {
    std::printf("[ NOTE     ] the read-only-folder case did not run: root may write into a read-only folder\n");
  }

  // Refused before any file is touched.
  io::CheckpointState undefined = big;
  undefined.optimizer.emplace_back("state.9.x", Tensor());
  still_good(error_of([&] { io::save_checkpoint(path, undefined); }),
             "optimizer entry 'state.9.x' is an undefined tensor");
  still_good(error_of([&] {
               io::save_checkpoint(path, r.objects(), {1, 0, 0}, {{"hpml.checksum", "0"}});
             }),
             "metadata key 'hpml.checksum' is reserved");
  io::CheckpointState bad_rng = big;
  bad_rng.rng["data"] = zeros({16});
  still_good(error_of([&] { io::save_checkpoint(path, bad_rng); }),
             "generator 'data' (rng.data) must be a u8 tensor of 16 bytes");
  still_good(error_of([&] {
               io::save_checkpoint(path, r.objects(), {-1, 0, 0});
             }),
             "progress.epoch must be >= 0, got -1");

  // A folder that does not exist is named.
  EXPECT_CONTAINS(error_of([&] { io::save_checkpoint(dir.file("no/such/dir/run.ckpt"), big); }), "no/such/dir");
  EXPECT_EQ(read_bytes(path), good);
}

// ---- (e) checkpoints that do not fit the objects ---------------------------------------------------

TEST(Checkpoint, WrongModelShapeNamesTheTensorAndBothShapes) {
  TempDir dir;
  const std::string path = dir.file("wide.ckpt");
  TrainRun wide(1, /*hidden=*/16);
  io::save_checkpoint(path, wide.objects(), {0, 0, 0});
  TrainRun narrow(2, /*hidden=*/8);
  const io::NamedTensors model_before = snapshot(narrow.net.state_dict());
  const io::NamedTensors opt_before = narrow.opt.state_dict();
  const Tensor gen_before = default_generator().state(), data_before = narrow.data_gen->state();
  const std::string e = error_of([&] { io::load_checkpoint(path, narrow.objects()); });
  EXPECT_CONTAINS(e, path);
  EXPECT_CONTAINS(e, "model tensor '0.weight' has shape [16, 2] in the checkpoint but [8, 2] in the model");
  // Nothing was changed.
  expect_same_bytes(narrow.net.state_dict(), model_before, "model");
  expect_same_bytes(narrow.opt.state_dict(), opt_before, "optimizer");
  expect_same_bytes({{"default", default_generator().state()}, {"data", narrow.data_gen->state()}},
                    {{"default", gen_before}, {"data", data_before}}, "generators");
}

TEST(Checkpoint, MismatchedObjectsAreRefusedNamingWhat) {
  TempDir dir;
  const std::string path = dir.file("run.ckpt");
  TrainRun r(1);
  train(r, {}, 1);  // the optimizer has momentum buffers
  io::save_checkpoint(path, r.objects(), {1, 8, 0});
  const std::string where = "load_checkpoint: " + path + ": ";
  auto load_into = [&](io::TrainingObjects o) { return error_of([&] { io::load_checkpoint(path, o); }); };

  TrainRun t(2);
  io::TrainingObjects o = t.objects();
  o.generators.clear();  // the checkpoint has rng.data, nobody takes it
  EXPECT_CONTAINS(load_into(o), where +
                                    "the checkpoint holds the state of generator 'data' (entry 'rng.data'), but no "
                                    "generator of that name was given");
  o = t.objects();
  Generator extra;
  o.generators.emplace_back("augment", &extra);
  EXPECT_CONTAINS(load_into(o), where + "the checkpoint has no state for generator 'augment' (entry 'rng.augment')");
  o = t.objects();
  o.scheduler = nullptr;
  EXPECT_CONTAINS(load_into(o), where + "the checkpoint holds scheduler state (StepLR), but no scheduler was given");
  optim::Adam adam(t.net.parameters());
  o = t.objects();
  o.optimizer = &adam;
  EXPECT_CONTAINS(load_into(o), where + "the checkpoint holds SGD optimizer state, but the optimizer is Adam");
  optim::ReduceLROnPlateau plateau(t.opt);
  o = t.objects();
  o.plateau = &plateau;
  EXPECT_CONTAINS(load_into(o), where + "the checkpoint has no ReduceLROnPlateau state (no 'plateau.*' entries)");
  // A model with other parameter names: load_state_dict's strict report, with the file.
  nn::Sequential other(nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 3));
  o = t.objects();
  o.model = &other;
  const std::string e = load_into(o);
  EXPECT_CONTAINS(e, where + "load_state_dict: error(s) in loading the state dict");
  EXPECT_CONTAINS(e, "'2.weight'");
  // Optimizer state into an optimizer over other parameters.
  io::save_checkpoint(path, {.model = &r.net, .optimizer = &r.opt}, {1, 8, 0});
  TrainRun u(3, /*hidden=*/8);
  nn::Sequential same(nn::Linear(2, 16), nn::ReLU(), nn::Dropout(0.25), nn::Linear(16, 3));
  EXPECT_CONTAINS(error_of([&] { io::load_checkpoint(path, {.model = &same, .optimizer = &u.opt}); }),
                  where + "SGD.load_state_dict");
  // The same checkpoint into matching objects.
  optim::SGD sgd(same.parameters(), {.lr = 1.0});
  EXPECT_EQ(io::load_checkpoint(path, {.model = &same, .optimizer = &sgd}), (io::TrainingProgress{1, 8, 0}));
  EXPECT_EQ(sgd.lr(0), r.opt.lr(0));
  expect_same_bytes(same.state_dict(), r.net.state_dict(), "model");
  expect_same_bytes(sgd.state_dict(), r.opt.state_dict(), "optimizer");
}

}  // namespace
}  // namespace hpml
