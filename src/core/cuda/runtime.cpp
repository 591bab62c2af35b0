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
#include <set>
#include <string>
#include <utility>

#include "core/cuda/check.h"
#include "hpml/core/cuda.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"

namespace hpml::cuda {

// Note [The CUDA runtime]
// - Probing. cudaGetDeviceCount is the first CUDA call. On a machine without a driver (CI, this
//   project's CPU machines) it fails, and hpml then has no GPU and remembers the runtime's words
//   for why: unavailable_reason(), and the error of Device("cuda:0"). It loads the driver but
//   makes no context, so a process that only asked is still free to fork (as with PyTorch).
// - Initialisation. The first call that needs a context (set_device, an allocation, a copy, a
//   kernel) makes it, and from then on is_initialized() is true: mp::Process refuses to fork,
//   since a child would inherit a half-alive context.
// - Memory. Each GPU has a CachingAllocator (core/allocator.h) over cudaMalloc/cudaFree, so a
//   training loop that makes the same tensors every step stops calling cudaMalloc after its first
//   step (raw_allocation_count counts the calls). Every kernel and copy runs on the default
//   stream, in order, so a block freed on the host may be handed out again at once: the work that
//   used it is queued before the work of its next owner. User streams will need the stream-ordered
//   allocator (blocks reused on their stream, record_stream) before they exist.
// - Pinned memory. cudaHostAlloc'd blocks (page-locked and registered with the driver, so copies
//   from them are DMA and may be asynchronous), cached by size like the device's.

namespace {

constexpr int kMaxDevices = 16;
constexpr size_t kCacheLimit = size_t{1} << 40;  // the device cache is bounded by the GPU itself

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

template <int I>
void* raw_alloc(size_t size) {
  DeviceGuard guard(I);
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    return nullptr;  // the caching allocator empties its cache and tries once more
  }
  check(e, "cudaMalloc", I);
  g_initialized = true;  // cudaMalloc made the context (on the default device, set_device may not have run)
  g_mallocs[I].fetch_add(1, std::memory_order_relaxed);
  return p;
}

template <int I>
void raw_free(void* p, size_t) {
  DeviceGuard guard(I);
  check(cudaFree(p), "cudaFree", I);
}

template <size_t... I>
CachingAllocator* make_allocator(int device, std::index_sequence<I...>) {
  static CachingAllocator* const all[] = {
      new CachingAllocator(RawMemory{Device(DeviceType::CUDA, I), raw_alloc<I>, raw_free<I>}, kCacheLimit)...};
  return all[device];
}

CachingAllocator* allocator(int device) {
  return make_allocator(index_of(device, "allocator"), std::make_index_sequence<kMaxDevices>{});
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

Allocator* pinned_allocator() {
  static auto* a = new CachingAllocator(RawMemory{kCPU, host_alloc, host_free}, size_t{1} << 30);
  return a;
}

bool is_pinned(const void* p) {
  std::lock_guard<std::mutex> lock(pinned_blocks().mu);
  return pinned_blocks().blocks.count(p) > 0;
}

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

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

Versions versions() {
  Versions v;
  int rt = 0, drv = 0;
  v.runtime = cudaRuntimeGetVersion(&rt) == cudaSuccess ? version_string(rt) : "unknown";
  v.driver = cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0 ? version_string(drv) : "none";
  v.toolkit = version_string(CUDART_VERSION);
  return v;
}

size_t raw_allocation_count(int index) { return g_mallocs[index_of(index, "raw_allocation_count")].load(); }

namespace detail {
const DeviceRuntime* device_runtime() {
  static constexpr DeviceRuntime kCudaRuntime{
      .name = "cuda",
      .device_count = cuda::device_count,
      .current_device = cuda::current_device,
      .allocator = [](int i) -> Allocator* { return allocator(i); },
      .memory_stats = [](int i) { return allocator(i)->stats(); },
      .empty_cache =
          [](int i) {
            synchronize(i);  // the blocks' last kernels have finished before cudaFree
            allocator(i)->empty_cache();
          },
      .synchronize = [](int i) { cuda::synchronize(i); },
      .pinned_allocator = pinned_allocator,
      .is_pinned = is_pinned,
      .is_initialized = [] { return g_initialized.load(); },
  };
  return &kCudaRuntime;
}
}  // namespace detail

}  // namespace hpml::cuda
