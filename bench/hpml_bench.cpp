// hpml's side of scripts/bench: per-op overhead, elementwise bandwidth, matmul (and OpenBLAS sgemm
// called directly), row reductions, and an MLP training step written with raw ops.
// Usage: hpml_bench [group ...]   groups: info limits overhead bandwidth matmul reduce mlp nn cnn blobs
//        (default: all but limits; optim is optim_pair_bench)
//        hpml_bench --openblas-coretype   the OpenBLAS kernels hpml picks for this CPU ("" if OpenBLAS's own)
#include <cblas.h>
#include <dlfcn.h>

#include <hpml/hpml.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "bench_util.h"

using namespace hpml;

namespace {

void overhead() {
  set_num_threads(1);
  for (int64_t n : {1, 1000}) {
    Tensor a = rand({n}), b = rand({n});
    Tensor ag = rand({n}).requires_grad_(), bg = rand({n}).requires_grad_();
    const std::string sz = "n=" + std::to_string(n);
    auto us = [](double s) { return s * 1e6; };
    bench::report("overhead", "add " + sz, 1, "us", bench::convert(bench::time_calls([&] { Tensor r = add(a, b); }), us));
    bench::report("overhead", "add requires_grad " + sz, 1, "us",
                  bench::convert(bench::time_calls([&] { Tensor r = add(ag, bg); }), us));
  }
}

// The profiler's cost: add n=1 with no profile (the one branch of Note [Recording costs one
// branch]), and with a profile running, plain and with shapes and memory. Each call is one event,
// so the difference from the first row is the cost of an event. Each repetition is its own
// profile, so that the events it keeps stay a few megabytes.
void profiler_bench() {
  set_num_threads(1);
  Tensor a = rand({1}), b = rand({1});
  auto us = [](double s) { return s * 1e6; };
  auto fn = [&] { Tensor r = add(a, b); };
  bench::report("profiler", "add n=1, no profile", 1, "us", bench::convert(bench::time_calls(fn), us));
  const long iters = bench::calibrate(fn, 0.05);
  for (bool full : {false, true}) {
    std::vector<double> secs;
    for (int r = 0; r < 7; ++r) {
      profiler::Profile p({.record_shapes = full, .profile_memory = full});
      p.start();
      secs.push_back(bench::time_slice(fn, iters));
      p.stop();
      if (static_cast<long>(p.events().size()) < iters) std::fprintf(stderr, "hpml_bench: fewer events than calls\n");
    }
    bench::report("profiler", full ? "add n=1, profiling shapes+memory" : "add n=1, profiling", 1, "us",
                  bench::convert(secs, us));
  }
}

void bandwidth() {
  const int64_t n = int64_t{16} << 20;
  Tensor a = rand({n}), b = rand({n}), c = empty({n});
  auto gbs = [n](double s) { return 12.0 * static_cast<double>(n) / s / 1e9; };
  for (int t : {1, 2}) {
    set_num_threads(t);
    bench::report("bandwidth", "add out=", t, "GB/s", bench::convert(bench::time_calls([&] { add_out(c, a, b); }, 7, 0.3), gbs));
    bench::report("bandwidth", "mul out=", t, "GB/s", bench::convert(bench::time_calls([&] { mul_out(c, a, b); }, 7, 0.3), gbs));
    bench::report("bandwidth", "add alloc", t, "GB/s", bench::convert(bench::time_calls([&] { Tensor r = a + b; }, 7, 0.3), gbs));
    bench::report("bandwidth", "mul alloc", t, "GB/s", bench::convert(bench::time_calls([&] { Tensor r = a * b; }, 7, 0.3), gbs));
  }
}

// cblas_sgemm of the OpenBLAS that hpml loaded (same library, same kernels): the baseline.
decltype(&cblas_sgemm) loaded_sgemm() {
  matmul(ones({2, 2}, kFloat64), ones({2, 2}, kFloat64));  // makes hpml load OpenBLAS (its f64 GEMM)
  void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
  void* f = h ? dlsym(h, "cblas_sgemm") : nullptr;
  if (!f) {
    std::fprintf(stderr, "hpml_bench: cannot find the loaded OpenBLAS: %s\n", dlerror());
    std::exit(1);
  }
  return reinterpret_cast<decltype(&cblas_sgemm)>(f);
}

void matmul_bench() {
  auto sgemm = loaded_sgemm();
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (int64_t n : {64, 128, 256, 512, 1024, 2048}) {
      Tensor a = rand({n, n}), b = rand({n, n}), c = empty({n, n});
      auto gf = [n](double s) { return 2.0 * static_cast<double>(n * n * n) / s / 1e9; };
      const std::string sz = "n=" + std::to_string(n);
      bench::report("matmul", "matmul " + sz, t, "GFLOP/s", bench::convert(bench::time_calls([&] { Tensor r = matmul(a, b); }), gf));
      const int ni = static_cast<int>(n);
      bench::report("matmul", "sgemm " + sz, t, "GFLOP/s", bench::convert(bench::time_calls([&] {
        sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, a.data_ptr<float>(), ni,
                    b.data_ptr<float>(), ni, 0.0f, c.data_ptr<float>(), ni);
      }), gf));
    }
  }
}

