// Learning-rate schedulers: PyTorch 1.13's torch.optim.lr_scheduler, computed the way it computes
// them (the chainable, recursive form in step(), the closed form for step(epoch)), so every step
// matches PyTorch to rounding, plus InverseTimeDecay (Keras' `decay`). A scheduler drives an
// Optimizer through lr / set_lr (and momentum / set_momentum for CyclicLR and OneCycleLR):
//
//   optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
//   optim::StepLR sched(opt, 30);              // the constructor performs the initial step
//   for (int epoch = 0; epoch < 100; ++epoch) { train(...); opt.step(); sched.step(); }
//
// Notation below: eta_t is a group's lr after t steps (last_epoch = t), eta_0 its base lr (the
// group's lr when the first scheduler on the optimizer was made: PyTorch's `initial_lr`).
// state_dict() is flat, "last_epoch", "base_lrs.0", ... (0-d f64 / i64 tensors), so it goes into a
// safetensors checkpoint; lambdas and scale functions are not saved, as in PyTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hpml/optim/optimizer.h"

namespace hpml::optim {

class LRScheduler;

namespace detail {
class StateVisitor;  // src/optim/schedule.h: the walk over a scheduler's saved fields
class Schedule;      // src/optim/schedule.h: what differs between schedulers
}  // namespace detail

// A value per parameter group, or one for all of them: `.max_lr = 0.1` or `.max_lr = {0.1, 0.01}`.
struct PerGroup {
  PerGroup(double v) : values{v}, scalar(true) {}  // NOLINT: implicit by design
  PerGroup(std::initializer_list<double> v) : values(v) {}
  PerGroup(std::vector<double> v) : values(std::move(v)) {}  // NOLINT: implicit by design
  // One value per group of `opt`; raises (naming scheduler and what) when a list has another length.
  std::vector<double> expand(const Optimizer& opt, const std::string& scheduler, const char* what) const;
  std::vector<double> values;
  bool scalar = false;
};

// The base of the schedulers: holds the optimizer, base_lrs and last_epoch (-1 until the initial
// step that the constructors perform, as PyTorch's do) and the schedule, which says what differs
// between schedulers (Note [One scheduler, one schedule] in src/optim/schedule.h). Not copyable:
// it refers to its optimizer, which must outlive it.
class LRScheduler {
 public:
  virtual ~LRScheduler();
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // last_epoch += 1, and every group's lr set from the schedule (the chainable form).
  void step();
  // PyTorch's deprecated step(epoch): last_epoch = epoch and the closed form where the scheduler has
  // one (else its chainable form at that epoch). SequentialLR uses it at its milestones.
  void step(int64_t epoch);
  // The lrs of the groups after the last step (one per group).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  int64_t last_epoch() const { return last_epoch_; }
  Optimizer& optimizer() const { return opt_; }
  const std::string& name() const { return name_; }

  StateDict state_dict() const;
  // Restores every saved field (hyperparameters included, as PyTorch's does) from a state dict of
  // a scheduler of the same type over as many groups; raises naming the first bad entry and then
  // leaves this scheduler unchanged. Does not touch the optimizer.
  void load_state_dict(const StateDict& sd);

 protected:
  // Checks the schedule, lets it prepare the optimizer, records base_lrs from the groups' initial
  // lrs (Note [initial_lr] in lr_scheduler.cpp), then takes the initial step when `initial`.
  LRScheduler(Optimizer& opt, std::string name, std::unique_ptr<detail::Schedule> schedule, bool initial = true);
  // PyTorch's _initial_step: the step count restarts, then one step.
  void initial_step();
  // step() (epoch = nullopt) and step(epoch); SequentialLR, ChainedScheduler and
  // CosineAnnealingWarmRestarts step their own way.
  virtual void advance(std::optional<int64_t> epoch);
  // Every group's lr from the schedule at last_epoch: the closed form when `closed` and the
  // schedule has one, else the chainable form.
  std::vector<double> schedule_lrs(bool closed);
  std::vector<double> group_lrs() const;
  void apply(const std::vector<double>& lrs);  // sets the groups' lrs and last_lr
  void check_groups() const;
  // The schedule as its own type (the classes in lr_scheduler.cpp and schedulers.cpp know it).
  template <class S>
  S& schedule_as() const {
    return static_cast<S&>(*schedule_);
  }

  Optimizer& opt_;
  std::string name_;
  std::vector<double> base_lrs_, last_lr_;
  int64_t last_epoch_ = -1, step_count_ = 0;

