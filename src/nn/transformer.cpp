// MultiheadAttention and the Transformer encoder and decoder layers, following PyTorch's
// torch/nn/modules/activation.py, transformer.py and F.multi_head_attention_forward.
#include "hpml/nn/transformer.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "hpml/autograd/grad_mode.h"
#include "hpml/nn/functional.h"
#include "hpml/nn/init.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"

namespace hpml::nn {

namespace F = functional;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// PyTorch's _canonical_mask: a bool mask (true = excluded) as an additive float one.
Tensor additive(const Tensor& mask, DType dtype, const char* what) {
  if (mask.dtype() == kBool) return masked_fill(zeros(mask.sizes(), TensorOptions(dtype)), mask, -kInf);
  HPML_CHECK(mask.dtype() == dtype, "MultiheadAttention: ", what, " must be bool or the query's dtype ", dtype,
             ", got ", mask.dtype());
  return mask;
}

// attn_mask [L, S] or [N * H, L, S] and key_padding_mask [N, S] merged into one additive mask
// that broadcasts to the scores [N, H, L, S]; undefined when neither is given.
Tensor merged_mask(const MHAArgs& a, int64_t N, int64_t H, int64_t L, int64_t S, DType dtype) {
  Tensor m;
  if (a.attn_mask.defined()) {
    const Tensor& am = a.attn_mask;
    if (am.dim() == 2) {
      HPML_CHECK(am.sizes() == IntArrayRef({L, S}), "MultiheadAttention: the 2-d attn_mask is ", am.sizes(),
                 ", it should be (L, S) = [", L, ", ", S, "]");
      m = additive(am, dtype, "attn_mask").view({1, 1, L, S});
    } else {
      HPML_CHECK(am.dim() == 3 && am.sizes() == IntArrayRef({N * H, L, S}), "MultiheadAttention: the attn_mask is ",
                 am.sizes(), ", it should be (L, S) = [", L, ", ", S, "] or (N * num_heads, L, S) = [", N * H, ", ",
                 L, ", ", S, "]");
      m = additive(am, dtype, "attn_mask").view({N, H, L, S});
    }
  }
  if (a.key_padding_mask.defined()) {
    HPML_CHECK(a.key_padding_mask.sizes() == IntArrayRef({N, S}), "MultiheadAttention: key_padding_mask is ",
               a.key_padding_mask.sizes(), ", it should be (N, S) = [", N, ", ", S, "]");
    Tensor k = additive(a.key_padding_mask, dtype, "key_padding_mask").view({N, 1, 1, S});
    m = m.defined() ? m + k : k;
  }
  return m;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.data_ptr() == b.data_ptr() && a.sizes() == b.sizes() && a.strides() == b.strides();
}

Tensor activate(const std::string& name, const Tensor& x) { return name == "gelu" ? gelu(x) : relu(x); }

std::string py_bool(bool b) { return b ? "True" : "False"; }

}  // namespace

// ---- MultiheadAttention -------------------------------------------------------------------------

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, double p, bool bias, bool bf)
    : Module("MultiheadAttention"), out_proj(e > 0 ? e : 1, e > 0 ? e : 1, bias), embed_dim(e), num_heads(h),
      head_dim(h > 0 ? e / h : 0), dropout(p), batch_first(bf) {
  HPML_CHECK(e > 0 && h > 0, "MultiheadAttention: embed_dim and num_heads must be positive, got ", e, " and ", h);
  HPML_CHECK(e % h == 0, "MultiheadAttention: embed_dim (", e, ") must be divisible by num_heads (", h, ")");
  HPML_CHECK(p >= 0 && p <= 1, "MultiheadAttention: dropout must be in [0, 1], got ", p);
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * e, e}));
  if (bias) in_proj_bias = register_parameter("in_proj_bias", empty({3 * e}));
  register_module("out_proj", out_proj);
  reset_parameters();
}

void MultiheadAttention::reset_parameters() {  // PyTorch's _reset_parameters
  NoGradGuard ng;
  init::xavier_uniform_(in_proj_weight);
  if (in_proj_bias.defined()) {
    init::zeros_(in_proj_bias);
    init::zeros_(out_proj.bias);
  }
}

std::string MultiheadAttention::extra_repr() const {
  return "embed_dim=" + std::to_string(embed_dim) + ", num_heads=" + std::to_string(num_heads);
}

Tensor MultiheadAttention::forward(const Tensor& x) { return forward(x, x, x, {.need_weights = false}).output; }

MHAOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value, const MHAArgs& a) {
  return with_context([&] {
    HPML_CHECK(query.defined() && key.defined() && value.defined(), "MultiheadAttention: query, key and value must "
               "be defined");
    HPML_CHECK(query.dim() == key.dim() && query.dim() == value.dim() && (query.dim() == 2 || query.dim() == 3),
               "MultiheadAttention: query, key and value must all be 3-d (batched) or 2-d (unbatched), got ",
               query.sizes(), ", ", key.sizes(), ", ", value.sizes());
    for (const Tensor* t : {&query, &key, &value})
      HPML_CHECK(t->sizes().back() == embed_dim, "MultiheadAttention: expected inputs of embed_dim ", embed_dim,
                 " features, got ", t->sizes(), " (kdim and vdim other than embed_dim are not supported)");
    const bool unbatched = query.dim() == 2;
    // Everything below is batch-first: [N, L, E].
    auto bf = [&](const Tensor& t) { return unbatched ? t.unsqueeze(0) : batch_first ? t : t.transpose(0, 1); };
    MHAArgs args = a;
    if (unbatched && args.key_padding_mask.defined()) args.key_padding_mask = args.key_padding_mask.unsqueeze(0);
    HPML_CHECK(!(unbatched && args.attn_mask.defined() && args.attn_mask.dim() == 3),
               "MultiheadAttention: a 3-d attn_mask ", args.attn_mask.sizes(), " needs batched inputs");
    const bool self = same_tensor(query, key) && same_tensor(key, value);
    MHAOutput r = attend(bf(query), self ? Tensor() : bf(key), self ? Tensor() : bf(value), args);
    r.output = unbatched ? r.output.squeeze(0) : batch_first ? r.output : r.output.transpose(0, 1);
    if (unbatched && r.weights.defined()) r.weights = r.weights.squeeze(0);
    return r;
  });
}

// q [N, L, E]; k, v [N, S, E], or undefined for self-attention (one projection for all three).
MHAOutput MultiheadAttention::attend(const Tensor& query, const Tensor& key, const Tensor& value, const MHAArgs& a) {
  const int64_t N = query.sizes()[0], L = query.sizes()[1], E = embed_dim, H = num_heads, D = head_dim;
  Tensor q, k, v;
  if (!key.defined()) {
    TensorList qkv = F::linear(query, in_proj_weight, in_proj_bias).chunk(3, -1);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    HPML_CHECK(key.sizes()[0] == N && value.sizes()[0] == N && key.sizes()[1] == value.sizes()[1],
               "MultiheadAttention: query [N, L, E], key and value [N, S, E] disagree: ", query.sizes(), ", ",
               key.sizes(), ", ", value.sizes(), " (batch first)");
    auto part = [&](const Tensor& x, int64_t i) {
      return F::linear(x, in_proj_weight.slice(0, i * E, (i + 1) * E),
                       in_proj_bias.defined() ? in_proj_bias.slice(0, i * E, (i + 1) * E) : Tensor());
    };
    q = part(query, 0), k = part(key, 1), v = part(value, 2);
  }
  const int64_t S = k.sizes()[1];
  auto heads = [&](const Tensor& t, int64_t T) { return t.reshape({N, T, H, D}).transpose(1, 2); };  // [N, H, T, D]
  q = heads(q, L), k = heads(k, S), v = heads(v, S);
  Tensor mask = merged_mask(a, N, H, L, S, query.dtype());
  const bool causal = a.is_causal && !mask.defined();
  const double p = is_training() ? dropout : 0.0;
  MHAOutput r;
  Tensor o;  // [N, H, L, D]
  if (a.need_weights) {
    Tensor s = matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(D)));  // [N, H, L, S]
    if (causal) s = masked_fill(s, logical_not(tril(ones({L, S}, TensorOptions(kBool)))), -kInf);
    if (mask.defined()) s = s + mask;
    Tensor w = F::softmax(s, -1);
    if (p > 0) w = F::dropout(w, p, true);
    o = matmul(w, v);
    r.weights = a.average_attn_weights ? mean(w, {1}) : w;
  } else {
    o = scaled_dot_product_attention(q, k, v, mask, p, causal);
  }
  r.output = out_proj(o.transpose(1, 2).reshape({N, L, E}));
  return r;
}

// ---- TransformerEncoderLayer --------------------------------------------------------------------

