// libtorch's side of the optimizer benchmark (same layer, optimizers and byte counts as
// hpml_bench_optim.cpp: the bytes a fused step would move, so the GB/s rows compare times).
#include <torch/torch.h>

#include "bench_util.h"

namespace {
template <class Opt, class Options>
void step_case(const std::string& name, torch::nn::Linear& lin, Options o, double bytes_per_element, int threads) {
  Opt opt(lin->parameters(), o);
  opt.step();
  int64_t n = 0;
  for (const auto& p : lin->parameters()) n += p.numel();
  const std::vector<double> secs = bench::time_calls([&] { opt.step(); }, 7, 0.3);
  bench::report("optim", name + " step, ms", threads, "ms", bench::convert(secs, [](double s) { return s * 1e3; }));
  bench::report("optim", name + " step, GB/s", threads, "GB/s",
                bench::convert(secs, [&](double s) { return bytes_per_element * static_cast<double>(n) / s / 1e9; }));
}
}  // namespace

void optim_bench() {
  torch::manual_seed(0);
  torch::nn::Linear lin(3162, 3162);
  for (auto& p : lin->parameters()) p.mutable_grad() = torch::randn(p.sizes());
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    step_case<torch::optim::SGD>("SGD momentum 0.9, 10M params", lin, torch::optim::SGDOptions(1e-3).momentum(0.9), 20, t);
    step_case<torch::optim::Adam>("Adam, 10M params", lin, torch::optim::AdamOptions(1e-3), 28, t);
  }
}
