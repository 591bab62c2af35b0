// The training loops' profiler: a schedule over their steps, and the files it leaves in the run
// folder (tools/hpml/profile_run.h; the library is include/hpml/profiler/profiler.h).
#include "profile_run.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "plot.h"

namespace hpml::cli {

namespace {
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string format(const char* fmt, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

// The step number N of "ProfilerStep#N".
int64_t step_number(const std::string& name) { return std::stoll(name.substr(name.find('#') + 1)); }
}  // namespace

ProfileSteps default_profile_steps(int64_t steps_per_epoch, int64_t wait, int64_t warmup, int64_t active) {
  ProfileSteps s;
  const int64_t n = std::max<int64_t>(steps_per_epoch, 1);
  // Defaults that fit the first epoch: 10 profiled steps after 5 skipped and 2 of warm-up (the
  // allocator's cache and the CPU's caches fill in the first steps), fewer in a short epoch.
  s.active = active >= 1 ? active : std::clamp<int64_t>(n / 2, 1, 10);
  s.warmup = warmup >= 0 ? warmup : std::clamp<int64_t>((n - s.active) / 2, 0, 2);
  s.wait = wait >= 0 ? wait : std::clamp<int64_t>(n - s.active - s.warmup, 0, 5);
  return s;
}

profiler::StepBreakdown training_breakdown(const std::vector<record::Event>& events) {
  std::vector<profiler::Phase> phases{{"data wait", {"DataLoader.next"}},
                                      {"forward", {"forward"}},
                                      {"backward", {"backward"}},
                                      {"optimizer", {"optimizer"}}};
  // --cuda-graph: the replayed steps are one phase of their own (and the eager ones the others).
  if (std::any_of(events.begin(), events.end(), [](const record::Event& e) { return e.name == "graph replay"; }))
    phases.push_back({"graph replay", {"graph replay"}});
  return profiler::step_breakdown(events, phases);
}

StepProfiler::StepProfiler(std::string out_dir, ProfileSteps steps, std::string command)
    : out_(std::move(out_dir)), steps_(steps), command_(std::move(command)),
      prof_({.record_shapes = true,
             .profile_memory = true,
             .schedule = profiler::Schedule{.wait = steps.wait, .warmup = steps.warmup, .active = steps.active,
                                            .repeat = 1},
             .on_trace_ready = [this](profiler::Profile&) { saved_ = true; }}) {
  step_calls_.push_back(Clock::now());
  prof_.start();
}

void StepProfiler::step() {
  step_calls_.push_back(Clock::now());
  prof_.step();
}

std::string StepProfiler::finish() {
  step_calls_.push_back(Clock::now());
  if (prof_.recording()) prof_.stop();
  int64_t first = -1, last = -1;
  for (const record::Event& e : prof_.events()) {
    if (e.kind != record::Kind::step) continue;
    const int64_t n = step_number(e.name);
    first = first < 0 ? n : std::min(first, n);
    last = std::max(last, n);
  }
  if (!saved_ || first < 0)
    return "profile: the run ended after " + std::to_string(step_calls_.size() - 2) + " steps, before the steps to "
           "profile (after --profile-wait " + std::to_string(steps_.wait) + " and --profile-warmup " +
           std::to_string(steps_.warmup) + "); nothing was written\n";
  // The training loop's own clock around the same steps: step k began at the k-th step() call.
  const size_t end = std::min(static_cast<size_t>(last + 1), step_calls_.size() - 1);
  const double measured = ms_between(step_calls_[static_cast<size_t>(first)], step_calls_[end]);
  const profiler::StepBreakdown b = training_breakdown(prof_.events());
  prof_.export_chrome_trace(out_ + "/trace.json");
  const std::string text = report(b, measured);
  const profiler::EventAverages averages = prof_.key_averages();
  const std::string table = averages.table("self_cpu_time_total", 25, true);
  write_file_atomic(out_ + "/profile.txt", text + "\ntop ops by self time\n" + table, command_ + " --profile");

  plot::Bars phases{.title = "where one step's time goes (mean of " + std::to_string(b.steps) + " steps)",
                    .xlabel = "milliseconds per step", .value_format = "%.2f ms"};
  for (const auto& [label, ns] : b.parts) {
    phases.labels.push_back(label);
    phases.values.push_back(static_cast<double>(ns) / 1e6 / static_cast<double>(b.steps));
  }
  plot::Bars ops{.title = "top ops by self time (per step)", .xlabel = "milliseconds per step",
                 .value_format = "%.2f ms"};
  for (const profiler::FunctionStats& s : averages.sorted("self_cpu_time_total")) {
    if (ops.labels.size() == 12) break;
    ops.labels.push_back(s.name);
    ops.values.push_back(static_cast<double>(s.self_ns) / 1e6 / static_cast<double>(b.steps));
  }
  const std::string title = command_ + " --profile: steps " + std::to_string(first) + " to " + std::to_string(last);
  plot::save_bars({phases, ops}, title, out_ + "/profile");
  return text + "profile: wrote " + out_ + "/trace.json (open it in https://ui.perfetto.dev), " + out_ +
         "/profile.txt and " + out_ + "/profile.png\n";
}

// Note [What profile.txt says]
// The breakdown is the mean step: each phase's milliseconds and share of the step, from the
// ProfilerStep events; beside it, the same steps timed by the training loop's own clock, so a
// reader sees that the events account for the whole step (the tests hold them within 5%).
std::string StepProfiler::report(const profiler::StepBreakdown& b, double measured_ms) const {
  const double n = static_cast<double>(b.steps), step_ms = static_cast<double>(b.total_ns) / 1e6 / n;
  std::string s = "profile: " + std::to_string(b.steps) + " steps after " + std::to_string(steps_.wait) +
                  " skipped and " + std::to_string(steps_.warmup) + " of warm-up; " +
                  format("%.3f ms per step (the training loop measured %.3f ms)\n", step_ms, measured_ms / n);
  for (const auto& [label, ns] : b.parts) {
    const double part = static_cast<double>(ns) / 1e6 / n;
    char line[96];
    std::snprintf(line, sizeof line, "  %-12s %9.3f ms %6.1f%%\n", label.c_str(), part,
                  b.total_ns > 0 ? 100.0 * static_cast<double>(ns) / static_cast<double>(b.total_ns) : 0.0);
    s += line;
  }
  return s;
}

}  // namespace hpml::cli
