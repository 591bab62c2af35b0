// The schedules: each get_lr() is PyTorch 1.13's chainable form and each closed_form_lr() its
// _get_closed_form_lr, operation for operation (the same order of floating-point operations, so
// the lrs agree to the last bit or nearly), plus InverseTimeDecay.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "hpml/optim/lr_scheduler.h"

namespace hpml::optim {

namespace {
constexpr double kPi = std::numbers::pi;

std::vector<double> times(std::vector<double> lrs, double f) {  // lr * f for each
  for (double& lr : lrs) lr = lr * f;
  return lrs;
}

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

void check_required(const std::vector<double>& v, const std::string& who, const char* what) {
  for (double x : v) HPML_CHECK(!std::isnan(x), who, ": ", what, " is required (got NaN)");
}

void check_momentum(const Optimizer& opt, const std::string& who) {
  for (size_t g = 0; g < opt.num_param_groups(); ++g)
    HPML_CHECK(opt.momentum(g).has_value(), who, ": optimizer must support momentum with `cycle_momentum` option ",
               "enabled, and ", opt.name(), " has none (group ", g, "); pass cycle_momentum = false");
}
}  // namespace

// ---- LambdaLR, MultiplicativeLR ----

LambdaLR::LambdaLR(Optimizer& opt, LRLambda f)
    : LRScheduler(opt, "LambdaLR"), lambdas_(one_per_group(opt, f, "LambdaLR")) {
  start();
}
LambdaLR::LambdaLR(Optimizer& opt, std::vector<LRLambda> fs)
    : LRScheduler(opt, "LambdaLR"), lambdas_(checked(opt, std::move(fs), "LambdaLR")) {
  start();
}
std::vector<double> LambdaLR::get_lr() {
  std::vector<double> out(base_lrs_.size());
  for (size_t g = 0; g < out.size(); ++g) out[g] = base_lrs_[g] * lambdas_[g](last_epoch_);
  return out;
}

MultiplicativeLR::MultiplicativeLR(Optimizer& opt, LRLambda f)
    : LRScheduler(opt, "MultiplicativeLR"), lambdas_(one_per_group(opt, f, "MultiplicativeLR")) {
  start();
}
MultiplicativeLR::MultiplicativeLR(Optimizer& opt, std::vector<LRLambda> fs)
    : LRScheduler(opt, "MultiplicativeLR"), lambdas_(checked(opt, std::move(fs), "MultiplicativeLR")) {
  start();
}
std::vector<double> MultiplicativeLR::get_lr() {
  std::vector<double> out = group_lrs();
  if (last_epoch_ > 0)
    for (size_t g = 0; g < out.size(); ++g) out[g] = out[g] * lambdas_[g](last_epoch_);
  return out;
}

// ---- StepLR, MultiStepLR ----

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma)
    : LRScheduler(opt, "StepLR"), step_size_(step_size), gamma_(gamma) {
  validate();
  start();
}
void StepLR::validate() {
  HPML_CHECK(step_size_ > 0, name_, ": step_size must be a positive integer, got ", step_size_);
}
std::vector<double> StepLR::get_lr() {
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return group_lrs();
  return times(group_lrs(), gamma_);
}
std::optional<std::vector<double>> StepLR::closed_form_lr() const {
  return times(base_lrs_, std::pow(gamma_, static_cast<double>(floor_div(last_epoch_, step_size_))));
}
void StepLR::fields(detail::StateVisitor& v) {
  v.value("step_size", step_size_);
  v.value("gamma", gamma_);
}

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(opt, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
  validate();
  start();
}
void MultiStepLR::validate() {
  HPML_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), name_, ": milestones must be increasing, got ",
             IntArrayRef(milestones_));
}
std::vector<double> MultiStepLR::get_lr() {
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits == 0) return group_lrs();
  return times(group_lrs(), std::pow(gamma_, static_cast<double>(hits)));
}
std::optional<std::vector<double>> MultiStepLR::closed_form_lr() const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  return times(base_lrs_, std::pow(gamma_, static_cast<double>(passed)));
}
void MultiStepLR::fields(detail::StateVisitor& v) {
  v.list("milestones", milestones_);
  v.value("gamma", gamma_);
}

