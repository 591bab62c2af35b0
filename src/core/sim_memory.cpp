// The simulated device's memory: a caching allocator per device over guarded host blocks, poison
// on allocation and on free, canaries around every block, and the map of live blocks that lets
// a sim kernel check that every pointer it is given is memory of its device.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "hpml/core/error.h"
#include "hpml/core/sim.h"

namespace hpml::sim {
namespace {

// Note [Canaries and poison]
// Every block a storage gets is kGuard bytes of canary, the storage's bytes, and kGuard bytes of
// canary. A kernel that writes past either end of its tensor changes a canary; the block's free
// (queued on its stream, after every kernel that used it) checks both and reports the damage at
// the next synchronisation, as CUDA reports an illegal address. The free also fills the bytes
// with poison before the block goes back to the cache, so a kernel still reading a freed tensor
// reads NaN or -1, and so does a host read of a block no kernel has written yet.
constexpr size_t kGuard = 64;
constexpr unsigned char kCanary = 0xc3;
constexpr size_t kCacheLimit = size_t{1} << 30;

void* raw_alloc(size_t size) {
  void* p = std::aligned_alloc(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
  if (p) std::memset(p, detail::kPoison, size);
  return p;
}
void raw_free(void* p, size_t) { std::free(p); }

struct Block {
  size_t nbytes;
  int device;
  std::weak_ptr<StreamState> stream;  // where it was allocated: its free is queued there
};
struct LiveBlocks {
  std::mutex mu;
  std::map<uintptr_t, Block> by_address;  // the storage's first byte -> block
};
LiveBlocks& live() {
  static auto* b = new LiveBlocks;  // never destroyed, like every allocator
  return *b;
}

// Throws when a canary of the block at `user` (nbytes) is not intact.
void check_canaries(const unsigned char* user, size_t nbytes, int device) {
  for (size_t i = 0; i < kGuard; ++i) {
    HPML_CHECK(user[-1 - static_cast<ptrdiff_t>(i)] == kCanary, "sim:", device,
               ": a kernel wrote before the start of a block of ", nbytes, " bytes (byte ", i + 1,
               " before it was changed): an out-of-bounds write");
    HPML_CHECK(user[nbytes + i] == kCanary, "sim:", device, ": a kernel wrote past the end of a block of ", nbytes,
               " bytes (byte ", i, " after it was changed): an out-of-bounds write");
  }
}

class GuardedAllocator final : public Allocator {
 public:
  explicit GuardedAllocator(int device) : device_(device) {}

  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    auto* base = static_cast<unsigned char*>(detail::allocator(device_)->allocate(nbytes + 2 * kGuard));
    std::memset(base, kCanary, kGuard);
    std::memset(base + kGuard + nbytes, kCanary, kGuard);
    unsigned char* user = base + kGuard;
    std::lock_guard<std::mutex> g(live().mu);
    live().by_address[reinterpret_cast<uintptr_t>(user)] =
        Block{nbytes, device_, current_stream(device_).shared_state()};
    return user;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    std::shared_ptr<StreamState> stream;
    {
      std::lock_guard<std::mutex> g(live().mu);
      auto it = live().by_address.find(reinterpret_cast<uintptr_t>(p));
      if (it != live().by_address.end()) {
        stream = it->second.stream.lock();
        live().by_address.erase(it);
      }
    }
    auto* user = static_cast<unsigned char*>(p);
    const int device = device_;
    // Returns the block to the cache; a damaged canary is reported (not thrown: a storage's
    // destructor may be what frees it).
    auto release = [user, nbytes, device]() -> std::string {
      std::string damage;
      try {
        check_canaries(user, nbytes, device);
      } catch (const Error& e) {
        damage = e.what();
      }
      std::memset(user, detail::kPoison, nbytes);
      std::memset(user - kGuard, kCanary, kGuard);
      std::memset(user + nbytes, kCanary, kGuard);
      detail::allocator(device)->deallocate(user - kGuard, nbytes + 2 * kGuard);
      return damage;
    };
    // After every kernel queued on its stream so far (a stream that is gone has finished); the
    // worker turns the damage into the stream's error, which the next synchronize raises.
    if (stream) {
      detail::launch_on(Stream(std::move(stream)), "free", [release] {
        const std::string damage = release();
        HPML_CHECK(damage.empty(), damage);
      });
    } else if (std::string damage = release(); !damage.empty()) {
      std::fprintf(stderr, "hpml: %s\n", damage.c_str());
    }
  }

 private:
  int device_;
};

}  // namespace

namespace detail {
CachingAllocator* allocator(int device) {
  static CachingAllocator* a[kNumDevices] = {
      new CachingAllocator(RawMemory{Device(DeviceType::Sim, 0), raw_alloc, raw_free}, kCacheLimit),
      new CachingAllocator(RawMemory{Device(DeviceType::Sim, 1), raw_alloc, raw_free}, kCacheLimit)};
  return a[device];
}

Allocator* device_allocator(int device) {
  static GuardedAllocator* a[kNumDevices] = {new GuardedAllocator(0), new GuardedAllocator(1)};
  return a[device];
}

int device_of(const void* p, size_t nbytes, const char* op) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> g(live().mu);
  auto it = live().by_address.upper_bound(addr);
  if (it != live().by_address.begin()) {
    --it;
    if (addr >= it->first && addr + nbytes <= it->first + it->second.nbytes) return it->second.device;
  }
  HPML_FAIL(op, ": a sim kernel was given ", nbytes, " bytes at ", p,
            " that are not memory of a live sim tensor\nhint: a cpu tensor, or a freed one, reached the simulated "
            "device; move tensors with .to(...)");
}
}  // namespace detail

namespace {
int index_of(int device, const char* what) {
  if (device == -1) return current_device();
  HPML_CHECK(device >= 0 && device < kNumDevices, what, ": invalid sim device index ", device);
  return device;
}
}  // namespace

AllocatorStats memory_stats(int device) { return detail::allocator(index_of(device, "sim::memory_stats"))->stats(); }
size_t memory_allocated(int device) { return memory_stats(device).allocated_bytes; }
size_t memory_reserved(int device) { return memory_stats(device).reserved_bytes(); }
size_t max_memory_allocated(int device) { return memory_stats(device).peak_allocated_bytes; }
void reset_peak_memory_stats(int device) { detail::allocator(index_of(device, "sim::reset_peak_memory_stats"))->reset_peak(); }
void empty_cache(int device) {
  const int i = index_of(device, "sim::empty_cache");
  synchronize(i);  // frees still queued return their blocks first
  detail::allocator(i)->empty_cache();
}

}  // namespace hpml::sim
