// `hpml train --profile` and `hpml experiment ... --profile`: profiles a few training steps after
// a warm-up and writes trace.json, profile.txt and profile.png into the run's folder.
//
//   StepProfiler prof(out, {.wait = 5, .warmup = 2, .active = 10});
//   for each step: { RECORD_FUNCTION("forward"); ... } { RECORD_FUNCTION("backward"); ... }
//                  { RECORD_FUNCTION("optimizer"); ... }  prof.step();
//   std::fputs(prof.finish().c_str(), stdout);
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "hpml/profiler/profiler.h"

namespace hpml::cli {

struct ProfileSteps {
  int64_t wait = 5, warmup = 2, active = 10;
};

// The steps to profile for an epoch of `steps_per_epoch` steps, where the user gave -1 (the
// default) for some: inside the first epoch when it is long enough, so that no epoch's end
// (evaluation, checkpoints) falls into a profiled step.
ProfileSteps default_profile_steps(int64_t steps_per_epoch, int64_t wait, int64_t warmup, int64_t active);

// What profile.txt says about one step, from the profile's events (Note [The step breakdown] in
// src/profiler/averages.cpp): the phases "data wait" (DataLoader.next), "forward", "backward" and
// "optimizer" (the training loop's RECORD_FUNCTION scopes), "graph replay" when --cuda-graph
// replayed steps, and "other".
profiler::StepBreakdown training_breakdown(const std::vector<record::Event>& events);

class StepProfiler {
 public:
  // `command` names the run in the picture's title ("hpml train", "hpml experiment lr-decay").
  StepProfiler(std::string out_dir, ProfileSteps steps, std::string command);
  // After each optimizer step.
  void step();
  // Stops, writes the three files, and returns the breakdown in a few lines for the terminal
  // (or why nothing was profiled: the run had fewer steps than wait + warmup + 1).
  std::string finish();

 private:
  std::string report(const profiler::StepBreakdown& b, double measured_ms) const;

  std::string out_;
  ProfileSteps steps_;
  std::string command_;
  profiler::Profile prof_;
  std::vector<std::chrono::steady_clock::time_point> step_calls_;  // [k]: when step() was called the k-th time
  bool saved_ = false;
};

}  // namespace hpml::cli
