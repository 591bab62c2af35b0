// profiler::Profile: starting and stopping the recording, and the schedule that decides at each
// step() whether to record (include/hpml/profiler/profiler.h).
#include <cstdio>

#include "hpml/core/error.h"
#include "hpml/profiler/profiler.h"

namespace hpml::profiler {

Action schedule_action(const Schedule& s, int64_t step) {
  if (step < s.skip_first) return Action::none;
  step -= s.skip_first;
  const int64_t cycle = s.wait + s.warmup + s.active;
  if (s.repeat > 0 && step / cycle >= s.repeat) return Action::none;
  const int64_t at = step % cycle;
  if (at < s.wait) return Action::none;
  if (at < s.wait + s.warmup) return Action::warmup;
  return at == cycle - 1 ? Action::record_and_save : Action::record;
}

Profile::Profile(ProfileOptions options) : options_(std::move(options)) {
  if (const auto& s = options_.schedule) {
    HPML_CHECK(s->wait >= 0 && s->warmup >= 0 && s->active >= 1 && s->repeat >= 0 && s->skip_first >= 0,
               "profiler::Schedule: needs wait >= 0, warmup >= 0, active >= 1, repeat >= 0 and skip_first >= 0, got "
               "wait=", s->wait, " warmup=", s->warmup, " active=", s->active, " repeat=", s->repeat,
               " skip_first=", s->skip_first);
  }
}

Profile::~Profile() {
  step_event_.reset();
  if (recording_) record::stop();
}

void Profile::begin_recording() {
  record::start({.shapes = options_.record_shapes, .memory = options_.profile_memory});
  recording_ = true;
}

void Profile::end_recording(bool save) {
  step_event_.reset();
  record::Recording r = record::stop();
  recording_ = false;
  if (!save) return;
  result_ = std::move(r);
  if (options_.on_trace_ready) options_.on_trace_ready(*this);
}

void Profile::open_step_event() {
  if (recording_ && steps_seen_) step_event_.emplace(record::Kind::step, "ProfilerStep#" + std::to_string(step_));
}

void Profile::start() {
  HPML_CHECK(!running_, "profiler: start() on a profile that is already running");
  step_ = 0;
  steps_seen_ = false;
  action_ = options_.schedule ? schedule_action(*options_.schedule, 0) : Action::record;
  if (action_ != Action::none) begin_recording();
  running_ = true;
}

// Note [Schedule transitions]
// As torch.profiler: none -> warmup or record starts recording; warmup -> record drops what the
// warm-up collected (record::clear); the end of a cycle's last active step stops, hands the
// recording to on_trace_ready, and starts again at once if the next step records. Each step's
// events sit inside a ProfilerStep#N event that step() closes and opens.
void Profile::step() {
  HPML_CHECK(running_, "profiler: step() on a profile that is not running (call start() first)");
  step_event_.reset();
  steps_seen_ = true;
  ++step_;
  if (!options_.schedule) {
    open_step_event();
    return;
  }
  const Action prev = action_;
  action_ = schedule_action(*options_.schedule, step_);
  if (prev == Action::record_and_save) end_recording(true);
  if (action_ == Action::none) {
    if (recording_) end_recording(false);
    return;
  }
  if (!recording_) begin_recording();
  else if (prev == Action::warmup && action_ != Action::warmup) record::clear();
  open_step_event();
}

void Profile::stop() {
  HPML_CHECK(running_, "profiler: stop() on a profile that is not running");
  running_ = false;
  // A schedule's cycle cut short still hands over what its active steps recorded; warm-up only
  // is thrown away.
  if (recording_) end_recording(action_ == Action::record || action_ == Action::record_and_save);
}

ProfileScope::~ProfileScope() {
  try {
    p_.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpml profiler: stopping the profile at the end of its scope failed: %s\n", e.what());
  }
}

}  // namespace hpml::profiler
