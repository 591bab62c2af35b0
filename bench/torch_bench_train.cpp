// libtorch's side of the training benchmark "blobs" (hpml_bench_train.cpp has hpml's): the MLP
// 2 -> 50 ReLU -> 3, cross-entropy, SGD lr 0.01 momentum 0.9, batch 32, 200 epochs over 500
// points, one thread; the loop of the PyTorch anchor this goal was measured with.
#include <torch/torch.h>

#include "bench_util.h"

namespace {
constexpr int64_t kTrain = 500, kBatch = 32;
}

void blobs_bench() {
  torch::set_num_threads(1);
  std::vector<float> xs;
  std::vector<int64_t> ys;
  bench::blobs(xs, ys);
  auto X = torch::from_blob(xs.data(), {1000, 2}, torch::kFloat32).clone();
  auto y = torch::from_blob(ys.data(), {1000}, torch::kInt64).clone();
  auto xtr = X.slice(0, 0, kTrain), ytr = y.slice(0, 0, kTrain);
  constexpr int kRuns = 7, kEpochs = 200;
  std::vector<double> us, acc;
  for (int run = -1; run < kRuns; ++run) {  // run -1: a short warm-up
    torch::manual_seed(run < 0 ? 123 : run);
    torch::nn::Sequential model(torch::nn::Linear(2, 50), torch::nn::ReLU(), torch::nn::Linear(50, 3));
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    int64_t steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = 0; e < (run < 0 ? 2 : kEpochs); ++e) {
      auto perm = torch::randperm(kTrain);
      for (int64_t i = 0; i < kTrain; i += kBatch, ++steps) {
        auto idx = perm.slice(0, i, std::min(i + kBatch, kTrain));
        opt.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(model->forward(xtr.index_select(0, idx)), ytr.index_select(0, idx));
        loss.backward();
        opt.step();
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (run < 0) continue;
    torch::NoGradGuard ng;
    us.push_back(secs / static_cast<double>(steps) * 1e6);
    acc.push_back(model->forward(xtr).argmax(1).eq(ytr).to(torch::kFloat64).mean().item<double>() * 100);
  }
  bench::report("blobs", "randperm + index_select, us per step", 1, "us", us);
  bench::report("blobs", "randperm + index_select, train accuracy %", 1, "%", acc);
}
