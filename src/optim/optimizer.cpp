// Optimizer: parameter groups, the step loop every optimizer shares, zero_grad, step with a
// closure, and the flat state dict.
#include "hpml/optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/file.h"
#include "hpml/ops/factories.h"

namespace hpml::optim {

void Optimizer::add_group_params(const TensorList& params) {
  HPML_CHECK(!params.empty(), name_, ": a parameter group needs at least one parameter");
  std::set<const void*> seen;
  for (const TensorList& g : groups_params_)
    for (const Tensor& p : g) seen.insert(p.impl_ptr().get());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    HPML_CHECK(p.defined(), name_, ": parameter ", i, " of the new group is undefined");
    HPML_CHECK(p.is_floating_point(), name_, ": can only optimize floating tensors, parameter ", i, " is ", p.dtype());
    HPML_CHECK(!is_reduced_float(p.dtype()), name_, ": parameter ", i, " is ", p.dtype(),
               ", and the optimizers' fused steps take f32 and f64 only\nhint: keep f32 parameters (master "
               "weights) and cast them for the forward, or cast the module with .to(kFloat32)");
    HPML_CHECK(p.is_leaf(), name_, ": can't optimize a non-leaf tensor (parameter ", i, " has a grad_fn)");
    HPML_CHECK(seen.insert(p.impl_ptr().get()).second, name_, ": some parameters appear in more than one parameter group");
  }
  offsets_.push_back(state_.size());
  groups_params_.push_back(params);
  initial_lrs_.emplace_back();
  state_.resize(state_.size() + params.size());
}

const TensorList& Optimizer::params(size_t group) const {
  HPML_CHECK(group < groups_params_.size(), name_, ": no parameter group ", group, " (there are ",
             groups_params_.size(), ")");
  return groups_params_[group];
}

void Optimizer::step() {
  auto event = step_event();
  NoGradGuard ng;
  for (size_t g = 0; g < groups_params_.size(); ++g)
    for (size_t i = 0; i < groups_params_[g].size(); ++i) {
      const Tensor& p = groups_params_[g][i];
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      // Checked here, naming the optimizer, though the fused step checks it too (for its other callers).
      HPML_CHECK(grad.dtype() == p.dtype() && grad.sizes() == p.sizes(), name_, ": the gradient of a ", p.dtype(),
                 " parameter of shape ", p.sizes(), " is ", grad.dtype(), " of shape ", grad.sizes());
      update_param(g, p, state_[offsets_[g] + i]);
    }
}

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  {
    EnableGradGuard eg;
    loss = closure();
  }
  step();
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  record::Scope event(record::Kind::optimizer, zero_grad_event_.c_str());
  for (const TensorList& g : groups_params_)
    for (const Tensor& p : g) {
      Tensor q = p;
      if (!q.grad().defined()) continue;
      if (set_to_none) q.mutable_grad() = Tensor();
      else q.mutable_grad().zero_();
    }
}

StateDict Optimizer::state_dict() const {
  StateDict sd;
  for (size_t g = 0; g < groups_params_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    for (const auto& [key, value] : options(g)) sd.emplace_back(prefix + key, scalar_tensor(value, kFloat64));
    if (initial_lrs_[g]) sd.emplace_back(prefix + "initial_lr", scalar_tensor(*initial_lrs_[g], kFloat64));
    const auto first = static_cast<int64_t>(offsets_[g]), n = static_cast<int64_t>(groups_params_[g].size());
    sd.emplace_back(prefix + "params", arange(first, first + n, 1, kInt64));
  }
  for (size_t i = 0; i < state_.size(); ++i)
    for (const auto& [key, t] : state_[i]) sd.emplace_back("state." + std::to_string(i) + "." + key, t.detach().clone());
  return sd;
}

namespace {
// "a.b.c" -> {"a", "b", "c"}
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t dot = s.find('.'); dot != std::string::npos; dot = s.find('.', start)) {
    out.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
  out.push_back(s.substr(start));
  return out;
}

