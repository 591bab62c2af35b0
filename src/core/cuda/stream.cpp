// CUDA streams and events (core/cuda.h): each device's default stream and its pool of streams,
// the current stream of each thread, guards, and events over cudaEvent_t. Built only with CUDA.
//
// Status: compiled, not yet run on a GPU.
#include <cuda_runtime_api.h>

#include <array>
#include <atomic>
#include <mutex>

#include "core/cuda/check.h"
#include "hpml/core/cuda.h"
#include "hpml/core/error.h"

namespace hpml::cuda {

// Note [CUDA streams]
// The default stream is the legacy one (null): it waits for, and is waited for by, every blocking
// stream. Pooled streams are made with cudaStreamNonBlocking, as PyTorch's, so they overlap the
// default stream and are ordered with it only by events. The pool is never destroyed: a stream's
// handle is what the caching allocator tags its blocks with, and a destroyed handle could come
// back as a new stream's, whose kernels would then be given blocks an old kernel still uses.
namespace {

constexpr int kMaxDevices = 16;
constexpr int kPoolSize = 32;

struct Pool {
  std::once_flag made;
  std::array<cudaStream_t, kPoolSize> streams{};
  std::atomic<uint32_t> next{0};
};
Pool& pool(int device) {
  static auto* pools = new Pool[kMaxDevices];  // never destroyed (Note [CUDA streams])
  return pools[device];
}

// Each device's current stream on this thread: its id and handle ({0, null}: the default one).
struct Current {
  uint64_t id = 0;
  void* native = nullptr;
};
thread_local std::array<Current, kMaxDevices> t_current{};

int resolve(int device, const char* op) {
  const int n = device_count();
  HPML_CHECK(n > 0, "cuda::", op, ": no GPU is available: ", unavailable_reason());
  if (device == -1) return current_device();
  HPML_CHECK(device >= 0 && device < n, "cuda::", op, ": invalid device index ", device, " (this process has ", n,
             " GPU", n == 1 ? "" : "s", ")");
  return device;
}

cudaStream_t handle(const Stream& s) { return static_cast<cudaStream_t>(s.native()); }

}  // namespace

Stream Stream::create(int device) {
  const int d = resolve(device, "Stream::create");
  Pool& p = pool(d);
  std::call_once(p.made, [&] {
    DeviceGuard guard(d);
    for (cudaStream_t& s : p.streams) check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate", d);
  });
  const uint32_t i = p.next.fetch_add(1) % kPoolSize;
  return Stream(d, i + 1, p.streams[i]);
}

bool Stream::query() const {
  DeviceGuard guard(device_);  // the legacy default stream is the current device's
  return ready(cudaStreamQuery(handle(*this)), "Stream.query", device_);
}

void Stream::synchronize() const {
  DeviceGuard guard(device_);
  check(cudaStreamSynchronize(handle(*this)), "Stream.synchronize", device_);
  detail::flush_kernel_events();
}

void Stream::wait_stream(const Stream& other) const {
  if (other == *this) return;
  Event e;
  e.record(other);
  e.wait(*this);
}

Stream default_stream(int device) { return Stream(resolve(device, "default_stream"), 0, nullptr); }
Stream current_stream(int device) {
  const int d = resolve(device, "current_stream");
  const Current& c = t_current[static_cast<size_t>(d)];
  return Stream(d, c.id, c.native);
}
void set_stream(const Stream& s) {
  resolve(s.device_index(), "set_stream");
  t_current[static_cast<size_t>(s.device_index())] = {s.id(), s.native()};
}

StreamGuard::StreamGuard(const Stream& s) : previous_(current_stream(s.device_index())), device_(s.device_index()) {
  set_stream(s);
}
StreamGuard::~StreamGuard() { t_current[static_cast<size_t>(previous_.device_index())] = {previous_.id(), previous_.native()}; }

Event::~Event() {
  if (event_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event_));
}

void Event::record() { record(current_stream()); }
void Event::record(const Stream& s) {
  if (!event_) {
    DeviceGuard guard(s.device_index());
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, timing_ ? cudaEventDefault : cudaEventDisableTiming), "Event", s.device_index());
    event_ = e;
    device_ = s.device_index();
  }
  HPML_CHECK(device_ == s.device_index(), "Event.record: the event was made on cuda:", device_,
             " and cannot be recorded on a stream of cuda:", s.device_index());
  DeviceGuard guard(device_);
  check(cudaEventRecord(static_cast<cudaEvent_t>(event_), handle(s)), "Event.record", device_);
}

bool Event::query() const {
  return !event_ || ready(cudaEventQuery(static_cast<cudaEvent_t>(event_)), "Event.query", device_);
}

void Event::synchronize() const {
  if (!event_) return;
  check(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)), "Event.synchronize", device_);
  detail::flush_kernel_events();
}

void Event::wait(const Stream& s) const {
  if (!event_) return;
  DeviceGuard guard(s.device_index());
  check(cudaStreamWaitEvent(handle(s), static_cast<cudaEvent_t>(event_), 0), "Event.wait", s.device_index());
}

double Event::elapsed_time(const Event& end) const {
  HPML_CHECK(timing_ && end.timing_, "Event.elapsed_time: both events must be created with enable_timing = true");
  HPML_CHECK(event_ && end.event_, "Event.elapsed_time: both events must be recorded first");
  HPML_CHECK(query() && end.query(),
             "Event.elapsed_time: the events have not completed yet\nhint: call synchronize() on the end event first");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(event_), static_cast<cudaEvent_t>(end.event_)),
        "Event.elapsed_time", device_);
  return ms;
}

}  // namespace hpml::cuda