 private:
  void validate();
  void all_fields(detail::StateVisitor& v);
  std::unique_ptr<detail::Schedule> schedule_;
  friend class detail::StateVisitor;
  friend class SequentialLR;
};

using LRLambda = std::function<double(int64_t epoch)>;

// eta_t = eta_0 * lambda(t), one lambda for all groups or one per group.
class LambdaLR final : public LRScheduler {
 public:
  LambdaLR(Optimizer& opt, LRLambda lr_lambda);
  LambdaLR(Optimizer& opt, std::vector<LRLambda> lr_lambdas);
};

// eta_t = eta_{t-1} * lambda(t) for t > 0 (eta_0 at t = 0).
class MultiplicativeLR final : public LRScheduler {
 public:
  MultiplicativeLR(Optimizer& opt, LRLambda lr_lambda);
  MultiplicativeLR(Optimizer& opt, std::vector<LRLambda> lr_lambdas);
};

// eta_t = eta_{t-1} * gamma when t > 0 is a multiple of step_size; closed form
// eta_0 * gamma^floor(t / step_size).
class StepLR final : public LRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);
};

// eta_t = eta_{t-1} * gamma^(times t appears in milestones); closed form eta_0 * gamma^(number of
// milestones <= t). Milestones must be sorted; a repeated one decays twice, as in PyTorch.
class MultiStepLR final : public LRScheduler {
 public:
  MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma = 0.1);
};

struct ConstantLROptions {
  double factor = 1.0 / 3;  // in (0, 1]
  int64_t total_iters = 5;  // >= 0
};
// eta_t = eta_0 * factor for t < total_iters, then eta_0 (recursively: * factor at t = 0,
// / factor at t = total_iters).
class ConstantLR final : public LRScheduler {
 public:
  explicit ConstantLR(Optimizer& opt, const ConstantLROptions& o = {});
};

struct LinearLROptions {
  double start_factor = 1.0 / 3;  // in (0, 1]
  double end_factor = 1.0;        // in [0, 1]
  int64_t total_iters = 5;        // > 0
};
// eta_t = eta_0 * (start + (end - start) * min(t, total_iters) / total_iters), computed
// recursively: eta_t = eta_{t-1} * (1 + (end - start) / (total_iters * start + (t - 1) (end - start))).
class LinearLR final : public LRScheduler {
 public:
  explicit LinearLR(Optimizer& opt, const LinearLROptions& o = {});
};

// eta_t = eta_{t-1} * gamma (t > 0); closed form eta_0 * gamma^t.
class ExponentialLR final : public LRScheduler {
 public:
  ExponentialLR(Optimizer& opt, double gamma);
};

struct PolynomialLROptions {
  int64_t total_iters = 5;  // > 0
  double power = 1.0;
};
// eta_t = eta_0 * (1 - min(t, total_iters) / total_iters)^power, computed recursively:
// eta_t = eta_{t-1} * ((1 - t / T) / (1 - (t - 1) / T))^power for 0 < t <= T.
class PolynomialLR final : public LRScheduler {
 public:
  explicit PolynomialLR(Optimizer& opt, const PolynomialLROptions& o = {});
};

// eta_t = eta_min + (eta_0 - eta_min) (1 + cos(pi t / T_max)) / 2, computed in PyTorch's recursive
// form: eta_t = eta_min + (eta_{t-1} - eta_min) (1 + cos(pi t / T_max)) / (1 + cos(pi (t - 1) / T_max)),
// and eta_t = eta_{t-1} + (eta_0 - eta_min) (1 - cos(pi / T_max)) / 2 when (t - 1 - T_max) is a
// multiple of 2 T_max (the cosine keeps going past T_max: no restarts).
class CosineAnnealingLR final : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min = 0);
};

// SGDR: eta_t = eta_min + (eta_0 - eta_min) (1 + cos(pi T_cur / T_i)) / 2, where T_cur counts the
// steps since the last restart and T_i (first T_0) is multiplied by T_mult at each restart.
class CosineAnnealingWarmRestarts final : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(Optimizer& opt, int64_t T_0, int64_t T_mult = 1, double eta_min = 0);
  // PyTorch's step(epoch) with a fractional epoch (e.g. epoch + i / iters within an epoch).
  void step_to(double epoch);
  double t_cur() const;
  int64_t t_i() const;

 protected:
  void advance(std::optional<int64_t> epoch) override;
};

enum class CyclicMode { triangular, triangular2, exp_range };
enum class ScaleMode { cycle, iterations };

struct CyclicLROptions {
  PerGroup base_lr = std::numeric_limits<double>::quiet_NaN();  // required
  PerGroup max_lr = std::numeric_limits<double>::quiet_NaN();   // required
  double step_size_up = 2000;                                   // > 0
  std::optional<double> step_size_down = std::nullopt;          // >= 0; default step_size_up
  CyclicMode mode = CyclicMode::triangular;                     // ignored when scale_fn is set
  double gamma = 1.0;                                           // exp_range's base
  std::function<double(double x)> scale_fn = nullptr;           // in [0, 1] for x >= 0
  ScaleMode scale_mode = ScaleMode::cycle;                      // what scale_fn gets (built-in modes set their own)
  bool cycle_momentum = true;
  PerGroup base_momentum = 0.8, max_momentum = 0.9;
};
// Cyclical lr (Smith 2017), one value per optimizer step: with cycle = floor(1 + t / S) (S =
// up + down), x = 1 + t / S - cycle and s = x / r if x <= r else (x - 1) / (r - 1) (r = up / S),
// lr = base_lr + (max_lr - base_lr) s f, momentum = max_momentum - (max_momentum - base_momentum) s f,
// with f = 1 (triangular), 1 / 2^(cycle - 1) (triangular2), gamma^t (exp_range) or scale_fn(cycle
// or t). The constructor sets the groups' lr to base_lr (and momentum to base_momentum when
// cycle_momentum; the optimizer must have a momentum: SGD, RMSprop, Adam's beta1).
class CyclicLR final : public LRScheduler {
 public:
  CyclicLR(Optimizer& opt, const CyclicLROptions& o);
};

