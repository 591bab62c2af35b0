// `hpml generate CHECKPOINT`: text sampled from a GPT trained by `hpml train --model gpt`, one
// character at a time, with temperature and top-k (no key-value cache: each step runs the model
// on the last --block-size characters, which at this size takes about a millisecond).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "gpt.h"

namespace hpml::cli {

void add_generate_options(CLI::App& app, GenerateOptions& o) {
  app.add_option("checkpoint", o.checkpoint, "a checkpoint written by hpml train --model gpt")->required();
  app.add_option("--prompt", o.prompt, "the text to continue (every character must be in the model's vocabulary)");
  app.add_option("--tokens", o.tokens, "characters to sample")->check(int_in(1, 1'000'000))->capture_default_str();
  app.add_option("--temperature", o.temperature, "divides the logits: below 1 sharper, above 1 flatter")
      ->check(real_in(1e-3, 100))->capture_default_str();
  app.add_option("--top-k", o.top_k, "sample among the k likeliest characters; 0: all")
      ->check(int_in(0, 256))->capture_default_str();
  app.add_option("--seed", o.seed, "the sampling generator's seed")->capture_default_str();
}

namespace {

// One draw from softmax(logits / temperature), restricted to the top_k largest (all when 0).
int64_t sample(std::vector<double> logits, double temperature, int64_t top_k, Generator& g) {
  const auto V = static_cast<int64_t>(logits.size());
  for (double& l : logits) l /= temperature;
  if (top_k > 0 && top_k < V) {
    std::vector<double> sorted = logits;
    std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[static_cast<size_t>(top_k - 1)];
    for (double& l : logits)
      if (l < kth) l = -std::numeric_limits<double>::infinity();
  }
  const double mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double& l : logits) sum += (l = std::exp(l - mx));
  double u = rand({1}, &g, TensorOptions(kFloat64)).item<double>() * sum;
  for (int64_t k = 0; k < V; ++k)
    if ((u -= logits[static_cast<size_t>(k)]) < 0) return k;
  return V - 1;  // rounding left u a hair above 0
}

}  // namespace

int generate(const GenerateOptions& o) {
  io::CheckpointState state = load_run_checkpoint(o.checkpoint, "hpml generate");
  const TrainConfig c = recorded_config(state.metadata, o.checkpoint);
  HPML_CHECK(c.model == "gpt", "hpml generate: ", printable(o.checkpoint), " holds a ", printable(c.model),
             " model; generate samples from one trained with --model gpt");
  auto it = state.metadata.find("vocab");
  HPML_CHECK(it != state.metadata.end(), "hpml generate: ", printable(o.checkpoint), " has no vocabulary (metadata "
             "\"vocab\")");
  const std::string vocab = vocab_from_hex(it->second, o.checkpoint);
  DataSplits d;
  d.classes = static_cast<int64_t>(vocab.size());
  d.input_shape = {c.block_size};
  d.vocab = vocab;
  std::shared_ptr<nn::Module> model = rebuild_model(c, d, state.model, o.checkpoint);
  model->eval();
  std::vector<int64_t> index(256, -1);
  for (size_t i = 0; i < vocab.size(); ++i) index[static_cast<unsigned char>(vocab[i])] = static_cast<int64_t>(i);
  std::vector<int64_t> ctx;
  for (unsigned char ch : o.prompt) {
    HPML_CHECK(index[ch] >= 0, "hpml generate: the prompt's character ", printable(std::string(1, static_cast<char>(ch))),
               " (byte ", static_cast<int>(ch), ") is not in the model's vocabulary of ", vocab.size());
    ctx.push_back(index[ch]);
  }
  HPML_CHECK(!ctx.empty(), "hpml generate: --prompt is empty; give at least one character");
  std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
  Generator g(o.seed);
  NoGradGuard ng;
  for (int64_t n = 0; n < o.tokens; ++n) {
    const int64_t t = std::min<int64_t>(static_cast<int64_t>(ctx.size()), c.block_size);
    Tensor in = from_blob(ctx.data() + ctx.size() - static_cast<size_t>(t), {1, t}, TensorOptions(kInt64)).clone();
    Tensor last = model->forward(in).select(1, t - 1).select(0, 0).to(kFloat64).contiguous();  // [vocab]
    const double* p = last.data_ptr<double>();
    const int64_t k = sample(std::vector<double>(p, p + last.numel()), o.temperature, o.top_k, g);
    ctx.push_back(k);
    std::fputc(vocab[static_cast<size_t>(k)], stdout);
    if (vocab[static_cast<size_t>(k)] == '\n') std::fflush(stdout);
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace hpml::cli
