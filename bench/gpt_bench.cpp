// hpml's side of the group "gpt" (bench/torch_gpt_bench.py is PyTorch's): the training step of
// `hpml train --model gpt`'s default model, the fused attention's time and memory against the
// composed one, and a loss curve from weights PyTorch then starts from too.
//   gpt_bench step            the GPT step at 1 and 2 threads
//   gpt_bench flash | math    attention forward + backward of the model's shape, in ms
//   gpt_bench flash-memory | math-memory   its peak MB allocated, one process each
//   gpt_bench profile T       where one step's time goes at T threads: the profiler's table
//   gpt_bench curve FILE N    trains N steps on the first windows of the fortunes text, in order,
//                             from seeded weights, and writes weights, windows and losses to FILE
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "gpt.h"
#include "hpml/hpml.h"

namespace {

using namespace hpml;
namespace F = nn::functional;

constexpr int64_t kBatch = 32, kBlock = 256, kVocab = 128;

cli::GPTConfig config() {
  return {.vocab = kVocab, .block = kBlock, .layers = 4, .heads = 4, .width = 128, .dropout = 0};
}

// zero_grad, forward, cross-entropy, backward, clip_grad_norm_(1), AdamW step: hpml train's step.
struct Trainer {
  cli::GPT model{config()};
  TensorList params = model.parameters();
  optim::AdamW opt{params, optim::AdamWOptions{.lr = 3e-4}};
  double step(const Tensor& x, const Tensor& y) {
    opt.zero_grad();
    Tensor loss = F::cross_entropy(model(x).reshape({-1, kVocab}), y.reshape({-1}));
    loss.backward();
    nn::utils::clip_grad_norm_(params, 1.0);
    opt.step();
    return loss.item<double>();
  }
};

void step_rows() {
  Generator g(0);
  Tensor x = randint(0, kVocab, {kBatch, kBlock}, &g), y = randint(0, kVocab, {kBatch, kBlock}, &g);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    manual_seed(0);
    Trainer t;
    auto v = bench::time_calls([&] { t.step(x, y); }, 5, 1.0);
    bench::report("gpt", "GPT step, 4 layers x 4 heads x 128, 256 chars, batch 32", threads, "ms",
                  std::vector<double>{v[0] * 1e3, v[1] * 1e3, v[2] * 1e3, v[3] * 1e3, v[4] * 1e3});
  }
}

// Three steps under the profiler, after two unrecorded: the ops' self times, most first.
void profile_rows(int threads) {
  set_num_threads(threads);
  Generator g(0);
  Tensor x = randint(0, kVocab, {kBatch, kBlock}, &g), y = randint(0, kVocab, {kBatch, kBlock}, &g);
  manual_seed(0);
  Trainer t;
  profiler::Profile prof({.record_shapes = true, .schedule = profiler::Schedule{.wait = 1, .warmup = 1, .active = 3}});
  prof.start();
  for (int s = 0; s < 5; ++s) {
    t.step(x, y);
    prof.step();
  }
  prof.stop();
  std::printf("%s", prof.key_averages(true).table("self_cpu_time_total", 40).c_str());
}

// One attention call of the model's shape, q, k, v [32, 4, 256, 32] causal, forward and backward:
// its time, and in a process of its own (scripts/bench starts one per backend) the peak memory it
// allocates beyond its inputs.
void attention_rows(SDPBackend b, bool memory) {
  set_num_threads(2);
  Generator g(1);
  auto input = [&] { return randn({kBatch, 4, kBlock, 32}, &g).requires_grad_(true); };
  Tensor q = input(), k = input(), v = input(), gout = randn({kBatch, 4, kBlock, 32}, &g);
  SDPAKernel only(b);
  const std::string name = std::string("attention fwd+bwd [32, 4, 256, 32] causal, ") +
                           (b == SDPBackend::flash ? "flash" : "math");
  auto call = [&] {
    Tensor out = scaled_dot_product_attention(q, k, v, Tensor(), 0.0, true);
    autograd::backward({out}, {gout});
  };
  if (memory) {
    const double base = static_cast<double>(cpu_allocator_stats().peak_allocated_bytes);
    call();
    const double peak = (static_cast<double>(cpu_allocator_stats().peak_allocated_bytes) - base) / (1 << 20);
    // One measurement: the allocations of a call are the same every time, and the peak never falls
    // within a process, so the row's min / median / max are this one number.
    bench::report("gpt", name + ", peak memory beyond the inputs", 2, "MB", std::vector<double>(5, peak));
    return;
  }
  auto t = bench::time_calls(call, 5, 0.5);
  for (double& s : t) s *= 1e3;
  bench::report("gpt", name, 2, "ms", t);
}

// Note [A shared starting point]
// Two frameworks' loss curves only mean something side by side when they start from the same
// weights and see the same batches: this writes its initial state dict and the windows, and
// bench/torch_gpt_bench.py loads both into PyTorch's model and trains in the same order.
void curve(const std::string& path, int64_t steps) {
  set_num_threads(2);
  cli::DataSplits d = cli::text_data("/usr/share/games/fortunes", kBlock, 0.0);
  HPML_CHECK(d.classes <= kVocab, "the text has ", d.classes, " distinct bytes, more than ", kVocab);
  HPML_CHECK(steps >= 1 && steps * kBatch <= d.train->size(), "gpt_bench curve: ", steps, " steps of ", kBatch,
             " windows need ", steps * kBatch, "; the text has ", d.train->size());
  std::vector<int64_t> first(static_cast<size_t>(steps * kBatch));
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<int64_t>(i);
  const std::vector<Tensor> xy = *d.train->get_batch(first);
  const Tensor &x = xy[0], &y = xy[1];
  manual_seed(0);
  Trainer t;
  io::NamedTensors file;
  for (auto& [name, p] : t.model.state_dict()) file.emplace_back("state." + name, p.clone());
  std::vector<double> losses;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s)
    losses.push_back(t.step(x.slice(0, s * kBatch, (s + 1) * kBatch), y.slice(0, s * kBatch, (s + 1) * kBatch)));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  file.emplace_back("x", x);
  file.emplace_back("y", y);
  file.emplace_back("loss", from_blob(losses.data(), {steps}, TensorOptions(kFloat64)).clone());
  io::save_safetensors(path, file);
  std::printf("INFO\tgpt\tcurve\thpml: %lld steps in %.1f s, loss %.4f -> %.4f\n", static_cast<long long>(steps), secs,
              losses.front(), losses.back());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "step";
    if (mode == "curve" && argc == 4) curve(argv[2], std::stoll(argv[3]));
    else if (mode == "step") step_rows();
    else if (mode == "profile" && argc == 3) profile_rows(std::stoi(argv[2]));
    else if (mode == "flash" || mode == "math" || mode == "flash-memory" || mode == "math-memory")
      attention_rows(mode.rfind("flash", 0) == 0 ? SDPBackend::flash : SDPBackend::math,
                     mode.find("memory") != std::string::npos);
    else {
      std::fprintf(stderr, "usage: gpt_bench step | profile THREADS | flash | math | flash-memory | math-memory | curve FILE STEPS\n");
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpt_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
