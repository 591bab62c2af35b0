// The simulated device's runtime: devices, streams with a worker thread each, events, guards.
// Its memory (allocator, poison, canaries) is in sim_memory.cpp; its kernels in
// kernels/sim_backend.cpp.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "core/sim_internal.h"
#include "hpml/core/sim.h"
#include "hpml/core/threads.h"

namespace hpml::sim {

// Note [The simulated device]
// A GPU program has two kinds of bug that a CPU program cannot have: reading device memory from
// the host without a copy, and reading a result before the kernel that writes it has run. The
// simulated device makes both visible on a machine without a GPU. Its memory is ordinary host
// memory, so a hidden host read does not crash as it would on CUDA, but every block starts filled
// with poison (all ones: NaN, -1) and is poisoned again when freed; its kernels are the CPU ones,
// but each launch only queues the kernel on its stream, and the stream's worker thread runs it
// later. A read that skips the copy, or the synchronisation, sees poison instead of the result.
//
// Note [Deferred launches]
// A real GPU runs a kernel a few microseconds after its launch, so a missing synchronisation
// shows up now and then. Here (by default) a stream's worker runs queued kernels only when the
// host waits for them (Stream::synchronize, Event::query/synchronize, a blocking copy to the
// host, a stream that waits on this one) or when more than kMaxPending are queued; a read that
// skips the wait then sees poison every time, which is what a test needs. set_deferred(false)
// lets each worker run kernels as soon as they are queued, the way a GPU does.

struct StreamState : std::enable_shared_from_this<StreamState> {
  int device = 0;
  uint64_t id = 0;
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  struct Task {
    std::function<void()> fn;
    const char* op;
    bool timed = false;         // launched while the profiler was recording
    record::LaunchSite site{};  // and from where (Note [Kernel events on the simulated device])
  };
  std::deque<Task> queue;
  uint64_t launched = 0;  // tasks queued so far; task k (1-based) is the k-th launch
  uint64_t released = 0;  // the worker may run tasks up to this one
  uint64_t finished = 0;
  std::string error;      // the first error a kernel raised, until a wait reports it
  std::shared_ptr<detail::CaptureState> capture;  // the graph it is capturing (sim_graph.cpp), if any
  bool stop = false;
  std::thread worker;

  StreamState(int dev, uint64_t stream_id) : device(dev), id(stream_id) { worker = std::thread([this] { run(); }); }
  ~StreamState() {
    {
      std::lock_guard<std::mutex> g(mu);
      released = launched;
      stop = true;
    }
    work_cv.notify_all();
    worker.join();
  }

  void run() {
    hpml::detail::set_thread_serial(true);  // one core per stream: the host threads keep the rest
    const auto tid = static_cast<int32_t>(::syscall(SYS_gettid));
    bool named = false;  // the trace's name for this row, given at the first timed kernel
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      work_cv.wait(lk, [&] { return (finished < released && !queue.empty()) || (stop && queue.empty()); });
      if (queue.empty()) return;
      Task t = std::move(queue.front());
      queue.pop_front();
      lk.unlock();
      std::string failed;
      const int64_t start_ns = t.timed ? record::now_ns() : 0;
      try {
        t.fn();
      } catch (const std::exception& e) {
        failed = std::string(t.op) + " on sim:" + std::to_string(device) + " failed: " + e.what();
      }
      if (t.timed) {
        if (!named) record::set_thread_name("sim:" + std::to_string(device) + " stream " + std::to_string(id));
        named = true;
        record_kernel(t, tid, start_ns);
      }
      t = {};  // what the task captured dies here, on this thread, outside the lock
      lk.lock();
      if (!failed.empty() && error.empty()) error = std::move(failed);
      ++finished;
      done_cv.notify_all();
    }
  }

  // Note [Kernel events on the simulated device]
  // While the profiler records, each kernel is a Kind::kernel event: timed by the stream's worker
  // from its start to its end (the device's clock is the host's here), on the worker's own row
  // of the trace ("sim:0 stream 0"), with the event that launched it (record::launch_site, taken
  // at the launch) so that the profiler adds its time to that op's device time.
  void record_kernel(const Task& t, int32_t tid, int64_t start_ns) const {
    record::Event e;
    e.name = t.op;
    e.kind = record::Kind::kernel;
    e.device = Device(DeviceType::Sim, device);
    e.start_ns = start_ns;
    e.end_ns = record::now_ns();
    e.pid = static_cast<int32_t>(::getpid());
    e.tid = tid;
    e.launch_tid = t.site.tid;
    e.launch_ns = t.site.start_ns;
    record::add_events({std::move(e)});
  }

