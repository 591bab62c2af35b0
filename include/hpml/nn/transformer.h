// Attention layers: MultiheadAttention, TransformerEncoderLayer and TransformerDecoderLayer, with
// PyTorch's parameter names, initialization, mask conventions and (seq, batch, feature) default
// layout, so that state dicts load both ways (docs/sequence.md).
//   nn::TransformerEncoderLayer layer(128, 4, {.dim_feedforward = 512, .batch_first = true});
//   Tensor y = layer.forward(x, {.is_causal = true});
#pragma once

#include <memory>
#include <string>

#include "hpml/nn/layers.h"
#include "hpml/nn/module.h"
#include "hpml/nn/normalization.h"

namespace hpml::nn {

// The optional arguments of MultiheadAttention::forward, with PyTorch's meaning:
//   key_padding_mask [N, S] (or [S] unbatched): bool true = this key is padding (ignored), or
//     floating, added to the scores;
//   attn_mask [L, S] or [N * num_heads, L, S]: bool true = NOT allowed to attend, or floating, added;
//   is_causal: query i attends keys j <= i. PyTorch takes it as a hint beside an attn_mask that is
//     the causal mask; hpml also accepts it alone and builds the mask;
//   need_weights: also return the attention weights [N, L, S] (averaged over heads) or
//     [N, num_heads, L, S] (average_attn_weights = false). This takes the composed path.
struct MHAArgs {
  Tensor key_padding_mask = {};
  bool need_weights = true;
  Tensor attn_mask = {};
  bool average_attn_weights = true;
  bool is_causal = false;
};

struct MHAOutput {
  Tensor output;   // as the query: [L, N, E], [N, L, E] with batch_first, or [L, E] unbatched
  Tensor weights;  // undefined unless need_weights
};

// Multi-head attention (Vaswani et al.): heads of dimension embed_dim / num_heads attend in
// parallel through scaled_dot_product_attention. Parameters: in_proj_weight [3E, E] (xavier
// uniform), in_proj_bias [3E] (zeros), out_proj.weight [E, E], out_proj.bias [E] (zeros).
// Not supported (an error says so): kdim / vdim other than embed_dim, add_bias_kv, add_zero_attn.
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = false);
  MHAOutput forward(const Tensor& query, const Tensor& key, const Tensor& value, const MHAArgs& args = {});
  // Self-attention without weights: forward(x, x, x, {.need_weights = false}).output.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();

  Tensor in_proj_weight, in_proj_bias;  // in_proj_bias undefined when bias = false
  Linear out_proj;
  const int64_t embed_dim, num_heads, head_dim;
  const double dropout;
  const bool batch_first;

 private:
  MHAOutput attend(const Tensor& q, const Tensor& k, const Tensor& v, const MHAArgs& args);
};

struct TransformerLayerOptions {
  int64_t dim_feedforward = 2048;
  double dropout = 0.1;
  std::string activation = "relu";  // relu | gelu
  double layer_norm_eps = 1e-5;
  bool batch_first = false;
  bool norm_first = false;  // pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x)))
};

struct EncoderMasks {
  Tensor src_mask = {};              // MultiheadAttention's attn_mask
  Tensor src_key_padding_mask = {};  // its key_padding_mask
  bool is_causal = false;
};

// Self-attention and a feed-forward block (linear1, activation, dropout, linear2), each with
// dropout and a residual connection, and LayerNorms norm1, norm2 after (or, norm_first, before).
class TransformerEncoderLayer : public Module {
 public:
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions options = {});
  Tensor forward(const Tensor& src, const EncoderMasks& masks);
  Tensor forward(const Tensor& src) override { return forward(src, EncoderMasks{}); }
  std::string extra_repr() const override;

  MultiheadAttention self_attn;
  Linear linear1;
  Dropout dropout;
  Linear linear2;
  LayerNorm norm1, norm2;
  Dropout dropout1, dropout2;
  const TransformerLayerOptions options;

 private:
  Tensor self_attention_block(const Tensor& x, const EncoderMasks& m);
  Tensor feed_forward_block(const Tensor& x);
};

struct DecoderMasks {
  Tensor tgt_mask = {}, memory_mask = {};
  Tensor tgt_key_padding_mask = {}, memory_key_padding_mask = {};
  bool tgt_is_causal = false, memory_is_causal = false;
};

// Self-attention over the target, attention to the encoder's output (memory), and a feed-forward
// block, each with dropout, a residual connection and its LayerNorm (norm1, norm2, norm3).
class TransformerDecoderLayer : public Module {
 public:
  TransformerDecoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions options = {});
  Tensor forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {});
  std::string extra_repr() const override;

  MultiheadAttention self_attn, multihead_attn;
  Linear linear1;
  Dropout dropout;
  Linear linear2;
  LayerNorm norm1, norm2, norm3;
  Dropout dropout1, dropout2, dropout3;
  const TransformerLayerOptions options;

 private:
  Tensor feed_forward_block(const Tensor& x);
};

}  // namespace hpml::nn
