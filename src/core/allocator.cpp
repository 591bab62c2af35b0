// The caching CPU allocator: 64-byte aligned blocks, kept by size class after they are freed.
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

// Note [Caching CPU allocator]
// A training step allocates the same sizes every iteration. Handing freed blocks back to malloc
// costs little for small blocks, but large blocks come from mmap: every step would pay munmap,
// mmap and one page fault per 4 KiB on first touch — PyTorch loses half its elementwise
// bandwidth to that when it allocates outputs. So freed blocks stay here, binned by size class,
// and an allocation of the same class reuses one. Size classes: multiples of 64 bytes up to
// 1 KiB, then four classes per power of two (waste <= 25%). Blocks >= 4 MiB are 2 MiB-aligned
// and marked for transparent huge pages. One mutex guards the bins: a lock/unlock pair costs
// ~20 ns uncontended, small against any op that touches the allocator.
constexpr size_t kSmallLimit = 1024;
constexpr size_t kHugeThreshold = size_t{4} << 20;
constexpr size_t kHugeAlign = size_t{2} << 20;
constexpr int kNumClasses = 16 + 4 * 64;
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

class CachingCpuAllocator final : public Allocator {
 public:
  CachingCpuAllocator() {
    if (const char* env = std::getenv("HPML_CPU_CACHE_LIMIT_MB")) limit_ = std::strtoull(env, nullptr, 10) << 20;
  }
  ~CachingCpuAllocator() override = default;  // cached blocks are released with the process

  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    HPML_CHECK(nbytes <= kMaxBytes, "cpu allocator: cannot allocate ", nbytes, " bytes (more than 2^56)");
    int cls = 0;
    size_t size = round_to_class(nbytes, &cls);
    {
      std::lock_guard<std::mutex> g(mu_);
      auto& bin = bins_[cls];
      stats_.allocated_bytes += size;
      if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
      if (!bin.empty()) {
        void* p = bin.back();
        bin.pop_back();
        stats_.cached_bytes -= size;
        ++stats_.hits;
        if (record::detail::memory_on()) record::memory_changed(static_cast<int64_t>(size), kCPU);
        return p;
      }
      ++stats_.misses;
    }
    void* p = system_alloc(size);
    if (!p) {
      cpu_empty_cache();
      p = system_alloc(size);
    }
    if (!p) {
      std::lock_guard<std::mutex> g(mu_);
      stats_.allocated_bytes -= size;
      HPML_FAIL("cpu allocator: out of memory allocating ", nbytes, " bytes (", size,
                " with rounding); hint: reduce the batch size or free tensors you no longer need");
    }
    if (record::detail::memory_on()) record::memory_changed(static_cast<int64_t>(size), kCPU);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    int cls = 0;
    size_t size = round_to_class(nbytes, &cls);
    if (record::detail::memory_on()) record::memory_changed(-static_cast<int64_t>(size), kCPU);  // the profiler's
    {
      std::lock_guard<std::mutex> g(mu_);
      stats_.allocated_bytes -= size;
      if (stats_.cached_bytes + size <= limit_) {
        bins_[cls].push_back(p);
        stats_.cached_bytes += size;
        return;
      }
    }
    std::free(p);
  }

  void empty_cache() {
    std::vector<void*> to_free;
    {
      std::lock_guard<std::mutex> g(mu_);
      for (auto& bin : bins_) {
        to_free.insert(to_free.end(), bin.begin(), bin.end());
        bin.clear();
      }
      stats_.cached_bytes = 0;
    }
    for (void* p : to_free) std::free(p);
  }

  CpuAllocatorStats stats() {
    std::lock_guard<std::mutex> g(mu_);
    return stats_;
  }
  void set_limit(size_t bytes) {
    {
      std::lock_guard<std::mutex> g(mu_);
      limit_ = bytes;
    }
    if (stats().cached_bytes > bytes) empty_cache();
  }

 private:
  static void* system_alloc(size_t size) {
    if (size >= kHugeThreshold) {
      void* p = std::aligned_alloc(kHugeAlign, (size + kHugeAlign - 1) / kHugeAlign * kHugeAlign);
      if (p) madvise(p, size, MADV_HUGEPAGE);
      return p;
    }
    return std::aligned_alloc(kAlignment, size);
  }

  std::mutex mu_;
  std::array<std::vector<void*>, kNumClasses> bins_;
  CpuAllocatorStats stats_;
  size_t limit_ = size_t{4} << 30;
};

CachingCpuAllocator& instance() {
  // Never destroyed: storages freed by other static destructors may still return blocks.
  static auto* a = new CachingCpuAllocator();
  return *a;
}

}  // namespace

Allocator* cpu_allocator() { return &instance(); }
CpuAllocatorStats cpu_allocator_stats() { return instance().stats(); }
void cpu_empty_cache() { instance().empty_cache(); }
void set_cpu_cache_limit(size_t bytes) { instance().set_limit(bytes); }

}  // namespace hpml
