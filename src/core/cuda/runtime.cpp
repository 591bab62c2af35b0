// The CUDA runtime (core/cuda.h) and the CUDA entry of core's device table (core/device_runtime.h):
// devices, the current device, the caching allocator over cudaMalloc per GPU, pinned host memory
// from a caching cudaHostAlloc, synchronize. Built only with CUDA (CMakeLists.txt); host code,
// compiled by the C++ compiler against the CUDA runtime API.
//
// Status: compiled, not yet run on a GPU (no GPU machine has run it).
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <map>
#include <set>
#include <vector>
#include <string>
#include <utility>

#include "core/cuda/check.h"
#include "hpml/core/cuda.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/stream_allocator.h"
#include "hpml/core/tensor.h"
#include "hpml/core/tensor_impl.h"

namespace hpml::cuda {

// Note [The CUDA runtime]
// - Probing. cudaGetDeviceCount is the first CUDA call. On a machine without a driver (CI, this
//   project's CPU machines) it fails, and hpml then has no GPU and remembers the runtime's words
//   for why: unavailable_reason(), and the error of Device("cuda:0"). It loads the driver but
//   makes no context, so a process that only asked is still free to fork (as with PyTorch).
// - Initialisation. The first call that needs a context (set_device, an allocation, a copy, a
//   kernel) makes it, and from then on is_initialized() is true: mp::Process refuses to fork,
//   since a child would inherit a half-alive context.
// - Memory. Each GPU has a StreamCachingAllocator (core/stream_allocator.h) over cudaMalloc and
//   cudaFree, so a training loop that makes the same tensors every step stops calling cudaMalloc
//   after its first step (raw_allocation_count counts the calls). A freed block is handed out
//   again at once, but only on its stream; record_stream covers a second stream
//   (Note [Stream-ordered caching allocator]). Streams and events: src/core/cuda/stream.cpp.
// - Pinned memory. cudaHostAlloc'd blocks (page-locked and registered with the driver, so copies
//   from them are DMA and may be asynchronous), cached by size like the device's.

namespace {

constexpr int kMaxDevices = 16;

struct Probe {
  int count = 0;
  std::string why;  // "" when count > 0
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      r.why = std::string("the CUDA runtime found no usable GPU: ") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
      return r;
    }
    r.count = std::min(n, kMaxDevices);
    if (n == 0) r.why = "the CUDA runtime found no GPU";
    return r;
  }();
  return p;
}

std::atomic<bool> g_initialized{false};
std::atomic<size_t> g_mallocs[kMaxDevices];

int index_of(int device, const char* op) {
  HPML_CHECK(probe().count > 0, "cuda::", op, ": no GPU is available: ", probe().why);
  if (device == -1) return current_device();
  HPML_CHECK(device >= 0 && device < probe().count, "cuda::", op, ": invalid device index ", device, " (this process has ",
             probe().count, " GPU", probe().count == 1 ? "" : "s", ")");
  return device;
}

// The caching allocator's view of a GPU: cudaMalloc'd segments, this thread's current stream,
// and events without timing for record_stream.
class CudaMemory final : public DeviceMemory {
 public:
  explicit CudaMemory(int device) : device_(device) {}
  Device device() const override { return Device(DeviceType::CUDA, device_); }
  // Note [cudaMalloc and cudaFree during a capture]
  // A graph capture in global mode makes cudaMalloc and cudaFree "unsafe": called from any thread
  // meanwhile, they fail and invalidate the capture. Yet a capture's first allocations need fresh
  // segments for the graph's pool (it starts empty). So cudaMalloc runs in this thread's relaxed
  // capture mode (as PyTorch's allocator does), and a free that comes while any capture runs (a
  // tensor of a destroyed graph dying, empty_cache) is kept and done at the next free or
  // allocation with no capture running.
  void* alloc(size_t size) override {
    DeviceGuard guard(device_);
    free_deferred();
    void* p = nullptr;
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    (void)cudaThreadExchangeStreamCaptureMode(&mode);
    const cudaError_t e = cudaMalloc(&p, size);
    (void)cudaThreadExchangeStreamCaptureMode(&mode);  // back to what the thread had
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      return nullptr;  // the allocator returns its free segments and tries once more
    }
    check(e, "cudaMalloc", device_);
    g_initialized = true;  // cudaMalloc made the context (on the default device, set_device may not have run)
    g_mallocs[device_].fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  void free(void* p, size_t) override {
    DeviceGuard guard(device_);
    {
      std::lock_guard<std::mutex> g(deferred_mu_);
      deferred_.push_back(p);
    }
    free_deferred();
  }
  // Inside a graph capture, the graph's private pool (Note [Graphs on the simulated device]).
  StreamId current_stream() override {
    const void* s = cuda::current_stream(device_).native();
    const uintptr_t pool = detail::capture_pool(s);
    return pool ? pool : reinterpret_cast<StreamId>(s);
  }
  EventId record_event(StreamId stream) override {
    DeviceGuard guard(device_);
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "record_stream", device_);
    check(cudaEventRecord(e, reinterpret_cast<cudaStream_t>(stream)), "record_stream", device_);
    return reinterpret_cast<EventId>(e);
  }
  bool event_done(EventId e) override {
    return ready(cudaEventQuery(reinterpret_cast<cudaEvent_t>(e)), "record_stream", device_);
  }
  void event_synchronize(EventId e) override {
    check(cudaEventSynchronize(reinterpret_cast<cudaEvent_t>(e)), "record_stream", device_);
  }
  void event_release(EventId e) override { (void)cudaEventDestroy(reinterpret_cast<cudaEvent_t>(e)); }

 private:
  // The kept frees, unless a capture runs (then they wait for the next call).
  void free_deferred() {
    if (detail::any_capture()) return;
    std::vector<void*> now;
    {
      std::lock_guard<std::mutex> g(deferred_mu_);
      now.swap(deferred_);
    }
    for (void* p : now) check(cudaFree(p), "cudaFree", device_);
  }
  int device_;
  std::mutex deferred_mu_;
  std::vector<void*> deferred_;
};