// ---- ConstantLR, LinearLR ----

ConstantLR::ConstantLR(Optimizer& opt, const ConstantLROptions& o) : LRScheduler(opt, "ConstantLR"), o_(o) {
  validate();
  start();
}
void ConstantLR::validate() {
  HPML_CHECK(o_.factor > 0 && o_.factor <= 1.0, name_, ": factor expected to be in (0, 1], got ", o_.factor);
  HPML_CHECK(o_.total_iters >= 0, name_, ": total_iters must be >= 0, got ", o_.total_iters);
}
std::vector<double> ConstantLR::get_lr() {
  if (last_epoch_ == 0) return times(group_lrs(), o_.factor);
  if (last_epoch_ == o_.total_iters) return times(group_lrs(), 1.0 / o_.factor);
  return group_lrs();
}
std::optional<std::vector<double>> ConstantLR::closed_form_lr() const {
  return times(base_lrs_, o_.factor + (last_epoch_ >= o_.total_iters ? 1 - o_.factor : 0.0));
}
void ConstantLR::fields(detail::StateVisitor& v) {
  v.value("factor", o_.factor);
  v.value("total_iters", o_.total_iters);
}

LinearLR::LinearLR(Optimizer& opt, const LinearLROptions& o) : LRScheduler(opt, "LinearLR"), o_(o) {
  validate();
  start();
}
void LinearLR::validate() {
  HPML_CHECK(o_.start_factor > 0 && o_.start_factor <= 1.0, name_, ": start_factor expected to be in (0, 1], got ",
             o_.start_factor);
  HPML_CHECK(o_.end_factor >= 0 && o_.end_factor <= 1.0, name_, ": end_factor expected to be in [0, 1], got ",
             o_.end_factor);
  HPML_CHECK(o_.total_iters > 0, name_, ": total_iters must be a positive integer, got ", o_.total_iters);
}
std::vector<double> LinearLR::get_lr() {
  const double s = o_.start_factor, e = o_.end_factor;
  if (last_epoch_ == 0) return times(group_lrs(), s);
  if (last_epoch_ > o_.total_iters) return group_lrs();
  return times(group_lrs(), 1. + (e - s) / (static_cast<double>(o_.total_iters) * s +
                                            static_cast<double>(last_epoch_ - 1) * (e - s)));
}
std::optional<std::vector<double>> LinearLR::closed_form_lr() const {
  const double s = o_.start_factor, e = o_.end_factor, t = static_cast<double>(std::min(o_.total_iters, last_epoch_));
  return times(base_lrs_, s + (e - s) * t / static_cast<double>(o_.total_iters));
}
void LinearLR::fields(detail::StateVisitor& v) {
  v.value("start_factor", o_.start_factor);
  v.value("end_factor", o_.end_factor);
  v.value("total_iters", o_.total_iters);
}

// ---- ExponentialLR, PolynomialLR, InverseTimeDecay ----

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : LRScheduler(opt, "ExponentialLR"), gamma_(gamma) {
  start();
}
std::vector<double> ExponentialLR::get_lr() { return last_epoch_ == 0 ? group_lrs() : times(group_lrs(), gamma_); }
std::optional<std::vector<double>> ExponentialLR::closed_form_lr() const {
  return times(base_lrs_, std::pow(gamma_, static_cast<double>(last_epoch_)));
}
void ExponentialLR::fields(detail::StateVisitor& v) { v.value("gamma", gamma_); }