enum class AnnealStrategy { cos, linear };

struct OneCycleLROptions {
  PerGroup max_lr = std::numeric_limits<double>::quiet_NaN();  // required
  std::optional<int64_t> total_steps = std::nullopt;           // or epochs * steps_per_epoch
  std::optional<int64_t> epochs = std::nullopt, steps_per_epoch = std::nullopt;
  double pct_start = 0.3;  // in [0, 1]
  AnnealStrategy anneal_strategy = AnnealStrategy::cos;
  bool cycle_momentum = true;
  PerGroup base_momentum = 0.85, max_momentum = 0.95;
  double div_factor = 25, final_div_factor = 1e4;
  bool three_phase = false;
};
// 1cycle (Smith & Topin): initial_lr = max_lr / div_factor, min_lr = initial_lr / final_div_factor;
// the lr anneals (cos: end + (start - end)(1 + cos(pi p)) / 2, or linear) from initial_lr to max_lr
// over the first pct_start * total_steps - 1 steps, then to min_lr at step total_steps - 1
// (three_phase: back to initial_lr at step 2 pct_start total_steps - 2 first); momentum anneals
// the other way between max_momentum and base_momentum. Stepping past total_steps raises.
class OneCycleLR final : public LRScheduler {
 public:
  OneCycleLR(Optimizer& opt, const OneCycleLROptions& o);
  int64_t total_steps() const;
};

// eta_t = eta_0 / (1 + decay * t), t counting step() calls (per update or per epoch, as the user
// calls it): Keras' classic `decay`. Not in PyTorch.
class InverseTimeDecay final : public LRScheduler {
 public:
  InverseTimeDecay(Optimizer& opt, double decay);
};

// Runs schedulers[i] for milestones[i - 1] <= t < milestones[i]; at a milestone the next one
// restarts from its closed form at epoch 0 (PyTorch's step(0)). The constructor resets the lrs to
// the base lrs and redoes the first scheduler's initial step. State: its own plus "schedulers.<i>.*".
class SequentialLR final : public LRScheduler {
 public:
  SequentialLR(Optimizer& opt, std::vector<std::shared_ptr<LRScheduler>> schedulers, std::vector<int64_t> milestones);

 protected:
  void advance(std::optional<int64_t> epoch) override;
};

// Steps every scheduler in turn on each step() (their factors compose). last_epoch counts its
// steps (PyTorch's has none). State: its own plus "schedulers.<i>.*".
class ChainedScheduler final : public LRScheduler {
 public:
  explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers);

 protected:
  void advance(std::optional<int64_t> epoch) override;
};

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };

struct ReduceLROnPlateauOptions {
  PlateauMode mode = PlateauMode::min;
  double factor = 0.1;  // < 1
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::rel;
  int64_t cooldown = 0;
  PerGroup min_lr = 0.0;
  double eps = 1e-8;
};
// step(metric): a metric better than best * (1 -+ threshold) (rel) or best -+ threshold (abs)
// becomes the best; after more than `patience` steps without one, every lr becomes
// max(lr * factor, min_lr) (when that lowers it by more than eps), then `cooldown` steps ignore
// bad epochs. Not an LRScheduler, as in PyTorch: it has no step() without a metric.
class ReduceLROnPlateau {
 public:
  explicit ReduceLROnPlateau(Optimizer& opt, const ReduceLROnPlateauOptions& o = {});
  ReduceLROnPlateau(const ReduceLROnPlateau&) = delete;
  ReduceLROnPlateau& operator=(const ReduceLROnPlateau&) = delete;

  void step(double metric);
  // The groups' lrs after the last step (their lrs at construction before any).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  bool in_cooldown() const { return cooldown_counter_ > 0; }
  Optimizer& optimizer() const { return opt_; }

  StateDict state_dict() const;
  void load_state_dict(const StateDict& sd);  // as LRScheduler::load_state_dict

 private:
  bool is_better(double a, double best) const;
  void fields(detail::StateVisitor& v);
  void validate() const;
  Optimizer& opt_;
  ReduceLROnPlateauOptions o_;
  std::vector<double> min_lrs_, last_lr_;
  int64_t last_epoch_ = 0, cooldown_counter_ = 0, num_bad_epochs_ = 0;
  double best_;
};

}  // namespace hpml::optim
