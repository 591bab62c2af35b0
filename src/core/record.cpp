// The recording behind the profiler: one buffer of events per thread, a registry of the buffers,
// and the start / clear / stop that collect them (include/hpml/core/record.h).
#include "hpml/core/record.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>

#include "hpml/core/allocator.h"
#include "hpml/core/error.h"
#include "hpml/core/tensor.h"

namespace hpml::record {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::op: return "op";
    case Kind::backward: return "backward";
    case Kind::user: return "user";
    case Kind::data: return "data";
    case Kind::optimizer: return "optimizer";
    case Kind::io: return "io";
    case Kind::step: return "step";
    case Kind::comm: return "comm";
    case Kind::kernel: return "kernel";
  }
  return "?";
}

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace detail {

// Note [One buffer per thread]
// Each thread appends to its own buffer, under the buffer's own mutex: uncontended (only stop()
// and clear() take it from another thread), so an event costs a lock and an unlock, two clock
// reads and an append. The registry owns the buffers, so a thread that has exited (a DataLoader
// worker thread) leaves its events to be collected. A buffer's `gen` says which recording its
// events belong to: start, clear and stop each begin a new generation, and a Scope that began
// in an older one ends silently instead of writing into events that are gone.
struct Buffer {
  std::mutex mu;
  int32_t tid = 0;
  std::string name;
  uint32_t gen = 0;
  bool dead = false;  // its thread has exited
  std::vector<Event> events;
  std::vector<uint32_t> open;  // indices of the events begun and not yet ended, innermost last
  std::vector<MemorySample> memory;

  void reset(uint32_t g) {
    events.clear();
    open.clear();
    memory.clear();
    gen = g;
  }
};

}  // namespace detail

namespace {

using detail::Buffer;

struct Registry {
  std::mutex mu;
  std::vector<std::shared_ptr<Buffer>> buffers;
  std::vector<Event> remote;  // add_events()
  std::vector<std::pair<int32_t, std::string>> process_names;
  std::atomic<uint32_t> gen{1};
  int32_t pid = 0;
  int64_t start_ns = 0, memory_at_start = 0;
  Config config;
  Registry* previous = nullptr;  // a fork child's parent registry, kept reachable (never used again)
};

// Leaked on purpose: threads may record while static destructors run. A fork child gets a new
// one (after_fork_in_child), since a lock of the old one may have been held by a thread that
// does not exist there.
Registry* g_registry = new Registry();
std::atomic<uint64_t> g_serial{1};  // which registry thread-local pointers belong to

struct LocalBuffer {
  Buffer* buffer = nullptr;
  uint64_t serial = 0;
  LocalBuffer() = default;
  LocalBuffer(const LocalBuffer&) = delete;
  LocalBuffer& operator=(const LocalBuffer&) = delete;
  ~LocalBuffer() {
    if (buffer && serial == g_serial.load()) {
      std::lock_guard<std::mutex> g(buffer->mu);
      buffer->dead = true;
    }
  }
};
thread_local LocalBuffer t_local;

Buffer* local() {
  const uint64_t serial = g_serial.load(std::memory_order_acquire);
  if (t_local.buffer && t_local.serial == serial) return t_local.buffer;
  auto b = std::make_shared<Buffer>();
  b->tid = static_cast<int32_t>(::syscall(SYS_gettid));
  Registry& r = *g_registry;
  {
    std::lock_guard<std::mutex> g(r.mu);
    b->gen = r.gen.load();
    r.buffers.push_back(b);
  }
  t_local.buffer = b.get();  // fields, not a temporary LocalBuffer, whose destructor would mark it dead
  t_local.serial = serial;
  return b.get();
}

uint32_t state_bits(const Config& c) { return 1u | (c.shapes ? 2u : 0u) | (c.memory ? 4u : 0u); }

// Starts a new generation on every buffer; the caller holds r.mu. Buffers of exited threads
// with nothing left to collect are dropped.
void new_generation(Registry& r) {
  const uint32_t g = r.gen.fetch_add(1) + 1;
  std::erase_if(r.buffers, [](const std::shared_ptr<Buffer>& b) {
    std::lock_guard<std::mutex> lock(b->mu);
    return b->dead;
  });
  for (auto& b : r.buffers) {
    std::lock_guard<std::mutex> lock(b->mu);
    b->reset(g);
  }
  r.remote.clear();
  r.process_names.clear();
  r.start_ns = now_ns();
  r.memory_at_start = static_cast<int64_t>(cpu_allocator_stats().allocated_bytes);
}

[[maybe_unused]] const int g_atfork = pthread_atfork(nullptr, nullptr, after_fork_in_child);

}  // namespace

