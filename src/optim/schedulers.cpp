// The schedules of the learning-rate schedulers (Note [One scheduler, one schedule] in
// schedule.h): each states its saved fields, its checks, its lr() (PyTorch 1.13's chainable form)
// and its closed_lr() (PyTorch's _get_closed_form_lr), operation for operation: the same order of
// floating-point operations, so the lrs agree to the last bit or nearly. Plus InverseTimeDecay.
// Each public class is only its constructor (and accessors). CyclicLR and OneCycleLR, which cycle
// the momentum too, are in cyclic_schedulers.cpp; SequentialLR and ChainedScheduler, which step
// other schedulers, in lr_scheduler.cpp.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "hpml/optim/lr_scheduler.h"
#include "optim/schedule.h"

namespace hpml::optim {

using detail::ScheduleAt;
using detail::StateVisitor;

namespace {
constexpr double kPi = std::numbers::pi;

int64_t floor_div(int64_t a, int64_t b) {  // Python's a // b, b > 0
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

std::vector<LRLambda> one_per_group(const Optimizer& opt, LRLambda f, const char* who) {
  HPML_CHECK(static_cast<bool>(f), who, ": lr_lambda is empty");
  return std::vector<LRLambda>(opt.num_param_groups(), f);
}

std::vector<LRLambda> checked(const Optimizer& opt, std::vector<LRLambda> fs, const char* who) {
  HPML_CHECK(fs.size() == opt.num_param_groups(), who, ": Expected ", opt.num_param_groups(), " lr_lambdas, but got ",
             fs.size());
  for (size_t i = 0; i < fs.size(); ++i) HPML_CHECK(static_cast<bool>(fs[i]), who, ": lr_lambda ", i, " is empty");
  return fs;
}

// ---- LambdaLR, MultiplicativeLR ----

// Lambdas are not saved (as in PyTorch): nothing beyond the common fields.
struct Lambdas final : detail::Schedule {
  Lambdas(std::vector<LRLambda> f, bool mult) : fs(std::move(f)), multiplicative(mult) {}
  double lr(const ScheduleAt& at, size_t g, double lr) override {
    if (!multiplicative) return at.base_lrs[g] * fs[g](at.epoch);
    return at.epoch > 0 ? lr * fs[g](at.epoch) : lr;
  }
  std::vector<LRLambda> fs;
  bool multiplicative;
};

// ---- StepLR, MultiStepLR ----

struct Step final : detail::Schedule {
  Step(int64_t s, double g) : step_size(s), gamma(g) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(step_size > 0, name, ": step_size must be a positive integer, got ", step_size);
  }
  double lr(const ScheduleAt& at, size_t /*g*/, double lr) override {
    return at.epoch == 0 || at.epoch % step_size != 0 ? lr : lr * gamma;
  }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    return at.base_lrs[g] * std::pow(gamma, static_cast<double>(floor_div(at.epoch, step_size)));
  }
  void fields(StateVisitor& v) override { v.values("step_size", step_size, "gamma", gamma); }
  int64_t step_size;
  double gamma;
};

struct MultiStep final : detail::Schedule {
  MultiStep(std::vector<int64_t> m, double g) : milestones(std::move(m)), gamma(g) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(std::is_sorted(milestones.begin(), milestones.end()), name, ": milestones must be increasing, got ",
               IntArrayRef(milestones));
  }
  double lr(const ScheduleAt& at, size_t /*g*/, double lr) override {
    const auto hits = std::count(milestones.begin(), milestones.end(), at.epoch);
    return hits == 0 ? lr : lr * std::pow(gamma, static_cast<double>(hits));
  }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), at.epoch) - milestones.begin();
    return at.base_lrs[g] * std::pow(gamma, static_cast<double>(passed));
  }
  void fields(StateVisitor& v) override {
    v.list("milestones", milestones);
    v.value("gamma", gamma);
  }
  std::vector<int64_t> milestones;
  double gamma;
};

// ---- ConstantLR, LinearLR ----

struct Constant final : detail::Schedule {
  explicit Constant(const ConstantLROptions& options) : o(options) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(o.factor > 0 && o.factor <= 1.0, name, ": factor expected to be in (0, 1], got ", o.factor);
    HPML_CHECK(o.total_iters >= 0, name, ": total_iters must be >= 0, got ", o.total_iters);
  }
  double lr(const ScheduleAt& at, size_t /*g*/, double lr) override {
    if (at.epoch == 0) return lr * o.factor;
    if (at.epoch == o.total_iters) return lr * (1.0 / o.factor);
    return lr;
  }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    return at.base_lrs[g] * (o.factor + (at.epoch >= o.total_iters ? 1 - o.factor : 0.0));
  }
  void fields(StateVisitor& v) override { v.values("factor", o.factor, "total_iters", o.total_iters); }
  ConstantLROptions o;
};