PolynomialLR::PolynomialLR(Optimizer& opt, const PolynomialLROptions& o) : LRScheduler(opt, "PolynomialLR"), o_(o) {
  validate();
  start();
}
void PolynomialLR::validate() {
  HPML_CHECK(o_.total_iters > 0, name_, ": total_iters must be a positive integer, got ", o_.total_iters);
}
std::vector<double> PolynomialLR::get_lr() {
  if (last_epoch_ == 0 || last_epoch_ > o_.total_iters) return group_lrs();
  const auto t = static_cast<double>(last_epoch_), T = static_cast<double>(o_.total_iters);
  return times(group_lrs(), std::pow((1.0 - t / T) / (1.0 - (t - 1) / T), o_.power));
}
std::optional<std::vector<double>> PolynomialLR::closed_form_lr() const {
  const auto t = static_cast<double>(std::min(o_.total_iters, last_epoch_)), T = static_cast<double>(o_.total_iters);
  return times(base_lrs_, std::pow(1.0 - t / T, o_.power));
}
void PolynomialLR::fields(detail::StateVisitor& v) {
  v.value("total_iters", o_.total_iters);
  v.value("power", o_.power);
}

InverseTimeDecay::InverseTimeDecay(Optimizer& opt, double decay) : LRScheduler(opt, "InverseTimeDecay"), decay_(decay) {
  validate();
  start();
}
void InverseTimeDecay::validate() {
  HPML_CHECK(std::isfinite(decay_) && decay_ >= 0, name_, ": decay must be finite and >= 0, got ", decay_);
}
std::vector<double> InverseTimeDecay::get_lr() { return *closed_form_lr(); }
std::optional<std::vector<double>> InverseTimeDecay::closed_form_lr() const {
  std::vector<double> out = base_lrs_;
  for (double& lr : out) lr = lr / (1.0 + decay_ * static_cast<double>(last_epoch_));
  return out;
}
void InverseTimeDecay::fields(detail::StateVisitor& v) { v.value("decay", decay_); }

// ---- CosineAnnealingLR, CosineAnnealingWarmRestarts ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, int64_t T_max, double eta_min)
    : LRScheduler(opt, "CosineAnnealingLR"), t_max_(T_max), eta_min_(eta_min) {
  validate();
  start();
}
void CosineAnnealingLR::validate() {
  HPML_CHECK(t_max_ > 0, name_, ": T_max must be a positive integer, got ", t_max_);
}
std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> out = group_lrs();
  const auto t = static_cast<double>(last_epoch_), T = static_cast<double>(t_max_);
  if (last_epoch_ == 0) return out;
  if (step_count_ == 1 && last_epoch_ > 0) return *closed_form_lr();
  if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0) {
    for (size_t g = 0; g < out.size(); ++g) out[g] = out[g] + (base_lrs_[g] - eta_min_) * (1 - std::cos(kPi / T)) / 2;
    return out;
  }
  const double ratio = (1 + std::cos(kPi * t / T)) / (1 + std::cos(kPi * (t - 1) / T));
  for (double& lr : out) lr = ratio * (lr - eta_min_) + eta_min_;
  return out;
}
std::optional<std::vector<double>> CosineAnnealingLR::closed_form_lr() const {
  std::vector<double> out = base_lrs_;
  const double c = 1 + std::cos(kPi * static_cast<double>(last_epoch_) / static_cast<double>(t_max_));
  for (double& lr : out) lr = eta_min_ + (lr - eta_min_) * c / 2;
  return out;
}
void CosineAnnealingLR::fields(detail::StateVisitor& v) {
  v.value("T_max", t_max_);
  v.value("eta_min", eta_min_);
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& opt, int64_t T_0, int64_t T_mult, double eta_min)
    : LRScheduler(opt, "CosineAnnealingWarmRestarts"), t_0_(T_0), t_i_(T_0), t_mult_(T_mult), eta_min_(eta_min) {
  validate();
  start();
}
void CosineAnnealingWarmRestarts::validate() {
  HPML_CHECK(t_0_ > 0, name_, ": Expected positive integer T_0, but got ", t_0_);
  HPML_CHECK(t_mult_ >= 1, name_, ": Expected integer T_mult >= 1, but got ", t_mult_);
  HPML_CHECK(t_i_ > 0, name_, ": T_i must be positive, got ", t_i_);
}
std::vector<double> CosineAnnealingWarmRestarts::get_lr() {
  std::vector<double> out = base_lrs_;
  const double c = 1 + std::cos(kPi * t_cur_ / static_cast<double>(t_i_));
  for (double& lr : out) lr = eta_min_ + (lr - eta_min_) * c / 2;
  return out;
}
void CosineAnnealingWarmRestarts::advance(std::optional<int64_t> epoch) {
  if (epoch)
    set_epoch(static_cast<double>(*epoch));
  else if (last_epoch_ < 0)
    set_epoch(0);
  else {
    check_groups();
    t_cur_ = t_cur_ + 1;
    if (t_cur_ >= static_cast<double>(t_i_)) {
      t_cur_ = t_cur_ - static_cast<double>(t_i_);
      t_i_ = t_i_ * t_mult_;
    }
    last_epoch_ += 1;
    apply(get_lr());
  }
}
void CosineAnnealingWarmRestarts::step_to(double epoch) { set_epoch(epoch); }
void CosineAnnealingWarmRestarts::set_epoch(double epoch) {
  check_groups();
  HPML_CHECK(epoch >= 0, name_, ": Expected non-negative epoch, but got ", epoch);
  const auto t0 = static_cast<double>(t_0_);
  if (epoch >= t0) {
    if (t_mult_ == 1) {
      t_cur_ = std::fmod(epoch, t0);
    } else {
      const auto m = static_cast<double>(t_mult_);
      const auto n = static_cast<int64_t>(std::log(epoch / t0 * (m - 1) + 1) / std::log(m));
      int64_t mn = 1;
      for (int64_t i = 0; i < n; ++i) mn *= t_mult_;
      t_cur_ = epoch - static_cast<double>(t_0_ * (mn - 1)) / (m - 1);
      t_i_ = t_0_ * mn;
    }
  } else {
    t_i_ = t_0_;
    t_cur_ = epoch;
  }
  last_epoch_ = static_cast<int64_t>(std::floor(epoch));
  apply(get_lr());
}
void CosineAnnealingWarmRestarts::fields(detail::StateVisitor& v) {
  v.value("T_0", t_0_);
  v.value("T_i", t_i_);
  v.value("T_mult", t_mult_);
  v.value("eta_min", eta_min_);
  v.value("T_cur", t_cur_);
}