size_t parse_index(const std::string& s, const std::string& key, const std::string& opt) {
  HPML_CHECK(!s.empty() && s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10, opt,
             ".load_state_dict: bad index in key ", printable(key));
  return std::stoul(s);
}
}  // namespace

// Note [Checking optimizer state]
// A state dict may come from a file anyone can write (a checkpoint's checksum is no protection:
// it is recomputed as easily as the file is edited), and a state tensor of the wrong size would
// break the next step (the fused step refuses it, but only then, with the run already resumed).
// So load_state_dict trusts nothing. Each per-parameter state must be one this optimizer keeps (its StateSchema),
// have exactly its parameter's shape and dtype (no conversion: a checkpoint resumes the run that
// wrote it), and "step" must be a 0-d number that is finite, integral and in [0, 2^53] (PyTorch
// keeps integral counts; 2^53 keeps +1 exact). Options must be names the optimizer has, each a
// single finite number (then the optimizer's own validate() checks their ranges), and a group's
// "params" must be the indices this optimizer gives its parameters. Everything is checked before
// anything changes.
namespace {
constexpr double kMaxStep = 9007199254740992.0;  // 2^53

void check_state_entry(const std::string& op, const std::string& key, const std::string& name, const Tensor& t,
                       size_t index, const Tensor& p, const std::vector<std::string>& tensors, bool has_step) {
  if (name == "step" && has_step) {
    HPML_CHECK(t.dim() == 0 && (is_floating(t.dtype()) || is_integral(t.dtype())), op, ": ", key,
               " must be a 0-d number, got shape ", t.sizes(), " (", t.dtype(), ")");
    const double v = t.to(kFloat64).item<double>();
    HPML_CHECK(std::isfinite(v) && v >= 0 && v <= kMaxStep && v == std::floor(v), op, ": ", key, " is ", v,
               "; a step count is an integer in [0, 2^53]");
    return;
  }
  HPML_CHECK(std::find(tensors.begin(), tensors.end(), name) != tensors.end(), op, ": unexpected key ", printable(key),
             ": this optimizer keeps no state named ", printable(name));
  HPML_CHECK(t.sizes() == p.sizes() && t.dtype() == p.dtype(), op, ": ", key, " has shape ", t.sizes(), " (", t.dtype(),
             "), its parameter ", index, " has ", p.sizes(), " (", p.dtype(), ")");
}

void check_option(const std::string& op, const std::string& key, const std::string& name, const Tensor& t,
                  const OptionValues& known) {
  HPML_CHECK(name == "initial_lr" || std::any_of(known.begin(), known.end(), [&](const auto& kv) { return kv.first == name; }),
             op, ": unexpected key ", printable(key), ": this optimizer has no option ", printable(name));
  HPML_CHECK(t.numel() == 1 && (is_floating(t.dtype()) || is_integral(t.dtype())), op, ": option ", printable(key),
             " must be a single number, got shape ", t.sizes(), " (", t.dtype(), ")");
  const double v = t.to(kFloat64).item<double>();
  HPML_CHECK(std::isfinite(v), op, ": option ", printable(key), " is ", v, ", not a finite number");
}
}  // namespace

void Optimizer::check_group_params(const std::string& op, size_t g, const Tensor& t) const {
  const auto n = static_cast<int64_t>(groups_params_[g].size()), first = static_cast<int64_t>(offsets_[g]);
  HPML_CHECK(t.dim() == 1 && t.numel() == n, op, ": parameter group ", g, " has ", t.numel(),
             " parameters in the state dict and ", n, " here");
  HPML_CHECK(t.dtype() == kInt64, op, ": param_groups.", g, ".params must be i64, got ", t.dtype());
  const Tensor c = t.contiguous().cpu();  // host read: the parameter ids, once
  const int64_t* v = c.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k)
    HPML_CHECK(v[k] == first + k, op, ": param_groups.", g, ".params[", k, "] is ", v[k], ", expected ", first + k);
}

