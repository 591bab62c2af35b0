// The GPT of `hpml train --model gpt` and its text data (characters or BPE pieces: tokenizer.h).
#include "gpt.h"

#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
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
    Tensor x = drop(wte(tokens) + wpe(arange(0, T, 1, TensorOptions(kInt64).device(tokens.device()))));  // [B, T, C]
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

// Non-overlapping windows of block + 1 tokens: inputs x and targets y, [windows, block] each.
struct Windows {
  Tensor x, y;
  int64_t count = 0;
};
Windows windows_of(const std::vector<int64_t>& ids, int64_t block) {
  const auto n = static_cast<int64_t>(ids.size());
  Windows w;
  w.count = n > 0 ? (n - 1) / block : 0;
  Tensor tokens = empty({n}, TensorOptions(kInt64));
  std::copy(ids.begin(), ids.end(), tokens.data_ptr<int64_t>());
  w.x = tokens.slice(0, 0, w.count * block).view({w.count, block});
  w.y = tokens.slice(0, 1, w.count * block + 1).view({w.count, block});
  return w;
}

data::DatasetPtr dataset(const Windows& w, int64_t lo, int64_t hi) {
  return std::make_shared<data::TensorDataset>(
      std::vector<Tensor>{w.x.slice(0, lo, hi).contiguous(), w.y.slice(0, lo, hi).contiguous()});
}

void name_classes(DataSplits& d, const TokenizerPtr& t, int64_t block) {
  for (int64_t id = 0; id < t->size(); ++id) d.class_names.push_back(t->name(id));
  d.input_shape = {block};
  d.classes = t->size();
  d.tokenizer = t;
}

// Note [Splitting text]
// Windows next to each other share a boundary, and a random split would put the two sides of a
// sentence into train and test: the test set would measure memory, not generalization. So the
// splits are contiguous stretches of the text: train first, then validation, then test, as a
// language-model course splits a corpus. The training windows are shuffled every epoch.
DataSplits char_text_data(const std::string& path, const std::string& text, int64_t block, double val_split) {
  const TokenizerPtr t = char_tokenizer_of(text);
  const int64_t n = static_cast<int64_t>(text.size());
  const Windows w = windows_of(t->encode(text, "text:" + path), block);
  const int64_t windows = w.count;
  HPML_CHECK(windows >= 3, "text:", printable(path), ": ", n, " bytes make ", windows, " windows of --block-size ",
             block, " + 1; a run needs at least 3 (train, validation and test)");
  const int64_t n_test = std::max<int64_t>(1, windows / 10), n_fit = windows - n_test;
  const auto n_val = static_cast<int64_t>(std::llround(val_split * static_cast<double>(n_fit)));
  HPML_CHECK(n_fit - n_val >= 1, "--val-split ", val_split, " leaves no training window of ", n_fit);
  DataSplits d;
  name_classes(d, t, block);
  d.train = dataset(w, 0, n_fit - n_val);
  if (n_val > 0) d.val = dataset(w, n_fit - n_val, n_fit);
  d.test = dataset(w, n_fit, windows);
  d.description = "text:" + path + ": " + std::to_string(n) + " bytes, " + std::to_string(t->size()) +
                  " distinct (" + std::to_string(n_fit - n_val) + " train, " + std::to_string(n_val) +
                  " validation, " + std::to_string(n_test) + " test windows of " + std::to_string(block) + ")";
  return d;
}

// The start of the first line at or after `at`, if one starts before min(limit, at + 4096);
// else `at` (a part may then begin inside a line).
size_t line_start(std::string_view text, size_t at, size_t limit) {
  if (at == 0) return 0;
  const size_t nl = text.find('\n', at - 1);
  return nl != std::string_view::npos && nl + 1 <= std::min(limit, at + 4096) ? nl + 1 : at;
}

// Note [Splitting text before tokenizing]
// A bpe vocabulary is learnt from text, and learnt from the test text it would have seen the
// test set: the merges it picks would fit the text it is measured on. So --tokenizer bpe cuts the
// bytes first, at the start of a line: the last 10 % are the test part, --val-split of the rest
// (from its end) validation, as char cuts its windows (Note [Splitting text]). The vocabulary is
// trained on the training part alone, and each part is tokenized and cut into windows on its own,
// so no window spans two parts. (Tokenizing first and splitting the windows after could not work:
// the windows' tokens depend on the vocabulary, which must not see the later parts.) Validation
// and test may hold characters the training part lacks: byte fallback encodes them.
DataSplits bpe_text_data(const std::string& path, const std::string& text, int64_t block, double val_split,
                         const TextOptions& o) {
  const std::string_view all(text);
  const size_t n = all.size(), test_from = line_start(all, n - n / 10, n);
  const auto held = static_cast<size_t>(std::llround(val_split * static_cast<double>(test_from)));
  const size_t val_from = held > 0 ? line_start(all, test_from - held, test_from) : test_from;
  const std::string source = "text:" + path;
  const auto t0 = std::chrono::steady_clock::now();
  const TokenizerPtr t = train_bpe(all.substr(0, val_from),
                                   {.vocab_size = o.vocab_size > 0 ? o.vocab_size : kDefaultBpeVocab,
                                    .threads = o.threads}, source);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const struct {
    const char* name;
    size_t begin, end;
  } parts[3] = {{"training", 0, val_from}, {"validation", val_from, test_from}, {"test", test_from, n}};
  Windows w[3];
  int64_t tokens = 0;
  for (int i = 0; i < 3; ++i) {
    const auto& p = parts[i];
    const std::vector<int64_t> ids = t->encode(all.substr(p.begin, p.end - p.begin), source);
    w[i] = windows_of(ids, block);
    tokens += static_cast<int64_t>(ids.size());
    HPML_CHECK(w[i].count >= 1 || (i == 1 && held == 0), source, ": the ", p.name, " part (bytes ", p.begin, " to ",
               p.end, ") is ", ids.size(), " bpe tokens, which make no window of --block-size ", block, " + 1; a run "
               "needs one in each part\nhint: a smaller --block-size, a smaller --vocab-size, or more text");
  }
  DataSplits d;
  name_classes(d, t, block);
  d.train = dataset(w[0], 0, w[0].count);
  if (held > 0) d.val = dataset(w[1], 0, w[1].count);
  d.test = dataset(w[2], 0, w[2].count);
  char rate[96];
  std::snprintf(rate, sizeof rate, "%.3f tokens a byte; trained in %.1f s", static_cast<double>(tokens) /
                static_cast<double>(std::max<size_t>(n, 1)), seconds);
  d.description = source + ": " + std::to_string(n) + " bytes, a bpe vocabulary of " + std::to_string(t->size()) +
                  " from the first " + std::to_string(val_from) + " (" + rate + "; " + std::to_string(w[0].count) +
                  " train, " + std::to_string(w[1].count) + " validation, " + std::to_string(w[2].count) +
                  " test windows of " + std::to_string(block) + ")";
  return d;
}

}  // namespace

DataSplits text_data(const std::string& path, int64_t block, double val_split, const TextOptions& o) {
  HPML_CHECK(o.tokenizer == "char" || o.tokenizer == "bpe", "--tokenizer ", printable(o.tokenizer), ": char or bpe");
  const std::string text = read_text(path);
  if (o.tokenizer == "char") return char_text_data(path, text, block, val_split);
  return bpe_text_data(path, text, block, val_split, o);
}

}  // namespace hpml::cli