// ---- CyclicLR ----

CyclicLR::CyclicLR(Optimizer& opt, const CyclicLROptions& o) : LRScheduler(opt, "CyclicLR") {
  const std::vector<double> base_lrs = o.base_lr.expand(opt, name_, "base_lr");
  max_lrs_ = o.max_lr.expand(opt, name_, "max_lr");
  check_required(base_lrs, name_, "base_lr");
  check_required(max_lrs_, name_, "max_lr");
  const double up = o.step_size_up, down = o.step_size_down.value_or(up);
  HPML_CHECK(up > 0, name_, ": step_size_up must be positive, got ", up);
  HPML_CHECK(down >= 0, name_, ": step_size_down must be >= 0, got ", down);
  total_size_ = up + down;
  step_ratio_ = up / total_size_;
  mode_ = o.mode;
  gamma_ = o.gamma;
  scale_fn_ = o.scale_fn;
  scale_mode_ = scale_fn_ ? o.scale_mode : mode_ == CyclicMode::exp_range ? ScaleMode::iterations : ScaleMode::cycle;
  cycle_momentum_ = o.cycle_momentum;
  base_momentums_ = o.base_momentum.expand(opt, name_, "base_momentum");
  max_momentums_ = o.max_momentum.expand(opt, name_, "max_momentum");
  validate();
  for (size_t g = 0; g < base_lrs.size(); ++g) opt_.set_lr(g, base_lrs[g]);
  if (cycle_momentum_)
    for (size_t g = 0; g < base_lrs.size(); ++g) {
      opt_.set_momentum(g, base_momentums_[g]);
      base_momentums_[g] = *opt_.momentum(g);
    }
  start();
  base_lrs_ = base_lrs;  // after the initial step, as in PyTorch
}
void CyclicLR::validate() {
  const size_t n = opt_.num_param_groups();
  HPML_CHECK(max_lrs_.size() == n && base_momentums_.size() == n && max_momentums_.size() == n, name_,
             ": expected one max_lr / base_momentum / max_momentum per parameter group (", n, ")");
  HPML_CHECK(total_size_ > 0 && step_ratio_ > 0 && step_ratio_ <= 1, name_, ": bad cycle (total_size ", total_size_,
             ", step_ratio ", step_ratio_, ")");
  HPML_CHECK(scale_fn_ || mode_ == CyclicMode::triangular || mode_ == CyclicMode::triangular2 ||
                 mode_ == CyclicMode::exp_range,
             name_, ": mode ", static_cast<int>(mode_), " is invalid and scale_fn is not set");
  HPML_CHECK(scale_mode_ == ScaleMode::cycle || scale_mode_ == ScaleMode::iterations, name_, ": scale_mode ",
             static_cast<int>(scale_mode_), " is invalid (cycle or iterations)");
  if (cycle_momentum_) check_momentum(opt_, name_);
}
double CyclicLR::scale(double x) const {
  if (scale_fn_) return scale_fn_(x);
  if (mode_ == CyclicMode::triangular) return 1.;
  if (mode_ == CyclicMode::triangular2) return 1 / std::pow(2., x - 1);
  return std::pow(gamma_, x);
}
std::vector<double> CyclicLR::get_lr() {
  const auto t = static_cast<double>(last_epoch_);
  const double cycle = std::floor(1 + t / total_size_);
  const double x = 1. + t / total_size_ - cycle;
  const double s = x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
  const double f = scale(scale_mode_ == ScaleMode::cycle ? cycle : t);
  std::vector<double> out(base_lrs_.size());
  for (size_t g = 0; g < out.size(); ++g) out[g] = base_lrs_[g] + (max_lrs_[g] - base_lrs_[g]) * s * f;
  if (cycle_momentum_)
    for (size_t g = 0; g < out.size(); ++g)
      opt_.set_momentum(g, max_momentums_[g] - (max_momentums_[g] - base_momentums_[g]) * s * f);
  return out;
}
void CyclicLR::fields(detail::StateVisitor& v) {
  const size_t n = opt_.num_param_groups();
  v.list("max_lrs", max_lrs_, n);
  v.list("base_momentums", base_momentums_, n);
  v.list("max_momentums", max_momentums_, n);
  v.value("total_size", total_size_);
  v.value("step_ratio", step_ratio_);
  v.value("mode", mode_);
  v.value("gamma", gamma_);
  v.value("scale_mode", scale_mode_);
  v.value("cycle_momentum", cycle_momentum_);
}

