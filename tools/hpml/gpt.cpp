// The GPT of `hpml train --model gpt`, its character-level text data, and `hpml generate`.
#include "gpt.h"

#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

namespace hpml::cli {

namespace {
constexpr uint64_t kMaxTextBytes = uint64_t{256} << 20;  // text:PATH reads at most this much
}  // namespace

// ---- the model ----------------------------------------------------------------------------------

GPT::GPT(const GPTConfig& c)
    : Module("GPT"), config(c), wte(c.vocab, c.width), wpe(c.block, c.width), drop(c.dropout), ln_f({c.width}),
      lm_head(c.width, c.vocab, /*bias=*/false) {
  HPML_CHECK(c.width % c.heads == 0, "--model gpt: --width (", c.width, ") must be a multiple of --heads (", c.heads,
             ")");
  register_module("wte", wte);
  register_module("wpe", wpe);
  register_module("drop", drop);
  for (int64_t i = 0; i < c.layers; ++i)
    h.emplace_back<nn::TransformerEncoderLayer>(
        c.width, c.heads,
        nn::TransformerLayerOptions{.dim_feedforward = 4 * c.width, .dropout = c.dropout, .activation = "gelu",
                                    .batch_first = true, .norm_first = true});
  register_module("h", h);
  register_module("ln_f", ln_f);
  register_module("lm_head", lm_head);
  NoGradGuard ng;
  for (auto& [name, p] : named_parameters()) {  // GPT-2's initialization
    if (p.dim() >= 2) nn::init::normal_(p, 0.0, 0.02);
    else if (name.find("norm") == std::string::npos && name.rfind("ln_f", 0) != 0) nn::init::zeros_(p);
  }
}

Tensor GPT::forward(const Tensor& tokens) {
  return with_context([&] {
    HPML_CHECK(tokens.dim() == 2 && tokens.dtype() == kInt64, "GPT: tokens must be i64 [batch, time], got ",
               tokens.dtype(), " ", tokens.sizes());
    const int64_t T = tokens.sizes()[1];
    HPML_CHECK(T >= 1 && T <= config.block, "GPT: ", T, " tokens; the model sees 1 to ", config.block, " (--block-size)");
    Tensor x = drop(wte(tokens) + wpe(arange(0, T, 1, kInt64)));  // [B, T, C]
    for (nn::Module* layer : h.children())
      x = static_cast<nn::TransformerEncoderLayer*>(layer)->forward(x, nn::EncoderMasks{.is_causal = true});
    return lm_head(ln_f(x));  // [B, T, vocab]
  });
}

GPTConfig gpt_config(const LayerSpec& l) {
  return {.vocab = l.in, .block = l.block, .layers = l.layers, .heads = l.heads, .width = l.out, .dropout = l.p};
}

std::vector<std::pair<std::string, std::vector<int64_t>>> gpt_state_shapes(const GPTConfig& c) {
  const int64_t C = c.width, F = 4 * c.width;
  std::vector<std::pair<std::string, std::vector<int64_t>>> s = {{"wte.weight", {c.vocab, C}},
                                                                 {"wpe.weight", {c.block, C}}};
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    for (auto& e : std::vector<std::pair<std::string, std::vector<int64_t>>>{
             {"self_attn.in_proj_weight", {3 * C, C}}, {"self_attn.in_proj_bias", {3 * C}},
             {"self_attn.out_proj.weight", {C, C}}, {"self_attn.out_proj.bias", {C}}, {"linear1.weight", {F, C}},
             {"linear1.bias", {F}}, {"linear2.weight", {C, F}}, {"linear2.bias", {C}}, {"norm1.weight", {C}},
             {"norm1.bias", {C}}, {"norm2.weight", {C}}, {"norm2.bias", {C}}})
      s.push_back({p + e.first, e.second});
  }
  s.push_back({"ln_f.weight", {C}});
  s.push_back({"ln_f.bias", {C}});
  s.push_back({"lm_head.weight", {c.vocab, C}});
  return s;
}

// ---- the data -----------------------------------------------------------------------------------

