// The simulated device, `sim:0` and `sim:1`: a GPU's programming model on the CPU, for tests and for
// users who want to see what a GPU program must get right. Its memory is host memory from its own
// allocator, poisoned when freed and guarded by canaries; its kernels are the CPU kernels, run
// asynchronously on one worker thread per stream. The API is torch.cuda's (device_count,
// set_device, current_device, DeviceGuard, synchronize, Stream, Event, the memory statistics), the
// one the CUDA backend has. See Note [The simulated device] in src/core/sim_runtime.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hpml/core/allocator.h"
#include "hpml/core/device.h"
#include "hpml/core/stream_allocator.h"

namespace hpml {
class Tensor;
}

namespace hpml::sim {

inline constexpr int kNumDevices = 2;

int device_count();
bool is_available();
int current_device();
void set_device(int index);  // throws unless 0 <= index < device_count()

// Makes `index` the current device for its scope (torch.cuda.device(index)).
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

struct StreamState;  // src/core/sim_runtime.cpp

// An in-order queue of kernels on one device, run by its own worker thread. Work launched on
// one stream runs in launch order; work on two streams is ordered only by events or wait_stream.
class Stream {
 public:
  // A new stream on `device` (-1: the current one).
  static Stream create(int device = -1);
  explicit Stream(std::shared_ptr<StreamState> s) : state_(std::move(s)) {}
  int device_index() const;
  Device device() const { return Device(DeviceType::Sim, device_index()); }
  uint64_t id() const;  // 0 for a device's default stream
  bool query() const;   // whether all work launched so far has finished
  void synchronize() const;  // waits for it; rethrows the first error a kernel on it raised
  // Work launched on this stream from now on waits for everything launched on `other` so far.
  void wait_stream(const Stream& other) const;
  bool operator==(const Stream& o) const { return state_ == o.state_; }
  StreamState* state() const { return state_.get(); }
  const std::shared_ptr<StreamState>& shared_state() const { return state_; }

 private:
  std::shared_ptr<StreamState> state_;
};

Stream default_stream(int device = -1);
// The stream kernels on `device` are launched on (the default one unless set_stream changed it).
Stream current_stream(int device = -1);
void set_stream(const Stream& s);  // the current stream of s's device, for this thread

// Makes `s` its device's current stream and its device the current device for its scope.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& s);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
  DeviceGuard device_;
};

// A point in a stream's work (torch.cuda.Event).
class Event {
 public:
  explicit Event(bool enable_timing = false) : timing_(enable_timing) {}
  void record(const Stream& s);  // the current stream of the current device by default
  void record();
  bool query() const;            // true when the recorded work has finished (or nothing was recorded)
  void synchronize() const;
  void wait(const Stream& s) const;  // work launched on s from now on waits for the recorded work
  // Milliseconds from this event to `end`; both recorded with enable_timing and finished.
  double elapsed_time(const Event& end) const;

 private:
  bool timing_;
  std::shared_ptr<StreamState> stream_;  // where it was recorded (null: never)
  uint64_t seq_ = 0;                     // the stream's work up to and including this launch
  std::shared_ptr<double> time_ms_;      // set by the worker when it gets there (enable_timing)
};

// Waits for every stream of `device` (-1: the current one; kAll: every device).
inline constexpr int kAll = -2;
void synchronize(int device = -1);

// The storage of `t` (a sim tensor) is also used by work queued on `s`, a stream other than the
// one it was allocated on: its memory is reused only after that work has run
// (torch.Tensor.record_stream; Note [Stream-ordered caching allocator]).
void record_stream(const Tensor& t, const Stream& s);

// Memory of a device, counted by its stream-ordered caching allocator (core/stream_allocator.h).
size_t memory_allocated(int device = -1);
size_t memory_reserved(int device = -1);
size_t max_memory_allocated(int device = -1);
void reset_peak_memory_stats(int device = -1);
AllocatorStats memory_stats(int device = -1);
void empty_cache(int device = -1);  // waits for the device, then frees its cached blocks
StreamAllocatorStats memory_stats_detailed(int device = -1);
std::string memory_summary(int device = -1);  // torch.cuda.memory_summary

// For backends (kernels/sim_backend.cpp) and the runtime registry (core/device_runtime.h).
namespace detail {
// Queues `task` on the current stream of `device`; `op` names it in the error a kernel raises.
void launch(int device, const char* op, std::function<void()> task);
// Queues `task` on `s` itself; returns its launch number on s.
uint64_t launch_on(const Stream& s, const char* op, std::function<void()> task);
// The sim device whose live block holds [p, p + nbytes); throws naming `op` when no block does
// (a host pointer, or memory of a freed tensor, reached a sim kernel).
int device_of(const void* p, size_t nbytes, const char* op);
StreamCachingAllocator* allocator(int device);
Stream stream_of(StreamState* s);  // the stream of a live state
Allocator* device_allocator(int device);  // the guarded, poisoning wrapper storages use
// Deferred kernels run only when the host waits (Note [Deferred launches]); false: each runs as
// soon as its worker is free, the way a GPU runs them. Tests use true (the default) to make a
// missing synchronisation visible every time.
void set_deferred(bool on);
// Whether a stream (and so a worker thread) exists: the runtime's is_initialized.
bool is_initialized();
// The bytes a freed block and a fresh one are filled with (all ones: NaN for floats, -1 for ints).
inline constexpr unsigned char kPoison = 0xff;
}  // namespace detail

}  // namespace hpml::sim
