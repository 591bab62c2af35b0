// The optimizers: SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW (PyTorch 1.13's update rules and
// defaults, each step one fused pass per parameter: hpml/ops/optim_step.h) and ClassicalNesterov
// (the classical form; docs/optim.md).
// Options are aggregates for designated initializers:
//   optim::Adam opt(model.parameters(), {.lr = 3e-4, .weight_decay = 1e-4, .amsgrad = true});
#pragma once

#include <limits>
#include <utility>

#include "hpml/optim/optimizer.h"

namespace hpml::optim {

struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();  // required, as in PyTorch
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  void validate(const char* opt) const;
  OptionValues values() const;
  static SGDOptions from_values(const OptionValues& v, const SGDOptions& base);
};

struct AdagradOptions {
  double lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10;
  bool maximize = false;
  void validate(const char* opt) const;
  OptionValues values() const;
  static AdagradOptions from_values(const OptionValues& v, const AdagradOptions& base);
};

struct AdadeltaOptions {
  double lr = 1.0, rho = 0.9, eps = 1e-6, weight_decay = 0;
  bool maximize = false;
  void validate(const char* opt) const;
  OptionValues values() const;
  static AdadeltaOptions from_values(const OptionValues& v, const AdadeltaOptions& base);
};

struct RMSpropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false;
  void validate(const char* opt) const;
  OptionValues values() const;
  static RMSpropOptions from_values(const OptionValues& v, const RMSpropOptions& base);
};

// Adam and AdamW: the same options, with PyTorch's different weight_decay defaults (0 and 1e-2).
// The default comes from a tag type, not a double template argument: clang 14 (scripts/fuzz's
// compiler) has no floating-point non-type template parameters.
struct AdamDefaults {
  static constexpr double weight_decay = 0.0;
};
struct AdamWDefaults {
  static constexpr double weight_decay = 1e-2;
};
template <typename Defaults>
struct AdamFamilyOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8, weight_decay = Defaults::weight_decay;
  bool amsgrad = false, maximize = false;
  // PyTorch's capturable: the step count lives on the parameter's device and the bias
  // correction is computed there, so a graph's replay of the step advances it (Note [Capturable
  // Adam] in optimizers.cpp). A way of running, not of the state: a state dict does not keep it.
  bool capturable = false;
  void validate(const char* opt) const;
  OptionValues values() const;
  static AdamFamilyOptions from_values(const OptionValues& v, const AdamFamilyOptions& base);
};
using AdamOptions = AdamFamilyOptions<AdamDefaults>;
using AdamWOptions = AdamFamilyOptions<AdamWDefaults>;

// Classical Nesterov momentum (Sutskever et al., 2013): V_t = momentum V_{t-1} - lr grad L(W_{t-1} + momentum
// V_{t-1}),  W_t = W_{t-1} + V_t. The parameters hold the look-ahead point W + momentum V, where
// the gradient is evaluated; weights(i) gives W. See Note [Classical Nesterov] in optimizers.cpp.
struct NesterovOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();  // required
  double momentum = 0.9;
  void validate(const char* opt) const;
  OptionValues values() const;
  static NesterovOptions from_values(const OptionValues& v, const NesterovOptions& base);
};

// Each optimizer states its options, its state buffers (by name, at construction) and its
// update of one parameter; Optimizer::step is the loop around the updates.
class SGD : public OptimizerWith<SGDOptions> {
 public:
  SGD(const TensorList& params, const SGDOptions& options);
  std::optional<double> momentum(size_t group) const override { return group_options(group).momentum; }
  void set_momentum(size_t group, double m) override { group_options(group).momentum = m; }

 protected:
  void update(const SGDOptions& o, const Tensor& p, ParamState& st) override;
};

class Adagrad : public OptimizerWith<AdagradOptions> {
 public:
  Adagrad(const TensorList& params, const AdagradOptions& options = {});

 protected:
  void update(const AdagradOptions& o, const Tensor& p, ParamState& st) override;
};

class Adadelta : public OptimizerWith<AdadeltaOptions> {
 public:
  Adadelta(const TensorList& params, const AdadeltaOptions& options = {});

 protected:
  void update(const AdadeltaOptions& o, const Tensor& p, ParamState& st) override;
};

class RMSprop : public OptimizerWith<RMSpropOptions> {
 public:
  RMSprop(const TensorList& params, const RMSpropOptions& options = {});
  std::optional<double> momentum(size_t group) const override { return group_options(group).momentum; }
  void set_momentum(size_t group, double m) override { group_options(group).momentum = m; }

 protected:
  void update(const RMSpropOptions& o, const Tensor& p, ParamState& st) override;
};

// Adam (decoupled = false) and AdamW (decoupled = true: the weights decay by lr * weight_decay
// before the update, instead of weight_decay * param joining the gradient).
template <class Options, bool kDecoupled>
class AdamFamily : public OptimizerWith<Options> {
 public:
  AdamFamily(const TensorList& params, const Options& options = {});
  std::optional<double> momentum(size_t group) const override { return this->group_options(group).betas.first; }
  void set_momentum(size_t group, double b1) override { this->group_options(group).betas.first = b1; }

 protected:
  void update(const Options& o, const Tensor& p, Optimizer::ParamState& st) override;
};
using Adam = AdamFamily<AdamOptions, false>;
using AdamW = AdamFamily<AdamWOptions, true>;

class ClassicalNesterov : public OptimizerWith<NesterovOptions> {
 public:
  ClassicalNesterov(const TensorList& params, const NesterovOptions& options);
  std::optional<double> momentum(size_t group) const override { return group_options(group).momentum; }
  void set_momentum(size_t group, double m) override { group_options(group).momentum = m; }
  // W and V of parameter i (in the order of the groups' parameters).
  Tensor weights(size_t i) const;
  Tensor velocity(size_t i) const;

 protected:
  void update(const NesterovOptions& o, const Tensor& p, ParamState& st) override;
};

}  // namespace hpml::optim