// ---- OneCycleLR ----

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleLROptions& o)
    : LRScheduler(opt, "OneCycleLR"),
      pct_start_(o.pct_start),
      anneal_(o.anneal_strategy),
      cycle_momentum_(o.cycle_momentum),
      three_phase_(o.three_phase) {
  if (o.total_steps) {
    HPML_CHECK(*o.total_steps > 0, name_, ": Expected positive integer total_steps, but got ", *o.total_steps);
    total_steps_ = *o.total_steps;
  } else {
    HPML_CHECK(o.epochs && o.steps_per_epoch, name_,
               ": You must define either total_steps OR (epochs AND steps_per_epoch)");
    HPML_CHECK(*o.epochs > 0, name_, ": Expected positive integer epochs, but got ", *o.epochs);
    HPML_CHECK(*o.steps_per_epoch > 0, name_, ": Expected positive integer steps_per_epoch, but got ",
               *o.steps_per_epoch);
    total_steps_ = *o.epochs * *o.steps_per_epoch;
  }
  max_lrs_ = o.max_lr.expand(opt, name_, "max_lr");
  check_required(max_lrs_, name_, "max_lr");
  HPML_CHECK(o.div_factor > 0 && o.final_div_factor > 0, name_,
             ": div_factor and final_div_factor must be positive, got ", o.div_factor, " and ", o.final_div_factor);
  for (double m : max_lrs_) {
    initial_lrs_.push_back(m / o.div_factor);
    min_lrs_.push_back(initial_lrs_.back() / o.final_div_factor);
  }
  max_momentums_ = o.max_momentum.expand(opt, name_, "max_momentum");
  base_momentums_ = o.base_momentum.expand(opt, name_, "base_momentum");
  validate();
  if (cycle_momentum_)
    for (size_t g = 0; g < max_momentums_.size(); ++g) opt_.set_momentum(g, max_momentums_[g]);
  start(true, &initial_lrs_);
}
void OneCycleLR::validate() {
  const size_t n = opt_.num_param_groups();
  HPML_CHECK(total_steps_ > 0, name_, ": Expected positive integer total_steps, but got ", total_steps_);
  HPML_CHECK(pct_start_ >= 0 && pct_start_ <= 1, name_, ": Expected float between 0 and 1 pct_start, but got ",
             pct_start_);
  HPML_CHECK(anneal_ == AnnealStrategy::cos || anneal_ == AnnealStrategy::linear, name_,
             ": anneal_strategy must be cos or linear, got ", static_cast<int>(anneal_));
  for (const auto* v : {&initial_lrs_, &max_lrs_, &min_lrs_, &max_momentums_, &base_momentums_})
    HPML_CHECK(v->size() == n, name_, ": expected one value per parameter group (", n, "), got ", v->size());
  if (cycle_momentum_) check_momentum(opt_, name_);
  const auto T = static_cast<double>(total_steps_);
  end_steps_ = {pct_start_ * T - 1};
  if (three_phase_) end_steps_.push_back(2 * pct_start_ * T - 2);
  end_steps_.push_back(T - 1);
}
double OneCycleLR::anneal(double start, double end, double pct) const {
  if (anneal_ == AnnealStrategy::cos) return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1);
  return (end - start) * pct + start;
}
std::vector<double> OneCycleLR::get_lr() {
  const int64_t step_num = last_epoch_;
  HPML_CHECK(step_num <= total_steps_, name_, ": Tried to step ", step_num + 1,
             " times. The specified number of total steps is ", total_steps_);
  // The lr and momentum at each phase boundary: phase i goes from point i to point i + 1.
  using Points = std::vector<const std::vector<double>*>;
  const Points lr_points = three_phase_ ? Points{&initial_lrs_, &max_lrs_, &initial_lrs_, &min_lrs_}
                                        : Points{&initial_lrs_, &max_lrs_, &min_lrs_};
  const Points m_points = three_phase_ ? Points{&max_momentums_, &base_momentums_, &max_momentums_, &max_momentums_}
                                       : Points{&max_momentums_, &base_momentums_, &max_momentums_};
  std::vector<double> out(max_lrs_.size());
  for (size_t g = 0; g < out.size(); ++g) {
    double start_step = 0;
    for (size_t i = 0; i < end_steps_.size(); ++i) {
      const double end_step = end_steps_[i];
      if (static_cast<double>(step_num) <= end_step || i + 1 == end_steps_.size()) {
        HPML_CHECK(end_step != start_step, name_, ": phase ", i, " of the schedule is empty (pct_start ", pct_start_,
                   ", total_steps ", total_steps_, "); PyTorch divides by zero here too");
        const double pct = (static_cast<double>(step_num) - start_step) / (end_step - start_step);
        out[g] = anneal((*lr_points[i])[g], (*lr_points[i + 1])[g], pct);
        if (cycle_momentum_) opt_.set_momentum(g, anneal((*m_points[i])[g], (*m_points[i + 1])[g], pct));
        break;
      }
      start_step = end_step;
    }
  }
  return out;
}
void OneCycleLR::fields(detail::StateVisitor& v) {
  const size_t n = opt_.num_param_groups();
  v.value("total_steps", total_steps_);
  v.value("pct_start", pct_start_);
  v.value("anneal_strategy", anneal_);
  v.value("cycle_momentum", cycle_momentum_);
  v.value("three_phase", three_phase_);
  v.list("initial_lrs", initial_lrs_, n);
  v.list("max_lrs", max_lrs_, n);
  v.list("min_lrs", min_lrs_, n);
  v.list("max_momentums", max_momentums_, n);
  v.list("base_momentums", base_momentums_, n);
}

}  // namespace hpml::optim
