// Optimizer: parameter groups, zero_grad, step with a closure, and the flat state dict.
#include "hpml/optim/optimizer.h"

#include <set>

#include "hpml/autograd/grad_mode.h"
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
             ".load_state_dict: bad index in key '", key, "'");
  return std::stoul(s);
}
}  // namespace

void Optimizer::load_state_dict(const StateDict& sd) {
  const std::string op = name_ + ".load_state_dict";
  std::vector<OptionValues> options(groups_params_.size());
  std::vector<bool> saw_params(groups_params_.size(), false);
  std::vector<std::map<std::string, Tensor>> state(state_.size());
  for (const auto& [key, t] : sd) {
    const std::vector<std::string> parts = split(key);
    HPML_CHECK(t.defined(), op, ": entry '", key, "' is undefined");
    if (parts.size() == 3 && parts[0] == "param_groups") {
      const size_t g = parse_index(parts[1], key, name_);
      HPML_CHECK(g < groups_params_.size(), op, ": the state dict has parameter group ", g, ", this optimizer has ",
                 groups_params_.size(), " groups");
      if (parts[2] == "params") {
        HPML_CHECK(t.dim() == 1 && t.numel() == static_cast<int64_t>(groups_params_[g].size()), op,
                   ": parameter group ", g, " has ", t.numel(), " parameters in the state dict and ",
                   groups_params_[g].size(), " here");
        saw_params[g] = true;
      } else {
        HPML_CHECK(t.numel() == 1, op, ": option '", key, "' must be a single value, got shape ", t.sizes());
        options[g].emplace_back(parts[2], t.to(kFloat64).item<double>());
      }
    } else if (parts.size() == 3 && parts[0] == "state") {
      const size_t i = parse_index(parts[1], key, name_);
      HPML_CHECK(i < state_.size(), op, ": state for parameter ", i, ", but this optimizer has ", state_.size(),
                 " parameters");
      state[i][parts[2]] = t;
    } else {
      HPML_FAIL(op, ": unexpected key '", key, "'");
    }
  }
  for (size_t g = 0; g < groups_params_.size(); ++g)
    HPML_CHECK(saw_params[g], op, ": the state dict has no parameter group ", g, " (this optimizer has ",
               groups_params_.size(), ")");
  // Shapes: a state tensor shaped like its parameter must match it (scalars such as "step" aside).
  for (size_t g = 0; g < groups_params_.size(); ++g)
    for (size_t i = 0; i < groups_params_[g].size(); ++i) {
      const Tensor& p = groups_params_[g][i];
      for (auto& [k, t] : state[offsets_[g] + i])
        if (t.dim() > 0)
          HPML_CHECK(t.sizes() == p.sizes(), op, ": state '", k, "' of parameter ", offsets_[g] + i, " has shape ",
                     t.sizes(), ", the parameter has shape ", p.sizes());
    }
  for (size_t g = 0; g < groups_params_.size(); ++g) {
    initial_lrs_[g].reset();
    OptionValues rest;
    for (const auto& [k, v] : options[g]) {
      if (k == "initial_lr") initial_lrs_[g] = v;
      else rest.emplace_back(k, v);
    }
    set_options(g, rest);
  }
  // State tensors are copied, in the parameter's dtype ("step" stays f64).
  for (size_t g = 0; g < groups_params_.size(); ++g)
    for (size_t i = 0; i < groups_params_[g].size(); ++i) {
      std::map<std::string, Tensor> s;
      for (auto& [k, t] : state[offsets_[g] + i])
        s[k] = t.dim() > 0 ? t.detach().to(groups_params_[g][i].dtype()).contiguous().clone() : t.detach().to(kFloat64).clone();
      state_[offsets_[g] + i] = std::move(s);
    }
}

}  // namespace hpml::optim
