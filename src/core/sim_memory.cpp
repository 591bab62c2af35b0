// The simulated device's memory: a stream-ordered caching allocator per device
// (core/stream_allocator.h) over poisoned host segments, poison on allocation and on free, canaries
// around every block, record_stream, and the map of live blocks that lets a sim kernel check that
// every pointer it is given is memory of its device.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hpml/core/error.h"
#include "core/sim_internal.h"
#include "hpml/core/sim.h"
#include "hpml/core/tensor.h"
#include "hpml/core/tensor_impl.h"

namespace hpml::sim {
namespace {

// Note [Canaries and poison]
// Every block a storage gets is kGuard bytes of canary, the storage's bytes, and kGuard bytes of
// canary. A kernel that writes past either end of its tensor changes a canary; the block's free
// (queued on its stream, after every kernel that used it) checks both and reports the damage at
// the next synchronisation, as CUDA reports an illegal address. The free also fills the bytes
// with poison, so a kernel still reading a freed tensor reads NaN or -1; and an allocation queues,
// before any kernel of its new owner, the poisoning of its bytes and its canaries, so a host read
// of a block no kernel has written yet sees poison too.
//
// Note [Frees on the simulated device]
// The free itself is the host's, at once, as on CUDA: the stream-ordered allocator may hand the
// block to the next allocation on the same stream right away, since the poisoning and every
// kernel of the new owner are queued behind the old owner's work. A storage that record_stream
// said is used on other streams is poisoned only after those streams have run what they were
// given so far (its stream waits for them), and the allocator keeps the block until events on
// them complete. Without record_stream the poison may run before a kernel on the other stream
// that still reads the block: that kernel reads NaN, which is the bug record_stream exists for.
constexpr size_t kGuard = 64;
constexpr unsigned char kCanary = 0xc3;

// The allocator's view of the device: host segments, sim streams and events.
class SimMemory final : public DeviceMemory {
 public:
  explicit SimMemory(int device) : device_(device) {}
  Device device() const override { return Device(DeviceType::Sim, device_); }
  void* alloc(size_t size) override {
    void* p = std::aligned_alloc(kAlignment, size);  // size is a multiple of 512
    if (p) std::memset(p, detail::kPoison, size);
    return p;
  }
  // Not at once: a poisoning or a kernel queued on some stream may still touch the segment.
  void free(void* p, size_t) override {
    detail::launch_after_all(device_, "free segment", [p] { std::free(p); });
  }
  StreamId current_stream() override { return reinterpret_cast<StreamId>(sim::current_stream(device_).state()); }
  EventId record_event(StreamId stream) override {
    auto* e = new Event;
    e->record(detail::stream_of(reinterpret_cast<StreamState*>(stream)));
    return reinterpret_cast<EventId>(e);
  }
  bool event_done(EventId e) override { return reinterpret_cast<Event*>(e)->query(); }
  // Waits by querying: Event::synchronize would take a kernel's error from its stream, which must
  // keep it for the user's next synchronize (query runs the work without taking it).
  void event_synchronize(EventId e) override {
    while (!reinterpret_cast<Event*>(e)->query()) std::this_thread::yield();
  }
  void event_release(EventId e) override { delete reinterpret_cast<Event*>(e); }

 private:
  int device_;
};

struct Block {
  size_t nbytes;
  int device;
  std::weak_ptr<StreamState> stream;            // where it was allocated: its free is queued there
  std::vector<std::shared_ptr<StreamState>> uses;  // streams record_stream added
  StreamId pool = 0;  // the graph pool it came from, when allocated inside a capture (else 0)
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

// Poison in the bytes, canaries around them.
void prepare(unsigned char* user, size_t nbytes) {
  std::memset(user - kGuard, kCanary, kGuard);
  std::memset(user, detail::kPoison, nbytes);
  std::memset(user + nbytes, kCanary, kGuard);
}

class GuardedAllocator final : public Allocator {
 public:
  explicit GuardedAllocator(int device) : device_(device) {}

