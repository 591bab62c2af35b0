// The training code of examples/hogwild.cpp (read that file's comment first): N forked processes
// run SGD on one model whose parameters live in shared memory, with no locks. It is a header so
// that the test suite runs exactly this code (tests/mp/hogwild_test.cpp) instead of a copy.
//
//   nn::Sequential model = hogwild::make_model();
//   model.share_memory();                                  // before the processes start
//   hogwild::Result r = hogwild::train(model, train_set, test_images, test_labels, {.procs = 4});
#pragma once

#include <hpml/hpml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace hogwild {

using namespace hpml;

struct Options {
  int procs = 2;      // worker processes
  int epochs = 1;     // passes over each process's shard
  int64_t limit = 0;  // samples per process (0: the whole shard, 60,000 / procs)
  int64_t batch_size = 64;
  double lr = 0.05;
  uint64_t seed = 0;  // the split into shards and each process's shuffles
};

struct Result {
  double accuracy_before = 0, accuracy_after = 0;  // on the test images given to train()
  std::vector<int64_t> steps;                      // optimizer steps each process took
  // Steps before which a process found that another one had changed the parameters since its
  // own previous step: the processes write the same memory, at the same time.
  std::vector<int64_t> interleaved;
  std::vector<bool> trained_shared;  // each process found its parameters in the parent's segments
  Tensor moved;                      // [P] how far the parameters moved: after - before, flattened
  Tensor updates;                    // [procs, P] the sum of each process's own updates (-lr * grad)
  double seconds = 0;                // wall time of the training
};

// How much of the processes' updates the parameters lost to collisions (two processes reading a
// parameter before either wrote it back): |moved - sum of the updates| / |sum of the updates|.
inline double lost_fraction(const Result& r) {
  const Tensor all_updates = r.updates.sum({0});
  return ((r.moved - all_updates).norm() / all_updates.norm()).item<double>();
}

// The MLP 784-128-10 (logits; cross_entropy applies the softmax).
inline nn::Sequential make_model() {
  return nn::Sequential(nn::Flatten(), nn::Linear(28 * 28, 128), nn::ReLU(), nn::Linear(128, 10));
}

// The fraction of `images` ([N, 1, 28, 28]) that `model` labels correctly.
inline double accuracy(nn::Module& model, const Tensor& images, const Tensor& labels) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t n = images.size(0);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i += 1000) {
    const int64_t b = std::min<int64_t>(1000, n - i);
    Tensor predicted = model(images.narrow(0, i, b)).argmax(1);
    correct += predicted.eq(labels.narrow(0, i, b)).to(kInt64).sum().item<int64_t>();
  }
  model.train(was_training);
  return static_cast<double>(correct) / static_cast<double>(n);
}

// Every parameter, flattened and concatenated: a copy, to compare before and after.
inline Tensor flat_parameters(const nn::Module& model) {
  NoGradGuard no_grad;
  TensorList flat;
  for (const Tensor& p : model.parameters()) flat.push_back(p.detach().flatten());
  return cat(flat);
}

// The shared-memory segment under each parameter ("" for one in private memory).
inline std::vector<std::string> segment_names(const nn::Module& model) {
  std::vector<std::string> names;
  for (const Tensor& p : model.parameters()) names.push_back(p.is_shared() ? p.impl()->storage()->shared_name() : "");
  return names;
}

// What the parent lends each worker. The last four tensors are shared; each worker writes only its
// own element or row of them, so they need no lock either.
struct Shared {
  data::DatasetPtr train_set;
  std::vector<std::string> segments;  // segment_names(model) in the parent
  Tensor witness_at_start;            // a private copy of the last parameter before training
  Tensor steps;                       // i64 [procs]
  Tensor interleaved;                 // i64 [procs]
  Tensor trained_shared;              // i64 [procs], 1 or 0
  Tensor updates;                     // f32 [procs, P]
};

