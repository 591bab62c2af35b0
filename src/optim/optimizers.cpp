// The optimizers' options (checks, values by name) and their updates of one parameter, which
// Optimizer::step runs for each parameter with a gradient. All but ClassicalNesterov are one fused
// step of their rule (hpml/ops/optim_step.h; src/kernels/cpu/optim.cpp on the cpu).
#include "hpml/optim/optimizers.h"

#include <cmath>

#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/optim_step.h"

namespace hpml::optim {

using ops::OptimizerKind;
using ops::OptimizerStepParams;

namespace {

double pick(const OptionValues& v, const char* key, double def) {
  for (const auto& [k, x] : v)
    if (k == key) return x;
  return def;
}

void check_lr(const char* opt, double lr) {
  HPML_CHECK(!std::isnan(lr), opt, ": the learning rate must be given (.lr = ...)");
  HPML_CHECK(lr >= 0, opt, ": invalid learning rate: ", lr);
}
void check_nonneg(const char* opt, const char* what, double v) { HPML_CHECK(v >= 0, opt, ": invalid ", what, " value: ", v); }

// A state tensor by name, created (`fill`, on p's device) on first use; sets *created when it was.
Tensor& state_tensor(std::map<std::string, Tensor>& st, const char* key, const Tensor& like, double fill = 0,
                     bool* created = nullptr) {
  auto it = st.find(key);
  if (it == st.end()) {
    it = st.emplace(key, full(like.sizes(), fill, TensorOptions(like.dtype()).device(like.device()))).first;  // on the parameter's device
    if (created) *created = true;
  }
  return it->second;
}

// The step count ("step", a 0-d f64 tensor as PyTorch keeps it), incremented; returns the new value.
double next_step(std::map<std::string, Tensor>& st) {
  auto it = st.find("step");
  if (it == st.end()) it = st.emplace("step", scalar_tensor(0.0, kFloat64)).first;
  const double t = it->second.item<double>() + 1;
  it->second = scalar_tensor(t, kFloat64);
  return t;
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

void SGDOptions::validate(const char* opt) const {
  check_lr(opt, lr);
  check_nonneg(opt, "momentum", momentum);
  check_nonneg(opt, "weight_decay", weight_decay);
  HPML_CHECK(!nesterov || (momentum > 0 && dampening == 0), opt,
             ": Nesterov momentum requires a momentum and zero dampening (momentum ", momentum, ", dampening ", dampening, ")");
}
OptionValues SGDOptions::values() const {
  return {{"lr", lr}, {"momentum", momentum}, {"dampening", dampening}, {"weight_decay", weight_decay},
          {"nesterov", nesterov ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}};
}
SGDOptions SGDOptions::from_values(const OptionValues& v, const SGDOptions& b) {
  return {pick(v, "lr", b.lr), pick(v, "momentum", b.momentum), pick(v, "dampening", b.dampening),
          pick(v, "weight_decay", b.weight_decay), pick(v, "nesterov", b.nesterov) != 0, pick(v, "maximize", b.maximize) != 0};
}

void AdagradOptions::validate(const char* opt) const {
  check_lr(opt, lr);
  check_nonneg(opt, "lr_decay", lr_decay);
  check_nonneg(opt, "weight_decay", weight_decay);
  check_nonneg(opt, "initial_accumulator_value", initial_accumulator_value);
  check_nonneg(opt, "epsilon", eps);
}
OptionValues AdagradOptions::values() const {
  return {{"lr", lr}, {"lr_decay", lr_decay}, {"weight_decay", weight_decay},
          {"initial_accumulator_value", initial_accumulator_value}, {"eps", eps}, {"maximize", maximize ? 1.0 : 0.0}};
}
AdagradOptions AdagradOptions::from_values(const OptionValues& v, const AdagradOptions& b) {
  return {pick(v, "lr", b.lr), pick(v, "lr_decay", b.lr_decay), pick(v, "weight_decay", b.weight_decay),
          pick(v, "initial_accumulator_value", b.initial_accumulator_value), pick(v, "eps", b.eps),
          pick(v, "maximize", b.maximize) != 0};
}

void AdadeltaOptions::validate(const char* opt) const {
  check_lr(opt, lr);
  HPML_CHECK(rho >= 0 && rho <= 1, opt, ": invalid rho value: ", rho);
  check_nonneg(opt, "epsilon", eps);
  check_nonneg(opt, "weight_decay", weight_decay);
}
OptionValues AdadeltaOptions::values() const {
  return {{"lr", lr}, {"rho", rho}, {"eps", eps}, {"weight_decay", weight_decay}, {"maximize", maximize ? 1.0 : 0.0}};
}
AdadeltaOptions AdadeltaOptions::from_values(const OptionValues& v, const AdadeltaOptions& b) {
  return {pick(v, "lr", b.lr), pick(v, "rho", b.rho), pick(v, "eps", b.eps), pick(v, "weight_decay", b.weight_decay),
          pick(v, "maximize", b.maximize) != 0};
}

void RMSpropOptions::validate(const char* opt) const {
  check_lr(opt, lr);
  check_nonneg(opt, "epsilon", eps);
  check_nonneg(opt, "momentum", momentum);
  check_nonneg(opt, "weight_decay", weight_decay);
  check_nonneg(opt, "alpha", alpha);
}
OptionValues RMSpropOptions::values() const {
  return {{"lr", lr},         {"alpha", alpha},   {"eps", eps}, {"weight_decay", weight_decay},
          {"momentum", momentum}, {"centered", centered ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}};
}
RMSpropOptions RMSpropOptions::from_values(const OptionValues& v, const RMSpropOptions& b) {
  return {pick(v, "lr", b.lr),         pick(v, "alpha", b.alpha),    pick(v, "eps", b.eps),
          pick(v, "weight_decay", b.weight_decay), pick(v, "momentum", b.momentum),
          pick(v, "centered", b.centered) != 0,    pick(v, "maximize", b.maximize) != 0};
}

template <typename D>
void AdamFamilyOptions<D>::validate(const char* opt) const {
  check_lr(opt, lr);
  check_nonneg(opt, "epsilon", eps);
  HPML_CHECK(betas.first >= 0 && betas.first < 1, opt, ": invalid beta parameter at index 0: ", betas.first);
  HPML_CHECK(betas.second >= 0 && betas.second < 1, opt, ": invalid beta parameter at index 1: ", betas.second);
  check_nonneg(opt, "weight_decay", weight_decay);
}
template <typename D>
OptionValues AdamFamilyOptions<D>::values() const {
  return {{"lr", lr},   {"beta1", betas.first}, {"beta2", betas.second}, {"eps", eps}, {"weight_decay", weight_decay},
          {"amsgrad", amsgrad ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}};
}
template <typename D>
AdamFamilyOptions<D> AdamFamilyOptions<D>::from_values(const OptionValues& v, const AdamFamilyOptions& b) {
  return {pick(v, "lr", b.lr), {pick(v, "beta1", b.betas.first), pick(v, "beta2", b.betas.second)}, pick(v, "eps", b.eps),
          pick(v, "weight_decay", b.weight_decay), pick(v, "amsgrad", b.amsgrad) != 0, pick(v, "maximize", b.maximize) != 0,
          b.capturable};
}
template struct AdamFamilyOptions<AdamDefaults>;
template struct AdamFamilyOptions<AdamWDefaults>;

void NesterovOptions::validate(const char* opt) const {
  check_lr(opt, lr);
  HPML_CHECK(momentum >= 0 && momentum < 1, opt, ": momentum must be in [0, 1), got ", momentum);
}
OptionValues NesterovOptions::values() const { return {{"lr", lr}, {"momentum", momentum}}; }
NesterovOptions NesterovOptions::from_values(const OptionValues& v, const NesterovOptions& b) {
  return {pick(v, "lr", b.lr), pick(v, "momentum", b.momentum)};
}

// ---- updates ---------------------------------------------------------------------------------

SGD::SGD(const TensorList& params, const SGDOptions& options)
    : OptimizerWith("SGD", {{"momentum_buffer"}, false}, params, options) {}

void SGD::update(const SGDOptions& o, const Tensor& p, ParamState& st) {
  OptimizerStepParams k{.lr = o.lr, .weight_decay = o.weight_decay, .maximize = o.maximize, .momentum = o.momentum,
                        .dampening = o.dampening, .nesterov = o.nesterov};
  Tensor* buf = o.momentum != 0 ? &state_tensor(st, "momentum_buffer", p, 0, &k.first_step) : nullptr;
  ops::fused_optimizer_step_(OptimizerKind::sgd, k, p, p.grad(), buf);
}

Adagrad::Adagrad(const TensorList& params, const AdagradOptions& options)
    : OptimizerWith("Adagrad", {{"sum"}, true}, params, options) {}

void Adagrad::update(const AdagradOptions& o, const Tensor& p, ParamState& st) {
  Tensor& sum = state_tensor(st, "sum", p, o.initial_accumulator_value);
  const double t = next_step(st);
  OptimizerStepParams k{.lr = o.lr, .weight_decay = o.weight_decay, .maximize = o.maximize, .eps = o.eps,
                        .step_size = o.lr / (1 + (t - 1) * o.lr_decay)};  // clr
  ops::fused_optimizer_step_(OptimizerKind::adagrad, k, p, p.grad(), &sum);
}

Adadelta::Adadelta(const TensorList& params, const AdadeltaOptions& options)
    : OptimizerWith("Adadelta", {{"square_avg", "acc_delta"}, true}, params, options) {}

void Adadelta::update(const AdadeltaOptions& o, const Tensor& p, ParamState& st) {
  Tensor& sq = state_tensor(st, "square_avg", p);
  Tensor& acc = state_tensor(st, "acc_delta", p);
  next_step(st);
  OptimizerStepParams k{.lr = o.lr, .weight_decay = o.weight_decay, .maximize = o.maximize, .eps = o.eps, .rho = o.rho};
  ops::fused_optimizer_step_(OptimizerKind::adadelta, k, p, p.grad(), &sq, &acc);
}

RMSprop::RMSprop(const TensorList& params, const RMSpropOptions& options)
    : OptimizerWith("RMSprop", {{"square_avg", "momentum_buffer", "grad_avg"}, true}, params, options) {}

void RMSprop::update(const RMSpropOptions& o, const Tensor& p, ParamState& st) {
  Tensor& sq = state_tensor(st, "square_avg", p);
  Tensor* buf = o.momentum > 0 ? &state_tensor(st, "momentum_buffer", p) : nullptr;
  Tensor* gavg = o.centered ? &state_tensor(st, "grad_avg", p) : nullptr;
  next_step(st);
  OptimizerStepParams k{.lr = o.lr, .weight_decay = o.weight_decay, .maximize = o.maximize, .momentum = o.momentum,
                        .eps = o.eps, .rho = o.alpha, .centered = o.centered};
  ops::fused_optimizer_step_(OptimizerKind::rmsprop, k, p, p.grad(), &sq, buf, gavg);
}

template <class O, bool kDecoupled>
AdamFamily<O, kDecoupled>::AdamFamily(const TensorList& params, const O& options)
    : OptimizerWith<O>(kDecoupled ? "AdamW" : "Adam", {{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, true}, params,
                       options) {}

namespace {
// Note [Capturable Adam]
// Adam's bias corrections 1 - beta^t change at every step. Computed on the host (as the fused
// step does) they would be baked into a graph at its capture, and the step count, a cpu scalar,
// would not move at its replays. With capturable (PyTorch's option of that name) the count is a
// 0-d f64 tensor on the parameter's device, incremented there, and the update is PyTorch's
// capturable one, op by op on the device:
//   m += (1 - beta1) (g - m);  v = beta2 v + (1 - beta2) g^2;  step_size = lr / (1 - beta1^t)
//   p += m / (sqrt(v) / (sqrt(1 - beta2^t) * -step_size) + eps / -step_size)
// The numbers are Adam's to rounding (the adam_capturable and adamw_capturable cases of
// tests/optim/optim_cases.cpp: against torch.optim and libtorch), not bit for bit the fused step's. A checkpoint keeps the count on the
// cpu as always; the next capturable step moves it back to the device.
template <class O>
void capturable_adam(const O& o, bool decoupled, const Tensor& p, std::map<std::string, Tensor>& st, Tensor& m,
                     Tensor& v, Tensor* vmax) {
  const double lr = o.lr, beta1 = o.betas.first, beta2 = o.betas.second, wd = o.weight_decay;
  auto it = st.find("step");
  if (it == st.end()) it = st.emplace("step", zeros({}, TensorOptions(kFloat64).device(p.device()))).first;
  if (it->second.device() != p.device()) it->second = it->second.to(kFloat64).to(p.device());  // from a checkpoint
  Tensor& t = it->second;
  t.add_(1);
  Tensor g = o.maximize ? p.grad().neg() : p.grad();
  Tensor param = p;
  if (wd != 0) {
    if (decoupled) param.mul_(1 - lr * wd);
    else g = g.add(p, wd);
  }
  m.add_(g.sub(m), 1 - beta1);
  v.mul_(beta2).add_(g.mul(g), 1 - beta2);
  const auto on_device = [&](double x) { return full({}, x, TensorOptions(kFloat64).device(p.device())); };
  const Tensor step_size_neg = on_device(lr).div(pow(beta1, t).neg().add(1)).neg();  // -lr / (1 - beta1^t)
  const Tensor bc2_sqrt = pow(beta2, t).neg().add(1).sqrt();
  Tensor denom_of = v;
  if (o.amsgrad) {
    vmax->copy_(maximum(*vmax, v));
    denom_of = *vmax;
  }
  const Tensor denom = denom_of.sqrt().div(bc2_sqrt.mul(step_size_neg)).add(on_device(o.eps).div(step_size_neg));
  param.add_(m.div(denom));
}
}  // namespace

template <class O, bool kDecoupled>
void AdamFamily<O, kDecoupled>::update(const O& o, const Tensor& p, Optimizer::ParamState& st) {
  Tensor& m = state_tensor(st, "exp_avg", p);
  Tensor& v = state_tensor(st, "exp_avg_sq", p);
  Tensor* vmax = o.amsgrad ? &state_tensor(st, "max_exp_avg_sq", p) : nullptr;
  if (o.capturable) {
    capturable_adam(o, kDecoupled, p, st, m, v, vmax);
    return;
  }
  const double t = next_step(st);
  const double bc1 = 1 - std::pow(o.betas.first, t), bc2 = 1 - std::pow(o.betas.second, t);
  OptimizerStepParams k{.lr = o.lr, .weight_decay = o.weight_decay, .maximize = o.maximize, .eps = o.eps,
                        .beta1 = o.betas.first, .beta2 = o.betas.second, .step_size = o.lr / bc1,
                        .bias_correction2_sqrt = std::sqrt(bc2), .amsgrad = o.amsgrad,
                        .decoupled_weight_decay = kDecoupled};
  ops::fused_optimizer_step_(OptimizerKind::adam, k, p, p.grad(), &m, &v, vmax);
}

template class AdamFamily<AdamOptions, false>;
template class AdamFamily<AdamWOptions, true>;

// Note [Classical Nesterov]
// PyTorch's Nesterov SGD keeps one point p and a buffer b: b = m b + g(p), p -= lr (g(p) + m b).
// The classical form keeps the weights W and a velocity V and evaluates the gradient at the
// look-ahead point W + m V. With p = W + m V and V = -lr b the two are the same recurrence
// (p_t = p_{t-1} + m^2 V_{t-1} - (1 + m) lr g both ways), so this optimizer keeps W and V as state
// and leaves the parameters at the look-ahead point, where the next backward computes g.
ClassicalNesterov::ClassicalNesterov(const TensorList& params, const NesterovOptions& options)
    : OptimizerWith("ClassicalNesterov", {{"weight", "velocity"}, false}, params, options) {}

void ClassicalNesterov::update(const NesterovOptions& o, const Tensor& p, ParamState& st) {
  if (!st.count("weight")) st["weight"] = p.detach().clone();  // W_0 = the starting point (V_0 = 0)
  Tensor& W = st["weight"];
  Tensor& V = state_tensor(st, "velocity", p);
  V.mul_(o.momentum).add_(p.grad(), -o.lr);  // V_t = m V_{t-1} - lr g(W_{t-1} + m V_{t-1})
  W.add_(V);                                 // W_t = W_{t-1} + V_t
  Tensor q = p;
  q.copy_(W + V * o.momentum);  // the next gradient is taken at W_t + m V_t
}

Tensor ClassicalNesterov::weights(size_t i) const {
  const auto& st = state(i);
  HPML_CHECK(st.count("weight"), name(), ".weights: parameter ", i, " has not been stepped yet");
  return st.at("weight");
}
Tensor ClassicalNesterov::velocity(size_t i) const {
  const auto& st = state(i);
  HPML_CHECK(st.count("velocity"), name(), ".velocity: parameter ", i, " has not been stepped yet");
  return st.at("velocity");
}

}  // namespace hpml::optim
