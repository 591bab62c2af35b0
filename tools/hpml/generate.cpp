// `hpml generate CHECKPOINT`: text sampled from a GPT trained by `hpml train --model gpt`, one
// token (a character, or a BPE piece) at a time, with temperature and top-k (no key-value cache:
// each step runs the model on the last --block-size tokens, which at this size takes about a
// millisecond).
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
  app.add_option("--prompt", o.prompt, "the text to continue (char: every character must be in the model's "
                 "vocabulary; bpe: any text)");
  app.add_option("--tokens", o.tokens, "tokens to sample (characters, or BPE pieces)")
      ->check(int_in(1, 1'000'000))->capture_default_str();
  app.add_option("--temperature", o.temperature, "divides the logits: below 1 sharper, above 1 flatter")
      ->check(real_in(1e-3, 100))->capture_default_str();
  app.add_option("--top-k", o.top_k, "sample among the k likeliest tokens; 0: all")
      ->check(int_in(0, kMaxBpeVocab))->capture_default_str();
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

// Writes the bytes of the sampled tokens as they come, but holds back the start of a UTF-8
// character until its last byte has come (byte pieces of bpe, one byte each): a terminal then
// never shows half a character, and the text is the same bytes in the end.
class Printer {
 public:
  void add(const std::string& bytes) {
    pending_ += bytes;
    size_t keep = 0;  // an unfinished character at the end: its lead byte and continuation bytes
    for (size_t k = 1; k <= std::min<size_t>(3, pending_.size()); ++k) {
      const auto c = static_cast<unsigned char>(pending_[pending_.size() - k]);
      if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
      const size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
      keep = need > k ? k : 0;
      break;
    }
    write(pending_.size() - keep);
  }
  void finish() { write(pending_.size()); }

 private:
  void write(size_t n) {
    std::fwrite(pending_.data(), 1, n, stdout);
    if (pending_.find('\n') < n) std::fflush(stdout);
    pending_.erase(0, n);
  }
  std::string pending_;
};

// The checkpoint's tokenizer, refused unless it has exactly as many tokens as the model's
// embedding (wte, the first layer's: "0.wte.weight") has rows.
TokenizerPtr checkpoint_tokenizer(const io::CheckpointState& state, const std::string& path) {
  TokenizerPtr t = load_tokenizer(state.metadata, path);
  for (const auto& [name, w] : state.model)
    if (name == "0.wte.weight")
      HPML_CHECK(w.dim() == 2 && w.size(0) == t->size(), path, ": its ", t->kind(), " tokenizer has ", t->size(),
                 " tokens, but the model's wte.weight has shape ", w.sizes(), " (one row a token)");
  return t;
}

}  // namespace

int generate(const GenerateOptions& o) {
  io::CheckpointState state = load_run_checkpoint(o.checkpoint, "hpml generate");
  const TrainConfig c = recorded_config(state.metadata, o.checkpoint);
  HPML_CHECK(c.model == "gpt", "hpml generate: ", printable(o.checkpoint), " holds a ", printable(c.model),
             " model; generate samples from one trained with --model gpt");
  const TokenizerPtr tok = checkpoint_tokenizer(state, o.checkpoint);
  DataSplits d;
  d.classes = tok->size();
  d.input_shape = {c.block_size};
  d.tokenizer = tok;
  std::shared_ptr<nn::Module> model = rebuild_model(c, d, state.model, o.checkpoint);
  model->eval();
  std::vector<int64_t> ctx = tok->encode(o.prompt, "hpml generate: the prompt");
  HPML_CHECK(!ctx.empty(), "hpml generate: --prompt is empty; give at least one character");
  std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
  Printer out;
  Generator g(o.seed);
  NoGradGuard ng;
  for (int64_t n = 0; n < o.tokens; ++n) {
    const int64_t t = std::min<int64_t>(static_cast<int64_t>(ctx.size()), c.block_size);
    Tensor in = from_blob(ctx.data() + ctx.size() - static_cast<size_t>(t), {1, t}, TensorOptions(kInt64)).clone();
    Tensor last = model->forward(in).select(1, t - 1).select(0, 0).to(kFloat64).contiguous();  // [vocab]
    const double* p = last.data_ptr<double>();
    const int64_t k = sample(std::vector<double>(p, p + last.numel()), o.temperature, o.top_k, g);
    ctx.push_back(k);
    out.add(tok->bytes(k));
  }
  out.finish();
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace hpml::cli
