// What a learning-rate scheduler is made of, private to optim: the walk over its saved fields
// (StateVisitor) and its schedule (Schedule: formulas, fields, checks). LRScheduler
// (src/optim/lr_scheduler.cpp) is the machinery every scheduler shares; src/optim/schedulers.cpp
// holds the schedules, each stating only what differs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hpml/optim/lr_scheduler.h"

namespace hpml::optim::detail {

// Walks a scheduler's saved fields, to write them into a StateDict or read them back (lr_scheduler.cpp).
class StateVisitor {
 public:
  virtual ~StateVisitor() = default;
  virtual void value(const std::string& key, double& v) = 0;
  virtual void value(const std::string& key, int64_t& v) = 0;
  void value(const std::string& key, bool& v);
  template <class E>
  requires std::is_enum_v<E>
  void value(const std::string& key, E& e) {
    auto i = static_cast<int64_t>(e);
    value(key, i);
    if (static_cast<E>(i) != e) e = static_cast<E>(i);  // a saver writes nothing
  }
  // value() for each (key, field) pair in turn: v.values("T_max", t_max, "eta_min", eta_min).
  template <class T, class... Rest>
  void values(const char* key, T& field, Rest&&... rest) {
    value(key, field);
    if constexpr (sizeof...(rest) > 0) values(std::forward<Rest>(rest)...);
  }
  // "key.0", "key.1", ...; on load, `size` (when given) is the length the list must have.
  void list(const std::string& key, std::vector<double>& v, std::optional<size_t> size = std::nullopt);
  void list(const std::string& key, std::vector<int64_t>& v, std::optional<size_t> size = std::nullopt);
  // A wrapped scheduler's fields, under "<key>.".
  void nested(const std::string& key, LRScheduler& s);

 protected:
  explicit StateVisitor(std::string who) : who_(std::move(who)) {}
  virtual size_t list_size(const std::string& key, size_t current) = 0;
  std::string prefix_, who_;
};

// Where a schedule is computed: the step (last_epoch) and PyTorch's step count (1 on the first
// step after construction or a restart), the base lrs, the optimizer (CyclicLR and OneCycleLR set
// its momentum) and the scheduler's name for messages.
struct ScheduleAt {
  int64_t epoch, count;
  const std::vector<double>& base_lrs;
  Optimizer& opt;
  const std::string& name;
};

// Note [One scheduler, one schedule]
// Every scheduler is an LRScheduler (steps, base lrs, the state dict's common keys, rollback on
// errors) holding one Schedule that says what differs: the lr of a group at a step, in the
// chainable form (lr) and, where there is one, the closed form (closed_lr); its saved fields in
// order (after the common ones, so the keys stay PyTorch's); and the checks of its
// hyperparameters. The schedule is a separate, fully built object handed to LRScheduler's
// constructor, so that constructor can check it and take the initial step itself: a virtual call
// on the scheduler there would reach LRScheduler's own version, never the derived one. (That is
// also why CosineAnnealingWarmRestarts, which overrides advance(), takes its initial step in its
// own constructor.) The public classes are then only constructors and accessors.
class Schedule {
 public:
  virtual ~Schedule() = default;
  // Checks the hyperparameters, after construction and after load_state_dict (raising names
  // `name`); may recompute derived values.
  virtual void validate(const Optimizer& /*opt*/, const std::string& /*name*/) {}
  // Before the base lrs are recorded: CyclicLR and OneCycleLR set the groups' lr, momentum or
  // initial lr here (after validate, so a refused schedule changes nothing).
  virtual void prepare(Optimizer& /*opt*/) {}
  // Group g's lr at the step in the chainable form (PyTorch's get_lr), from its current lr; may
  // set the group's momentum.
  virtual double lr(const ScheduleAt& at, size_t g, double lr) = 0;
  // Group g's lr in the closed form (PyTorch's _get_closed_form_lr, for step(epoch)); nullopt
  // where the schedule has none and step(epoch) uses the chainable form.
  virtual std::optional<double> closed_lr(const ScheduleAt& /*at*/, size_t /*g*/) const { return std::nullopt; }
  // The saved fields beyond the common ones.
  virtual void fields(StateVisitor& /*v*/) {}
};

}  // namespace hpml::optim::detail
