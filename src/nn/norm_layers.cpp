// BatchNorm1d/2d, InstanceNorm1d/2d, LayerNorm, GroupNorm.
#include "hpml/autograd/grad_mode.h"
#include "hpml/nn/functional.h"
#include "hpml/nn/init.h"
#include "hpml/nn/normalization.h"
#include "hpml/ops/factories.h"

#include <sstream>

namespace hpml::nn {

namespace {
// 1e-05 and 0.1 as Python prints floats.
std::string py(double v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}
}  // namespace

BatchNormBase::BatchNormBase(const char* type, int64_t n, BatchNormOptions o) : Module(type), num_features(n), options(o) {
  HPML_CHECK(n > 0, type, ": num_features must be positive, got ", n);
  if (o.momentum) HPML_CHECK(*o.momentum >= 0 && *o.momentum <= 1, type, ": momentum must be in [0, 1], got ", *o.momentum);
  if (o.affine) {
    weight = register_parameter("weight", ones({n}));
    bias = register_parameter("bias", zeros({n}));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({n}));
    running_var = register_buffer("running_var", ones({n}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

void BatchNormBase::reset_running_stats() {
  if (!options.track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  init::zeros_(num_batches_tracked);
}

Tensor BatchNormBase::forward(const Tensor& x) {
  check_input(x);
  HPML_CHECK(x.sizes()[1] == num_features, type_name(), ": expected ", num_features, " channels (dim 1), got input of shape ",
             x.sizes());
  double factor = options.momentum.value_or(0.0);
  if (is_training() && options.track_running_stats) {
    NoGradGuard ng;
    num_batches_tracked.add_(1);
    // momentum = nullopt: the cumulative average, 1 / (batches seen so far).
    if (!options.momentum) factor = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
  }
  const bool batch_stats = is_training() || !options.track_running_stats;
  return functional::batch_norm(x, options.track_running_stats ? running_mean : Tensor(),
                                options.track_running_stats ? running_var : Tensor(), weight, bias, batch_stats, factor,
                                options.eps);
}

std::string BatchNormBase::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + py(options.eps) +
         ", momentum=" + (options.momentum ? py(*options.momentum) : std::string("None")) +
         ", affine=" + (options.affine ? "True" : "False") +
         ", track_running_stats=" + (options.track_running_stats ? "True" : "False");
}

BatchNorm1d::BatchNorm1d(int64_t n, BatchNormOptions o) : BatchNormBase("BatchNorm1d", n, o) {}
void BatchNorm1d::check_input(const Tensor& x) const {
  HPML_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected a 2-d [N, C] or 3-d [N, C, L] input, got shape ", x.sizes());
}

BatchNorm2d::BatchNorm2d(int64_t n, BatchNormOptions o) : BatchNormBase("BatchNorm2d", n, o) {}
void BatchNorm2d::check_input(const Tensor& x) const {
  HPML_CHECK(x.dim() == 4, "BatchNorm2d: expected a 4-d [N, C, H, W] input, got shape ", x.sizes());
}

InstanceNormBase::InstanceNormBase(const char* type, int64_t n, InstanceNormOptions o, int64_t spatial)
    : Module(type), num_features(n), options(o), spatial_dims_(spatial) {
  HPML_CHECK(n > 0, type, ": num_features must be positive, got ", n);
  if (o.affine) {
    weight = register_parameter("weight", ones({n}));
    bias = register_parameter("bias", zeros({n}));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({n}));
    running_var = register_buffer("running_var", ones({n}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

Tensor InstanceNormBase::forward(const Tensor& x) {
  const int64_t unbatched = spatial_dims_ + 1;
  HPML_CHECK(x.defined() && (x.dim() == unbatched || x.dim() == unbatched + 1), type_name(), ": expected a ", unbatched,
             "-d or ", unbatched + 1, "-d input, got shape ", x.defined() ? x.sizes() : IntArrayRef());
  const int64_t feature_dim = x.dim() - unbatched;
  // PyTorch raises here with affine parameters (and only warns without them).
  if (options.affine)
    HPML_CHECK(x.sizes()[feature_dim] == num_features, type_name(), ": expected input's size at dim ", feature_dim,
               " to match num_features (", num_features, "), got input of shape ", x.sizes());
  Tensor xb = x.dim() == unbatched ? x.unsqueeze(0) : x;
  Tensor y = functional::instance_norm(xb, running_mean, running_var, weight, bias,
                                       is_training() || !options.track_running_stats, options.momentum, options.eps);
  return x.dim() == unbatched ? y.squeeze(0) : y;
}

std::string InstanceNormBase::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + py(options.eps) + ", momentum=" + py(options.momentum) +
         ", affine=" + (options.affine ? "True" : "False") +
         ", track_running_stats=" + (options.track_running_stats ? "True" : "False");
}

InstanceNorm1d::InstanceNorm1d(int64_t n, InstanceNormOptions o) : InstanceNormBase("InstanceNorm1d", n, o, 1) {}
InstanceNorm2d::InstanceNorm2d(int64_t n, InstanceNormOptions o) : InstanceNormBase("InstanceNorm2d", n, o, 2) {}

LayerNorm::LayerNorm(std::vector<int64_t> shape, double e, bool affine)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(e) {
  HPML_CHECK(!normalized_shape.empty(), "LayerNorm: normalized_shape must not be empty");
  if (affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}
Tensor LayerNorm::forward(const Tensor& x) { return functional::layer_norm(x, normalized_shape, weight, bias, eps); }
std::string LayerNorm::extra_repr() const {
  std::string s = "(";
  for (size_t i = 0; i < normalized_shape.size(); ++i) s += (i ? ", " : "") + std::to_string(normalized_shape[i]);
  s += normalized_shape.size() == 1 ? ",)" : ")";
  return s + ", eps=" + py(eps) + ", elementwise_affine=" + (weight.defined() ? "True" : "False");
}

GroupNorm::GroupNorm(int64_t g, int64_t c, double e, bool affine) : Module("GroupNorm"), num_groups(g), num_channels(c), eps(e) {
  HPML_CHECK(g > 0 && c > 0 && c % g == 0, "GroupNorm: num_groups (", g, ") must divide num_channels (", c, ")");
  if (affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
}
Tensor GroupNorm::forward(const Tensor& x) { return functional::group_norm(x, num_groups, weight, bias, eps); }
std::string GroupNorm::extra_repr() const {
  return std::to_string(num_groups) + ", " + std::to_string(num_channels) + ", eps=" + py(eps) +
         ", affine=" + (weight.defined() ? "True" : "False");
}

}  // namespace hpml::nn
