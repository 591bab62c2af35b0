// The optimizer benchmark (group "optim"): one step of SGD with momentum and of Adam over
// the 10M parameters of a Linear 3162 -> 3162 with bias, hpml against libtorch in one process.
// Usage: optim_pair_bench HPML_OUT TORCH_OUT   (appends BENCH lines to each, as hpml_bench and
// torch_bench print them, so bench/report.py merges them the same way).
//
// Note [Optimizer steps take turns]
// A fused step over 10M parameters moves 200 MB (SGD) to 280 MB (Adam): far beyond the caches,
// so its time is the memory bandwidth the two cores get. On this shared machine that bandwidth
// changes by up to 2x from one minute to the next (other tenants), and when hpml and libtorch ran
// in separate processes one after the other, the ratio swung from 1.25 to 2.25 between runs of
// the same build. Here the two sides take turns within one process: repetition r times hpml and
// then libtorch (the order flips every repetition), each for ~0.1 s, so both see the same
// machine. Each side's median over the repetitions is what the table compares.
//
// Bytes per element (f32) of a fused step: SGD momentum reads param, grad and buffer and writes
// param and buffer = 20; Adam reads param, grad, exp_avg, exp_avg_sq and writes three = 28.
// libtorch 1.13's SGD makes three passes (buf.mul_, buf.add_, p.add_: 32 bytes per element);
// the GB/s rows count the fused 20 / 28 on both sides, so they compare times, not traffic.
#include <hpml/hpml.h>
#include <torch/torch.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "bench_util.h"

namespace {

constexpr int kReps = 15;
constexpr double kSliceSeconds = 0.1;

FILE* open_append(const char* path) {
  FILE* f = std::fopen(path, "a");
  if (!f) {
    std::perror(path);
    std::exit(1);
  }
  return f;
}

// Times hpml_step and torch_step in alternating slices and writes each side's BENCH lines.
void pair_case(const std::string& name, double bytes_per_element, int64_t n, int threads,
               const std::function<void()>& hpml_step, const std::function<void()>& torch_step, FILE* hpml_out,
               FILE* torch_out) {
  const long hpml_iters = bench::calibrate(hpml_step, kSliceSeconds);
  const long torch_iters = bench::calibrate(torch_step, kSliceSeconds);
  std::vector<double> hp, th;
  for (int r = 0; r < kReps; ++r) {
    if (r % 2 == 0) {
      hp.push_back(bench::time_slice(hpml_step, hpml_iters));
      th.push_back(bench::time_slice(torch_step, torch_iters));
    } else {
      th.push_back(bench::time_slice(torch_step, torch_iters));
      hp.push_back(bench::time_slice(hpml_step, hpml_iters));
    }
  }
  const auto ms = [](double s) { return s * 1e3; };
  const auto gbs = [&](double s) { return bytes_per_element * static_cast<double>(n) / s / 1e9; };
  for (auto [secs, out] : {std::pair{&hp, hpml_out}, std::pair{&th, torch_out}}) {
    bench::report_to(out, "optim", name + " step, ms", threads, "ms", bench::convert(*secs, ms));
    bench::report_to(out, "optim", name + " step, GB/s", threads, "GB/s", bench::convert(*secs, gbs));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s HPML_OUT TORCH_OUT\n", argv[0]);
    return 2;
  }
  FILE* hpml_out = open_append(argv[1]);
  FILE* torch_out = open_append(argv[2]);

  hpml::manual_seed(0);
  hpml::nn::Linear lin(3162, 3162);  // 9,998,244 + 3,162 parameters
  for (hpml::Tensor& p : lin.parameters()) p.mutable_grad() = hpml::randn(p.sizes());
  torch::manual_seed(0);
  torch::nn::Linear tlin(3162, 3162);
  for (auto& p : tlin->parameters()) p.mutable_grad() = torch::randn(p.sizes());
  int64_t n = 0;
  for (const hpml::Tensor& p : lin.parameters()) n += p.numel();

  for (int t : {1, 2}) {
    hpml::set_num_threads(t);
    torch::set_num_threads(t);
    {
      hpml::optim::SGD a(lin.parameters(), {.lr = 1e-3, .momentum = 0.9});
      torch::optim::SGD b(tlin->parameters(), torch::optim::SGDOptions(1e-3).momentum(0.9));
      pair_case("SGD momentum 0.9, 10M params", 20, n, t, [&] { a.step(); }, [&] { b.step(); }, hpml_out,
                torch_out);
    }
    {
      hpml::optim::Adam a(lin.parameters(), {.lr = 1e-3});
      torch::optim::Adam b(tlin->parameters(), torch::optim::AdamOptions(1e-3));
      pair_case("Adam, 10M params", 28, n, t, [&] { a.step(); }, [&] { b.step(); }, hpml_out, torch_out);
    }
  }
  std::fclose(hpml_out);
  std::fclose(torch_out);
  return 0;
}
