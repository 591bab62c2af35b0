// nn::functional layers: linear, dropout, dropout2d, embedding, softmax. Losses are in loss.cpp;
// embedding_bag in embedding_bag.cpp.
#include "hpml/nn/functional.h"

#include "hpml/core/graph.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/checks.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"

namespace hpml::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  HPML_RECORD_OP("linear", x, weight, bias);
  HPML_CHECK(x.defined() && weight.defined(), "linear: input and weight must be defined");
  ops::check_same_device("linear", {{"input", &x}, {"weight", &weight}, {"bias", &bias}});
  HPML_CHECK(weight.dim() == 2, "linear: weight must be 2-d [out_features, in_features], got shape ", weight.sizes());
  HPML_CHECK(x.dim() >= 1 && x.sizes().back() == weight.sizes()[1], "linear: input has ",
             x.dim() >= 1 ? x.sizes().back() : 0, " features (last dim of shape ", x.sizes(), ") but the weight expects ",
             weight.sizes()[1], " (weight shape ", weight.sizes(), ")");
  if (bias.defined())
    HPML_CHECK(bias.dim() == 1 && bias.sizes()[0] == weight.sizes()[0], "linear: bias must have shape [",
               weight.sizes()[0], "], got ", bias.sizes());
  // [N, in] with a bias: one GEMM that starts from the bias (addmm); otherwise matmul (+ bias).
  if (x.dim() == 2 && bias.defined()) return addmm(bias, x, weight.t());
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? y + bias : y;
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  HPML_RECORD_OP("dropout", x);
  HPML_CHECK(p >= 0 && p <= 1, "dropout: probability has to be between 0 and 1, but got ", p);
  HPML_CHECK(x.defined(), "dropout: input is undefined");
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  // keep ~ Bernoulli(1 - p); kept values scaled by 1 / (1 - p) so the expectation is unchanged.
  // The draw in f32 for every 2-byte or integer input: p is compared at f32's resolution.
  const DType draw = x.is_floating_point() && !is_reduced_float(x.dtype()) ? x.dtype() : kFloat32;
  Tensor keep = ge(rand(x.sizes(), gen, TensorOptions(draw).device(x.device())), scalar_tensor(p, kFloat64));
  return x * keep.to(x.dtype()) * (1.0 / (1.0 - p));
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  HPML_RECORD_OP("dropout2d", x);
  HPML_CHECK(p >= 0 && p <= 1, "dropout2d: probability has to be between 0 and 1, but got ", p);
  HPML_CHECK(x.defined(), "dropout2d: input is undefined");
  HPML_CHECK(x.dim() == 3 || x.dim() == 4, "dropout2d: expected a 3-d [N, C, L] or 4-d [N, C, H, W] input, got shape ",
             x.sizes(), "\nhint: dropout zeroes single elements of inputs of any shape");
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;
  // One keep ~ Bernoulli(1 - p) per (sample, channel), broadcast over the spatial dims.
  DimVector noise(static_cast<size_t>(x.dim()), 1);
  noise[0] = x.sizes()[0], noise[1] = x.sizes()[1];
  const DType dt = x.is_floating_point() ? x.dtype() : kFloat32;
  const DType draw = is_reduced_float(dt) ? kFloat32 : dt;  // as dropout
  Tensor keep = ge(rand(noise, gen, TensorOptions(draw).device(x.device())), scalar_tensor(p, kFloat64));
  return x * (keep.to(dt) * (1.0 / (1.0 - p)));
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  HPML_RECORD_OP("embedding", indices, weight);
  HPML_CHECK(indices.defined() && weight.defined(), "embedding: indices and weight must be defined");
  ops::check_same_device("embedding", {{"input", &indices}, {"weight", &weight}});
  HPML_CHECK(indices.dtype() == kInt64 || indices.dtype() == kInt32, "embedding: indices must be i64 or i32, got ",
             indices.dtype());
  HPML_CHECK(weight.dim() == 2, "embedding: weight must be 2-d [num_embeddings, embedding_dim], got ", weight.sizes());
  Tensor idx = indices.to(kInt64).reshape({-1});
  // Inside a graph capture nothing is read back: index_select's check runs at each replay instead.
  if (idx.numel() > 0 && !is_current_stream_capturing(idx.device())) {
    const int64_t lo = idx.amin().item<int64_t>(), hi = idx.amax().item<int64_t>(), n = weight.sizes()[0];
    HPML_CHECK(lo >= 0 && hi < n, "embedding: index ", lo < 0 ? lo : hi, " is out of range for ", n, " embeddings");
  }
  DimVector shape(indices.sizes());
  shape.push_back(weight.sizes()[1]);
  Tensor out = index_select(weight, 0, idx).view(shape);
  if (padding_idx) {
    // Same values, but no gradient flows to the padding row: those positions read a detached copy.
    int64_t pad = *padding_idx < 0 ? *padding_idx + weight.sizes()[0] : *padding_idx;
    Tensor is_pad = eq(indices.to(kInt64), scalar_tensor(pad, kInt64)).unsqueeze(-1);
    out = where(is_pad, out.detach(), out);
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) { return hpml::softmax(x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return hpml::log_softmax(x, dim); }

}  // namespace hpml::nn::functional
