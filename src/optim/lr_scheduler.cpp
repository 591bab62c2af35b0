// The machinery every learning-rate scheduler shares: LRScheduler (steps, initial lrs, flat state
// dicts through StateVisitor) and the two schedulers that step others, SequentialLR and
// ChainedScheduler; and ReduceLROnPlateau, which shares the state dicts. The schedules with
// formulas are in schedulers.cpp (Note [One scheduler, one schedule] in schedule.h).
#include "hpml/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "hpml/core/file.h"
#include "hpml/ops/factories.h"
#include "optim/schedule.h"

namespace hpml::optim {

// Note [initial_lr]: PyTorch keeps each group's initial lr in the optimizer's param_groups, where
// the first scheduler made on the optimizer records it (group.setdefault('initial_lr', lr)) and
// every later one reads it as its base_lrs; SequentialLR resets the lrs to it. hpml keeps it in the
// same place: Optimizer::initial_lr / set_initial_lr (and the optimizer's state dict).
// Note [Checking scheduler state]
// A scheduler's state dict may come from a forged file. Every entry must be a 0-d tensor of the
// field's dtype, every key one the scheduler has (no unknown, no repeated ones), every float
// finite (only ReduceLROnPlateau's "best" may be infinite: it starts at +-inf), every integer in
// [-2^53, 2^53] (counters can then be stepped for ever without overflowing), lists exactly as
// long as the optimizer has groups where they are per group, and then the scheduler's own
// validate() checks the ranges of its options. On any refusal the old state comes back.
namespace {
constexpr int64_t kMaxCount = int64_t{1} << 53;

class Saver final : public detail::StateVisitor {
 public:
  explicit Saver(std::string who) : StateVisitor(std::move(who)) {}
  void value(const std::string& key, double& v) override { sd.emplace_back(prefix_ + key, scalar_tensor(v, kFloat64)); }
  void value(const std::string& key, int64_t& v) override { sd.emplace_back(prefix_ + key, scalar_tensor(v, kInt64)); }
  StateDict sd;

 protected:
  size_t list_size(const std::string& /*key*/, size_t current) override { return current; }
};

class Loader final : public detail::StateVisitor {
 public:
  Loader(std::string who, const StateDict& sd) : StateVisitor(std::move(who)) {
    for (const auto& [key, t] : sd) {
      HPML_CHECK(t.defined(), who_, ".load_state_dict: entry ", printable(key), " is undefined");
      HPML_CHECK(entries_.emplace(key, t).second, who_, ".load_state_dict: key ", printable(key), " appears twice");
    }
  }
  // See Note [Checking scheduler state].
  void value(const std::string& key, double& v) override {
    const double x = get(key, kFloat64).item<double>();
    HPML_CHECK(std::isfinite(x) || (key == "best" && !std::isnan(x)), who_, ".load_state_dict: ", printable(prefix_ + key),
               " is ", x, ", not a finite number");
    v = x;
  }
  void value(const std::string& key, int64_t& v) override {
    const int64_t x = get(key, kInt64).item<int64_t>();
    HPML_CHECK(x >= -kMaxCount && x <= kMaxCount, who_, ".load_state_dict: ", printable(prefix_ + key), " is ", x,
               ", outside [-2^53, 2^53]");
    v = x;
  }
  void finish() const {
    for (const auto& [key, t] : entries_)
      HPML_CHECK(used_.count(key), who_, ".load_state_dict: unexpected key ", printable(key));
  }

 protected:
  size_t list_size(const std::string& key, size_t /*current*/) override {
    size_t n = 0;
    while (entries_.count(prefix_ + key + "." + std::to_string(n))) ++n;
    return n;
  }

