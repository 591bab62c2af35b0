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
// clock is put on the host's by an anchor per device: an event recorded on a stream of its own
// (idle, so nothing queued delays it) and waited for, and the host time right after it (a few
// microseconds late at most). A flush that has placed every pending pair makes it again when it
// is over a second old, so that offsets stay short (a float of milliseconds) and the clocks do
// not drift apart; it is never remade while a pair still counts from it. Each kernel event names
// its launch site (record::launch_site), which is how the profiler charges it to its op (Note
// [Device time] in src/profiler/averages.cpp).
namespace {

struct Pending {
  const char* op;
  int device;
  uint64_t stream_id;  // hpml's id of the stream (0 the default one)
  cudaEvent_t start, stop;
  record::LaunchSite site;
};

struct Anchor {
  cudaEvent_t event = nullptr;
  cudaStream_t stream = nullptr;  // the anchor's own
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

// (Re)makes the device's anchor; s.mu is held. false when the runtime refused (the pairs of
// that device then go untimed).
bool make_anchor(Anchor& a, int device) {
  DeviceGuard guard(device);
  if (!a.stream && cudaStreamCreateWithFlags(&a.stream, cudaStreamNonBlocking) != cudaSuccess) a.stream = nullptr;
  if (!a.event && cudaEventCreate(&a.event) != cudaSuccess) a.event = nullptr;
  const bool ok = a.stream && a.event && cudaEventRecord(a.event, a.stream) == cudaSuccess &&
                  cudaEventSynchronize(a.event) == cudaSuccess;
  if (!ok) {
    (void)cudaGetLastError();
    a.host_ns = 0;
    return false;
  }
  a.host_ns = record::now_ns();
  return true;
}

}  // namespace

KernelTimer::KernelTimer(const char* op, int device) : op_(op), device_(device) {
  if (!record::on() || device < 0 || device >= 16) return;
  const Stream current = current_stream(device);
  if (detail::capture_pool(current.native())) return;  // a captured launch runs at its replays, untimed
  stream_ = static_cast<cudaStream_t>(current.native());
  stream_id_ = current.id();
  State& s = state();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.anchors[device].host_ns && !make_anchor(s.anchors[device], device)) return;
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
  s.pending.push_back({op_, device_, stream_id_, start_, stop, site});
}

// One finished pair as a kernel event on the host's clock; false if it cannot be placed.
bool place(const Pending& p, const Anchor& a, record::Event* e) {
  float from_anchor = 0, length = 0;
  if (!a.host_ns || cudaEventElapsedTime(&from_anchor, a.event, p.start) != cudaSuccess ||
      cudaEventElapsedTime(&length, p.start, p.stop) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  e->name = p.op;
  e->kind = record::Kind::kernel;
  e->device = Device(DeviceType::CUDA, p.device);
  e->start_ns = a.host_ns + static_cast<int64_t>(static_cast<double>(from_anchor) * 1e6);
  e->end_ns = e->start_ns + static_cast<int64_t>(static_cast<double>(length) * 1e6);
  e->pid = static_cast<int32_t>(::getpid());
  e->tid = -1 - (p.device * 64 + static_cast<int32_t>(p.stream_id % 64));  // one trace row per stream
  e->launch_tid = p.site.tid;
  e->launch_ns = p.site.start_ns;
  return true;
}

void flush_kernel_events() {
  State& s = state();
  std::vector<record::Event> done;
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.pending.empty()) return;
    std::vector<Pending> waiting;
    for (const Pending& p : s.pending) {
      if (record::on() && cudaEventQuery(p.stop) != cudaSuccess) {
        (void)cudaGetLastError();  // not done (or failed: the kernel's error reaches its stream's user)
        waiting.push_back(p);
        continue;
      }
      record::Event e;
      if (record::on() && place(p, s.anchors[p.device], &e)) done.push_back(std::move(e));
      s.free_events[p.device].insert(s.free_events[p.device].end(), {p.start, p.stop});
    }
    s.pending = std::move(waiting);
    // Every pair placed: anchors over a second old are made again (Note [Kernel events on CUDA]).
    if (s.pending.empty())
      for (int d = 0; d < 16; ++d)
        if (s.anchors[d].host_ns && record::now_ns() - s.anchors[d].host_ns > 1000000000) make_anchor(s.anchors[d], d);
  }
  // A recording that stopped meanwhile drops them; one that began meanwhile too (record.cpp).
  if (!done.empty()) record::add_events(std::move(done));
}

}  // namespace hpml::cuda::detail
