// optim::Optimizer: parameter groups, each with its own options; per-parameter state; step (with
// an optional closure), zero_grad, and a state dict that a checkpoint can hold.
//
//   optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
//   opt.add_param_group({head.parameters(), {.lr = 0.01}});   // its own options
//   loss.backward();  opt.step();  opt.zero_grad();
//
// Concrete optimizers (optimizers.h) derive from OptimizerWith<Options>, which stores the groups'
// options; step() is one loop for all of them, and each states only its update of one parameter
// (most call the fused step, hpml/ops/optim_step.h), its state buffers and its options.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/tensor.h"

namespace hpml::optim {

// A flat, ordered state dict: "param_groups.<g>.<option>" (0-d f64), "param_groups.<g>.params"
// (the group's parameter indices, i64) and "state.<i>.<name>" (parameter i's state tensors, in
// the order of the groups' parameters). Every entry is a tensor, so it saves as safetensors.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

// Option values by name, as state dicts and schedulers see them (bools as 0 / 1).
using OptionValues = std::vector<std::pair<std::string, double>>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (parameters without one are skipped): the
  // loop every optimizer shares, checking each gradient against its parameter, then update_param.
  virtual void step();
  // Evaluates the loss with closure() (grad mode on), then steps; returns the loss.
  Tensor step(const std::function<Tensor()>& closure);
  // Clears every parameter's gradient (set_to_none: undefined, else zeros).
  void zero_grad(bool set_to_none = true);

  size_t num_param_groups() const { return groups_params_.size(); }
  const TensorList& params(size_t group) const;
  // The learning rate of a group, and the momentum-like option that CyclicLR / OneCycleLR cycle
  // (SGD / RMSprop momentum, Adam's beta1); nullopt when the optimizer has none.
  virtual double lr(size_t group) const = 0;
  virtual void set_lr(size_t group, double lr) = 0;
  virtual std::optional<double> momentum(size_t /*group*/) const { return std::nullopt; }
  virtual void set_momentum(size_t /*group*/, double /*value*/) {}
  // A group's options by name (every numeric option of the Options struct).
  virtual OptionValues options(size_t group) const = 0;
  // PyTorch's param_group["initial_lr"]: recorded by the first learning-rate scheduler made on the
  // optimizer, read by later ones as their base lrs (Note [initial_lr] in lr_scheduler.cpp). Saved
  // in the state dict once set.
  std::optional<double> initial_lr(size_t group) const { return initial_lrs_.at(group); }
  void set_initial_lr(size_t group, double lr) { initial_lrs_.at(group) = lr; }

  StateDict state_dict() const;
  // Restores options and state from a state dict of an optimizer of the same type over parameters
  // of the same shapes (by position); raises naming the first mismatch and changes nothing then.
  // Nothing in it is trusted (Note [Checking optimizer state] in src/optim/optimizer.cpp).
  void load_state_dict(const StateDict& sd);

  const std::string& name() const { return name_; }

 protected:
  // The per-parameter state an optimizer keeps: tensors shaped (and typed) like their parameter,
  // and whether it counts steps ("step", a 0-d f64). load_state_dict refuses any other name.
  struct StateSchema {
    std::vector<std::string> tensors;
    bool step = false;
  };
  using ParamState = std::map<std::string, Tensor>;

  Optimizer(std::string name, StateSchema schema)
      : name_(std::move(name)),
        schema_(std::move(schema)),
        step_event_("Optimizer.step#" + name_ + ".step"),
        zero_grad_event_("Optimizer.zero_grad#" + name_ + ".zero_grad") {}
  // The profiler's event around one step, named as PyTorch names it ("Optimizer.step#SGD.step");
  // the first line of step() and of any override: auto event = step_event();
  record::Scope step_event() const { return record::Scope(record::Kind::optimizer, step_event_.c_str()); }
  void add_group_params(const TensorList& params);
  virtual void set_options(size_t group, const OptionValues& values) = 0;
  // The rule's part of step(): one parameter p of `group`, which has a gradient of its dtype and
  // shape, and p's state (empty before its first update).
  virtual void update_param(size_t group, const Tensor& p, ParamState& state) = 0;

  // Parameter state by global index (groups' parameters in order) and name.
  const ParamState& state(size_t index) const { return state_.at(index); }

 private:
  void check_group_params(const std::string& op, size_t group, const Tensor& params) const;
  void apply_loaded(const std::vector<OptionValues>& options, std::vector<ParamState>& state);

  std::string name_;
  StateSchema schema_;
  std::string step_event_, zero_grad_event_;
  std::vector<TensorList> groups_params_;
  std::vector<size_t> offsets_;
  std::vector<ParamState> state_;
  std::vector<std::optional<double>> initial_lrs_;
};

// A group: its parameters and its options.
template <class Options>
struct ParamGroup {
  TensorList params;
  Options options;
};

// The group storage shared by the concrete optimizers, and their hook update(options, p, state).
// Options must have a `double lr`, a `validate(const char* optimizer)` member and `values()` /
// `from_values(OptionValues)`.
template <class Options>
class OptimizerWith : public Optimizer {
 public:
  void add_param_group(const ParamGroup<Options>& g) {
    g.options.validate(name().c_str());
    options_.push_back(g.options);
    add_group_params(g.params);
  }
  const Options& group_options(size_t group) const { return options_.at(group); }
  Options& group_options(size_t group) { return options_.at(group); }
  double lr(size_t group) const override { return options_.at(group).lr; }
  void set_lr(size_t group, double lr) override { options_.at(group).lr = lr; }
  OptionValues options(size_t group) const override { return options_.at(group).values(); }

 protected:
  OptimizerWith(std::string name, StateSchema schema, const TensorList& params, const Options& o)
      : Optimizer(std::move(name), std::move(schema)) {
    add_param_group({params, o});
  }
  // One parameter's update with its group's options (see update_param).
  virtual void update(const Options& o, const Tensor& p, ParamState& state) = 0;
  void update_param(size_t group, const Tensor& p, ParamState& state) final { update(options_.at(group), p, state); }
  void set_options(size_t group, const OptionValues& values) override {
    options_.at(group) = Options::from_values(values, options_.at(group));
    options_.at(group).validate(name().c_str());
  }

 private:
  std::vector<Options> options_;
};

}  // namespace hpml::optim