 private:
  const Tensor& get(const std::string& key, DType dtype) {
    const std::string full = prefix_ + key;
    auto it = entries_.find(full);
    HPML_CHECK(it != entries_.end(), who_, ".load_state_dict: the state dict has no ", printable(full));
    const Tensor& t = it->second;
    HPML_CHECK(t.dim() == 0 && t.dtype() == dtype, who_, ".load_state_dict: ", printable(full), " must be a 0-d ", dtype,
               " tensor, got ", t.dtype(), " of shape ", t.sizes());
    used_.insert(full);
    return t;
  }
  std::map<std::string, Tensor> entries_;
  std::set<std::string> used_;
};

// Loads with `load`, then checks with `check`; on any error restores `backup` and rethrows.
template <class Fields, class Check>
void load_or_restore(const std::string& who, const StateDict& sd, const StateDict& backup, Fields&& fields,
                     Check&& check) {
  try {
    Loader l(who, sd);
    fields(l);
    l.finish();
    check();
  } catch (...) {
    Loader l(who, backup);
    fields(l);
    throw;
  }
}
}  // namespace

namespace detail {
void StateVisitor::value(const std::string& key, bool& v) {
  int64_t i = v ? 1 : 0;
  value(key, i);
  HPML_CHECK(i == 0 || i == 1, who_, ".load_state_dict: ", printable(prefix_ + key), " must be 0 or 1, got ", i);
  if (v != (i != 0)) v = i != 0;  // a saver writes nothing
}

template <class T>
static void visit_list(StateVisitor& v, const std::string& key, std::vector<T>& xs, size_t n,
                       std::optional<size_t> size, const std::string& who, const std::string& full) {
  HPML_CHECK(!size || n == *size, who, ".load_state_dict: ", printable(full), " has ", n, " entries, expected ", *size);
  if (xs.size() != n) xs.resize(n);
  for (size_t i = 0; i < n; ++i) v.value(key + "." + std::to_string(i), xs[i]);
}
void StateVisitor::list(const std::string& key, std::vector<double>& v, std::optional<size_t> size) {
  visit_list(*this, key, v, list_size(key, v.size()), size, who_, prefix_ + key);
}
void StateVisitor::list(const std::string& key, std::vector<int64_t>& v, std::optional<size_t> size) {
  visit_list(*this, key, v, list_size(key, v.size()), size, who_, prefix_ + key);
}
void StateVisitor::nested(const std::string& key, LRScheduler& s) {
  const std::string outer = prefix_;
  prefix_ += key + ".";
  s.all_fields(*this);
  if (dynamic_cast<Loader*>(this)) s.validate();
  prefix_ = outer;
}
}  // namespace detail

std::vector<double> PerGroup::expand(const Optimizer& opt, const std::string& scheduler, const char* what) const {
  const size_t n = opt.num_param_groups();
  if (scalar) return std::vector<double>(n, values.at(0));
  HPML_CHECK(values.size() == n, scheduler, ": expected ", n, " values for ", what, " (one per parameter group), got ",
             values.size());
  return values;
}

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& opt, std::string name, std::unique_ptr<detail::Schedule> schedule, bool initial)
    : opt_(opt), name_(std::move(name)), schedule_(std::move(schedule)) {
  HPML_ASSERT(schedule_);
  validate();
  schedule_->prepare(opt_);
  const size_t n = opt_.num_param_groups();
  base_lrs_.resize(n);
  for (size_t g = 0; g < n; ++g) {
    if (!opt_.initial_lr(g)) opt_.set_initial_lr(g, opt_.lr(g));  // setdefault
    base_lrs_[g] = *opt_.initial_lr(g);
  }
  last_lr_ = group_lrs();
  if (initial) initial_step();
}

LRScheduler::~LRScheduler() = default;

void LRScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void LRScheduler::step() { advance(std::nullopt); }
void LRScheduler::step(int64_t epoch) { advance(epoch); }

void LRScheduler::advance(std::optional<int64_t> epoch) {
  check_groups();
  const int64_t saved_epoch = last_epoch_, saved_count = step_count_;
  try {
    ++step_count_;
    last_epoch_ = epoch ? *epoch : last_epoch_ + 1;
    apply(schedule_lrs(epoch.has_value()));
  } catch (...) {
    last_epoch_ = saved_epoch;
    step_count_ = saved_count;
    throw;
  }
}

std::vector<double> LRScheduler::schedule_lrs(bool closed) {
  const detail::ScheduleAt at{last_epoch_, step_count_, base_lrs_, opt_, name_};
  std::vector<double> out = group_lrs();
  for (size_t g = 0; g < out.size(); ++g) {
    const std::optional<double> c = closed ? schedule_->closed_lr(at, g) : std::nullopt;
    out[g] = c ? *c : schedule_->lr(at, g, out[g]);
  }
  return out;
}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> out(opt_.num_param_groups());
  for (size_t g = 0; g < out.size(); ++g) out[g] = opt_.lr(g);
  return out;
}

void LRScheduler::apply(const std::vector<double>& lrs) {
  HPML_ASSERT(lrs.size() == opt_.num_param_groups());
  for (size_t g = 0; g < lrs.size(); ++g) opt_.set_lr(g, lrs[g]);
  last_lr_ = group_lrs();
}

void LRScheduler::check_groups() const {
  HPML_CHECK(opt_.num_param_groups() == base_lrs_.size(), name_, ": the optimizer has ", opt_.num_param_groups(),
             " parameter groups, the scheduler was made for ", base_lrs_.size());
}

void LRScheduler::validate() { schedule_->validate(opt_, name_); }

