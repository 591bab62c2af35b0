// hpml's side of the optimizer benchmark (group "optim"): one step of SGD with momentum and of
// Adam over the 10M parameters of a Linear 3162 -> 3162 with bias, and the bytes each fused step
// moves per second (SGD momentum: read param, grad, buffer, write param, buffer = 20 bytes per f32
// element; Adam: read param, grad, exp_avg, exp_avg_sq, write three = 28 bytes).
#include <hpml/hpml.h>

#include "bench_util.h"

using namespace hpml;

namespace {
template <class Opt, class Options>
void step_case(const std::string& name, nn::Linear& lin, Options o, double bytes_per_element, int threads) {
  Opt opt(lin.parameters(), o);
  opt.step();  // creates the state
  int64_t n = 0;
  for (const Tensor& p : lin.parameters()) n += p.numel();
  const std::vector<double> secs = bench::time_calls([&] { opt.step(); }, 7, 0.3);
  bench::report("optim", name + " step, ms", threads, "ms", bench::convert(secs, [](double s) { return s * 1e3; }));
  bench::report("optim", name + " step, GB/s", threads, "GB/s",
                bench::convert(secs, [&](double s) { return bytes_per_element * static_cast<double>(n) / s / 1e9; }));
}
}  // namespace

void optim_bench() {
  manual_seed(0);
  nn::Linear lin(3162, 3162);  // 9,998,244 + 3,162 parameters
  for (Tensor& p : lin.parameters()) p.mutable_grad() = randn(p.sizes());
  for (int t : {1, 2}) {
    set_num_threads(t);
    step_case<optim::SGD>("SGD momentum 0.9, 10M params", lin, optim::SGDOptions{.lr = 1e-3, .momentum = 0.9}, 20, t);
    step_case<optim::Adam>("Adam, 10M params", lin, optim::AdamOptions{.lr = 1e-3}, 28, t);
  }
}
