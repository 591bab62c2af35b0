// The caching allocator (any device's raw memory, blocks kept by size class after they are freed)
// and the CPU's instance of it: 64-byte aligned blocks, huge pages for large ones.
#include "hpml/core/allocator.h"

#include <sys/mman.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/record.h"

namespace hpml {
namespace {

// Note [Caching allocator]
// A training step allocates the same sizes every iteration. Handing freed blocks back to malloc
// costs little for small blocks, but large blocks come from mmap: every step would pay munmap,
// mmap and one page fault per 4 KiB on first touch — PyTorch loses half its elementwise
// bandwidth to that when it allocates outputs. So freed blocks stay here, binned by size class,
// and an allocation of the same class reuses one. Size classes: multiples of 64 bytes up to
// 1 KiB, then four classes per power of two (waste <= 25%). Blocks >= 4 MiB are 2 MiB-aligned
// and marked for transparent huge pages. One mutex guards the bins: a lock/unlock pair costs
// ~20 ns uncontended, small against any op that touches the allocator. The same class holds for
// every device: it is given the device's raw allocate/free (RawMemory) and keeps its statistics.
constexpr size_t kSmallLimit = 1024;
constexpr size_t kHugeThreshold = size_t{4} << 20;
constexpr size_t kHugeAlign = size_t{2} << 20;
constexpr size_t kMaxBytes = size_t{1} << 56;  // size classes stay far from overflow below this

size_t round_to_class(size_t n, int* cls) {
  if (n <= kSmallLimit) {
    size_t c = (n + kAlignment - 1) / kAlignment;  // 1..16
    *cls = static_cast<int>(c) - 1;
    return c * kAlignment;
  }
  int p = 63 - __builtin_clzll(n - 1);  // 2^p < n <= 2^(p+1)
  size_t base = size_t{1} << p, step = base / 4;
  size_t k = (n - base + step - 1) / step;  // 1..4
  *cls = 16 + 4 * (p - 10) + static_cast<int>(k) - 1;
  return base + k * step;
}

// The size of class `cls` (the inverse of round_to_class).
size_t class_size(int cls) {
  if (cls < 16) return static_cast<size_t>(cls + 1) * kAlignment;
  const int p = (cls - 16) / 4 + 10, k = (cls - 16) % 4 + 1;
  return (size_t{1} << p) + static_cast<size_t>(k) * ((size_t{1} << p) / 4);
}

}  // namespace

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  HPML_CHECK(nbytes <= kMaxBytes, raw_.device, " allocator: cannot allocate ", nbytes, " bytes (more than 2^56)");
  int cls = 0;
  size_t size = round_to_class(nbytes, &cls);
  void* cached = nullptr;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto& bin = bins_[cls];
    stats_.allocated_bytes += size;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
    if (!bin.empty()) {
      cached = bin.back();
      bin.pop_back();
      stats_.cached_bytes -= size;
      ++stats_.hits;
    } else {
      ++stats_.misses;
    }
  }
  // Outside mu_: the profiler's first call on a thread takes its registry lock, which start() and
  // stop() hold while they read these statistics (a lock-order inversion inside).
  if (cached) {
    if (record::detail::memory_on()) record::memory_changed(static_cast<int64_t>(size), raw_.device);
    return cached;
  }
  void* p = raw_.alloc(size);
  if (!p) {
    empty_cache();
    p = raw_.alloc(size);
  }
  if (!p) {
    std::lock_guard<std::mutex> g(mu_);
    stats_.allocated_bytes -= size;
    HPML_FAIL(raw_.device, " allocator: out of memory allocating ", nbytes, " bytes (", size,
              " with rounding); hint: reduce the batch size or free tensors you no longer need");
  }
  if (record::detail::memory_on()) record::memory_changed(static_cast<int64_t>(size), raw_.device);
  return p;
}

void CachingAllocator::deallocate(void* p, size_t nbytes) {
  if (!p) return;
  int cls = 0;
  size_t size = round_to_class(nbytes, &cls);
  if (record::detail::memory_on()) record::memory_changed(-static_cast<int64_t>(size), raw_.device);  // the profiler's
  {
    std::lock_guard<std::mutex> g(mu_);
    stats_.allocated_bytes -= size;
    if (stats_.cached_bytes + size <= limit_) {
      bins_[cls].push_back(p);
      stats_.cached_bytes += size;
      return;
    }
  }
  raw_.free(p, size);
}

void CachingAllocator::empty_cache() {
  std::vector<std::pair<void*, size_t>> to_free;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (int cls = 0; cls < kNumClasses; ++cls) {
      for (void* p : bins_[cls]) to_free.emplace_back(p, class_size(cls));
      bins_[cls].clear();
    }
    stats_.cached_bytes = 0;
  }
  for (auto [p, size] : to_free) raw_.free(p, size);
}

AllocatorStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> g(mu_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

void CachingAllocator::set_limit(size_t bytes) {
  {
    std::lock_guard<std::mutex> g(mu_);
    limit_ = bytes;
  }
  if (stats().cached_bytes > bytes) empty_cache();
}

namespace {
void* cpu_system_alloc(size_t size) {
  if (size >= kHugeThreshold) {
    void* p = std::aligned_alloc(kHugeAlign, (size + kHugeAlign - 1) / kHugeAlign * kHugeAlign);
    if (p) madvise(p, size, MADV_HUGEPAGE);
    return p;
  }
  return std::aligned_alloc(kAlignment, size);
}
void cpu_system_free(void* p, size_t) { std::free(p); }

CachingAllocator& instance() {
  // Never destroyed: storages freed by other static destructors may still return blocks.
  static auto* a = [] {
    size_t limit = size_t{4} << 30;
    if (const char* env = std::getenv("HPML_CPU_CACHE_LIMIT_MB")) limit = std::strtoull(env, nullptr, 10) << 20;
    return new CachingAllocator(RawMemory{kCPU, cpu_system_alloc, cpu_system_free}, limit);
  }();
  return *a;
}

}  // namespace

Allocator* cpu_allocator() { return &instance(); }
CpuAllocatorStats cpu_allocator_stats() { return instance().stats(); }
void cpu_empty_cache() { instance().empty_cache(); }
void set_cpu_cache_limit(size_t bytes) { instance().set_limit(bytes); }

}  // namespace hpml