void start(const Config& config) {
  Registry& r = *g_registry;
  std::lock_guard<std::mutex> g(r.mu);
  HPML_CHECK(detail::g_state.load() == 0, "profiler: a recording is already running (one profile at a time)");
  r.pid = static_cast<int32_t>(::getpid());
  r.config = config;
  new_generation(r);
  detail::g_state.store(state_bits(config), std::memory_order_release);
}

bool is_recording() { return detail::g_state.load() != 0; }

LaunchSite launch_site() {
  if (!detail::on()) return {};
  Buffer* b = local();
  std::lock_guard<std::mutex> g(b->mu);
  if (b->open.empty()) return {b->tid, -now_ns()};
  return {b->tid, b->events[b->open.back()].start_ns};
}

Config running_config() {
  const uint32_t s = detail::g_state.load();
  return Config{.shapes = (s & 2u) != 0, .memory = (s & 4u) != 0};
}

void clear() {
  Registry& r = *g_registry;
  std::lock_guard<std::mutex> g(r.mu);
  if (detail::g_state.load() == 0) return;
  new_generation(r);
}

Recording stop() {
  Registry& r = *g_registry;
  std::lock_guard<std::mutex> g(r.mu);
  HPML_CHECK(detail::g_state.load() != 0, "profiler: stop() without a running recording");
  detail::g_state.store(0, std::memory_order_release);
  Recording out;
  out.start_ns = r.start_ns;
  out.stop_ns = now_ns();
  out.memory_at_start = r.memory_at_start;
  for (auto& b : r.buffers) {
    std::lock_guard<std::mutex> lock(b->mu);
    for (uint32_t i : b->open) b->events[i].end_ns = out.stop_ns;  // still open: ends with the recording
    for (Event& e : b->events) out.events.push_back(std::move(e));
    out.memory.insert(out.memory.end(), b->memory.begin(), b->memory.end());
    if (!b->name.empty()) out.thread_names.emplace_back(b->tid, b->name);
  }
  for (Event& e : r.remote) out.events.push_back(std::move(e));
  out.process_names = r.process_names;
  out.pid = r.pid;
  new_generation(r);  // late ends of scopes begun in this recording are ignored
  std::stable_sort(out.events.begin(), out.events.end(), [](const Event& a, const Event& b) {
    if (a.pid != b.pid) return a.pid < b.pid;
    if (a.tid != b.tid) return a.tid < b.tid;
    return a.start_ns < b.start_ns || (a.start_ns == b.start_ns && a.depth < b.depth);
  });
  std::sort(out.memory.begin(), out.memory.end(),
            [](const MemorySample& a, const MemorySample& b) { return a.t_ns < b.t_ns; });
  return out;
}

void add_events(std::vector<Event> events) {
  if (!detail::on()) return;
  Registry& r = *g_registry;
  std::lock_guard<std::mutex> g(r.mu);
  if (detail::g_state.load() == 0) return;
  for (Event& e : events) {
    // A kernel launched before this recording (or its last clear) began belongs to an earlier one:
    // it ran late (the simulated device runs kernels when the host waits; CUDA's are read at a
    // synchronize). Dropped, so that no recording gets another's device time.
    if (e.kind == Kind::kernel && e.launch_ns != 0 && std::abs(e.launch_ns) < r.start_ns) continue;
    r.remote.push_back(std::move(e));
  }
}

void set_thread_name(std::string name) {
  Buffer* b = local();
  std::lock_guard<std::mutex> g(b->mu);
  b->name = std::move(name);
}

void set_process_name(int32_t pid, std::string name) {
  Registry& r = *g_registry;
  std::lock_guard<std::mutex> g(r.mu);
  for (auto& [p, n] : r.process_names)
    if (p == pid) return;
  r.process_names.emplace_back(pid, std::move(name));
}