  // Lets the worker run everything up to launch `seq`.
  void release(uint64_t seq) {
    {
      std::lock_guard<std::mutex> g(mu);
      if (seq <= released) return;
      released = seq;
    }
    work_cv.notify_all();
  }
  // Waits until launch `seq` has run; returns (and clears) the first error raised so far.
  std::string wait(uint64_t seq) {
    release(seq);
    std::unique_lock<std::mutex> lk(mu);
    done_cv.wait(lk, [&] { return finished >= seq; });
    return std::exchange(error, {});
  }
  // Waits until the stream is idle: what its kernels queue as they finish (the frees of the
  // tensors they held) runs too.
  std::string drain() {
    std::string first;
    for (uint64_t seq = launched_now();; seq = launched_now()) {
      std::string e = wait(seq);
      if (first.empty()) first = std::move(e);
      if (launched_now() == seq) return first;
    }
  }
  uint64_t launched_now() {
    std::lock_guard<std::mutex> g(mu);
    return launched;
  }
  bool done(uint64_t seq) {
    std::lock_guard<std::mutex> g(mu);
    return finished >= seq;
  }
};

namespace {

std::atomic<bool> g_deferred{true};
std::atomic<bool> g_initialized{false};  // a stream, and so its worker thread, exists
constexpr uint64_t kMaxPending = 1024;

struct DeviceState {
  std::mutex mu;
  std::shared_ptr<StreamState> default_stream;
  std::vector<std::weak_ptr<StreamState>> streams;  // every stream made on it, default included
  uint64_t next_id = 1;
};

void synchronize_all_at_exit();

DeviceState& device_state(int index) {
  static DeviceState* devices = [] {
    auto* d = new DeviceState[kNumDevices];  // never destroyed: storages may be freed at exit
    std::atexit(synchronize_all_at_exit);
    return d;
  }();
  return devices[index];
}

thread_local int t_current_device = 0;
thread_local std::shared_ptr<StreamState> t_current_stream[kNumDevices];

int resolve(int index, const char* what) {
  if (index == -1) return t_current_device;
  HPML_CHECK(index >= 0 && index < kNumDevices, what, ": invalid sim device index ", index, " (this process has ",
             kNumDevices, " sim devices: sim:0 and sim:1)");
  return index;
}

std::shared_ptr<StreamState> default_state(int index) {
  DeviceState& d = device_state(index);
  std::lock_guard<std::mutex> g(d.mu);
  if (!d.default_stream) {
    g_initialized = true;
    d.default_stream = std::make_shared<StreamState>(index, 0);
    d.streams.push_back(d.default_stream);
  }
  return d.default_stream;
}

std::shared_ptr<StreamState> current_state(int index) {
  const auto& s = t_current_stream[index];
  return s ? s : default_state(index);
}

// Queues `task` on `s`; returns its launch number. device_work: a kernel, a copy or the
// allocator's poisoning, which the profiler times; not the runtime's own bookkeeping (an event's
// record or wait, the return of a segment), whose time is another stream's or nobody's.
// capturable: a capture of s takes the task as a node of its graph instead (sim_graph.cpp).
uint64_t enqueue(StreamState& s, const char* op, std::function<void()> task, bool device_work = true,
                 bool capturable = true) {
  uint64_t release_to = 0, seq = 0;
  const bool timed = device_work && record::on();
  const record::LaunchSite site = timed ? record::launch_site() : record::LaunchSite{};
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (s.capture && capturable) {
      s.capture->nodes.push_back({std::move(task), op});
      return s.launched;
    }
    // Past kMaxPending, run what is queued (not this launch: it stays pending, see the Note).
    if (g_deferred && s.launched - s.released > kMaxPending) release_to = s.launched;
    s.queue.push_back({std::move(task), op, timed, site});
    seq = ++s.launched;
    if (!g_deferred) release_to = seq;
  }
  if (release_to) s.release(release_to);
  return seq;
}

void raise_if(const std::string& error) {
  if (!error.empty()) HPML_FAIL(error);
}

void synchronize_all_at_exit() {
  for (int i = 0; i < kNumDevices; ++i) {
    DeviceState& d = device_state(i);
    std::vector<std::shared_ptr<StreamState>> live;
    {
      std::lock_guard<std::mutex> g(d.mu);
      for (auto& w : d.streams)
        if (auto s = w.lock()) live.push_back(s);
    }
    for (auto& s : live) s->drain();  // errors at exit have nobody to go to
  }
}

}  // namespace

