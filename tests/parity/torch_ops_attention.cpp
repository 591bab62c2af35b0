// libtorch twins of the attention entries: PyTorch 1.13's at::_scaled_dot_product_attention (its
// math path; a bool mask keeps where true, is_causal the top-left lower triangle, as hpml). 1.13
// has no `scale` argument: the query is pre-scaled so that its own 1/sqrt(E) gives the scale.
#include <cmath>

#include "parity/torch_ops.h"

namespace hpml::testing {

namespace {
std::vector<torch::Tensor> sdpa(const std::vector<torch::Tensor>& in, const ops::Args& a) {
  torch::Tensor q = in[0];
  if (a.has("scale")) q = q * (a.d("scale") * std::sqrt(static_cast<double>(q.size(-1))));
  c10::optional<torch::Tensor> mask;
  if (in.size() > 3) mask = in[3];
  auto [out, weights] = at::_scaled_dot_product_attention(q, in[1], in[2], mask, 0.0, false, a.b("is_causal"));
  return {out};
}
}  // namespace

void add_attention_twins(std::map<std::string, TorchFn>& t) {
  t["scaled_dot_product_attention"] = sdpa;
  t["scaled_dot_product_attention_math"] = sdpa;
}

}  // namespace hpml::testing