void set_sequence_nr(uint64_t nr) {
  if (!detail::on()) return;
  Buffer* b = local();
  std::lock_guard<std::mutex> g(b->mu);
  if (b->open.empty() || b->gen != g_registry->gen.load()) return;
  Event& e = b->events[b->open.back()];
  if ((e.kind == Kind::op || e.kind == Kind::backward) && e.sequence_nr < 0) e.sequence_nr = static_cast<int64_t>(nr);
}

void memory_changed(int64_t delta, Device device) {
  if (!detail::memory_on()) return;
  const int64_t t = now_ns();
  Buffer* b = local();
  std::lock_guard<std::mutex> g(b->mu);
  if (b->gen != g_registry->gen.load()) return;
  b->memory.push_back({t, delta, device, g_registry->pid, b->tid});
  if (b->open.empty()) return;
  Event& e = b->events[b->open.back()];
  const bool host = device.is_cpu();
  if (delta > 0) (host ? e.bytes_allocated : e.device_bytes_allocated) += delta;
  else (host ? e.bytes_freed : e.device_bytes_freed) -= delta;
}

void after_fork_in_child() {
  detail::g_state.store(0);
  auto* fresh = new Registry();  // the old one's locks may be held by threads the child lacks
  fresh->previous = g_registry;
  g_registry = fresh;
  g_serial.fetch_add(1);
}

namespace detail {

namespace {
Event& open_event(Buffer* b, Kind kind, uint32_t* index, uint32_t* gen) {
  *gen = g_registry->gen.load();
  if (b->gen != *gen) b->reset(*gen);
  Event& e = b->events.emplace_back();
  e.kind = kind;
  e.pid = g_registry->pid;
  e.tid = b->tid;
  e.depth = static_cast<int32_t>(b->open.size());
  *index = static_cast<uint32_t>(b->events.size() - 1);
  b->open.push_back(*index);
  return e;
}
}  // namespace

Buffer* begin(Kind kind, const char* name, std::span<const Tensor* const> inputs, uint32_t* index, uint32_t* gen) {
  Buffer* b = local();
  std::lock_guard<std::mutex> g(b->mu);
  if (!on()) return nullptr;  // stopped since the caller looked
  Event& e = open_event(b, kind, index, gen);
  e.name = name;
  bool device_set = false;
  for (const Tensor* t : inputs) {
    if (!t->defined()) continue;
    if (!device_set) e.device = t->device();
    device_set = true;
    if (shapes_on()) e.inputs.push_back({t->dtype(), DimVector(t->sizes())});
  }
  e.start_ns = now_ns();  // last: the bookkeeping above is not the op's time
  return b;
}

Buffer* begin(Kind kind, std::string name, uint32_t* index, uint32_t* gen) {
  Buffer* b = local();
  std::lock_guard<std::mutex> g(b->mu);
  if (!on()) return nullptr;
  Event& e = open_event(b, kind, index, gen);
  e.name = std::move(name);
  e.start_ns = now_ns();
  return b;
}

void begin_list(Buffer* b, uint32_t index, uint32_t gen, std::span<const Tensor> inputs) {
  std::lock_guard<std::mutex> g(b->mu);
  if (b->gen != gen || !shapes_on()) return;
  Event& e = b->events[index];
  for (const Tensor& t : inputs)
    if (t.defined()) e.inputs.push_back({t.dtype(), DimVector(t.sizes())});
  if (!inputs.empty() && inputs[0].defined()) e.device = inputs[0].device();
  e.start_ns = now_ns();
}

void end(Buffer* b, uint32_t index, uint32_t gen) {
  const int64_t t = now_ns();
  std::lock_guard<std::mutex> g(b->mu);
  if (b->gen != gen) return;  // the recording was cleared or stopped since this scope began
  b->events[index].end_ns = t;
  if (!b->open.empty() && b->open.back() == index) b->open.pop_back();
  else std::erase(b->open, index);  // ended out of order (a ProfilerStep around user scopes)
}

}  // namespace detail

}  // namespace hpml::record