// One worker process: plain SGD on `model`, whose parameters are the parent's (shared memory),
// over this rank's shard of the training set.
inline void worker(int rank, nn::Module& model, const Shared& shared, const Options& o) {
  TensorList params = model.parameters();

  // Is the memory under our parameters the parent's segments? (Without share_memory() it is this
  // process's copy-on-write copy, and nothing we write would reach the parent.)
  bool on_shared = params.size() == shared.segments.size();
  for (size_t i = 0; on_shared && i < params.size(); ++i)
    on_shared = params[i].is_shared() && params[i].impl()->storage()->shared_name() == shared.segments[i];
  shared.trained_shared.data_ptr<int64_t>()[rank] = on_shared ? 1 : 0;

  // This rank's shard: DistributedSampler gives every rank a disjoint share of one permutation
  // (the same on every rank, from o.seed); a SubsetRandomSampler with the rank's own generator
  // reshuffles that shard every epoch.
  data::DistributedSampler split(shared.train_set->size(), o.procs, rank, {.seed = o.seed});
  std::vector<int64_t> shard = split.epoch_indices();
  if (o.limit > 0 && o.limit < static_cast<int64_t>(shard.size())) shard.resize(static_cast<size_t>(o.limit));
  auto generator = std::make_shared<Generator>(o.seed + 1 + static_cast<uint64_t>(rank));
  data::DataLoader loader(shared.train_set, {.batch_size = o.batch_size,
                                             .sampler = std::make_shared<data::SubsetRandomSampler>(shard, generator)});

  // Bookkeeping, to see what collisions cost: this rank's row of `updates`, cut into one view per
  // parameter, collects the sum of the updates it applied; the parent compares the rows' sum with
  // how far the parameters moved (lost_fraction).
  Tensor row = shared.updates.select(0, rank);
  TensorList my_updates;
  int64_t offset = 0;
  for (const Tensor& p : params) {
    my_updates.push_back(row.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }

  // Watching the others: before each step, compare one parameter (the output layer's bias, which
  // every step changes) with what this process left there after its own previous step (the
  // parent's values before the first): a difference is another process's update, made while
  // this one computed its gradient.
  const Tensor& witness = params.back();
  Tensor last_seen = shared.witness_at_start;

  // The optimizer is this process's own (an optimizer with state, such as momentum, would keep
  // that state privately too); only the parameters are shared.
  optim::SGD opt(params, {.lr = o.lr});
  int64_t* my_steps = shared.steps.data_ptr<int64_t>() + rank;
  int64_t* my_interleaved = shared.interleaved.data_ptr<int64_t>() + rank;
  model.train();
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (data::Batch& batch : loader) {
      opt.zero_grad();
      Tensor loss = nn::functional::cross_entropy(model(batch[0]), batch[1]);
      loss.backward();  // the gradients are this process's own memory
      if (!all(eq(witness, last_seen)).item<bool>()) ++*my_interleaved;
      opt.step();  // p -= lr * grad, in place, in the shared segment: no lock
      NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) my_updates[i].sub_(params[i].grad(), o.lr);
      last_seen = witness.detach().clone();
      ++*my_steps;
    }
  }
}

// Hogwild! training: evaluates `model` on the test images, trains it with o.procs forked worker
// processes at once, waits for them, and evaluates it again. Share the model first
// (model.share_memory()) or the workers train copies and the parent's model never changes
// (the test suite checks that too).
inline Result train(nn::Module& model, const data::DatasetPtr& train_set, const Tensor& test_images,
                    const Tensor& test_labels, const Options& o) {
  if (o.procs < 1 || o.epochs < 0 || o.limit < 0 || o.batch_size < 1)
    throw std::invalid_argument("hogwild::train: need procs >= 1, epochs >= 0, limit >= 0, batch_size >= 1");
  Result result;
  result.accuracy_before = accuracy(model, test_images, test_labels);
  const Tensor before = flat_parameters(model);

  Shared shared{.train_set = train_set,
                .segments = segment_names(model),
                .witness_at_start = model.parameters().back().detach().clone(),
                .steps = zeros({o.procs}, kInt64).share_memory_(),
                .interleaved = zeros({o.procs}, kInt64).share_memory_(),
                .trained_shared = zeros({o.procs}, kInt64).share_memory_(),
                .updates = zeros({o.procs, before.numel()}).share_memory_()};

  // fork (mp::Process's default): each child is a copy of this process that shares the segments
  // with it, so it sees the model, the data set and `shared` without anything being sent.
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<mp::Process>> workers;
  for (int rank = 0; rank < o.procs; ++rank) {
    workers.push_back(std::make_unique<mp::Process>([&, rank] { worker(rank, model, shared, o); }));
    workers.back()->start();
  }
  for (int rank = 0; rank < o.procs; ++rank) {
    mp::Process& w = *workers[static_cast<size_t>(rank)];
    w.join();
    if (w.exitcode() != 0)
      throw std::runtime_error("hogwild: worker " + std::to_string(rank) + " failed (exit code " +
                               std::to_string(w.exitcode().value_or(-1)) + "): " + w.error());
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  result.accuracy_after = accuracy(model, test_images, test_labels);
  result.moved = flat_parameters(model) - before;
  result.updates = shared.updates.clone();
  for (int rank = 0; rank < o.procs; ++rank) {
    result.steps.push_back(shared.steps.data_ptr<int64_t>()[rank]);
    result.interleaved.push_back(shared.interleaved.data_ptr<int64_t>()[rank]);
    result.trained_shared.push_back(shared.trained_shared.data_ptr<int64_t>()[rank] == 1);
  }
  return result;
}

}  // namespace hogwild