  void* allocate(size_t nbytes) override {
    if (nbytes == 0) return nullptr;
    Stream stream = current_stream(device_);
    // Inside a capture, from the graph's private pool (Note [Graphs on the simulated device]).
    const detail::CaptureState* capture = detail::capture_of(stream);
    const StreamId pool = capture ? capture->pool : 0;
    auto* base = static_cast<unsigned char*>(detail::allocator(device_)->allocate_on(
        nbytes + 2 * kGuard, pool ? pool : reinterpret_cast<StreamId>(stream.state())));
    unsigned char* user = base + kGuard;
    // Now, also inside a capture: the canaries are this block's from here until its free.
    detail::launch_uncaptured(stream, "allocate", [user, nbytes] { prepare(user, nbytes); });
    std::lock_guard<std::mutex> g(live().mu);
    live().by_address[reinterpret_cast<uintptr_t>(user)] = Block{nbytes, device_, stream.shared_state(), {}, pool};
    return user;
  }

  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    Block block{nbytes, device_, {}, {}};
    {
      std::lock_guard<std::mutex> g(live().mu);
      auto it = live().by_address.find(reinterpret_cast<uintptr_t>(p));
      // A block of the graph a stream is capturing stays its tensor's until capture_end
      // (Note [Graphs on the simulated device]).
      if (it != live().by_address.end() && it->second.pool != 0)
        if (auto s = it->second.stream.lock(); s && detail::defer_free_in_capture(Stream(s), it->second.pool, p, nbytes))
          return;
      if (it != live().by_address.end()) {
        block = std::move(it->second);
        live().by_address.erase(it);
      }
    }
    auto* user = static_cast<unsigned char*>(p);
    const int device = device_;
    // The damage a kernel did, then the poison (not thrown here: a storage's destructor may be
    // what frees it; the stream's worker turns it into the error the next synchronize raises).
    auto poison = [user, nbytes, device]() -> std::string {
      std::string damage;
      try {
        check_canaries(user, nbytes, device);
      } catch (const Error& e) {
        damage = e.what();
      }
      prepare(user, nbytes);
      return damage;
    };
    if (std::shared_ptr<StreamState> s = block.stream.lock()) {
      Stream stream(std::move(s));
      // Note [Frees on the simulated device]. Never a captured wait: a capture refuses events, and
      // a free may be a destructor's.
      for (const auto& use : block.uses) detail::wait_stream_uncaptured(stream, Stream(use));
      // Now, also inside a capture (Note [Graphs on the simulated device]).
      detail::launch_uncaptured(stream, "free", [poison] {
        const std::string damage = poison();
        HPML_CHECK(damage.empty(), damage);
      });
    } else if (std::string damage = poison(); !damage.empty()) {  // its stream is gone, and its work done
      std::fprintf(stderr, "hpml: %s\n", damage.c_str());
    }
    detail::allocator(device_)->deallocate(user - kGuard, nbytes + 2 * kGuard);
  }

  void record_stream(const void* p, const Stream& s) {
    std::lock_guard<std::mutex> g(live().mu);
    auto it = live().by_address.find(reinterpret_cast<uintptr_t>(p));
    HPML_CHECK(it != live().by_address.end(), "record_stream: the tensor's storage is not a live sim block");
    Block& b = it->second;
    if (b.stream.lock().get() == s.state()) return;
    if (std::find(b.uses.begin(), b.uses.end(), s.shared_state()) != b.uses.end()) return;  // once is enough
    b.uses.push_back(s.shared_state());
    detail::allocator(device_)->record_stream(static_cast<const unsigned char*>(p) - kGuard,
                                              reinterpret_cast<StreamId>(s.state()));
  }

 private:
  int device_;
};

GuardedAllocator* guarded(int device) {
  static GuardedAllocator* a[kNumDevices] = {new GuardedAllocator(0), new GuardedAllocator(1)};
  return a[device];
}

}  // namespace

namespace detail {
StreamCachingAllocator* allocator(int device) {
  static SimMemory* memory[kNumDevices] = {new SimMemory(0), new SimMemory(1)};
  static StreamCachingAllocator* a[kNumDevices] = {new StreamCachingAllocator(memory[0]),
                                                   new StreamCachingAllocator(memory[1])};
  return a[device];
}

Allocator* device_allocator(int device) { return guarded(device); }

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

void record_stream(const Tensor& t, const Stream& s) {
  HPML_CHECK(t.defined() && t.device().type() == DeviceType::Sim, "record_stream: expected a sim tensor, got ",
             t.defined() ? t.device().str() : std::string("an undefined tensor"));
  HPML_CHECK(t.device().index() == s.device_index(), "record_stream: the tensor is on ", t.device(),
             " but the stream is on sim:", s.device_index());
  guarded(s.device_index())->record_stream(t.impl()->storage()->data(), s);
}

StreamAllocatorStats memory_stats_detailed(int device) {
  return detail::allocator(index_of(device, "sim::memory_stats"))->stats();
}
AllocatorStats memory_stats(int device) { return memory_stats_detailed(device).base; }
size_t memory_allocated(int device) { return memory_stats(device).allocated_bytes; }
size_t memory_reserved(int device) { return memory_stats_detailed(device).reserved_bytes; }
size_t max_memory_allocated(int device) { return memory_stats(device).peak_allocated_bytes; }
void reset_peak_memory_stats(int device) { detail::allocator(index_of(device, "sim::reset_peak_memory_stats"))->reset_peak(); }
std::string memory_summary(int device) { return detail::allocator(index_of(device, "sim::memory_summary"))->summary(); }
void empty_cache(int device) {
  const int i = index_of(device, "sim::empty_cache");
  synchronize(i);  // the queued poisoning of freed blocks runs before their segments go
  detail::allocator(i)->empty_cache();
}

}  // namespace hpml::sim
