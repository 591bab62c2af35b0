// Page-locked ("pinned") host memory for DataLoader(pin_memory = true) and data::pin_memory().
#include <sys/mman.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "data/loader_internal.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/tensor_impl.h"

namespace hpml::data {

// Note [Pinned memory]
// A GPU copies from host memory by DMA, which needs pages the kernel will not move or swap out:
// page-locked memory. On a CPU build there is no GPU to copy to, so pinning means what it means
// for the host: blocks from mmap, locked with mlock, and kept in a small cache by size so a
// training loop does not lock and unlock memory every batch. The CUDA backend will allocate them
// with cudaHostAlloc instead, which also registers them with the driver. Locking can fail
// (RLIMIT_MEMLOCK, often 8 MiB for an ordinary user): then the batch is still copied, a warning
// says why once, and is_pinned() tells the truth (false).

namespace {

struct PinnedCache {
  std::mutex mu;
  std::multimap<size_t, void*> free;   // size -> block
  std::set<void*> locked;              // every block that is page-locked
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

void* pinned_alloc(size_t nbytes, bool& locked) {
  const size_t size = round_up(nbytes);
  PinnedCache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free.find(size);
    if (it != c.free.end()) {
      void* p = it->second;
      c.free.erase(it);
      c.free_bytes -= size;
      locked = c.locked.count(p) > 0;
      return p;
    }
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  HPML_CHECK(p != MAP_FAILED, "pin_memory: cannot allocate ", size, " bytes: ", std::strerror(errno));
  locked = mlock(p, size) == 0;
  std::lock_guard<std::mutex> lock(c.mu);
  if (locked) {
    c.locked.insert(p);
  } else if (!c.warned) {
    c.warned = true;
    std::fprintf(stderr,
                 "hpml: warning: pin_memory: mlock of %zu bytes failed (%s); batches are copied but not "
                 "page-locked. hint: raise the limit with `ulimit -l`\n",
                 size, std::strerror(errno));
  }
  return p;
}

void pinned_free(void* p, size_t nbytes) {
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

}  // namespace

bool is_pinned(const Tensor& t) {
  if (!t.defined()) return false;
  PinnedCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.locked.count(t.impl()->storage()->data()) > 0;
}

Tensor pin_memory(const Tensor& t) {
  HPML_CHECK(t.defined(), "pin_memory: undefined tensor");
  Tensor src = t.contiguous();
  const size_t nbytes = src.nbytes();
  bool locked = false;
  void* p = pinned_alloc(nbytes, locked);
  if (nbytes) std::memcpy(p, src.data_ptr(), nbytes);
  auto st = Storage::make(p, nbytes, [nbytes](void* q) { pinned_free(q, nbytes); }, kCPU);
  return Tensor(IntrusivePtr<TensorImpl>::make(std::move(st), src.dtype(), src.sizes(), src.strides(), 0));
}

namespace detail {
Batch pin_batch(const Batch& b) {
  record::Scope scope(record::Kind::data, "DataLoader.pin_memory");
  Batch out;
  out.reserve(b.size());
  for (const Tensor& t : b) out.push_back(pin_memory(t));
  return out;
}
}  // namespace detail

}  // namespace hpml::data