struct Linear final : detail::Schedule {
  explicit Linear(const LinearLROptions& options) : o(options) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(o.start_factor > 0 && o.start_factor <= 1.0, name, ": start_factor expected to be in (0, 1], got ",
               o.start_factor);
    HPML_CHECK(o.end_factor >= 0 && o.end_factor <= 1.0, name, ": end_factor expected to be in [0, 1], got ",
               o.end_factor);
    HPML_CHECK(o.total_iters > 0, name, ": total_iters must be a positive integer, got ", o.total_iters);
  }
  double lr(const ScheduleAt& at, size_t /*g*/, double lr) override {
    const double s = o.start_factor, e = o.end_factor;
    if (at.epoch == 0) return lr * s;
    if (at.epoch > o.total_iters) return lr;
    return lr * (1. + (e - s) / (static_cast<double>(o.total_iters) * s + static_cast<double>(at.epoch - 1) * (e - s)));
  }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    const double s = o.start_factor, e = o.end_factor, t = static_cast<double>(std::min(o.total_iters, at.epoch));
    return at.base_lrs[g] * (s + (e - s) * t / static_cast<double>(o.total_iters));
  }
  void fields(StateVisitor& v) override {
    v.values("start_factor", o.start_factor, "end_factor", o.end_factor, "total_iters", o.total_iters);
  }
  LinearLROptions o;
};

// ---- ExponentialLR, PolynomialLR, InverseTimeDecay ----

struct Exponential final : detail::Schedule {
  explicit Exponential(double g) : gamma(g) {}
  double lr(const ScheduleAt& at, size_t /*g*/, double lr) override { return at.epoch == 0 ? lr : lr * gamma; }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    return at.base_lrs[g] * std::pow(gamma, static_cast<double>(at.epoch));
  }
  void fields(StateVisitor& v) override { v.value("gamma", gamma); }
  double gamma;
};

struct Polynomial final : detail::Schedule {
  explicit Polynomial(const PolynomialLROptions& options) : o(options) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(o.total_iters > 0, name, ": total_iters must be a positive integer, got ", o.total_iters);
  }
  double lr(const ScheduleAt& at, size_t /*g*/, double lr) override {
    if (at.epoch == 0 || at.epoch > o.total_iters) return lr;
    const auto t = static_cast<double>(at.epoch), T = static_cast<double>(o.total_iters);
    return lr * std::pow((1.0 - t / T) / (1.0 - (t - 1) / T), o.power);
  }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    const auto t = static_cast<double>(std::min(o.total_iters, at.epoch)), T = static_cast<double>(o.total_iters);
    return at.base_lrs[g] * std::pow(1.0 - t / T, o.power);
  }
  void fields(StateVisitor& v) override { v.values("total_iters", o.total_iters, "power", o.power); }
  PolynomialLROptions o;
};

// Its chainable form is its closed form.
struct InverseTime final : detail::Schedule {
  explicit InverseTime(double d) : decay(d) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(std::isfinite(decay) && decay >= 0, name, ": decay must be finite and >= 0, got ", decay);
  }
  double lr(const ScheduleAt& at, size_t g, double /*lr*/) override { return *closed_lr(at, g); }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    return at.base_lrs[g] / (1.0 + decay * static_cast<double>(at.epoch));
  }
  void fields(StateVisitor& v) override { v.value("decay", decay); }
  double decay;
};

// ---- CosineAnnealingLR, CosineAnnealingWarmRestarts ----

struct Cosine final : detail::Schedule {
  Cosine(int64_t T, double eta) : t_max(T), eta_min(eta) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(t_max > 0, name, ": T_max must be a positive integer, got ", t_max);
  }
  double lr(const ScheduleAt& at, size_t g, double lr) override {
    const auto t = static_cast<double>(at.epoch), T = static_cast<double>(t_max);
    if (at.epoch == 0) return lr;
    if (at.count == 1 && at.epoch > 0) return *closed_lr(at, g);
    if ((at.epoch - 1 - t_max) % (2 * t_max) == 0) return lr + (at.base_lrs[g] - eta_min) * (1 - std::cos(kPi / T)) / 2;
    const double ratio = (1 + std::cos(kPi * t / T)) / (1 + std::cos(kPi * (t - 1) / T));
    return ratio * (lr - eta_min) + eta_min;
  }
  std::optional<double> closed_lr(const ScheduleAt& at, size_t g) const override {
    const double c = 1 + std::cos(kPi * static_cast<double>(at.epoch) / static_cast<double>(t_max));
    return eta_min + (at.base_lrs[g] - eta_min) * c / 2;
  }
  void fields(StateVisitor& v) override { v.values("T_max", t_max, "eta_min", eta_min); }
  int64_t t_max;
  double eta_min;
};

// T_cur and T_i move in CosineAnnealingWarmRestarts::advance / step_to; lr() reads them.
struct WarmRestarts final : detail::Schedule {
  WarmRestarts(int64_t T_0, int64_t T_mult, double eta) : t_0(T_0), t_i(T_0), t_mult(T_mult), eta_min(eta) {}
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    HPML_CHECK(t_0 > 0, name, ": Expected positive integer T_0, but got ", t_0);
    HPML_CHECK(t_mult >= 1, name, ": Expected integer T_mult >= 1, but got ", t_mult);
    HPML_CHECK(t_i > 0, name, ": T_i must be positive, got ", t_i);
  }
  double lr(const ScheduleAt& at, size_t g, double /*lr*/) override {
    const double c = 1 + std::cos(kPi * t_cur / static_cast<double>(t_i));
    return eta_min + (at.base_lrs[g] - eta_min) * c / 2;
  }
  void fields(StateVisitor& v) override {
    v.values("T_0", t_0, "T_i", t_i, "T_mult", t_mult, "eta_min", eta_min, "T_cur", t_cur);
  }
  int64_t t_0, t_i, t_mult;
  double eta_min, t_cur = -1;
};

}  // namespace