namespace {

std::string read_text(const std::string& path) {
  struct stat st {};
  HPML_CHECK(::stat(path.c_str(), &st) == 0, "text:", printable(path), ": no such file or folder");
  if (!S_ISDIR(st.st_mode)) return read_regular_file_string(path, "text:" + path, kMaxTextBytes);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    if (e.is_symlink() || !e.is_regular_file() || e.path().extension() == ".dat") continue;
    files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::string all;
  for (const std::string& f : files) {
    all += read_regular_file_string(f, "text:" + f, kMaxTextBytes);
    HPML_CHECK(all.size() <= kMaxTextBytes, "text:", printable(path), ": more than ", kMaxTextBytes, " bytes");
  }
  return all;
}

std::string shown(uint8_t b) {
  if (b == '\n') return "\\n";
  if (b >= 32 && b < 127) return std::string(1, static_cast<char>(b));
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  return buf;
}

}  // namespace

// Note [Splitting text]
// Windows next to each other share a boundary, and a random split would put the two sides of a
// sentence into train and test: the test set would measure memory, not generalization. So the
// splits are contiguous stretches of the text: train first, then validation, then test, as a
// language-model course splits a corpus. The training windows are shuffled every epoch.
DataSplits text_data(const std::string& path, int64_t block, double val_split) {
  const std::string text = read_text(path);
  bool present[256] = {};
  for (unsigned char ch : text) present[ch] = true;
  DataSplits d;
  std::vector<int64_t> index(256, -1);
  std::string vocab;
  for (int b = 0; b < 256; ++b)
    if (present[b]) {
      index[b] = static_cast<int64_t>(vocab.size());
      vocab.push_back(static_cast<char>(b));
      d.class_names.push_back(shown(static_cast<uint8_t>(b)));
    }
  const int64_t n = static_cast<int64_t>(text.size()), windows = n > 0 ? (n - 1) / block : 0;
  HPML_CHECK(windows >= 3, "text:", printable(path), ": ", n, " bytes make ", windows, " windows of --block-size ",
             block, " + 1; a run needs at least 3 (train, validation and test)");
  Tensor tokens = empty({n}, TensorOptions(kInt64));
  int64_t* t = tokens.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) t[i] = index[static_cast<unsigned char>(text[i])];
  Tensor x = tokens.slice(0, 0, windows * block).view({windows, block});
  Tensor y = tokens.slice(0, 1, windows * block + 1).view({windows, block});
  const int64_t n_test = std::max<int64_t>(1, windows / 10), n_fit = windows - n_test;
  const auto n_val = static_cast<int64_t>(std::llround(val_split * static_cast<double>(n_fit)));
  HPML_CHECK(n_fit - n_val >= 1, "--val-split ", val_split, " leaves no training window of ", n_fit);
  auto part = [&](int64_t lo, int64_t hi) {
    return std::make_shared<data::TensorDataset>(
        std::vector<Tensor>{x.slice(0, lo, hi).contiguous(), y.slice(0, lo, hi).contiguous()});
  };
  d.train = part(0, n_fit - n_val);
  if (n_val > 0) d.val = part(n_fit - n_val, n_fit);
  d.test = part(n_fit, windows);
  d.input_shape = {block};
  d.classes = static_cast<int64_t>(vocab.size());
  d.vocab = vocab;
  d.description = "text:" + path + ": " + std::to_string(n) + " bytes, " + std::to_string(vocab.size()) +
                  " distinct (" + std::to_string(n_fit - n_val) + " train, " + std::to_string(n_val) +
                  " validation, " + std::to_string(n_test) + " test windows of " + std::to_string(block) + ")";
  return d;
}

std::string vocab_to_hex(const std::string& vocab) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : vocab) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  return hex;
}

std::string vocab_from_hex(const std::string& hex, const std::string& source) {
  HPML_CHECK(!hex.empty() && hex.size() % 2 == 0 && hex.size() <= 512, source, ": metadata vocab has ", hex.size(),
             " hex digits; it needs an even number from 2 to 512");
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    HPML_FAIL(source, ": metadata vocab has ", printable(std::string(1, c)), ", not a lower-case hex digit");
  };
  std::string vocab;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int b = digit(hex[i]) * 16 + digit(hex[i + 1]);
    HPML_CHECK(vocab.empty() || b > static_cast<unsigned char>(vocab.back()), source,
               ": metadata vocab is not in increasing byte order at byte ", i / 2);
    vocab.push_back(static_cast<char>(b));
  }
  return vocab;
}

}  // namespace hpml::cli
