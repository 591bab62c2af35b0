// Kernel events on CUDA for the profiler: CUDA events around each launch while a recording runs,
// turned into record::Event values on the host clock when the kernels have run. CUDA builds only.
// Status: compiled, not yet run on a GPU.
#include <unistd.h>

#include <mutex>
#include <vector>

#include "core/cuda/check.h"
#include "hpml/core/cuda.h"
#include "hpml/core/record.h"

namespace hpml::cuda::detail {

// Note [Kernel events on CUDA]
// A kernel runs after its launch returns, so its time comes from two CUDA events recorded on its
// stream around the launch (KernelTimer, made by each slot's Launch in kernels/cuda/slots.h).
// They are read when the host has synchronized with the GPU (torch.profiler asks for a
// torch.cuda.synchronize() before it stops, for the same reason): cuda::synchronize and the
// stream and event synchronizes flush every finished pair into a Kind::kernel event. The GPU's
// clock is put on the host's by an anchor per device: an event recorded and waited for, and
// the host time right after it (a few microseconds late at most); it is made again every second,
// so the two clocks do not drift apart. Each kernel event names its launch site
// (record::launch_site), which is how the profiler charges it to its op (Note [Device time] in
// src/profiler/averages.cpp).
namespace {

struct Pending {
  const char* op;
  int device;
  uint64_t stream;
  cudaEvent_t start, stop;
  record::LaunchSite site;
};

struct Anchor {
  cudaEvent_t event = nullptr;
  int64_t host_ns = 0;
};

struct State {
  std::mutex mu;
  std::vector<Pending> pending;
  std::vector<cudaEvent_t> free_events[16];  // per device, reused: making one costs more than recording it
  Anchor anchors[16];
};
State& state() {
  static State* s = new State();  // leaked: kernels may be timed while static destructors run
  return *s;
}

// An event of the current device (the caller's guard made it `device`).
cudaEvent_t take_event(State& s, int device) {
  std::vector<cudaEvent_t>& pool = s.free_events[device];
  if (!pool.empty()) {
    cudaEvent_t e = pool.back();
    pool.pop_back();
    return e;
  }
  cudaEvent_t e = nullptr;
  check(cudaEventCreate(&e), "cudaEventCreate (profiler)", device);
  return e;
}

// The device's anchor, made again when it is more than a second old; s.mu is held.
const Anchor& anchor(State& s, int device) {
  Anchor& a = s.anchors[device];
  if (a.event && record::now_ns() - a.host_ns < 1000000000) return a;
  DeviceGuard guard(device);
  if (!a.event) check(cudaEventCreate(&a.event), "cudaEventCreate (profiler)", device);
  check(cudaEventRecord(a.event, nullptr), "cudaEventRecord (profiler)", device);
  check(cudaEventSynchronize(a.event), "cudaEventSynchronize (profiler)", device);
  a.host_ns = record::now_ns();
  return a;
}

}  // namespace

KernelTimer::KernelTimer(const char* op, int device) : op_(op), device_(device) {
  if (!record::on() || device < 0 || device >= 16) return;
  stream_ = static_cast<cudaStream_t>(current_stream(device).native());
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  (void)anchor(s, device);
  start_ = take_event(s, device_);
  check(cudaEventRecord(start_, stream_), "cudaEventRecord (profiler)", device_);
}

KernelTimer::~KernelTimer() {
  if (!start_) return;
  State& s = state();
  const record::LaunchSite site = record::launch_site();
  std::lock_guard<std::mutex> g(s.mu);
  std::vector<cudaEvent_t>& pool = s.free_events[device_];
  cudaEvent_t stop = nullptr;
  if (!pool.empty()) stop = pool.back(), pool.pop_back();
  else if (cudaEventCreate(&stop) != cudaSuccess) stop = nullptr;
  if (!stop || cudaEventRecord(stop, stream_) != cudaSuccess) {
    (void)cudaGetLastError();  // no throw from a destructor: the launch goes untimed
    s.free_events[device_].push_back(start_);
    if (stop) s.free_events[device_].push_back(stop);
    return;
  }
  s.pending.push_back({op_, device_, reinterpret_cast<uint64_t>(stream_), start_, stop, site});
}

void flush_kernel_events() {
  State& s = state();
  std::vector<record::Event> done;
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.pending.empty()) return;
    if (!record::on()) {  // the recording they belonged to is over: drop them
      for (const Pending& p : s.pending) s.free_events[p.device].insert(s.free_events[p.device].end(), {p.start, p.stop});
      s.pending.clear();
      return;
    }
    std::vector<Pending> waiting;
    for (const Pending& p : s.pending) {
      if (cudaEventQuery(p.stop) != cudaSuccess) {
        (void)cudaGetLastError();  // not ready (or failed: the kernel's error reaches its stream's user)
        waiting.push_back(p);
        continue;
      }
      const Anchor& a = anchor(s, p.device);
      float from_anchor = 0, length = 0;
      if (cudaEventElapsedTime(&from_anchor, a.event, p.start) != cudaSuccess ||
          cudaEventElapsedTime(&length, p.start, p.stop) != cudaSuccess) {
        (void)cudaGetLastError();  // an anchor made after the launch: the pair cannot be placed
      } else {
        record::Event e;
        e.name = p.op;
        e.kind = record::Kind::kernel;
        e.device = Device(DeviceType::CUDA, p.device);
        e.start_ns = a.host_ns + static_cast<int64_t>(from_anchor * 1e6);
        e.end_ns = e.start_ns + static_cast<int64_t>(length * 1e6);
        e.pid = static_cast<int32_t>(::getpid());
        e.tid = -1 - static_cast<int32_t>(p.stream % 1000000);  // one trace row per stream
        e.launch_tid = p.site.tid;
        e.launch_ns = p.site.start_ns;
        done.push_back(std::move(e));
      }
      s.free_events[p.device].push_back(p.start);
      s.free_events[p.device].push_back(p.stop);
    }
    s.pending = std::move(waiting);
  }
  if (!done.empty()) record::add_events(std::move(done));
}

}  // namespace hpml::cuda::detail
