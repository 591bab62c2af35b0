// Crafted checkpoints (the checksum recomputed, as anyone can): state that would make a fused
// optimizer step read or write past a buffer, unknown keys, and numbers out of bounds, for every
// optimizer, the schedulers and the generators. Each must be refused with a message naming the
// key, the expected and the found shape / dtype or value (Note [Checking optimizer state]).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "hpml/io/checkpoint.h"
#include "hpml/io/safetensors.h"
#include "hpml/nn/layers.h"
#include "hpml/ops/factories.h"
#include "hpml/optim/lr_scheduler.h"
#include "hpml/optim/optimizers.h"
#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)>;

struct Case {
  const char* name;
  MakeOpt make;
  const char* buffer;  // a per-parameter state tensor it keeps after one step
};

const Case kCases[] = {
    {"SGD", [](const TensorList& p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = 0.1, .momentum = 0.9}); },
     "momentum_buffer"},
    {"Adagrad", [](const TensorList& p) { return std::make_unique<optim::Adagrad>(p); }, "sum"},
    {"Adadelta", [](const TensorList& p) { return std::make_unique<optim::Adadelta>(p); }, "acc_delta"},
    {"RMSprop",
     [](const TensorList& p) { return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions{.momentum = 0.5}); },
     "momentum_buffer"},
    {"Adam", [](const TensorList& p) { return std::make_unique<optim::Adam>(p); }, "exp_avg_sq"},
    {"AdamW",
     [](const TensorList& p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{.amsgrad = true}); },
     "max_exp_avg_sq"},
};

// A tiny run after one step, saved; `edit` changes its state; the loaded result's error.
struct TrainRun {
  nn::Linear net{784, 256};
  std::unique_ptr<optim::Optimizer> opt;
  optim::StepLR* sched = nullptr;
  std::unique_ptr<optim::StepLR> sched_own;
  explicit TrainRun(const Case& c) {
    opt = c.make(net.parameters());
    sched_own = std::make_unique<optim::StepLR>(*opt, 3);
    sched = sched_own.get();
    net.forward(ones({2, 784})).sum().backward();
    opt->step();
  }
  io::TrainingObjects objects() { return {.model = &net, .optimizer = opt.get(), .scheduler = sched}; }
};

std::string load_edited(const Case& c, const std::function<void(io::CheckpointState&)>& edit) {
  nntest::TempDir dir;
  const std::string path = dir.file("x.ckpt");
  TrainRun r(c);
  io::CheckpointState s = io::capture(r.objects(), {1, 1, 0});
  edit(s);
  io::save_checkpoint(path, s);  // writes a valid checksum over the edited state
  TrainRun fresh(c);
  return nntest::error_of([&] { io::load_checkpoint(path, fresh.objects()); });
}

void set_entry(io::NamedTensors& sd, const std::string& key, const Tensor& t) {
  for (auto& [k, v] : sd)
    if (k == key) {
      v = t;
      return;
    }
  sd.emplace_back(key, t);
}

TEST(HostileCheckpoint, ScalarStateForABufferIsRefusedForEveryOptimizer) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string key = std::string("state.0.") + c.buffer;
    const std::string e = load_edited(c, [&](io::CheckpointState& s) { set_entry(s.optimizer, key, scalar_tensor(1.0, kFloat32)); });
    EXPECT_CONTAINS(e, key + " has shape [] (f32), its parameter 0 has [256, 784] (f32)");
  }
}

TEST(HostileCheckpoint, WrongShapeOrDtypeOfABufferIsRefused) {
  const Case& adam = kCases[4];
  EXPECT_CONTAINS(load_edited(adam, [](io::CheckpointState& s) { set_entry(s.optimizer, "state.1.exp_avg", zeros({255})); }),
                  "state.1.exp_avg has shape [255] (f32), its parameter 1 has [256] (f32)");
  EXPECT_CONTAINS(
      load_edited(adam, [](io::CheckpointState& s) { set_entry(s.optimizer, "state.1.exp_avg", zeros({256}, kFloat64)); }),
      "state.1.exp_avg has shape [256] (f64), its parameter 1 has [256] (f32)");
}

