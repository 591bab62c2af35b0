// The basic layers: Linear, Identity, Flatten, Unflatten, Dropout, Dropout2d, Embedding,
// EmbeddingBag, CosineSimilarity, PairwiseDistance, and the activations as modules. Each starts
// from PyTorch's default initialization and prints like PyTorch.
#pragma once

#include <optional>
#include <string>

#include "hpml/nn/functional.h"
#include "hpml/nn/module.h"

namespace hpml::nn {

// y = x W^T + b. weight [out, in] ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)), bias likewise.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();
  Tensor weight, bias;  // bias undefined when bias = false
  const int64_t in_features, out_features;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const int64_t start_dim, end_dim;
};

class Unflatten : public Module {
 public:
  Unflatten(int64_t dim, std::vector<int64_t> sizes);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const int64_t dim;
  const std::vector<int64_t> sizes;
};

// Inverted dropout, active in training mode only.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const double p;
};

// Zeroes whole channels of [N, C, H, W] (or [N, C, L]) in training mode; see F::dropout2d.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const double p;
};

// Rows of a [num_embeddings, embedding_dim] table ~ N(0, 1); padding_idx's row is zero and
// receives no gradient.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;
  Tensor weight;
  const int64_t num_embeddings, embedding_dim;
  const std::optional<int64_t> padding_idx;
};

struct EmbeddingBagOptions {
  std::string mode = "mean";  // "sum", "mean" or "max"
  bool include_last_offset = false;
  std::optional<int64_t> padding_idx = std::nullopt;
};
// Bags of rows of a [num_embeddings, embedding_dim] table ~ N(0, 1) reduced by mode (see
// F::embedding_bag); padding_idx's row is zero and its entries are left out of their bags.
class EmbeddingBag : public Module {
 public:
  EmbeddingBag(int64_t num_embeddings, int64_t embedding_dim, EmbeddingBagOptions options = {});
  Tensor forward(const Tensor& input) override { return forward(input, Tensor()); }
  Tensor forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = Tensor());
  using Module::operator();
  Tensor operator()(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = Tensor());
  std::string extra_repr() const override;
  Tensor weight;
  const int64_t num_embeddings, embedding_dim;
  const EmbeddingBagOptions options;
  const std::optional<int64_t> padding_idx;  // non-negative, as PyTorch stores it
};

// cosine_similarity(x1, x2, dim, eps) and pairwise_distance(x1, x2, p, eps, keepdim) as modules;
// called with two tensors.
class CosineSimilarity : public Module {
 public:
  explicit CosineSimilarity(int64_t dim = 1, double eps = 1e-8) : Module("CosineSimilarity"), dim(dim), eps(eps) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) { return cosine_similarity(x1, x2, dim, eps); }
  Tensor operator()(const Tensor& x1, const Tensor& x2) { return with_context([&] { return forward(x1, x2); }); }
  const int64_t dim;
  const double eps;
};
class PairwiseDistance : public Module {
 public:
  explicit PairwiseDistance(double p = 2.0, double eps = 1e-6, bool keepdim = false)
      : Module("PairwiseDistance"), norm(p), eps(eps), keepdim(keepdim) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) { return pairwise_distance(x1, x2, norm, eps, keepdim); }
  Tensor operator()(const Tensor& x1, const Tensor& x2) { return with_context([&] { return forward(x1, x2); }); }
  const double norm, eps;  // norm: PyTorch's name for p
  const bool keepdim;
};

// ---- activations --------------------------------------------------------------------------
class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};
class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override { return tanh(x); }
};
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override { return relu(x); }
};
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, negative_slope); }
  std::string extra_repr() const override;
  const double negative_slope;
};
class Hardtanh : public Module {
 public:
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
  Tensor forward(const Tensor& x) override { return hardtanh(x, min_val, max_val); }
  std::string extra_repr() const override;
  const double min_val, max_val;
};
class GELU : public Module {
 public:
  explicit GELU(std::string approximate = "none");
  Tensor forward(const Tensor& x) override { return gelu(x, approximate); }
  std::string extra_repr() const override;
  const std::string approximate;
};
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0) : Module("Softplus"), beta(beta), threshold(threshold) {}
  Tensor forward(const Tensor& x) override { return softplus(x, beta, threshold); }
  std::string extra_repr() const override;
  const double beta, threshold;
};
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : Module("ELU"), alpha(alpha) {}
  Tensor forward(const Tensor& x) override { return elu(x, alpha); }
  std::string extra_repr() const override;
  const double alpha;
};
class SiLU : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override { return silu(x); }
};
class Mish : public Module {
 public:
  Mish() : Module("Mish") {}
  Tensor forward(const Tensor& x) override { return mish(x); }
};
class Hardswish : public Module {
 public:
  Hardswish() : Module("Hardswish") {}
  Tensor forward(const Tensor& x) override { return hardswish(x); }
};
class Hardsigmoid : public Module {
 public:
  Hardsigmoid() : Module("Hardsigmoid") {}
  Tensor forward(const Tensor& x) override { return hardsigmoid(x); }
};
class SELU : public Module {
 public:
  SELU() : Module("SELU") {}
  Tensor forward(const Tensor& x) override { return selu(x); }
};
class LogSigmoid : public Module {
 public:
  LogSigmoid() : Module("LogSigmoid") {}
  Tensor forward(const Tensor& x) override { return logsigmoid(x); }
};
class Softsign : public Module {
 public:
  Softsign() : Module("Softsign") {}
  Tensor forward(const Tensor& x) override { return softsign(x); }
};
class CELU : public Module {
 public:
  explicit CELU(double alpha = 1.0);
  Tensor forward(const Tensor& x) override { return celu(x, alpha); }
  std::string extra_repr() const override;
  const double alpha;
};
// A learnable negative slope: one shared (num_parameters = 1) or one per channel (dim 1), init 0.25.
class PReLU : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25);
  Tensor forward(const Tensor& x) override { return prelu(x, weight); }
  std::string extra_repr() const override;
  Tensor weight;  // [num_parameters]
  const int64_t num_parameters;
};
class GLU : public Module {
 public:
  explicit GLU(int64_t dim = -1) : Module("GLU"), dim(dim) {}
  Tensor forward(const Tensor& x) override { return glu(x, dim); }
  std::string extra_repr() const override;
  const int64_t dim;
};
// x where x > threshold, else value.
class Threshold : public Module {
 public:
  Threshold(double threshold, double value) : Module("Threshold"), threshold(threshold), value(value) {}
  Tensor forward(const Tensor& x) override { return hpml::threshold(x, threshold, value); }
  std::string extra_repr() const override;
  const double threshold, value;
};
class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : Module("Softmax"), dim(dim) {}
  Tensor forward(const Tensor& x) override { return functional::softmax(x, dim); }
  std::string extra_repr() const override;
  const int64_t dim;
};
class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : Module("LogSoftmax"), dim(dim) {}
  Tensor forward(const Tensor& x) override { return functional::log_softmax(x, dim); }
  std::string extra_repr() const override;
  const int64_t dim;
};

}  // namespace hpml::nn
