// `hpml train --model gpt --dataset text:PATH` and `hpml generate`: a decoder-only transformer
// (GPT-2's layout, built from nn::TransformerEncoderLayer with norm_first and a causal mask),
// text data as characters or BPE pieces (tokenizer.h), and sampling with temperature and top-k.
// docs/sequence.md walks through it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hpml/hpml.h"
#include "tokenizer.h"
#include "train.h"

namespace hpml::cli {

struct GPTConfig {
  int64_t vocab = 0, block = 256, layers = 4, heads = 4, width = 128;
  double dropout = 0;
};

// Token and position embeddings (wte, wpe), dropout, `layers` pre-norm blocks (h.0, h.1, ...:
// causal self-attention and a 4x-wide GELU feed-forward), a final LayerNorm (ln_f) and the
// next-token head (lm_head, no bias). Weights ~ N(0, 0.02), biases 0, as GPT-2.
class GPT : public nn::Module {
 public:
  explicit GPT(const GPTConfig& config);
  // tokens [B, T] (i64, T <= block) -> next-token logits [B, T, vocab]
  Tensor forward(const Tensor& tokens) override;

  const GPTConfig config;
  nn::Embedding wte, wpe;
  nn::Dropout drop;
  nn::ModuleList h;
  nn::LayerNorm ln_f;
  nn::Linear lm_head;
};

// The state-dict names and shapes of GPT(config), without building it.
std::vector<std::pair<std::string, std::vector<int64_t>>> gpt_state_shapes(const GPTConfig& config);
// The configuration of a planned gpt layer (plan_model).
GPTConfig gpt_config(const LayerSpec& l);

// How text:PATH becomes tokens: --tokenizer, --vocab-size (bpe; 0: kDefaultBpeVocab), --threads.
struct TextOptions {
  std::string tokenizer = "char";  // char | bpe
  int64_t vocab_size = 0;
  int threads = 0;
};

// text:PATH: a file, or a folder whose regular files (not *.dat, not links) are read in name
// order and joined. char: its bytes are the tokens, the vocabulary the distinct bytes, sorted;
// the windows are cut into the splits (Note [Splitting text]). bpe: the text is cut into the
// splits first, a BPE vocabulary trained on the training part only, and each part tokenized and
// cut into windows of its own (Note [Splitting text before tokenizing]). Samples are the
// non-overlapping windows of block + 1 tokens (input, and the input shifted by one as targets);
// the last 10 % are the test set, --val-split of the rest (from its end) validation.
DataSplits text_data(const std::string& path, int64_t block, double val_split, const TextOptions& options = {});

struct GenerateOptions {
  std::string checkpoint;
  std::string prompt = "\n";
  int64_t tokens = 500;
  double temperature = 0.8;
  int64_t top_k = 0;  // 0: all
  uint64_t seed = 0;
};
void add_generate_options(CLI::App& app, GenerateOptions& o);
// `hpml generate`: continues the prompt with tokens sampled from the checkpoint's GPT, printed as
// they come. Returns the exit status.
int generate(const GenerateOptions& o);

}  // namespace hpml::cli