int device_count() { return kNumDevices; }
bool is_available() { return true; }
int current_device() { return t_current_device; }
void set_device(int index) { t_current_device = resolve(index, "sim::set_device"); }

DeviceGuard::DeviceGuard(int index) : previous_(t_current_device) { set_device(index); }
DeviceGuard::~DeviceGuard() { t_current_device = previous_; }

Stream Stream::create(int device) {
  const int index = resolve(device, "sim::Stream::create");
  DeviceState& d = device_state(index);
  std::lock_guard<std::mutex> g(d.mu);
  g_initialized = true;
  auto s = std::make_shared<StreamState>(index, d.next_id++);
  std::erase_if(d.streams, [](const std::weak_ptr<StreamState>& w) { return w.expired(); });
  d.streams.push_back(s);
  return Stream(std::move(s));
}
int Stream::device_index() const { return state_->device; }
uint64_t Stream::id() const { return state_->id; }
bool Stream::query() const {
  detail::refuse_while_capturing(*this, "sim::Stream::query");
  const uint64_t seq = state_->launched_now();
  state_->release(seq);
  return state_->done(seq);
}
void Stream::synchronize() const {
  detail::refuse_while_capturing(*this, "sim::Stream::synchronize");
  raise_if(state_->drain());
}
void Stream::wait_stream(const Stream& other) const {
  Event e;
  e.record(other);
  e.wait(*this);
}

Stream default_stream(int device) { return Stream(default_state(resolve(device, "sim::default_stream"))); }
Stream current_stream(int device) { return Stream(current_state(resolve(device, "sim::current_stream"))); }
void set_stream(const Stream& s) {
  const int i = s.device_index();
  t_current_stream[i] = s.id() == 0 ? nullptr : s.shared_state();
}

StreamGuard::StreamGuard(const Stream& s) : previous_(current_stream(s.device_index())), device_(s.device_index()) {
  set_stream(s);
}
StreamGuard::~StreamGuard() { set_stream(previous_); }

void Event::record() { record(current_stream()); }
void Event::record(const Stream& s) {
  detail::refuse_while_capturing(s, "sim::Event::record");
  auto cell = std::make_shared<double>(-1.0);
  time_ms_ = cell;
  stream_ = s.shared_state();
  const bool timing = timing_;
  seq_ = enqueue(*stream_, "Event.record", [cell, timing] {
    if (timing)
      *cell = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }, /*device_work=*/false);
}
bool Event::query() const {
  if (!stream_) return true;
  stream_->release(seq_);
  return stream_->done(seq_);
}
void Event::synchronize() const {
  if (stream_) raise_if(stream_->wait(seq_));
}
namespace {
// Work launched on `dst` from now on waits for launch `seq` of `src`.
void enqueue_wait(StreamState& dst, std::shared_ptr<StreamState> src, uint64_t seq, bool capturable) {
  enqueue(dst, "Event.wait", [src = std::move(src), seq] {
    std::string e = src->wait(seq);  // an error stays with the stream that raised it:
    if (!e.empty()) {
      std::lock_guard<std::mutex> g(src->mu);
      if (src->error.empty()) src->error = std::move(e);
    }
  }, /*device_work=*/false, capturable);
}
}  // namespace

void Event::wait(const Stream& s) const {
  if (!stream_ || stream_.get() == s.state()) return;  // a stream is in order with itself
  detail::refuse_while_capturing(s, "sim::Event::wait");
  enqueue_wait(*s.state(), stream_, seq_, /*capturable=*/true);
}
double Event::elapsed_time(const Event& end) const {
  HPML_CHECK(timing_ && end.timing_, "Event.elapsed_time: both events must be created with enable_timing = true");
  HPML_CHECK(stream_ && end.stream_, "Event.elapsed_time: both events must be recorded first");
  HPML_CHECK(query() && end.query() && *time_ms_ >= 0 && *end.time_ms_ >= 0,
             "Event.elapsed_time: the events have not completed yet\nhint: call synchronize() on the end event first");
  return *end.time_ms_ - *time_ms_;
}

void synchronize(int device) {
  if (device == kAll) {
    for (int i = 0; i < kNumDevices; ++i) synchronize(i);
    return;
  }
  DeviceState& d = device_state(resolve(device, "sim::synchronize"));
  std::vector<std::shared_ptr<StreamState>> live;
  {
    std::lock_guard<std::mutex> g(d.mu);
    for (auto& w : d.streams)
      if (auto s = w.lock()) live.push_back(s);
  }
  for (auto& s : live) detail::refuse_while_capturing(Stream(s), "sim::synchronize");
  std::string first;
  for (auto& s : live) {
    std::string e = s->drain();
    if (first.empty()) first = std::move(e);
  }
  raise_if(first);
}