void reduce_bench() {
  Tensor x = randn({4096, 1024});
  auto ms = [](double s) { return s * 1e3; };
  for (int t : {1, 2}) {
    set_num_threads(t);
    bench::report("reduce", "softmax", t, "ms", bench::convert(bench::time_calls([&] { Tensor r = softmax(x, -1); }), ms));
    bench::report("reduce", "log_softmax", t, "ms", bench::convert(bench::time_calls([&] { Tensor r = log_softmax(x, -1); }), ms));
    bench::report("reduce", "sum", t, "ms", bench::convert(bench::time_calls([&] { Tensor r = sum(x, {-1}); }), ms));
    bench::report("reduce", "mean", t, "ms", bench::convert(bench::time_calls([&] { Tensor r = mean(x, {-1}); }), ms));
    bench::report("reduce", "var", t, "ms", bench::convert(bench::time_calls([&] { Tensor r = var(x, {-1}); }), ms));
  }
}

// 784-256-128-10 tanh MLP, batch 128, forward + backward with raw ops (matmul, add, tanh,
// log_softmax, gather, mean).
void mlp_bench() {
  manual_seed(0);
  auto param = [](std::initializer_list<int64_t> s, double scale) { return (randn(s) * scale).requires_grad_(); };
  Tensor w1 = param({784, 256}, 0.05), b1 = param({256}, 0.0), w2 = param({256, 128}, 0.08), b2 = param({128}, 0.0);
  Tensor w3 = param({128, 10}, 0.1), b3 = param({10}, 0.0);
  Tensor x = rand({128, 784}), y = randint(0, 10, {128, 1});
  auto step = [&] {
    Tensor h1 = tanh(matmul(x, w1) + b1);
    Tensor h2 = tanh(matmul(h1, w2) + b2);
    Tensor logits = matmul(h2, w3) + b3;
    Tensor loss = -log_softmax(logits, 1).gather(1, y).mean();
    for (Tensor* p : {&w1, &b1, &w2, &b2, &w3, &b3}) p->set_grad(Tensor());
    loss.backward();
  };
  auto ms = [](double s) { return s * 1e3; };
  for (int t : {1, 2}) {
    set_num_threads(t);
    bench::report("mlp", "fwd+bwd 784-256-128-10 tanh, batch 128", t, "ms", bench::convert(bench::time_calls(step, 7, 0.5), ms));
  }
}

}  // namespace

void limits_bench();  // limits.cpp
void nn_bench();   // hpml_bench_nn.cpp
void cnn_bench();
void blobs_bench();  // hpml_bench_train.cpp

// The header lines of hpml's side: what it runs with.
void print_info() {
  matmul(ones({2, 2}, kFloat64), ones({2, 2}, kFloat64));  // loads OpenBLAS, as a first f64 product would
  const BuildInfo b = build_info();
  bench::info("hpml", "version", b.version + " (" + b.build_type + ", " + b.compiler + ", SIMD " + b.simd_target + ")");
  bench::info("hpml", "threads", std::to_string(b.threads) + " by default; each row sets its own (the threads column)");
  bench::info("hpml", "f32 GEMM", "oneDNN dnnl_sgemm on hpml's OpenMP pool (Note [Which GEMM])");
  bench::info("hpml", "OpenBLAS (f64 GEMM)", bench::loaded_openblas() + "; kernels chosen: " + b.blas_choice);
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--openblas-coretype") == 0) {  // scripts/bench's PyTorch gets the same
    std::printf("%s\n", openblas_coretype_for_cpu().c_str());
    return 0;
  }
  std::set<std::string> groups;
  for (int i = 1; i < argc; ++i) groups.insert(argv[i]);
  if (groups.empty() || groups.count("info")) print_info();
  if (groups.count("limits")) limits_bench();
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
