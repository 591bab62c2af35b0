// Recording what the framework does, for the profiler: scopes that become timed events, the
// bytes allocated inside them, and events measured elsewhere (a worker process, a device).
//
// Every op opens a Scope as its first line; so do the autograd engine (one per backward node),
// the DataLoader, the optimizers and the checkpoint writer, and user code through RECORD_FUNCTION:
//
//   Tensor relu(const Tensor& x) {
//     HPML_RECORD_OP("relu", x);
//     ...
//   }
//   { RECORD_FUNCTION("my block"); ... }
//
// This layer only collects. The profiler (include/hpml/profiler/) starts and stops a recording
// and turns its events into tables, traces and breakdowns. See Note [Recording costs one branch].
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "hpml/core/array_ref.h"
#include "hpml/core/device.h"
#include "hpml/core/dtype.h"

namespace hpml {
class Tensor;
}

namespace hpml::record {

// What made an event. The profiler's tables group by name; the kind says where the name comes from.
enum class Kind : uint8_t {
  op,         // an op of the ops layer ("add", "conv2d")
  backward,   // the backward function of an autograd node ("AddBackward")
  user,       // RECORD_FUNCTION / profiler::record_function, and the training loop's phases
  data,       // the DataLoader: waiting for a batch, fetching, collating
  optimizer,  // Optimizer::step, zero_grad
  io,         // checkpoint and tensor-file writes
  step,       // ProfilerStep#N, opened by the profiler's step()
  comm,       // communication (a process group's thread)
  kernel,     // device work timed on the device (CUDA events)
};
const char* kind_name(Kind k);

struct InputMeta {
  DType dtype = DType::f32;
  DimVector sizes;
};

// One timed event. Times are steady-clock nanoseconds (CLOCK_MONOTONIC: one clock for every
// process on the machine, so a worker process's events line up with the main process's).
struct Event {
  std::string name;
  Kind kind = Kind::user;
  Device device = kCPU;
  int64_t start_ns = 0, end_ns = 0;
  int32_t pid = 0, tid = 0;
  int32_t depth = 0;             // how many events of this thread were open when it began
  int64_t sequence_nr = -1;      // the autograd node an op recorded, or a backward event ran
  int64_t bytes_allocated = 0;   // by this event itself (not its children), rounded as allocated
  int64_t bytes_freed = 0;       // (host memory: the cpu's allocator and pinned memory)
  int64_t device_bytes_allocated = 0;  // the same on a device (sim, cuda)
  int64_t device_bytes_freed = 0;
  std::vector<InputMeta> inputs;  // when recording shapes
  // Kernel events (Kind::kernel, timed on the device): the event that launched the kernel, the
  // innermost one open on the launching thread then, by its thread and start (< 0: none was open,
  // and it is minus the launch time). An op's device time is that of the kernels it launched.
  int32_t launch_tid = 0;
  int64_t launch_ns = 0;
};

// Where a kernel is launched from, for its event: the calling thread and the start of its
// innermost open event (minus the time now when none is open; 0 when nothing is recording).
struct LaunchSite {
  int32_t tid = 0;
  int64_t start_ns = 0;
};
LaunchSite launch_site();

// A change of the bytes held by live tensors, for the memory timeline.
struct MemorySample {
  int64_t t_ns = 0;
  int64_t delta = 0;  // + allocated, - freed
  Device device = kCPU;
  int32_t pid = 0, tid = 0;
};

struct Config {
  bool shapes = false;  // each op's input shapes and dtypes
  bool memory = false;  // allocations and frees
};

// Everything one recording collected, sorted by start time; open events end at stop().
struct Recording {
  std::vector<Event> events;
  std::vector<MemorySample> memory;
  int64_t memory_at_start = 0;  // bytes held by live CPU tensors when the recording started
  std::vector<std::pair<int32_t, std::string>> thread_names;   // tid -> name, where set
  std::vector<std::pair<int32_t, std::string>> process_names;  // pid -> name, for other processes
  int32_t pid = 0;                                             // the recording process
  int64_t start_ns = 0, stop_ns = 0;
};

// Starts recording on every thread; throws if a recording is already running.
void start(const Config& config);
// Ends the recording and returns what it collected. Throws if none is running.
Recording stop();
// Drops what the running recording has collected so far (a profiler schedule's warm-up); events
// open now are dropped too (their ends are ignored).
void clear();
bool is_recording();
// The running recording's configuration (all false when none runs).
Config running_config();

// Events in a byte string, to send from a worker process to the one that records; decoding
// checks every length and count against the bytes and throws naming `who` on anything malformed.
std::string encode_events(const std::vector<Event>& events);
std::vector<Event> decode_events(const std::string& bytes, const std::string& who);

// Events measured outside this process's scopes: a worker process's, or a device's. Ignored
// when nothing is recording.
void add_events(std::vector<Event> events);
// Names the calling thread in traces ("DataLoader worker 0").
void set_thread_name(std::string name);
// Names another process whose events this one adds (a worker process, by its pid).
void set_process_name(int32_t pid, std::string name);
// The autograd node created inside the innermost open op (the op's sequence number).
void set_sequence_nr(uint64_t nr);
// Bytes allocated (+) or freed (-) by the calling thread, from an allocator.
void memory_changed(int64_t delta, Device device);
// In a child just after fork(): stops recording there without taking any lock the parent's
// other threads may have held at the fork.
void after_fork_in_child();

int64_t now_ns();

namespace detail {
// Note [Recording costs one branch]
// With no recording running, a Scope is one relaxed load of this word and a branch that is
// never taken (and the destructor a test of a member that stays null). The profiler measures
// both costs: scripts/bench's overhead rows with no recording, and the cost per event with one.
// Bit 0: recording; bit 1: shapes; bit 2: memory.
inline std::atomic<uint32_t> g_state{0};
inline bool on() { return __builtin_expect(g_state.load(std::memory_order_relaxed) != 0, 0); }
inline bool shapes_on() { return (g_state.load(std::memory_order_relaxed) & 2u) != 0; }
inline bool memory_on() { return __builtin_expect((g_state.load(std::memory_order_relaxed) & 4u) != 0, 0); }

struct Buffer;
Buffer* begin(Kind kind, const char* name, std::span<const Tensor* const> inputs, uint32_t* index, uint32_t* gen);
Buffer* begin(Kind kind, std::string name, uint32_t* index, uint32_t* gen);
void begin_list(Buffer* b, uint32_t index, uint32_t gen, std::span<const Tensor> inputs);
void end(Buffer* b, uint32_t index, uint32_t gen);
}  // namespace detail

inline bool on() { return detail::on(); }

// A timed event from construction to destruction on this thread.
class Scope {
 public:
  explicit Scope(Kind kind, const char* name) {
    if (detail::on()) buf_ = detail::begin(kind, name, {}, &index_, &gen_);
  }
  Scope(Kind kind, std::string name) {
    if (detail::on()) buf_ = detail::begin(kind, std::move(name), &index_, &gen_);
  }
  // An op with tensor inputs (shapes are taken when the recording asks for them).
  template <typename... Ts>
    requires(sizeof...(Ts) > 0 && (std::is_same_v<Ts, Tensor> && ...))
  Scope(Kind kind, const char* name, const Ts&... inputs) {
    if (detail::on()) {
      const Tensor* ptrs[] = {&inputs...};
      buf_ = detail::begin(kind, name, ptrs, &index_, &gen_);
    }
  }
  // An op whose inputs are a list (cat, stack).
  Scope(Kind kind, const char* name, std::span<const Tensor> inputs) {
    if (detail::on()) {
      buf_ = detail::begin(kind, name, {}, &index_, &gen_);
      if (buf_) detail::begin_list(buf_, index_, gen_, inputs);
    }
  }
  ~Scope() {
    if (buf_) detail::end(buf_, index_, gen_);
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  detail::Buffer* buf_ = nullptr;
  uint32_t index_, gen_;  // set by begin(), read only when buf_ is: nothing else to store when off
};

}  // namespace hpml::record

#define HPML_RECORD_CONCAT2(a, b) a##b
#define HPML_RECORD_CONCAT(a, b) HPML_RECORD_CONCAT2(a, b)
// The first line of an op: HPML_RECORD_OP("add", a, b).
#define HPML_RECORD_OP(...) \
  ::hpml::record::Scope HPML_RECORD_CONCAT(hpml_record_, __LINE__)(::hpml::record::Kind::op, __VA_ARGS__)
// A named scope of user code, as PyTorch's RECORD_FUNCTION: RECORD_FUNCTION("attention").
#define RECORD_FUNCTION(name) \
  ::hpml::record::Scope HPML_RECORD_CONCAT(hpml_record_, __LINE__)(::hpml::record::Kind::user, name)
