// The `cuda` benchmark group, hpml's side (bench/torch_cuda_bench.py is PyTorch's, on the same
// GPU in the same run): matmul TFLOP/s in f32, TF32 and bf16; elementwise add of 1 GiB and the
// device-to-device copy ceiling; the host time of one eager op; pinned host-to-device copies
// against cudaMemcpyAsync's own rate; the Fashion-MNIST MLP and CNN training steps at batch 128,
// eagerly and replayed from a CUDA graph; the GPT training steps of hpml train's model (f32) and
// of one the size of GPT-2 small (bf16), with tokens per second.
// Every time is of whole calls with the device synchronized (CUDA events around the timed loop).
// Prints BENCH lines (bench/bench_util.h); bench/cuda_report.py makes the table. Built in CUDA
// builds only; without a usable GPU it prints one SKIPPED line and exits 0.
// Status: compiled, not yet run on a GPU.
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "gpt.h"
#include "hpml/data/dataloader.h"
#include "hpml/hpml.h"

using namespace hpml;
namespace F = hpml::nn::functional;

namespace {

const Device kGpu("cuda:0");
constexpr int kReps = 7;

// Seconds per call of fn over `reps` timed slices of `iters` calls, the GPU synchronized around
// each slice and timed by CUDA events on the current stream.
std::vector<double> gpu_times(const std::function<void()>& fn, int iters, int reps = kReps) {
  for (int i = 0; i < 2; ++i) fn();
  cuda::synchronize();
  std::vector<double> out;
  for (int r = 0; r < reps; ++r) {
    cuda::Event start(true), stop(true);
    start.record();
    for (int i = 0; i < iters; ++i) fn();
    stop.record();
    stop.synchronize();
    out.push_back(start.elapsed_time(stop) / 1e3 / iters);
  }
  return out;
}

void matmul_rows() {
  for (int64_t n : {4096, 8192}) {
    const double flops = 2.0 * n * n * n;
    for (const char* kind : {"f32", "tf32", "bf16"}) {
      const std::string k = kind;
      const DType dt = k == "bf16" ? kBFloat16 : kFloat32;
      cuda::set_matmul_allow_tf32(k == "tf32");
      Tensor a = randn({n, n}, TensorOptions(dt).device(kGpu)), b = randn({n, n}, TensorOptions(dt).device(kGpu));
      auto t = gpu_times([&] { (void)mm(a, b); }, n == 4096 ? 10 : 3);
      bench::report("cuda", "mm " + k + " " + std::to_string(n), 0, "TFLOP/s",
                    bench::convert(t, [&](double s) { return flops / s / 1e12; }));
    }
  }
  cuda::set_matmul_allow_tf32(false);
}

void bandwidth_rows() {
  const int64_t n = int64_t{1} << 28;  // 1 GiB of f32
  Tensor a = randn({n}, TensorOptions().device(kGpu)), b = randn({n}, TensorOptions().device(kGpu));
  Tensor out = empty({n}, TensorOptions().device(kGpu));
  auto add = gpu_times([&] { add_out(out, a, b); }, 5);
  bench::report("cuda", "add f32 1 GiB (out=), 3 x 1 GiB moved", 0, "GB/s",
                bench::convert(add, [&](double s) { return 3.0 * 4 * n / s / 1e9; }));
  auto copy = gpu_times([&] { out.copy_(a); }, 5);
  bench::report("cuda", "copy_ f32 1 GiB (the copy ceiling), 2 x 1 GiB moved", 0, "GB/s",
                bench::convert(copy, [&](double s) { return 2.0 * 4 * n / s / 1e9; }));
}

// The host's time per eager op: 10000 adds of one element, queued back to back.
void overhead_rows() {
  Tensor a = ones({1}, TensorOptions().device(kGpu)), b = ones({1}, TensorOptions().device(kGpu));
  Tensor out = empty({1}, TensorOptions().device(kGpu));
  auto t = gpu_times([&] { add_out(out, a, b); }, 10000);
  bench::report("cuda", "add n=1 (out=), host time per op", 0, "us", bench::convert(t, [](double s) { return s * 1e6; }));
  auto t2 = gpu_times([&] { (void)(a + b); }, 10000);
  bench::report("cuda", "a + b n=1, host time per op", 0, "us", bench::convert(t2, [](double s) { return s * 1e6; }));
}

// 256 MiB from pinned host memory to the GPU: hpml's non_blocking copy, and cudaMemcpyAsync of
// a cudaHostAlloc buffer (the ceiling the goal compares with).
void copy_rows() {
  const int64_t n = int64_t{1} << 26;  // 256 MiB of f32
  Tensor host = data::pin_memory(randn({n}), kGpu);
  Tensor dev = empty({n}, TensorOptions().device(kGpu));
  auto t = gpu_times([&] { (void)host.to(kGpu, /*non_blocking=*/true); }, 3);
  auto direct = gpu_times([&] { dev.copy_(host); }, 3);
  const double bytes = 4.0 * n;
  bench::report("cuda", "pinned to(cuda, non_blocking) 256 MiB", 0, "GB/s",
                bench::convert(t, [&](double s) { return bytes / s / 1e9; }));
  bench::report("cuda", "pinned copy_ into a cuda tensor 256 MiB", 0, "GB/s",
                bench::convert(direct, [&](double s) { return bytes / s / 1e9; }));
  void* raw = nullptr;
  void* dst = nullptr;
  if (cudaHostAlloc(&raw, static_cast<size_t>(bytes), cudaHostAllocDefault) != cudaSuccess ||
      cudaMalloc(&dst, static_cast<size_t>(bytes)) != cudaSuccess) {
    std::printf("SKIPPED\tcuda\tcudaMemcpyAsync ceiling: cudaHostAlloc or cudaMalloc failed\n");
    return;
  }
  // This binary's own CUDA runtime (linked statically, as libhpml's is): timed by the wall clock
  // around whole synchronized calls, not by hpml's events.
  std::vector<double> peak;
  for (int r = 0; r < kReps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    cudaMemcpyAsync(dst, raw, static_cast<size_t>(bytes), cudaMemcpyHostToDevice, nullptr);
    cudaDeviceSynchronize();
    if (r > 0) peak.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  bench::report("cuda", "cudaMemcpyAsync pinned 256 MiB (the ceiling)", 0, "GB/s",
                bench::convert(peak, [&](double s) { return bytes / s / 1e9; }));
  cudaFree(dst);
  cudaFreeHost(raw);
}

// One training step (forward, cross-entropy, backward, SGD momentum 0.9) at batch 128 on random
// Fashion-MNIST-shaped batches already on the GPU: bench/torch_cuda_bench.py builds the same.
void step_rows() {
  Tensor x = randn({128, 1, 28, 28}, TensorOptions().device(kGpu));
  Tensor y = randint(0, 10, {128}, nullptr, TensorOptions(kInt64).device(kGpu));
  auto run = [&](const char* name, nn::Sequential& model) {
    model.to(kGpu);
    optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
    auto t = gpu_times([&] {
      opt.zero_grad();
      F::cross_entropy(model(x), y).backward();
      opt.step();
    }, 50);
    bench::report("cuda", name, 0, "ms", bench::convert(t, [](double s) { return s * 1e3; }));
    // The same step captured once as a CUDA graph (hpml train --cuda-graph), after the warm-up
    // steps above made SGD's momentum buffers, and replayed with one launch per step.
    const cuda::Stream side = cuda::Stream::create();
    side.wait_stream(cuda::current_stream());
    cuda::Graph graph;
    graph.capture(side, [&] {
      opt.zero_grad();
      F::cross_entropy(model(x), y).backward();
      opt.step();
    });
    auto tg = gpu_times([&] { graph.replay(); }, 50);
    bench::report("cuda", std::string(name) + ", cuda graph", 0, "ms", bench::convert(tg, [](double s) { return s * 1e3; }));
  };
  nn::Sequential mlp(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                     nn::Linear(128, 10));
  run("Fashion-MNIST MLP step, batch 128", mlp);
  nn::Sequential cnn(nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Conv2d(32, 64, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                     nn::Linear(3136, 128), nn::ReLU(), nn::Linear(128, 10));
  run("Fashion-MNIST CNN step, batch 128", cnn);
}

// The GPT training step (zero_grad, forward, cross-entropy in f32, backward, clip_grad_norm_(1),
// AdamW step): hpml train --model gpt's default model in f32, and one the size of GPT-2 small
// (12 layers, 768 wide, 1024 context, GPT-2's vocabulary) in bf16; tokens per second beside the
// time. bench/torch_cuda_bench.py builds the same models from PyTorch's layers.
void gpt_rows() {
  struct Case {
    const char* name;
    cli::GPTConfig config;
    int64_t batch;
    DType dtype;
    int iters, reps;
  };
  const Case cases[] = {
      {"GPT step (hpml train --model gpt), batch 32 x 256, f32", {.vocab = 128, .block = 256}, 32, kFloat32, 10, kReps},
      {"GPT-2 small step, batch 8 x 1024, bf16",
       {.vocab = 50257, .block = 1024, .layers = 12, .heads = 12, .width = 768}, 8, kBFloat16, 1, 5},
  };
  for (const Case& c : cases) {
    manual_seed(0);
    cli::GPT model(c.config);
    model.to(kGpu);
    model.to(c.dtype);
    const TensorList params = model.parameters();
    optim::AdamW opt(params, optim::AdamWOptions{.lr = 3e-4});
    const TensorOptions tokens = TensorOptions(kInt64).device(kGpu);
    const Tensor x = randint(0, c.config.vocab, {c.batch, c.config.block}, nullptr, tokens);
    const Tensor y = randint(0, c.config.vocab, {c.batch, c.config.block}, nullptr, tokens);
    auto t = gpu_times([&] {
      opt.zero_grad();
      F::cross_entropy(model(x).reshape({-1, c.config.vocab}).to(kFloat32), y.reshape({-1})).backward();
      nn::utils::clip_grad_norm_(params, 1.0);
      opt.step();
    }, c.iters, c.reps);
    bench::report("cuda", c.name, 0, "ms", bench::convert(t, [](double s) { return s * 1e3; }));
    const double tokens_per_step = static_cast<double>(c.batch * c.config.block);
    bench::report("cuda", std::string(c.name) + ", tokens/s", 0, "tokens/s",
                  bench::convert(t, [&](double s) { return tokens_per_step / s; }));
  }
}

}  // namespace

int main() {
  if (!cuda::is_available()) {
    std::printf("SKIPPED\tcuda\tno usable GPU: %s\n", cuda::unavailable_reason().c_str());
    return 0;
  }
  const cuda::DeviceProperties p = cuda::get_device_properties(0);
  bench::info("hpml", "GPU", p.name + ", " + std::to_string(p.total_memory >> 30) + " GiB, " +
                                 std::to_string(p.multi_processor_count) + " SMs");
  const cuda::Versions v = cuda::versions();
  bench::info("hpml", "CUDA", "runtime " + v.runtime + ", driver " + v.driver);
  manual_seed(0);
  matmul_rows();
  bandwidth_rows();
  overhead_rows();
  copy_rows();
  step_rows();
  gpt_rows();
  return 0;
}
