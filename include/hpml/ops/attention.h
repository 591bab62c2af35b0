// scaled_dot_product_attention: softmax(scale q k^T + mask) v, as PyTorch 2's
// torch.nn.functional.scaled_dot_product_attention, composed from ops ("math") or fused in one
// pass over the keys without the [L, S] matrix ("flash", Note [Fused attention]).
//   Tensor y = scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#pragma once

#include <cstdint>
#include <optional>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"

namespace hpml {

// q [*, L, E], k [*, S, E], v [*, S, Ev] -> [*, L, Ev]; the batch dims * broadcast.
// attn_mask (broadcasts to [*, L, S]): bool (true: the key takes part, PyTorch 2's convention) or
//   floating (added to the scores, -inf to exclude). A row with no key left gives NaN, as PyTorch.
// dropout_p: zeroes attention weights with that probability whenever > 0 (pass 0 to evaluate).
// is_causal: query i sees keys j <= i (the top-left lower triangle of [L, S]); not with attn_mask.
// scale: default 1 / sqrt(E).
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt, Generator* generator = nullptr);

// The implementations (PyTorch's torch.nn.attention.SDPBackend): math composes matmul, softmax and
// matmul; flash is the fused kernel, for f32/f64 without attn_mask or dropout, whose batch dims
// agree (Note [Which attention runs]).
enum class SDPBackend : uint8_t { math, flash };

// Limits scaled_dot_product_attention on this thread, while it lives, to one implementation
// (PyTorch's sdpa_kernel context manager). Asking for flash where it does not apply is an error.
class SDPAKernel {
 public:
  explicit SDPAKernel(SDPBackend only);
  ~SDPAKernel();
  SDPAKernel(const SDPAKernel&) = delete;
  SDPAKernel& operator=(const SDPAKernel&) = delete;

 private:
  int previous_;
};

// The implementation a call with these arguments takes on this thread now.
SDPBackend sdpa_backend(const Tensor& query, const Tensor& key, const Tensor& value,
                        const Tensor& attn_mask = Tensor(), double dropout_p = 0.0);

}  // namespace hpml