void Optimizer::load_state_dict(const StateDict& sd) {
  const std::string op = name_ + ".load_state_dict";
  const StateSchema& schema = schema_;
  std::vector<OptionValues> options(groups_params_.size());
  std::vector<bool> saw_params(groups_params_.size(), false);
  std::vector<ParamState> state(state_.size());
  std::vector<size_t> group_of(state_.size());
  for (size_t g = 0; g < groups_params_.size(); ++g)
    for (size_t i = 0; i < groups_params_[g].size(); ++i) group_of[offsets_[g] + i] = g;
  for (const auto& [key, t] : sd) {
    const std::vector<std::string> parts = split(key);
    HPML_CHECK(t.defined(), op, ": entry ", printable(key), " is undefined");
    if (parts.size() == 3 && parts[0] == "param_groups") {
      const size_t g = parse_index(parts[1], key, name_);
      HPML_CHECK(g < groups_params_.size(), op, ": the state dict has parameter group ", g, ", this optimizer has ",
                 groups_params_.size(), " groups");
      if (parts[2] == "params") {
        check_group_params(op, g, t);
        saw_params[g] = true;
      } else {
        check_option(op, key, parts[2], t, this->options(g));
        options[g].emplace_back(parts[2], t.to(kFloat64).item<double>());
      }
    } else if (parts.size() == 3 && parts[0] == "state") {
      const size_t i = parse_index(parts[1], key, name_);
      HPML_CHECK(i < state_.size(), op, ": state for parameter ", i, ", but this optimizer has ", state_.size(),
                 " parameters");
      const size_t g = group_of[i];
      check_state_entry(op, key, parts[2], t, i, groups_params_[g][i - offsets_[g]], schema.tensors, schema.step);
      // A buffer goes to its parameter's device (a checkpoint's tensors come from the cpu); the
      // step count stays a cpu scalar, as in PyTorch.
      const Tensor& param = groups_params_[g][i - offsets_[g]];
      const Tensor placed = parts[2] == "step" || t.device() == param.device() ? t : t.to(param.device());
      HPML_CHECK(state[i].emplace(parts[2], placed).second, op, ": key ", printable(key), " appears twice");
    } else {
      HPML_FAIL(op, ": unexpected key ", printable(key));
    }
  }
  for (size_t g = 0; g < groups_params_.size(); ++g)
    HPML_CHECK(saw_params[g], op, ": the state dict has no parameter group ", g, " (this optimizer has ",
               groups_params_.size(), ")");
  apply_loaded(options, state);
}

void Optimizer::apply_loaded(const std::vector<OptionValues>& options, std::vector<ParamState>& state) {
  // The options are validated (set_options) group by group; on a refusal, the old ones come back.
  std::vector<OptionValues> old_options;
  for (size_t g = 0; g < groups_params_.size(); ++g) old_options.push_back(this->options(g));
  try {
    for (size_t g = 0; g < groups_params_.size(); ++g) {
      OptionValues rest;
      for (const auto& [k, v] : options[g])
        if (k != "initial_lr") rest.emplace_back(k, v);
      set_options(g, rest);
    }
  } catch (...) {
    for (size_t g = 0; g < groups_params_.size(); ++g) set_options(g, old_options[g]);
    throw;
  }
  for (size_t g = 0; g < groups_params_.size(); ++g) {
    initial_lrs_[g].reset();
    for (const auto& [k, v] : options[g])
      if (k == "initial_lr") initial_lrs_[g] = v;
  }
  // State tensors are copied (already in the parameter's dtype; "step" as f64).
  for (size_t i = 0; i < state_.size(); ++i) {
    ParamState s;
    for (auto& [k, t] : state[i])
      s[k] = k == "step" ? t.detach().to(kFloat64).clone() : t.detach().contiguous().clone();
    state_[i] = std::move(s);
  }
}

}  // namespace hpml::optim
