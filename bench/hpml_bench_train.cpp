// hpml's side of the training benchmark "blobs": the MLP of the lr-decay experiment (2 -> 50
// ReLU -> 3, cross-entropy, SGD lr 0.01 momentum 0.9, batch 32, 200 epochs over 500 points),
// one thread, in microseconds per training step. Two hpml rows: the loop of libtorch's side
// (randperm + index_select, torch_bench_train.cpp), and a DataLoader over a TensorDataset, as
// `hpml experiment lr-decay` trains.
#include <hpml/hpml.h>

#include "bench_util.h"

using namespace hpml;
namespace F = hpml::nn::functional;

namespace {

constexpr int64_t kTrain = 500, kBatch = 32;

struct Result {
  double seconds = 0;
  int64_t steps = 0;
  double train_acc = 0;
};

template <typename Epoch>
Result run(uint64_t seed, int epochs, const Tensor& xtr, const Tensor& ytr, Epoch&& epoch) {
  manual_seed(seed);
  nn::Sequential model(nn::Linear(2, 50), nn::ReLU(), nn::Linear(50, 3));
  optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  Result r;
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < epochs; ++e) r.steps += epoch(model, opt);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  NoGradGuard ng;
  r.train_acc = eq(model(xtr).argmax(1), ytr).to(kFloat64).mean().item<double>();
  return r;
}

void report(const std::string& name, const std::vector<Result>& runs) {
  std::vector<double> us, acc;
  for (const Result& r : runs) {
    us.push_back(r.seconds / static_cast<double>(r.steps) * 1e6);
    acc.push_back(r.train_acc * 100);
  }
  bench::report("blobs", name + ", us per step", 1, "us", us);
  bench::report("blobs", name + ", train accuracy %", 1, "%", acc);
}

}  // namespace

void blobs_bench() {
  set_num_threads(1);
  std::vector<float> xs;
  std::vector<int64_t> ys;
  bench::blobs(xs, ys);
  Tensor X = from_blob(xs.data(), {1000, 2}, kFloat32).clone(), y = from_blob(ys.data(), {1000}, kInt64).clone();
  Tensor xtr = X.slice(0, 0, kTrain), ytr = y.slice(0, 0, kTrain);
  constexpr int kRuns = 7, kEpochs = 200;

  auto by_index = [&](nn::Sequential& model, optim::SGD& opt) {
    Tensor perm = randperm(kTrain);
    int64_t steps = 0;
    for (int64_t i = 0; i < kTrain; i += kBatch, ++steps) {
      Tensor idx = perm.slice(0, i, std::min(i + kBatch, kTrain));
      opt.zero_grad();
      Tensor loss = F::cross_entropy(model(xtr.index_select(0, idx)), ytr.index_select(0, idx));
      loss.backward();
      opt.step();
    }
    return steps;
  };
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{xtr, ytr});
  data::DataLoader loader(dataset, {.batch_size = kBatch, .shuffle = true});
  auto by_loader = [&](nn::Sequential& model, optim::SGD& opt) {
    int64_t steps = 0;
    for (data::Batch& b : loader) {
      opt.zero_grad();
      Tensor loss = F::cross_entropy(model(b[0]), b[1]);
      loss.backward();
      opt.step();
      ++steps;
    }
    return steps;
  };
  run(123, 2, xtr, ytr, by_index);  // warm-up
  std::vector<Result> a, b;
  for (int s = 0; s < kRuns; ++s) {  // the two loops take turns, so a slow minute hurts both
    a.push_back(run(s, kEpochs, xtr, ytr, by_index));
    b.push_back(run(s, kEpochs, xtr, ytr, by_loader));
  }
  report("randperm + index_select", a);
  report("DataLoader (the lr-decay experiment's loop)", b);
}