void LRScheduler::all_fields(detail::StateVisitor& v) {
  const size_t n = opt_.num_param_groups();
  v.values("last_epoch", last_epoch_, "step_count", step_count_);
  v.list("base_lrs", base_lrs_, n);
  v.list("last_lr", last_lr_, n);
  schedule_->fields(v);
}

StateDict LRScheduler::state_dict() const {
  Saver s(name_);
  const_cast<LRScheduler*>(this)->all_fields(s);  // the saver only reads
  return std::move(s.sd);
}

void LRScheduler::load_state_dict(const StateDict& sd) {
  load_or_restore(
      name_, sd, state_dict(), [this](detail::StateVisitor& v) { all_fields(v); }, [this] { validate(); });
}

// ---- SequentialLR, ChainedScheduler ----

namespace {
using Schedulers = std::vector<std::shared_ptr<LRScheduler>>;

// The schedule of a scheduler that steps others (its advance()): they and, for SequentialLR, the
// milestones, saved under "milestones.<i>" and "schedulers.<i>.*".
struct Composite final : detail::Schedule {
  Composite(Schedulers s, std::vector<int64_t> m, bool seq)
      : schedulers(std::move(s)), milestones(std::move(m)), sequential(seq) {}
  double lr(const detail::ScheduleAt& /*at*/, size_t /*g*/, double lr) override { return lr; }  // advance() steps
  void validate(const Optimizer& /*opt*/, const std::string& name) override {
    if (!sequential) return;
    HPML_CHECK(milestones.size() + 1 == schedulers.size(), name,
               ": expects one more scheduler than milestones, but got ", schedulers.size(), " schedulers and ",
               milestones.size(), " milestones");
    for (size_t i = 0; i < milestones.size(); ++i)
      HPML_CHECK(milestones[i] > (i ? milestones[i - 1] : 0), name,
                 ": milestones must be positive and increasing, got ", IntArrayRef(milestones));
  }
  void fields(detail::StateVisitor& v) override {
    if (sequential) v.list("milestones", milestones);
    for (size_t i = 0; i < schedulers.size(); ++i) v.nested("schedulers." + std::to_string(i), *schedulers[i]);
  }
  Schedulers schedulers;
  std::vector<int64_t> milestones;
  bool sequential;
};

std::unique_ptr<detail::Schedule> sequential(const Optimizer& opt, Schedulers s, std::vector<int64_t> milestones) {
  for (size_t i = 0; i < s.size(); ++i) {
    HPML_CHECK(s[i], "SequentialLR: scheduler ", i, " is null");
    HPML_CHECK(&s[i]->optimizer() == &opt,
               "SequentialLR: expects all schedulers to belong to the same optimizer, but got scheduler ", i, " (",
               s[i]->name(), ") on a different optimizer than the one passed in");
  }
  return std::make_unique<Composite>(std::move(s), std::move(milestones), true);
}

Optimizer& first_optimizer(const Schedulers& s) {
  HPML_CHECK(!s.empty() && s[0], "ChainedScheduler: needs at least one scheduler (got ",
             s.empty() ? "none" : "a null one", ")");
  return s[0]->optimizer();
}

std::unique_ptr<detail::Schedule> chained(const Schedulers& s) {
  Optimizer& opt = first_optimizer(s);
  for (size_t i = 1; i < s.size(); ++i) {
    HPML_CHECK(s[i], "ChainedScheduler: scheduler ", i, " is null");
    HPML_CHECK(&s[i]->optimizer() == &opt, "ChainedScheduler: expects all schedulers to belong to the same ",
               "optimizer, but got schedulers at index 0 and ", i, " to be different");
  }
  return std::make_unique<Composite>(s, std::vector<int64_t>{}, false);
}
}  // namespace

SequentialLR::SequentialLR(Optimizer& opt, Schedulers schedulers, std::vector<int64_t> milestones)
    : LRScheduler(opt, "SequentialLR", sequential(opt, std::move(schedulers), std::move(milestones)), false) {
  const Schedulers& s = schedule_as<Composite>().schedulers;
  last_epoch_ = 0;
  for (size_t g = 0; g < base_lrs_.size(); ++g) opt_.set_lr(g, base_lrs_[g]);  // back to the initial lrs
  for (const auto& child : s) child->last_epoch_ -= 1;                         // undo their initial steps
  s[0]->initial_step();
  last_lr_ = s[0]->get_last_lr();
}

