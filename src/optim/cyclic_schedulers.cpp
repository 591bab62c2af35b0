// The schedules that cycle the momentum with the lr, CyclicLR and OneCycleLR (Note [One
// scheduler, one schedule] in schedule.h; the others are in schedulers.cpp). As there, each lr()
// is PyTorch 1.13's get_lr operation for operation; the constructors check the options in
// PyTorch's order before the optimizer is touched.
#include <cmath>
#include <numbers>

#include "hpml/optim/lr_scheduler.h"
#include "optim/schedule.h"

namespace hpml::optim {

using detail::ScheduleAt;
using detail::StateVisitor;

namespace {
constexpr double kPi = std::numbers::pi;

void check_required(const std::vector<double>& v, const std::string& who, const char* what) {
  for (double x : v) HPML_CHECK(!std::isnan(x), who, ": ", what, " is required (got NaN)");
}

void check_momentum(const Optimizer& opt, const std::string& who) {
  for (size_t g = 0; g < opt.num_param_groups(); ++g)
    HPML_CHECK(opt.momentum(g).has_value(), who, ": optimizer must support momentum with `cycle_momentum` option ",
               "enabled, and ", opt.name(), " has none (group ", g, "); pass cycle_momentum = false");
}

// ---- CyclicLR ----

struct Cyclic final : detail::Schedule {
  void validate(const Optimizer& opt, const std::string& name) override {
    const size_t n = opt.num_param_groups();
    HPML_CHECK(max_lrs.size() == n && base_momentums.size() == n && max_momentums.size() == n, name,
               ": expected one max_lr / base_momentum / max_momentum per parameter group (", n, ")");
    HPML_CHECK(total_size > 0 && step_ratio > 0 && step_ratio <= 1, name, ": bad cycle (total_size ", total_size,
               ", step_ratio ", step_ratio, ")");
    HPML_CHECK(
        scale_fn || mode == CyclicMode::triangular || mode == CyclicMode::triangular2 || mode == CyclicMode::exp_range,
        name, ": mode ", static_cast<int>(mode), " is invalid and scale_fn is not set");
    HPML_CHECK(scale_mode == ScaleMode::cycle || scale_mode == ScaleMode::iterations, name, ": scale_mode ",
               static_cast<int>(scale_mode), " is invalid (cycle or iterations)");
    if (cycle_momentum) check_momentum(opt, name);
  }
  // The groups start at base_lr and base_momentum (as the optimizer rounds it: Adam's beta1 is kept).
  void prepare(Optimizer& opt) override {
    for (size_t g = 0; g < start_lrs.size(); ++g) opt.set_lr(g, start_lrs[g]);
    if (cycle_momentum)
      for (size_t g = 0; g < start_lrs.size(); ++g) {
        opt.set_momentum(g, base_momentums[g]);
        base_momentums[g] = *opt.momentum(g);
      }
  }
  double scale(double x) const {
    if (scale_fn) return scale_fn(x);
    if (mode == CyclicMode::triangular) return 1.;
    if (mode == CyclicMode::triangular2) return 1 / std::pow(2., x - 1);
    return std::pow(gamma, x);
  }
  double lr(const ScheduleAt& at, size_t g, double /*lr*/) override {
    const auto t = static_cast<double>(at.epoch);
    const double cycle = std::floor(1 + t / total_size);
    const double x = 1. + t / total_size - cycle;
    const double s = x <= step_ratio ? x / step_ratio : (x - 1) / (step_ratio - 1);
    const double f = scale(scale_mode == ScaleMode::cycle ? cycle : t);  // per group, as PyTorch calls scale_fn
    if (cycle_momentum) at.opt.set_momentum(g, max_momentums[g] - (max_momentums[g] - base_momentums[g]) * s * f);
    return at.base_lrs[g] + (max_lrs[g] - at.base_lrs[g]) * s * f;
  }
  void fields(StateVisitor& v) override {
    const size_t n = max_lrs.size();  // the groups: validate() keeps one max_lr per group
    v.list("max_lrs", max_lrs, n);
    v.list("base_momentums", base_momentums, n);
    v.list("max_momentums", max_momentums, n);
    v.values("total_size", total_size, "step_ratio", step_ratio, "mode", mode, "gamma", gamma);
    v.values("scale_mode", scale_mode, "cycle_momentum", cycle_momentum);
  }
  std::vector<double> start_lrs, max_lrs, base_momentums, max_momentums;  // start_lrs: not saved
  double total_size = 0, step_ratio = 0, gamma = 1;
  CyclicMode mode = CyclicMode::triangular;
  ScaleMode scale_mode = ScaleMode::cycle;
  bool cycle_momentum = true;
  std::function<double(double)> scale_fn;
};

std::unique_ptr<Cyclic> cyclic(const Optimizer& opt, const CyclicLROptions& o) {
  const std::string name = "CyclicLR";
  auto c = std::make_unique<Cyclic>();
  c->start_lrs = o.base_lr.expand(opt, name, "base_lr");
  c->max_lrs = o.max_lr.expand(opt, name, "max_lr");
  check_required(c->start_lrs, name, "base_lr");
  check_required(c->max_lrs, name, "max_lr");
  const double up = o.step_size_up, down = o.step_size_down.value_or(up);
  HPML_CHECK(up > 0, name, ": step_size_up must be positive, got ", up);
  HPML_CHECK(down >= 0, name, ": step_size_down must be >= 0, got ", down);
  c->total_size = up + down;
  c->step_ratio = up / c->total_size;
  c->mode = o.mode;
  c->gamma = o.gamma;
  c->scale_fn = o.scale_fn;
  if (c->scale_fn)
    c->scale_mode = o.scale_mode;
  else
    c->scale_mode = c->mode == CyclicMode::exp_range ? ScaleMode::iterations : ScaleMode::cycle;
  c->cycle_momentum = o.cycle_momentum;
  c->base_momentums = o.base_momentum.expand(opt, name, "base_momentum");
  c->max_momentums = o.max_momentum.expand(opt, name, "max_momentum");
  return c;
}

// ---- OneCycleLR ----

struct OneCycle final : detail::Schedule {
  void validate(const Optimizer& opt, const std::string& name) override;
  // Momentum starts at max_momentum; the groups' initial lrs (hence the base lrs) become initial_lr.
  void prepare(Optimizer& opt) override {
    for (size_t g = 0; g < initial_lrs.size(); ++g) {
      if (cycle_momentum) opt.set_momentum(g, max_momentums[g]);
      opt.set_initial_lr(g, initial_lrs[g]);
    }
  }
  double anneal(double start, double end, double pct) const {
    if (strategy == AnnealStrategy::cos) return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
    return (end - start) * pct + start;
  }
  double lr(const ScheduleAt& at, size_t g, double lr) override;
  void fields(StateVisitor& v) override {
    const size_t n = max_lrs.size();  // the groups: validate() keeps one max_lr per group
    v.values("total_steps", total_steps, "pct_start", pct_start, "anneal_strategy", strategy);
    v.values("cycle_momentum", cycle_momentum, "three_phase", three_phase);
    v.list("initial_lrs", initial_lrs, n);
    v.list("max_lrs", max_lrs, n);
    v.list("min_lrs", min_lrs, n);
    v.list("max_momentums", max_momentums, n);
    v.list("base_momentums", base_momentums, n);
  }
  std::vector<double> initial_lrs, max_lrs, min_lrs, max_momentums, base_momentums;
  int64_t total_steps = 0;
  double pct_start = 0;
  AnnealStrategy strategy = AnnealStrategy::cos;
  bool cycle_momentum = true, three_phase = false;
  std::vector<double> end_steps;  // derived: where each phase ends
};

void OneCycle::validate(const Optimizer& opt, const std::string& name) {
  const size_t n = opt.num_param_groups();
  HPML_CHECK(total_steps > 0, name, ": Expected positive integer total_steps, but got ", total_steps);
  HPML_CHECK(pct_start >= 0 && pct_start <= 1, name, ": Expected float between 0 and 1 pct_start, but got ", pct_start);
  HPML_CHECK(strategy == AnnealStrategy::cos || strategy == AnnealStrategy::linear, name,
             ": anneal_strategy must be cos or linear, got ", static_cast<int>(strategy));
  for (const auto* v : {&initial_lrs, &max_lrs, &min_lrs, &max_momentums, &base_momentums})
    HPML_CHECK(v->size() == n, name, ": expected one value per parameter group (", n, "), got ", v->size());
  if (cycle_momentum) check_momentum(opt, name);
  const auto T = static_cast<double>(total_steps);
  end_steps = {pct_start * T - 1};
  if (three_phase) end_steps.push_back(2 * pct_start * T - 2);
  end_steps.push_back(T - 1);
}

double OneCycle::lr(const ScheduleAt& at, size_t g, double lr) {
  const int64_t step_num = at.epoch;
  HPML_CHECK(step_num <= total_steps, at.name, ": Tried to step ", step_num + 1,
             " times. The specified number of total steps is ", total_steps);
  // The lr and momentum at each phase boundary: phase i goes from point i to point i + 1.
  using Points = std::vector<const std::vector<double>*>;
  const Points lr_points =
      three_phase ? Points{&initial_lrs, &max_lrs, &initial_lrs, &min_lrs} : Points{&initial_lrs, &max_lrs, &min_lrs};
  const Points m_points = three_phase ? Points{&max_momentums, &base_momentums, &max_momentums, &max_momentums}
                                      : Points{&max_momentums, &base_momentums, &max_momentums};
  double start_step = 0;
  for (size_t i = 0; i < end_steps.size(); ++i) {
    const double end_step = end_steps[i];
    if (static_cast<double>(step_num) <= end_step || i + 1 == end_steps.size()) {
      HPML_CHECK(end_step != start_step, at.name, ": phase ", i, " of the schedule is empty (pct_start ", pct_start,
                 ", total_steps ", total_steps, "); PyTorch divides by zero here too");
      const double pct = (static_cast<double>(step_num) - start_step) / (end_step - start_step);
      if (cycle_momentum) at.opt.set_momentum(g, anneal((*m_points[i])[g], (*m_points[i + 1])[g], pct));
      return anneal((*lr_points[i])[g], (*lr_points[i + 1])[g], pct);
    }
    start_step = end_step;
  }
  return lr;  // not reached: the last phase takes every step
}

std::unique_ptr<OneCycle> one_cycle(const Optimizer& opt, const OneCycleLROptions& o) {
  const std::string name = "OneCycleLR";
  auto c = std::make_unique<OneCycle>();
  if (o.total_steps) {
    HPML_CHECK(*o.total_steps > 0, name, ": Expected positive integer total_steps, but got ", *o.total_steps);
    c->total_steps = *o.total_steps;
  } else {
    HPML_CHECK(o.epochs && o.steps_per_epoch, name,
               ": You must define either total_steps OR (epochs AND steps_per_epoch)");
    HPML_CHECK(*o.epochs > 0, name, ": Expected positive integer epochs, but got ", *o.epochs);
    HPML_CHECK(*o.steps_per_epoch > 0, name, ": Expected positive integer steps_per_epoch, but got ",
               *o.steps_per_epoch);
    c->total_steps = *o.epochs * *o.steps_per_epoch;
  }
  c->max_lrs = o.max_lr.expand(opt, name, "max_lr");
  check_required(c->max_lrs, name, "max_lr");
  HPML_CHECK(o.div_factor > 0 && o.final_div_factor > 0, name,
             ": div_factor and final_div_factor must be positive, got ", o.div_factor, " and ", o.final_div_factor);
  for (double m : c->max_lrs) {
    c->initial_lrs.push_back(m / o.div_factor);
    c->min_lrs.push_back(c->initial_lrs.back() / o.final_div_factor);
  }
  c->max_momentums = o.max_momentum.expand(opt, name, "max_momentum");
  c->base_momentums = o.base_momentum.expand(opt, name, "base_momentum");
  c->pct_start = o.pct_start;
  c->strategy = o.anneal_strategy;
  c->cycle_momentum = o.cycle_momentum;
  c->three_phase = o.three_phase;
  return c;
}

}  // namespace

// ---- the schedulers ----

// The initial step computes from the base lrs the optimizer records (its initial lrs), and only
// then do the base lrs become base_lr: PyTorch 1.13's order, kept for its first lr.
CyclicLR::CyclicLR(Optimizer& opt, const CyclicLROptions& o) : LRScheduler(opt, "CyclicLR", cyclic(opt, o)) {
  base_lrs_ = schedule_as<Cyclic>().start_lrs;
}

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleLROptions& o)
    : LRScheduler(opt, "OneCycleLR", one_cycle(opt, o)) {}
int64_t OneCycleLR::total_steps() const { return schedule_as<OneCycle>().total_steps; }

}  // namespace hpml::optim