StreamCachingAllocator* allocator(int device) {
  static StreamCachingAllocator* all[kMaxDevices] = {};
  static std::once_flag made[kMaxDevices];
  const int i = index_of(device, "allocator");
  std::call_once(made[i], [i] { all[i] = new StreamCachingAllocator(new CudaMemory(i)); });  // never destroyed
  return all[i];
}

// Pinned host memory: every block cudaHostAlloc gave, for is_pinned.
struct PinnedBlocks {
  std::mutex mu;
  std::set<const void*> blocks;
};
PinnedBlocks& pinned_blocks() {
  static auto* b = new PinnedBlocks;  // never destroyed: storages may die after static destruction
  return *b;
}

void* host_alloc(size_t size) {
  void* p = nullptr;
  const cudaError_t e = cudaHostAlloc(&p, size, cudaHostAllocDefault);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    return nullptr;
  }
  check(e, "cudaHostAlloc", current_device());
  g_initialized = true;
  std::lock_guard<std::mutex> lock(pinned_blocks().mu);
  pinned_blocks().blocks.insert(p);
  return p;
}

void host_free(void* p, size_t) {
  {
    std::lock_guard<std::mutex> lock(pinned_blocks().mu);
    pinned_blocks().blocks.erase(p);
  }
  check(cudaFreeHost(p), "cudaFreeHost", current_device());
}

// Note [Pinned blocks in flight]
// A non-blocking copy from pinned memory returns before the DMA has read it. The DataLoader's
// batch is freed at the end of the step while its copy may still be queued, and the next batch,
// pinned into the same cached block, would overwrite the bytes under the DMA. So (as PyTorch's
// CachingHostAllocator) each copy records an event on its stream against the block, and a freed
// block with events not yet complete waits in `pending`; each allocation first returns the
// pending blocks whose events have completed.
class PinnedAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    release_completed();
    return cache_.allocate(nbytes);
  }
  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = uses_.find(p);
      if (it != uses_.end()) {
        pending_.push_back({p, nbytes, std::move(it->second)});
        uses_.erase(it);
        return;
      }
    }
    cache_.deallocate(p, nbytes);
  }
  void record_use(const void* p, cudaStream_t stream, int device) {
    {
      std::lock_guard<std::mutex> lock(pinned_blocks().mu);
      if (!pinned_blocks().blocks.count(p)) return;  // page-locked by another runtime: not ours to hold
    }
    DeviceGuard guard(device);
    cudaEvent_t e = nullptr;
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "pinned copy", device);
    check(cudaEventRecord(e, stream), "pinned copy", device);
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<cudaEvent_t>& events = uses_[p];
    // A long-lived buffer copied every step: drop the events of its finished copies.
    std::erase_if(events, [](cudaEvent_t old) {
      if (cudaEventQuery(old) == cudaErrorNotReady) return false;
      (void)cudaEventDestroy(old);
      return true;
    });
    (void)cudaGetLastError();
    events.push_back(e);
  }

 private:
  struct Pending {
    void* p;
    size_t nbytes;
    std::vector<cudaEvent_t> events;
  };
  void release_completed() {
    std::vector<Pending> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = pending_.begin(); it != pending_.end();) {
        bool complete = true;
        for (cudaEvent_t e : it->events) complete = complete && cudaEventQuery(e) != cudaErrorNotReady;
        if (!complete) {
          ++it;
          continue;
        }
        done.push_back(std::move(*it));
        it = pending_.erase(it);
      }
    }
    (void)cudaGetLastError();  // the cudaErrorNotReady answers
    for (Pending& d : done) {
      for (cudaEvent_t e : d.events) (void)cudaEventDestroy(e);
      cache_.deallocate(d.p, d.nbytes);
    }
  }

  CachingAllocator cache_{RawMemory{kCPU, host_alloc, host_free}, size_t{1} << 30};
  std::mutex mu_;
  std::map<const void*, std::vector<cudaEvent_t>> uses_;
  std::vector<Pending> pending_;
};