void SequentialLR::advance(std::optional<int64_t> epoch) {
  HPML_CHECK(!epoch, name_, ": step(epoch) is not supported (PyTorch's SequentialLR.step takes no epoch)");
  const Composite& c = schedule_as<Composite>();
  ++last_epoch_;
  try {
    const auto idx = static_cast<size_t>(std::upper_bound(c.milestones.begin(), c.milestones.end(), last_epoch_) -
                                         c.milestones.begin());
    LRScheduler& s = *c.schedulers[idx];
    if (idx > 0 && c.milestones[idx - 1] == last_epoch_)
      s.step(0);
    else
      s.step();
    last_lr_ = s.get_last_lr();
  } catch (...) {
    --last_epoch_;
    throw;
  }
}

ChainedScheduler::ChainedScheduler(Schedulers schedulers)
    : LRScheduler(first_optimizer(schedulers), "ChainedScheduler", chained(schedulers), false) {
  last_epoch_ = 0;
}

void ChainedScheduler::advance(std::optional<int64_t> epoch) {
  HPML_CHECK(!epoch, name_, ": step(epoch) is not supported (PyTorch's ChainedScheduler.step takes no epoch)");
  for (auto& s : schedule_as<Composite>().schedulers) s->step();
  ++last_epoch_;
  last_lr_ = group_lrs();
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, const ReduceLROnPlateauOptions& o)
    : opt_(opt), o_(o), min_lrs_(o.min_lr.expand(opt, "ReduceLROnPlateau", "min_lr")) {
  validate();
  best_ =
      o_.mode == PlateauMode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  last_lr_.resize(opt_.num_param_groups());
  for (size_t g = 0; g < last_lr_.size(); ++g) last_lr_[g] = opt_.lr(g);
}

void ReduceLROnPlateau::validate() const {
  HPML_CHECK(o_.factor < 1.0, "ReduceLROnPlateau: factor should be < 1.0, got ", o_.factor);
  HPML_CHECK(o_.mode == PlateauMode::min || o_.mode == PlateauMode::max, "ReduceLROnPlateau: mode ",
             static_cast<int>(o_.mode), " is unknown (min or max)");
  HPML_CHECK(o_.threshold_mode == ThresholdMode::rel || o_.threshold_mode == ThresholdMode::abs,
             "ReduceLROnPlateau: threshold mode ", static_cast<int>(o_.threshold_mode), " is unknown (rel or abs)");
  HPML_CHECK(min_lrs_.size() == opt_.num_param_groups(), "ReduceLROnPlateau: the optimizer has ",
             opt_.num_param_groups(), " parameter groups, the scheduler was made for ", min_lrs_.size());
}

bool ReduceLROnPlateau::is_better(double a, double best) const {
  const bool rel = o_.threshold_mode == ThresholdMode::rel;
  if (o_.mode == PlateauMode::min) return rel ? a < best * (1. - o_.threshold) : a < best - o_.threshold;
  return rel ? a > best * (o_.threshold + 1.) : a > best + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
  validate();
  last_epoch_ += 1;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (in_cooldown()) {
    cooldown_counter_ -= 1;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > o_.patience) {
    for (size_t g = 0; g < min_lrs_.size(); ++g) {
      const double old_lr = opt_.lr(g), new_lr = std::max(old_lr * o_.factor, min_lrs_[g]);
      if (old_lr - new_lr > o_.eps) opt_.set_lr(g, new_lr);
    }
    cooldown_counter_ = o_.cooldown;
    num_bad_epochs_ = 0;
  }
  for (size_t g = 0; g < last_lr_.size(); ++g) last_lr_[g] = opt_.lr(g);
}

void ReduceLROnPlateau::fields(detail::StateVisitor& v) {
  const size_t n = opt_.num_param_groups();
  v.value("mode", o_.mode);
  v.value("factor", o_.factor);
  v.value("patience", o_.patience);
  v.value("threshold", o_.threshold);
  v.value("threshold_mode", o_.threshold_mode);
  v.value("cooldown", o_.cooldown);
  v.value("cooldown_counter", cooldown_counter_);
  v.value("eps", o_.eps);
  v.value("last_epoch", last_epoch_);
  v.value("best", best_);
  v.value("num_bad_epochs", num_bad_epochs_);
  v.list("min_lrs", min_lrs_, n);
  v.list("last_lr", last_lr_, n);
}

StateDict ReduceLROnPlateau::state_dict() const {
  Saver s("ReduceLROnPlateau");
  const_cast<ReduceLROnPlateau*>(this)->fields(s);  // the saver only reads
  return std::move(s.sd);
}

void ReduceLROnPlateau::load_state_dict(const StateDict& sd) {
  load_or_restore(
      "ReduceLROnPlateau", sd, state_dict(), [this](detail::StateVisitor& v) { fields(v); }, [this] { validate(); });
}

}  // namespace hpml::optim
