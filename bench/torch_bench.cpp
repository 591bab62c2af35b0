// libtorch's side of scripts/bench: the same cases as hpml_bench.cpp, same shapes, same timing.
// Run it with OPENBLAS_NUM_THREADS=1 (scripts/bench does): torch::set_num_threads sizes its own
// pool, and its OpenBLAS (pthread flavour) would otherwise start a second pool of its own.
// Usage: torch_bench [group ...]
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <set>
#include <string>

#include "bench_util.h"

namespace {

void overhead() {
  torch::set_num_threads(1);
  for (int64_t n : {1, 1000}) {
    auto a = torch::rand({n}), b = torch::rand({n});
    auto ag = torch::rand({n}).requires_grad_(), bg = torch::rand({n}).requires_grad_();
    const std::string sz = "n=" + std::to_string(n);
    auto us = [](double s) { return s * 1e6; };
    bench::report("overhead", "add " + sz, 1, "us", bench::convert(bench::time_calls([&] { auto r = torch::add(a, b); }), us));
    bench::report("overhead", "add requires_grad " + sz, 1, "us",
                  bench::convert(bench::time_calls([&] { auto r = torch::add(ag, bg); }), us));
  }
}

// The same rows as hpml_bench's profiler group, with libtorch's CPU profiler (the legacy one:
// Debian's libtorch 1.13 has no Kineto); one aten::add event per call.
void profiler_bench() {
  namespace prof = torch::autograd::profiler;
  torch::set_num_threads(1);
  auto a = torch::rand({1}), b = torch::rand({1});
  auto us = [](double s) { return s * 1e6; };
  auto fn = [&] { auto r = torch::add(a, b); };
  bench::report("profiler", "add n=1, no profile", 1, "us", bench::convert(bench::time_calls(fn), us));
  const long iters = bench::calibrate(fn, 0.05);
  for (bool full : {false, true}) {
    std::vector<double> secs;
    for (int r = 0; r < 7; ++r) {
      prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU, full, full));
      secs.push_back(bench::time_slice(fn, iters));
      prof::disableProfilerLegacy();
    }
    bench::report("profiler", full ? "add n=1, profiling shapes+memory" : "add n=1, profiling", 1, "us",
                  bench::convert(secs, us));
  }
}

void bandwidth() {
  const int64_t n = int64_t{16} << 20;
  auto a = torch::rand({n}), b = torch::rand({n}), c = torch::empty({n});
  auto gbs = [n](double s) { return 12.0 * static_cast<double>(n) / s / 1e9; };
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    bench::report("bandwidth", "add out=", t, "GB/s", bench::convert(bench::time_calls([&] { torch::add_out(c, a, b); }, 7, 0.3), gbs));
    bench::report("bandwidth", "mul out=", t, "GB/s", bench::convert(bench::time_calls([&] { torch::mul_out(c, a, b); }, 7, 0.3), gbs));
    bench::report("bandwidth", "add alloc", t, "GB/s", bench::convert(bench::time_calls([&] { auto r = a + b; }, 7, 0.3), gbs));
    bench::report("bandwidth", "mul alloc", t, "GB/s", bench::convert(bench::time_calls([&] { auto r = a * b; }, 7, 0.3), gbs));
  }
}

// A pure BLAS row: libtorch's matmul is OpenBLAS's sgemm, so its OpenBLAS gets the row's threads
// (Note [A fair PyTorch] in scripts/bench), and goes back to 1 afterwards.
void matmul_bench() {
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    bench::set_openblas_threads(t);
    for (int64_t n : {64, 128, 256, 512, 1024, 2048}) {
      auto a = torch::rand({n, n}), b = torch::rand({n, n});
      auto gf = [n](double s) { return 2.0 * static_cast<double>(n * n * n) / s / 1e9; };
      bench::report("matmul", "matmul n=" + std::to_string(n), t, "GFLOP/s",
                    bench::convert(bench::time_calls([&] { auto r = torch::matmul(a, b); }), gf));
    }
  }
  bench::set_openblas_threads(1);
}

void reduce_bench() {
  auto x = torch::randn({4096, 1024});
  auto ms = [](double s) { return s * 1e3; };
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    bench::report("reduce", "softmax", t, "ms", bench::convert(bench::time_calls([&] { auto r = torch::softmax(x, -1); }), ms));
    bench::report("reduce", "log_softmax", t, "ms", bench::convert(bench::time_calls([&] { auto r = torch::log_softmax(x, -1); }), ms));
    bench::report("reduce", "sum", t, "ms", bench::convert(bench::time_calls([&] { auto r = x.sum({-1}); }), ms));
    bench::report("reduce", "mean", t, "ms", bench::convert(bench::time_calls([&] { auto r = x.mean({-1}); }), ms));
    bench::report("reduce", "var", t, "ms", bench::convert(bench::time_calls([&] { auto r = x.var({-1}); }), ms));
  }
}

void mlp_bench() {
  torch::manual_seed(0);
  auto param = [](std::vector<int64_t> s, double scale) { return (torch::randn(s) * scale).requires_grad_(); };
  auto w1 = param({784, 256}, 0.05), b1 = param({256}, 0.0), w2 = param({256, 128}, 0.08), b2 = param({128}, 0.0);
  auto w3 = param({128, 10}, 0.1), b3 = param({10}, 0.0);
  auto x = torch::rand({128, 784});
  auto y = torch::randint(0, 10, {128, 1});
  auto step = [&] {
    auto h1 = torch::tanh(torch::matmul(x, w1) + b1);
    auto h2 = torch::tanh(torch::matmul(h1, w2) + b2);
    auto logits = torch::matmul(h2, w3) + b3;
    auto loss = -torch::log_softmax(logits, 1).gather(1, y).mean();
    for (auto* p : {&w1, &b1, &w2, &b2, &w3, &b3}) p->mutable_grad() = torch::Tensor();
    loss.backward();
  };
  auto ms = [](double s) { return s * 1e3; };
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    bench::report("mlp", "fwd+bwd 784-256-128-10 tanh, batch 128", t, "ms", bench::convert(bench::time_calls(step, 7, 0.5), ms));
  }
}

}  // namespace

void nn_bench();   // torch_bench_nn.cpp
void cnn_bench();
void blobs_bench();  // torch_bench_train.cpp

// The header lines of libtorch's side: what it runs with.
void print_info() {
  torch::matmul(torch::ones({2, 2}), torch::ones({2, 2}));  // loads and starts its OpenBLAS
  bench::info("libtorch", "version", std::string(TORCH_VERSION) + " (Debian), oneDNN " +
                                         (at::hasMKLDNN() ? "on" : "off") + ", MKL " + (at::hasMKL() ? "on" : "off"));
  bench::info("libtorch", "threads", "torch::set_num_threads per row (the threads column); OpenBLAS as below, "
                                     "matmul rows give it the row's threads");
  bench::info("libtorch", "OpenBLAS", bench::loaded_openblas());
}

int main(int argc, char** argv) {
  std::set<std::string> groups;
  for (int i = 1; i < argc; ++i) groups.insert(argv[i]);
  if (groups.empty() || groups.count("info")) print_info();
  auto want = [&](const char* g) { return groups.empty() || groups.count(g); };
  if (want("overhead")) overhead();
  if (want("profiler")) profiler_bench();
  if (want("bandwidth")) bandwidth();
  if (want("matmul")) matmul_bench();
  if (want("reduce")) reduce_bench();
  if (want("mlp")) mlp_bench();
  if (want("nn")) nn_bench();
  if (want("cnn")) cnn_bench();
  if (want("blobs")) blobs_bench();
  return 0;
}