namespace {
void check_layer(const char* layer, const TransformerLayerOptions& o) {
  HPML_CHECK(o.activation == "relu" || o.activation == "gelu", layer, ": activation must be \"relu\" or \"gelu\", "
             "got \"", o.activation, "\"");
  HPML_CHECK(o.dim_feedforward > 0, layer, ": dim_feedforward must be positive, got ", o.dim_feedforward);
}
std::string layer_repr(int64_t d_model, const TransformerLayerOptions& o) {
  std::ostringstream os;
  os << "d_model=" << d_model << ", dim_feedforward=" << o.dim_feedforward << ", activation=" << o.activation
     << ", batch_first=" << py_bool(o.batch_first) << ", norm_first=" << py_bool(o.norm_first);
  return os.str();
}
}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions o)
    : Module("TransformerEncoderLayer"),
      self_attn(d_model, nhead, o.dropout, true, o.batch_first),
      linear1(d_model, std::max<int64_t>(1, o.dim_feedforward)),
      dropout(o.dropout),
      linear2(std::max<int64_t>(1, o.dim_feedforward), d_model),
      norm1({d_model}, o.layer_norm_eps),
      norm2({d_model}, o.layer_norm_eps),
      dropout1(o.dropout),
      dropout2(o.dropout),
      options(std::move(o)) {
  check_layer("TransformerEncoderLayer", options);
  register_module("self_attn", self_attn);
  register_module("linear1", linear1);
  register_module("dropout", dropout);
  register_module("linear2", linear2);
  register_module("norm1", norm1);
  register_module("norm2", norm2);
  register_module("dropout1", dropout1);
  register_module("dropout2", dropout2);
}

std::string TransformerEncoderLayer::extra_repr() const { return layer_repr(linear1.in_features, options); }

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const EncoderMasks& m) {
  MHAArgs a{.key_padding_mask = m.src_key_padding_mask, .need_weights = false, .attn_mask = m.src_mask,
            .is_causal = m.is_causal};
  return dropout1(self_attn.forward(x, x, x, a).output);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) {
  return dropout2(linear2(dropout(activate(options.activation, linear1(x)))));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const EncoderMasks& m) {
  return with_context([&] {
    Tensor x = src;
    if (options.norm_first) {
      x = x + self_attention_block(norm1(x), m);
      return x + feed_forward_block(norm2(x));
    }
    x = norm1(x + self_attention_block(x, m));
    return norm2(x + feed_forward_block(x));
  });
}

// ---- TransformerDecoderLayer --------------------------------------------------------------------

TransformerDecoderLayer::TransformerDecoderLayer(int64_t d_model, int64_t nhead, TransformerLayerOptions o)
    : Module("TransformerDecoderLayer"),
      self_attn(d_model, nhead, o.dropout, true, o.batch_first),
      multihead_attn(d_model, nhead, o.dropout, true, o.batch_first),
      linear1(d_model, std::max<int64_t>(1, o.dim_feedforward)),
      dropout(o.dropout),
      linear2(std::max<int64_t>(1, o.dim_feedforward), d_model),
      norm1({d_model}, o.layer_norm_eps),
      norm2({d_model}, o.layer_norm_eps),
      norm3({d_model}, o.layer_norm_eps),
      dropout1(o.dropout),
      dropout2(o.dropout),
      dropout3(o.dropout),
      options(std::move(o)) {
  check_layer("TransformerDecoderLayer", options);
  register_module("self_attn", self_attn);
  register_module("multihead_attn", multihead_attn);
  register_module("linear1", linear1);
  register_module("dropout", dropout);
  register_module("linear2", linear2);
  register_module("norm1", norm1);
  register_module("norm2", norm2);
  register_module("norm3", norm3);
  register_module("dropout1", dropout1);
  register_module("dropout2", dropout2);
  register_module("dropout3", dropout3);
}

std::string TransformerDecoderLayer::extra_repr() const { return layer_repr(linear1.in_features, options); }

Tensor TransformerDecoderLayer::feed_forward_block(const Tensor& x) {
  return dropout3(linear2(dropout(activate(options.activation, linear1(x)))));
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& m) {
  return with_context([&] {
    auto sa = [&](const Tensor& x) {
      MHAArgs a{.key_padding_mask = m.tgt_key_padding_mask, .need_weights = false, .attn_mask = m.tgt_mask,
                .is_causal = m.tgt_is_causal};
      return dropout1(self_attn.forward(x, x, x, a).output);
    };
    auto mha = [&](const Tensor& x) {
      MHAArgs a{.key_padding_mask = m.memory_key_padding_mask, .need_weights = false, .attn_mask = m.memory_mask,
                .is_causal = m.memory_is_causal};
      return dropout2(multihead_attn.forward(x, memory, memory, a).output);
    };
    Tensor x = tgt;
    if (options.norm_first) {
      x = x + sa(norm1(x));
      x = x + mha(norm2(x));
      return x + feed_forward_block(norm3(x));
    }
    x = norm1(x + sa(x));
    x = norm2(x + mha(x));
    return norm3(x + feed_forward_block(x));
  });
}

}  // namespace hpml::nn
