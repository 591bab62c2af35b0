// Page-locked host memory from mmap + mlock, cached by size (core/pinned.h).
#include "hpml/core/pinned.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "hpml/core/error.h"

namespace hpml {

// Note [Pinned memory]
// A GPU copies from host memory by DMA, which needs pages the kernel will not move or swap out:
// page-locked memory. Where it comes from is the device's business (DeviceRuntime::pinned_allocator):
// the CUDA runtime's cudaHostAlloc also registers the pages with the driver. For the host and the
// simulated device pinning means what it means for the host: blocks from mmap, locked with mlock,
// and kept in a small cache by size so a training loop does not lock and unlock memory every
// batch. Locking can fail (RLIMIT_MEMLOCK, often 8 MiB for an ordinary user): then the block is
// still handed out, a warning says why once, and is_page_locked() tells the truth (false).

namespace {

struct PinnedCache {
  std::mutex mu;
  std::multimap<size_t, void*> free;  // size -> block
  std::set<void*> locked;             // every block that is page-locked
  size_t free_bytes = 0;
  bool warned = false;
};

// Freed blocks kept for reuse, at most this many bytes; beyond it they are unlocked and unmapped.
constexpr size_t kCacheLimit = size_t{512} << 20;

PinnedCache& cache() {
  static auto* c = new PinnedCache;  // never destroyed: storages may die after static destruction
  return *c;
}

// Whole pages, and a power of two above 1 MiB, so batches of varying size share blocks.
size_t round_up(size_t n) {
  const size_t page = 4096;
  size_t r = (std::max<size_t>(n, 1) + page - 1) / page * page;
  if (r > (size_t{1} << 20)) r = std::bit_ceil(r);
  return r;
}

class PageLockedAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t size = round_up(nbytes);
    PinnedCache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.free.find(size);
      if (it != c.free.end()) {
        void* p = it->second;
        c.free.erase(it);
        c.free_bytes -= size;
        return p;
      }
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    HPML_CHECK(p != MAP_FAILED, "pin_memory: cannot allocate ", size, " bytes: ", std::strerror(errno));
    const bool locked = mlock(p, size) == 0;
    const int err = errno;
    std::lock_guard<std::mutex> lock(c.mu);
    if (locked) {
      c.locked.insert(p);
    } else if (!c.warned) {
      c.warned = true;
      std::fprintf(stderr,
                   "hpml: warning: pin_memory: mlock of %zu bytes failed (%s); batches are copied but not "
                   "page-locked. hint: raise the limit with `ulimit -l`\n",
                   size, std::strerror(err));
    }
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
    const size_t size = round_up(nbytes);
    PinnedCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.free_bytes + size > kCacheLimit) {
      c.locked.erase(p);
      munmap(p, size);  // also unlocks it
      return;
    }
    c.free.emplace(size, p);
    c.free_bytes += size;
  }
};

}  // namespace

Allocator* page_locked_allocator() {
  static auto* a = new PageLockedAllocator;  // never destroyed, like its cache
  return a;
}

bool is_page_locked(const void* p) {
  PinnedCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.locked.count(const_cast<void*>(p)) > 0;
}

}  // namespace hpml
