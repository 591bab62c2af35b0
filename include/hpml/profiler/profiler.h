// hpml's torch.profiler: profile a stretch of a program, then read where its time and memory
// went as a table, a Chrome trace, folded stacks or a memory timeline.
//
//   profiler::Profile prof({.record_shapes = true,
//                           .schedule = profiler::Schedule{.wait = 1, .warmup = 1, .active = 3}});
//   prof.start();
//   for (auto& batch : loader) { train_step(batch); prof.step(); }
//   prof.stop();
//   std::cout << prof.key_averages().table("self_cpu_time_total", 10);
//   prof.export_chrome_trace("trace.json");  // open in https://ui.perfetto.dev or chrome://tracing
//
// The events come from hpml/core/record.h: every op, every backward node, the DataLoader (its
// worker threads and processes too), the optimizers and the checkpoint writer, and user scopes
// (RECORD_FUNCTION, profiler::record_function). docs/profiling.md explains how to read them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hpml/core/record.h"

namespace hpml::profiler {

// torch.profiler.schedule: skip `skip_first` steps, then cycles of `wait` steps unrecorded,
// `warmup` steps recorded and thrown away, and `active` steps kept; `repeat` cycles (0: no end).
struct Schedule {
  int64_t wait = 0, warmup = 0, active = 1, repeat = 0, skip_first = 0;
};
enum class Action { none, warmup, record, record_and_save };
// What the schedule does at step `step` (counted from 0 at start()).
Action schedule_action(const Schedule& s, int64_t step);

class Profile;

struct ProfileOptions {
  bool record_shapes = false;   // each op's input shapes and dtypes (key_averages(true) groups by them)
  bool profile_memory = false;  // bytes allocated and freed per event, and the memory timeline
  std::optional<Schedule> schedule = std::nullopt;  // none: record from start() to stop()
  // Called when a recording is complete: at the end of each schedule cycle's active steps, or at
  // stop() without a schedule. The profile's results are that recording's.
  std::function<void(Profile&)> on_trace_ready = {};
};

// One row of key_averages(): every event with the same name (and input shapes, when grouped).
struct FunctionStats {
  std::string name;
  std::string input_shapes;  // "[[64, 1, 28, 28], [32, 1, 3, 3]]" when grouped by input shape
  record::Kind kind = record::Kind::op;
  int64_t count = 0;
  int64_t self_ns = 0, total_ns = 0;
  int64_t self_bytes = 0, total_bytes = 0;  // allocated minus freed: the event alone, and with its children
  int64_t self_device_bytes = 0, total_device_bytes = 0;  // the same in device memory (sim, cuda)
  // Device time (Note [Device time] in src/profiler/averages.cpp): of the kernels these events
  // launched themselves, and with those their children launched; a kernel row's is its own time
  // on the device (and its CPU times are 0).
  int64_t self_device_ns = 0, device_total_ns = 0;
};

class EventAverages : public std::vector<FunctionStats> {
 public:
  // A table like PyTorch's: sort_by is self_cpu_time_total, cpu_time_total, count,
  // self_cpu_memory_usage, cpu_memory_usage, self_device_time_total or device_time_total
  // (PyTorch's self_cuda_time_total and cuda_time_total name those two too); memory columns
  // appear when `with_memory`, device columns when the recording has kernel events.
  std::string table(const std::string& sort_by = "self_cpu_time_total", int row_limit = 100,
                    bool with_memory = false) const;
  // The rows sorted as table() sorts them.
  EventAverages sorted(const std::string& sort_by) const;
};

struct MemoryPoint {
  int64_t t_ns = 0;     // steady clock
  int64_t bytes = 0;    // held by live CPU tensors after this change
};

// Where each step's time goes: the ProfilerStep#N events split into named phases (the outermost
// event inside the step whose name a phase lists) and "other", the rest of the step.
struct Phase {
  std::string label;
  std::vector<std::string> names;
};
struct StepBreakdown {
  int64_t steps = 0;
  int64_t total_ns = 0;  // all steps together
  std::vector<std::pair<std::string, int64_t>> parts;  // per phase, then "other", summed over steps
};
StepBreakdown step_breakdown(const std::vector<record::Event>& events, const std::vector<Phase>& phases);

class Profile {
 public:
  explicit Profile(ProfileOptions options = {});
  ~Profile();  // stops a running profile, without on_trace_ready
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  void start();
  void stop();
  // Marks the end of a training step: the schedule moves on, and the next ProfilerStep#N begins.
  void step();
  int64_t step_num() const { return step_; }
  bool recording() const { return running_; }

  // The results of the last complete recording.
  const record::Recording& result() const { return result_; }
  const std::vector<record::Event>& events() const { return result_.events; }
  EventAverages key_averages(bool group_by_input_shape = false) const;
  // Chrome's trace event JSON: one timeline with a row per process and thread, flow arrows from
  // each op to its backward, and the memory counter when profiling memory.
  void export_chrome_trace(const std::string& path) const;
  // One "name;name;name microseconds" line per distinct stack of events (self time), for flame
  // graph tools (flamegraph.pl, speedscope). metric: self_cpu_time_total.
  void export_stacks(const std::string& path, const std::string& metric = "self_cpu_time_total") const;
  // The bytes held by live tensors of `device` after each allocation and free there (needs
  // profile_memory): for the cpu from what was held at the start; for a device (sim:0, cuda:0)
  // from 0, the bytes allocated there since the start minus those freed.
  std::vector<MemoryPoint> memory_timeline(Device device = kCPU) const;
  // memory_timeline(device) as CSV: time_ms (from the recording's start), allocated_bytes.
  void export_memory_timeline(const std::string& path, Device device = kCPU) const;
  // The devices whose memory the recording saw change, the cpu first when it did.
  std::vector<Device> memory_devices() const;

 private:
  void begin_recording();
  void end_recording(bool save);
  void open_step_event();

  ProfileOptions options_;
  int64_t step_ = 0;
  bool running_ = false;     // between start() and stop()
  bool recording_ = false;   // a record::start() is in effect
  bool steps_seen_ = false;  // step() was called: ProfilerStep#N events from now on
  Action action_ = Action::none;
  std::optional<record::Scope> step_event_;
  record::Recording result_;
};

// A profile for the rest of a scope: { auto on = profiler::ProfileScope(prof); ... }
class ProfileScope {
 public:
  explicit ProfileScope(Profile& p) : p_(p) { p_.start(); }
  ~ProfileScope();  // stops; an exception from on_trace_ready is reported on stderr
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  Profile& p_;
};

// torch.profiler.record_function: a named event around a block of user code.
//   { profiler::record_function rf("attention"); ... }
class record_function {
 public:
  explicit record_function(std::string name) : scope_(record::Kind::user, std::move(name)) {}

 private:
  record::Scope scope_;
};

// The index of each event's parent on its thread (-1 for a top-level event).
std::vector<int64_t> parents(const std::vector<record::Event>& events);
// Self time of each event (its duration minus its children's on the same thread), by index;
// `parent` is parents(events).
std::vector<int64_t> self_times(const std::vector<record::Event>& events, const std::vector<int64_t>& parent);

}  // namespace hpml::profiler