namespace detail {
void set_deferred(bool on) { g_deferred = on; }
Stream stream_of(StreamState* s) { return Stream(s->shared_from_this()); }
bool is_initialized() { return g_initialized; }

uint64_t launch_on(const Stream& s, const char* op, std::function<void()> task) {
  return enqueue(*s.state(), op, std::move(task));
}
uint64_t launch_uncaptured(const Stream& s, const char* op, std::function<void()> task) {
  return enqueue(*s.state(), op, std::move(task), /*device_work=*/true, /*capturable=*/false);
}
void wait_stream_uncaptured(const Stream& waiter, const Stream& other) {
  if (waiter == other) return;
  wait_mark_uncaptured(waiter, other, mark_uncaptured(other));
}
uint64_t mark_uncaptured(const Stream& s) {
  return enqueue(*s.state(), "Event.record", [] {}, /*device_work=*/false, /*capturable=*/false);
}
void wait_mark_uncaptured(const Stream& waiter, const Stream& s, uint64_t mark) {
  if (waiter == s) return;
  enqueue_wait(*waiter.state(), s.shared_state(), mark, /*capturable=*/false);
}

void begin_capture(const Stream& s, std::shared_ptr<CaptureState> c) {
  StreamState& st = *s.state();
  HPML_CHECK(st.id != 0, "sim::Graph::capture_begin: cannot capture the default stream of sim:", st.device,
             " (CUDA refuses its legacy stream too)\nhint: capture on a side stream: auto s = sim::Stream::create(); "
             "graph.capture_begin(s)");
  std::lock_guard<std::mutex> g(st.mu);
  HPML_CHECK(!st.capture, "sim::Graph::capture_begin: sim:", st.device, " stream ", st.id,
             " is capturing a graph already (captures do not nest)");
  st.capture = std::move(c);
}
std::vector<std::pair<void*, size_t>> end_capture(const Stream& s, CaptureState* c) {
  StreamState& st = *s.state();
  std::lock_guard<std::mutex> g(st.mu);
  HPML_CHECK(st.capture.get() == c, "sim::Graph::capture_end: sim:", st.device, " stream ", st.id,
             " is not capturing this graph");
  st.capture.reset();
  return std::exchange(c->deferred_frees, {});
}
bool defer_free_in_capture(const Stream& s, StreamId pool, void* p, size_t nbytes) {
  StreamState& st = *s.state();
  std::lock_guard<std::mutex> g(st.mu);
  if (!st.capture || st.capture->pool != pool) return false;
  st.capture->deferred_frees.emplace_back(p, nbytes);
  return true;
}
CaptureState* capture_of(const Stream& s) {
  std::lock_guard<std::mutex> g(s.state()->mu);
  return s.state()->capture.get();
}
void refuse_while_capturing(const Stream& s, const char* what) {
  StreamState& st = *s.state();
  std::lock_guard<std::mutex> g(st.mu);
  if (!st.capture) return;
  const std::string where = "sim:" + std::to_string(st.device) + " stream " + std::to_string(st.id);
  if (st.capture->invalid.empty()) st.capture->invalid = what;
  HPML_FAIL(what, ": not permitted while ", where,
            " is capturing a graph (CUDA: cudaErrorStreamCaptureUnsupported); the capture is invalidated"
            "\nhint: inside a capture, launch work only: no synchronize, query, item(), blocking copy to the host "
            "or event");
}

void launch(int device, const char* op, std::function<void()> task) {
  enqueue(*current_state(resolve(device, op)), op, std::move(task));
}

void launch_after_all(int device, const char* op, std::function<void()> task) {
  const int index = resolve(device, op);
  DeviceState& d = device_state(index);
  std::vector<std::shared_ptr<StreamState>> live;
  {
    std::lock_guard<std::mutex> g(d.mu);
    for (auto& w : d.streams)
      if (auto s = w.lock()) live.push_back(s);
  }
  const Stream target(default_state(index));
  // Uncaptured: a stream capturing a graph meanwhile (the free may come from a tensor's
  // destructor inside its capture) neither takes these waits as nodes nor refuses them.
  for (auto& s : live) wait_stream_uncaptured(target, Stream(s));
  enqueue(*target.state(), op, std::move(task), /*device_work=*/false, /*capturable=*/false);
}
}  // namespace detail

}  // namespace hpml::sim
