// Basic layers and activation modules (EmbeddingBag is in embedding_bag.cpp).
#include "hpml/nn/layers.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "hpml/autograd/grad_mode.h"
#include "hpml/nn/init.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/views.h"

namespace hpml::nn {

namespace {
// A double as Python's repr prints it: 1.0, 0.01, 1e-05.
std::string py(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e16) {
    std::ostringstream os;
    os << static_cast<long long>(v) << ".0";
    return os.str();
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}
}  // namespace

Linear::Linear(int64_t in, int64_t out, bool with_bias) : Module("Linear"), in_features(in), out_features(out) {
  HPML_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got ", in, " and ", out);
  weight = register_parameter("weight", empty({out, in}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}

void Linear::reset_parameters() {
  // PyTorch: kaiming_uniform_(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias too.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return functional::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << in_features << ", out_features=" << out_features << ", bias=" << (bias.defined() ? "True" : "False");
  return os.str();
}

Flatten::Flatten(int64_t s, int64_t e) : Module("Flatten"), start_dim(s), end_dim(e) {}
Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }
std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Unflatten::Unflatten(int64_t d, std::vector<int64_t> s) : Module("Unflatten"), dim(d), sizes(std::move(s)) {}
Tensor Unflatten::forward(const Tensor& x) { return x.unflatten(dim, sizes); }
std::string Unflatten::extra_repr() const {
  std::ostringstream os;
  os << "dim=" << dim << ", unflattened_size=(";
  for (size_t i = 0; i < sizes.size(); ++i) os << (i ? ", " : "") << sizes[i];
  os << (sizes.size() == 1 ? ",)" : ")");
  return os.str();
}

Dropout::Dropout(double prob) : Module("Dropout"), p(prob) {
  HPML_CHECK(p >= 0 && p <= 1, "Dropout: probability has to be between 0 and 1, but got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p, is_training()); }
std::string Dropout::extra_repr() const { return "p=" + py(p) + ", inplace=False"; }

Dropout2d::Dropout2d(double prob) : Module("Dropout2d"), p(prob) {
  HPML_CHECK(p >= 0 && p <= 1, "Dropout2d: probability has to be between 0 and 1, but got ", p);
}
Tensor Dropout2d::forward(const Tensor& x) { return functional::dropout2d(x, p, is_training()); }
std::string Dropout2d::extra_repr() const { return "p=" + py(p) + ", inplace=False"; }

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> pad)
    : Module("Embedding"),
      num_embeddings(num),
      embedding_dim(dim),
      padding_idx(pad && *pad < 0 ? std::optional<int64_t>(*pad + num) : pad) {  // PyTorch stores it non-negative
  HPML_CHECK(num > 0 && dim > 0, "Embedding: num_embeddings and embedding_dim must be positive, got ", num, " and ", dim);
  if (pad) HPML_CHECK(*pad >= -num && *pad < num, "Embedding: padding_idx ", *pad, " must be within num_embeddings (", num, ")");
  weight = register_parameter("weight", empty({num, dim}));
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard ng;
    weight.select(0, *padding_idx).zero_();
  }
}
Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, weight, padding_idx); }
std::string Embedding::extra_repr() const {
  std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim);
  if (padding_idx) s += ", padding_idx=" + std::to_string(*padding_idx);
  return s;
}

std::string LeakyReLU::extra_repr() const { return "negative_slope=" + py(negative_slope); }
Hardtanh::Hardtanh(double lo, double hi) : Module("Hardtanh"), min_val(lo), max_val(hi) {
  HPML_CHECK(lo <= hi, "Hardtanh: min_val (", lo, ") must not be greater than max_val (", hi, ")");
}
std::string Hardtanh::extra_repr() const { return "min_val=" + py(min_val) + ", max_val=" + py(max_val); }
GELU::GELU(std::string a) : Module("GELU"), approximate(std::move(a)) {
  HPML_CHECK(approximate == "none" || approximate == "tanh", "GELU: approximate must be 'none' or 'tanh', got '",
             approximate, "'");
}
std::string GELU::extra_repr() const { return "approximate='" + approximate + "'"; }
std::string Softplus::extra_repr() const { return "beta=" + py(beta) + ", threshold=" + py(threshold); }
std::string ELU::extra_repr() const { return "alpha=" + py(alpha); }
CELU::CELU(double a) : Module("CELU"), alpha(a) { HPML_CHECK(a != 0, "CELU: alpha cannot be 0"); }
std::string CELU::extra_repr() const { return "alpha=" + py(alpha); }
PReLU::PReLU(int64_t n, double init) : Module("PReLU"), num_parameters(n) {
  HPML_CHECK(n > 0, "PReLU: num_parameters must be positive, got ", n);
  weight = register_parameter("weight", full({n}, init));
}
std::string PReLU::extra_repr() const { return "num_parameters=" + std::to_string(num_parameters); }
std::string GLU::extra_repr() const { return "dim=" + std::to_string(dim); }
std::string Threshold::extra_repr() const { return "threshold=" + py(threshold) + ", value=" + py(value); }
std::string Softmax::extra_repr() const { return "dim=" + std::to_string(dim); }
std::string LogSoftmax::extra_repr() const { return "dim=" + std::to_string(dim); }

}  // namespace hpml::nn