PinnedAllocator* pinned() {
  static auto* a = new PinnedAllocator;  // never destroyed, like every allocator
  return a;
}
Allocator* pinned_allocator() { return pinned(); }

bool is_pinned(const void* p) {
  std::lock_guard<std::mutex> lock(pinned_blocks().mu);
  return pinned_blocks().blocks.count(p) > 0;
}

}  // namespace

bool is_built() { return true; }
bool is_available() { return probe().count > 0; }
int device_count() { return probe().count; }
std::string unavailable_reason() { return probe().why; }

int current_device() {
  index_of(0, "current_device");
  int d = 0;
  check(cudaGetDevice(&d), "cudaGetDevice", -1);
  return d;
}

void set_device(int index) {
  const int i = index_of(index, "set_device");
  check(cudaSetDevice(i), "cudaSetDevice", i);
  g_initialized = true;
}

void synchronize(int index) {
  const int i = index_of(index, "synchronize");
  DeviceGuard guard(i);
  check(cudaDeviceSynchronize(), "synchronize", i);
  detail::flush_kernel_events();  // the profiler's kernel times are readable now
}

DeviceGuard::DeviceGuard(int index) : previous_(current_device()) {
  if (index != previous_) set_device(index);
}
DeviceGuard::~DeviceGuard() {
  int now = previous_;
  if (cudaGetDevice(&now) == cudaSuccess && now != previous_) (void)cudaSetDevice(previous_);
}

DeviceProperties get_device_properties(int index) {
  const int i = index_of(index, "get_device_properties");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, i), "cudaGetDeviceProperties", i);
  return {p.name, p.major, p.minor, p.totalGlobalMem, p.multiProcessorCount};
}

namespace {
std::atomic<bool> g_allow_tf32{false};
}
void set_matmul_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool matmul_allow_tf32() { return g_allow_tf32; }

size_t raw_allocation_count(int index) { return g_mallocs[index_of(index, "raw_allocation_count")].load(); }

void record_stream(const Tensor& t, const Stream& s) {
  HPML_CHECK(t.defined() && t.device().type() == DeviceType::CUDA, "record_stream: expected a cuda tensor, got ",
             t.defined() ? t.device().str() : std::string("an undefined tensor"));
  HPML_CHECK(t.device().index() == s.device_index(), "record_stream: the tensor is on ", t.device(),
             " but the stream is on cuda:", s.device_index());
  allocator(s.device_index())->record_stream(t.impl()->storage()->data(), reinterpret_cast<StreamId>(s.native()));
}

StreamAllocatorStats memory_stats(int index) { return allocator(index)->stats(); }
size_t memory_allocated(int index) { return memory_stats(index).base.allocated_bytes; }
size_t memory_reserved(int index) { return memory_stats(index).reserved_bytes; }
size_t max_memory_allocated(int index) { return memory_stats(index).base.peak_allocated_bytes; }
void reset_peak_memory_stats(int index) { allocator(index)->reset_peak(); }
std::string memory_summary(int index) { return allocator(index)->summary(); }
void empty_cache(int index) {
  synchronize(index);  // cudaFree would wait for the device anyway
  allocator(index)->empty_cache();
}

namespace detail {
void release_graph_pool(int device, uintptr_t pool) { allocator(device)->release_pool(pool); }
void reuse_graph_pool(int device, uintptr_t pool) { allocator(device)->reuse_pool(pool); }

void record_pinned_use(const void* p, cudaStream_t stream, int device) { pinned()->record_use(p, stream, device); }

const DeviceRuntime* device_runtime() {
  static constexpr DeviceRuntime kCudaRuntime{
      .name = "cuda",
      .device_count = cuda::device_count,
      .current_device = cuda::current_device,
      .allocator = [](int i) -> Allocator* { return allocator(i); },
      .memory_stats = [](int i) { return allocator(i)->stats().base; },
      .empty_cache = [](int i) { cuda::empty_cache(i); },
      .synchronize = [](int i) { cuda::synchronize(i); },
      .pinned_allocator = pinned_allocator,
      .is_pinned = is_pinned,
      .is_initialized = [] { return g_initialized.load(); },
  };
  return &kCudaRuntime;
}
}  // namespace detail

}  // namespace hpml::cuda