// ---- the schedulers ----

LambdaLR::LambdaLR(Optimizer& opt, LRLambda f)
    : LRScheduler(opt, "LambdaLR", std::make_unique<Lambdas>(one_per_group(opt, f, "LambdaLR"), false)) {}
LambdaLR::LambdaLR(Optimizer& opt, std::vector<LRLambda> fs)
    : LRScheduler(opt, "LambdaLR", std::make_unique<Lambdas>(checked(opt, std::move(fs), "LambdaLR"), false)) {}
MultiplicativeLR::MultiplicativeLR(Optimizer& opt, LRLambda f)
    : LRScheduler(opt, "MultiplicativeLR", std::make_unique<Lambdas>(one_per_group(opt, f, "MultiplicativeLR"), true)) {
}
MultiplicativeLR::MultiplicativeLR(Optimizer& opt, std::vector<LRLambda> fs)
    : LRScheduler(opt, "MultiplicativeLR",
                  std::make_unique<Lambdas>(checked(opt, std::move(fs), "MultiplicativeLR"), true)) {}

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma)
    : LRScheduler(opt, "StepLR", std::make_unique<Step>(step_size, gamma)) {}
MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(opt, "MultiStepLR", std::make_unique<MultiStep>(std::move(milestones), gamma)) {}

ConstantLR::ConstantLR(Optimizer& opt, const ConstantLROptions& o)
    : LRScheduler(opt, "ConstantLR", std::make_unique<Constant>(o)) {}
LinearLR::LinearLR(Optimizer& opt, const LinearLROptions& o)
    : LRScheduler(opt, "LinearLR", std::make_unique<Linear>(o)) {}

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma)
    : LRScheduler(opt, "ExponentialLR", std::make_unique<Exponential>(gamma)) {}
PolynomialLR::PolynomialLR(Optimizer& opt, const PolynomialLROptions& o)
    : LRScheduler(opt, "PolynomialLR", std::make_unique<Polynomial>(o)) {}
InverseTimeDecay::InverseTimeDecay(Optimizer& opt, double decay)
    : LRScheduler(opt, "InverseTimeDecay", std::make_unique<InverseTime>(decay)) {}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min)
    : LRScheduler(opt, "CosineAnnealingLR", std::make_unique<Cosine>(T_max, eta_min)) {}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& opt, int64_t T_0, int64_t T_mult, double eta_min)
    : LRScheduler(opt, "CosineAnnealingWarmRestarts", std::make_unique<WarmRestarts>(T_0, T_mult, eta_min), false) {
  initial_step();  // here, so that it steps through advance() below (Note [One scheduler, one schedule])
}
double CosineAnnealingWarmRestarts::t_cur() const { return schedule_as<WarmRestarts>().t_cur; }
int64_t CosineAnnealingWarmRestarts::t_i() const { return schedule_as<WarmRestarts>().t_i; }

void CosineAnnealingWarmRestarts::advance(std::optional<int64_t> epoch) {
  if (epoch) return step_to(static_cast<double>(*epoch));
  if (last_epoch_ < 0) return step_to(0);
  check_groups();
  WarmRestarts& w = schedule_as<WarmRestarts>();
  w.t_cur = w.t_cur + 1;
  if (w.t_cur >= static_cast<double>(w.t_i)) {
    w.t_cur = w.t_cur - static_cast<double>(w.t_i);
    w.t_i = w.t_i * w.t_mult;
  }
  last_epoch_ += 1;
  apply(schedule_lrs(false));
}

void CosineAnnealingWarmRestarts::step_to(double epoch) {
  check_groups();
  HPML_CHECK(epoch >= 0, name_, ": Expected non-negative epoch, but got ", epoch);
  WarmRestarts& w = schedule_as<WarmRestarts>();
  const auto t0 = static_cast<double>(w.t_0);
  if (epoch >= t0) {
    if (w.t_mult == 1) {
      w.t_cur = std::fmod(epoch, t0);
    } else {
      const auto m = static_cast<double>(w.t_mult);
      const auto n = static_cast<int64_t>(std::log(epoch / t0 * (m - 1) + 1) / std::log(m));
      int64_t mn = 1;
      for (int64_t i = 0; i < n; ++i) mn *= w.t_mult;
      w.t_cur = epoch - static_cast<double>(w.t_0 * (mn - 1)) / (m - 1);
      w.t_i = w.t_0 * mn;
    }
  } else {
    w.t_i = w.t_0;
    w.t_cur = epoch;
  }
  last_epoch_ = static_cast<int64_t>(std::floor(epoch));
  apply(schedule_lrs(false));
}

}  // namespace hpml::optim