TEST(HostileCheckpoint, UnknownStateKeysAreRefused) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    EXPECT_CONTAINS(load_edited(c, [](io::CheckpointState& s) { set_entry(s.optimizer, "state.0.bogus", zeros({3})); }),
                    "unexpected key 'state.0.bogus'");
  }
  // SGD keeps no step count.
  EXPECT_CONTAINS(load_edited(kCases[0], [](io::CheckpointState& s) {
                    set_entry(s.optimizer, "state.0.step", scalar_tensor(1.0, kFloat64));
                  }),
                  "unexpected key 'state.0.step'");
}

TEST(HostileCheckpoint, StepMustBeAFiniteNonNegativeInteger) {
  const Case& adam = kCases[4];
  for (double bad : {-1.0, 0.5, 1e300, std::nan("")}) {
    SCOPED_TRACE(bad);
    EXPECT_CONTAINS(load_edited(adam, [&](io::CheckpointState& s) {
                      set_entry(s.optimizer, "state.0.step", scalar_tensor(bad, kFloat64));
                    }),
                    "state.0.step is ");
  }
  EXPECT_CONTAINS(load_edited(adam, [](io::CheckpointState& s) { set_entry(s.optimizer, "state.0.step", zeros({2})); }),
                  "state.0.step must be a 0-d number, got shape [2]");
}

TEST(HostileCheckpoint, OptionsMustBeKnownAndFinite) {
  const Case& sgd = kCases[0];
  EXPECT_CONTAINS(load_edited(sgd, [](io::CheckpointState& s) {
                    set_entry(s.optimizer, "param_groups.0.lr", scalar_tensor(INFINITY, kFloat64));
                  }),
                  "option 'param_groups.0.lr' is inf, not a finite number");
  EXPECT_CONTAINS(load_edited(sgd, [](io::CheckpointState& s) {
                    set_entry(s.optimizer, "param_groups.0.betas", scalar_tensor(0.5, kFloat64));
                  }),
                  "unexpected key 'param_groups.0.betas'");
  EXPECT_CONTAINS(load_edited(sgd, [](io::CheckpointState& s) {
                    set_entry(s.optimizer, "param_groups.0.params", arange(5, 7, 1, kInt64));
                  }),
                  "param_groups.0.params[0] is 5, expected 0");
}

TEST(HostileCheckpoint, SchedulerNumbersAreBounded) {
  const Case& sgd = kCases[0];
  EXPECT_CONTAINS(load_edited(sgd, [](io::CheckpointState& s) {
                    set_entry(s.scheduler, "last_epoch", scalar_tensor(INT64_MAX, kInt64));
                  }),
                  "'last_epoch' is 9223372036854775807, outside [-2^53, 2^53]");
  EXPECT_CONTAINS(load_edited(sgd, [](io::CheckpointState& s) {
                    set_entry(s.scheduler, "gamma", scalar_tensor(std::nan(""), kFloat64));
                  }),
                  "'gamma' is nan, not a finite number");
}

TEST(HostileCheckpoint, GeneratorOffsetIsBounded) {
  // save_checkpoint refuses such a state too, so the file is forged at the safetensors level.
  nntest::TempDir dir;
  const std::string path = dir.file("x.ckpt");
  TrainRun r(kCases[0]);
  io::save_checkpoint(path, r.objects(), {1, 1, 0});
  io::Metadata meta;
  io::NamedTensors ts = io::load_safetensors(path, &meta);
  set_entry(ts, "rng.default", full({16}, 0xff, kUInt8));  // offset 2^64 - 1
  meta["hpml.checksum"] = io::checkpoint_checksum(ts, meta);
  io::save_safetensors(path, ts, meta);
  TrainRun fresh(kCases[0]);
  EXPECT_CONTAINS(nntest::error_of([&] { io::load_checkpoint(path, fresh.objects()); }),
                  "offset 18446744073709551615 is larger than 2^63");
}

TEST(HostileCheckpoint, LongKeyListsAreBounded) {
  nn::Linear net(2, 2);
  nn::StateDict sd = net.state_dict();
  for (int i = 0; i < 30; ++i) sd.emplace_back("extra" + std::to_string(i), zeros({1}));
  const std::string e = nntest::error_of([&] { net.load_state_dict(sd); });
  EXPECT_CONTAINS(e, "'extra19' and 10 more");
  EXPECT_EQ(e.find("'extra20'"), std::string::npos) << e;
}

}  // namespace
}  // namespace hpml
