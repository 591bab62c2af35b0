// StreamCachingAllocator (PyTorch's CUDACachingAllocator rules) over a fake DeviceMemory whose
// capacity, streams and event completion the tests control: rounding and segment sizes, the small
// and large pools, splitting and merging, per-stream reuse, record_stream and pending frees,
// empty_cache, the out-of-memory retry and error, the statistics, and a multithreaded smoke test.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/stream_allocator.h"

namespace hpml {
namespace {

constexpr size_t KiB = 1024, MiB = 1024 * 1024;

// A device with `capacity` bytes: segments are real (aligned) host memory, events are integers
// that complete only when the test says so (or when the allocator synchronizes on them).
class FakeMemory : public DeviceMemory {
 public:
  explicit FakeMemory(size_t capacity = SIZE_MAX) : capacity_(capacity) {}
  ~FakeMemory() override {
    for (auto& [p, n] : live_) std::free(p);
  }
  Device device() const override { return Device(DeviceType::Sim, 0); }
  void* alloc(size_t size) override {
    std::lock_guard<std::mutex> g(mu_);
    ++alloc_calls;
    if (size == 0 || size % 512 != 0) ++errors;
    if (size > capacity_ - in_use_) return nullptr;
    void* p = std::aligned_alloc(512, (size + 511) / 512 * 512);
    if (!p) return nullptr;
    live_[p] = size;
    in_use_ += size;
    allocs.push_back({p, size});
    return p;
  }
  void free(void* p, size_t size) override {
    std::lock_guard<std::mutex> g(mu_);
    ++free_calls;
    auto it = live_.find(p);
    if (it == live_.end()) { ++errors; return; }
    if (it->second != size) ++errors;
    in_use_ -= it->second;
    std::free(p);
    live_.erase(it);
  }
  StreamId current_stream() override { return stream.load(); }
  EventId record_event(StreamId s) override {
    std::lock_guard<std::mutex> g(mu_);
    ++record_calls;
    EventId e = next_event_++;
    events_[e] = Event{s, false, false};
    return e;
  }
  bool event_done(EventId e) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = events_.find(e);
    if (it == events_.end() || it->second.released) { ++errors; return true; }
    return it->second.done;
  }
  void event_synchronize(EventId e) override {
    std::lock_guard<std::mutex> g(mu_);
    ++sync_calls;
    auto it = events_.find(e);
    if (it == events_.end() || it->second.released) { ++errors; return; }
    it->second.done = true;
  }
  void event_release(EventId e) override {
    std::lock_guard<std::mutex> g(mu_);
    ++release_calls;
    auto it = events_.find(e);
    if (it == events_.end() || it->second.released) { ++errors; return; }
    it->second.released = true;
  }
  // The work queued so far on `s` has finished.
  void complete(StreamId s) {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [e, ev] : events_)
      if (ev.stream == s) ev.done = true;
  }
  size_t in_use() {
    std::lock_guard<std::mutex> g(mu_);
    return in_use_;
  }

  struct Segment { void* ptr; size_t size; };
  std::atomic<StreamId> stream{1};
  std::vector<Segment> allocs;  // every segment handed out, in order
  int alloc_calls = 0, free_calls = 0, record_calls = 0, sync_calls = 0, release_calls = 0;
  int errors = 0;  // bad sizes, double or unknown frees, use of released events

 private:
  struct Event { StreamId stream; bool done, released; };
  std::mutex mu_;
  size_t capacity_, in_use_ = 0;
  std::map<void*, size_t> live_;
  std::map<EventId, Event> events_;
  EventId next_event_ = 100;
};

// The device first, so that it outlives the allocator.
struct Env {
  explicit Env(size_t capacity = SIZE_MAX) : mem(capacity), alloc(&mem) {}
  FakeMemory mem;
  StreamCachingAllocator alloc;
};

bool inside(const void* p, const void* base, size_t n) {
  auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(base);
  return a >= b && a < b + n;
}

TEST(StreamAllocator, RoundsLikePyTorch) {
  using A = StreamCachingAllocator;
  EXPECT_EQ(A::round_size(0), 512u);
  EXPECT_EQ(A::round_size(1), 512u);
  EXPECT_EQ(A::round_size(511), 512u);
  EXPECT_EQ(A::round_size(512), 512u);
  EXPECT_EQ(A::round_size(513), 1024u);
  EXPECT_EQ(A::round_size(100000), 100352u);
  EXPECT_EQ(A::round_size(MiB), MiB);
  EXPECT_EQ(A::round_size(MiB + 1), MiB + 512);
  EXPECT_EQ(A::round_size(10 * MiB - 1), 10 * MiB);
  EXPECT_EQ(A::round_size(10 * MiB), 10 * MiB);
  EXPECT_EQ(A::round_size(10 * MiB + 1), 10 * MiB + 512);

  EXPECT_EQ(A::segment_size(512), 2 * MiB);
  EXPECT_EQ(A::segment_size(MiB), 2 * MiB);
  EXPECT_EQ(A::segment_size(MiB + 512), 20 * MiB);
  EXPECT_EQ(A::segment_size(10 * MiB - 512), 20 * MiB);
  EXPECT_EQ(A::segment_size(10 * MiB), 10 * MiB);
  EXPECT_EQ(A::segment_size(10 * MiB + 512), 12 * MiB);
  EXPECT_EQ(A::segment_size(12 * MiB), 12 * MiB);
  EXPECT_EQ(A::segment_size(13 * MiB), 14 * MiB);
}

TEST(StreamAllocator, PicksPoolAndSegmentBySize) {
  Env env;
  void* a = env.alloc.allocate_on(MiB, 1);       // small pool: 2 MiB segment
  void* b = env.alloc.allocate_on(MiB + 1, 1);   // large pool: 20 MiB segment
  // Rounded to 10 MiB: a 10 MiB segment (on stream 2, so not cut from the 20 MiB one).
  void* c = env.alloc.allocate_on(10 * MiB - 1, 2);
  ASSERT_EQ(env.mem.allocs.size(), 3u);
  EXPECT_EQ(env.mem.allocs[0].size, 2 * MiB);
  EXPECT_EQ(env.mem.allocs[1].size, 20 * MiB);
  EXPECT_EQ(env.mem.allocs[2].size, 10 * MiB);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.small_pool_bytes, 2 * MiB);
  EXPECT_EQ(s.large_pool_bytes, 30 * MiB);
  EXPECT_EQ(s.reserved_bytes, 32 * MiB);
  EXPECT_EQ(s.base.allocated_bytes, MiB + (MiB + 512) + 10 * MiB);
  EXPECT_EQ(s.base.cached_bytes, s.reserved_bytes - s.base.allocated_bytes);
  EXPECT_EQ(s.segments, 3u);
  EXPECT_EQ(s.base.misses, 3u);
  env.alloc.deallocate(a, MiB);
  env.alloc.deallocate(b, MiB + 1);
  env.alloc.deallocate(c, 10 * MiB - 1);
  EXPECT_EQ(env.mem.errors, 0);
}

TEST(StreamAllocator, KeepsTheSmallAndLargePoolsApart) {
  Env env;
  void* big = env.alloc.allocate_on(3 * MiB, 1);  // a 20 MiB large segment
  env.alloc.deallocate(big, 3 * MiB);
  void* small = env.alloc.allocate_on(4096, 1);  // not from the free 20 MiB: a 2 MiB segment
  ASSERT_EQ(env.mem.allocs.size(), 2u);
  EXPECT_EQ(env.mem.allocs[1].size, 2 * MiB);
  EXPECT_TRUE(inside(small, env.mem.allocs[1].ptr, 2 * MiB));
  env.alloc.deallocate(small, 4096);
  void* again = env.alloc.allocate_on(1536 * KiB, 1);  // large: from the 20 MiB segment
  EXPECT_TRUE(inside(again, env.mem.allocs[0].ptr, 20 * MiB));
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 2u);
  EXPECT_EQ(s.small_pool_bytes, 2 * MiB);
  EXPECT_EQ(s.large_pool_bytes, 20 * MiB);
  env.alloc.deallocate(again, 1536 * KiB);
}

TEST(StreamAllocator, SplitsSmallBlocksFromOneSegment) {
  Env env;
  void* p = env.alloc.allocate_on(1000, 1);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 1u);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.reserved_bytes, 2 * MiB);
  EXPECT_EQ(s.small_pool_bytes, 2 * MiB);
  EXPECT_EQ(s.large_pool_bytes, 0u);
  EXPECT_EQ(s.base.allocated_bytes, 1024u);
  EXPECT_EQ(s.base.cached_bytes, 2 * MiB - 1024);
  EXPECT_EQ(s.requested_bytes, 1000u);
  EXPECT_EQ(s.active_blocks, 1u);
  EXPECT_EQ(s.base.misses, 1u);
  EXPECT_EQ(s.base.hits, 0u);

  void* q = env.alloc.allocate_on(5000, 1);
  s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 1u);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.base.allocated_bytes, 1024u + 5120u);
  EXPECT_EQ(s.base.cached_bytes, 2 * MiB - 6144);
  EXPECT_EQ(s.requested_bytes, 6000u);
  EXPECT_EQ(s.active_blocks, 2u);
  EXPECT_EQ(s.base.hits, 1u);
  ASSERT_EQ(env.mem.allocs.size(), 1u);
  void* base = env.mem.allocs[0].ptr;
  EXPECT_TRUE(inside(p, base, 2 * MiB));
  EXPECT_TRUE(inside(q, base, 2 * MiB));
  // The two blocks do not overlap.
  auto pa = reinterpret_cast<uintptr_t>(p), qa = reinterpret_cast<uintptr_t>(q);
  EXPECT_TRUE(pa + 1024 <= qa || qa + 5120 <= pa);
  env.alloc.deallocate(p, 1000);
  env.alloc.deallocate(q, 5000);
  EXPECT_EQ(env.alloc.stats().base.allocated_bytes, 0u);
}

TEST(StreamAllocator, ReusesAFreedBlockOnItsStream) {
  Env env;
  void* p = env.alloc.allocate_on(4096, 1);
  env.alloc.deallocate(p, 4096);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.base.allocated_bytes, 0u);
  EXPECT_EQ(s.active_blocks, 0u);
  EXPECT_EQ(s.reserved_bytes, 2 * MiB);  // kept in the cache
  EXPECT_EQ(env.alloc.allocate_on(4096, 1), p);
  s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 1u);
  EXPECT_EQ(s.base.hits, 1u);
  EXPECT_EQ(s.base.misses, 1u);
  env.alloc.deallocate(p, 4096);
}

TEST(StreamAllocator, DoesNotReuseABlockOnAnotherStream) {
  Env env;
  void* p = env.alloc.allocate_on(4096, 1);
  env.alloc.deallocate(p, 4096);
  void* q = env.alloc.allocate_on(4096, 2);
  EXPECT_NE(q, p);
  ASSERT_EQ(env.mem.allocs.size(), 2u);
  EXPECT_FALSE(inside(q, env.mem.allocs[0].ptr, 2 * MiB));
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 2u);
  EXPECT_EQ(s.segments, 2u);
  EXPECT_EQ(s.reserved_bytes, 4 * MiB);
  env.alloc.deallocate(q, 4096);
  EXPECT_EQ(env.alloc.allocate_on(4096, 1), p);  // its own stream still gets it back
  EXPECT_EQ(env.alloc.stats().raw_allocs, 2u);
  env.alloc.deallocate(p, 4096);
}

TEST(StreamAllocator, AllocateUsesTheCurrentStream) {
  Env env;
  EXPECT_EQ(env.alloc.allocate(0), nullptr);
  env.alloc.deallocate(nullptr, 0);
  EXPECT_EQ(env.mem.alloc_calls, 0);
  env.mem.stream = 2;
  void* p = env.alloc.allocate(1000);
  env.alloc.deallocate(p, 1000);
  env.mem.stream = 1;
  void* q = env.alloc.allocate(1000);
  EXPECT_NE(q, p);
  EXPECT_EQ(env.alloc.stats().raw_allocs, 2u);
  env.mem.stream = 2;
  EXPECT_EQ(env.alloc.allocate(1000), p);
  EXPECT_EQ(env.alloc.stats().raw_allocs, 2u);
  env.alloc.deallocate(p, 1000);
  env.alloc.deallocate(q, 1000);
}

TEST(StreamAllocator, TrainingLoopStopsAllocatingAfterTheFirstStep) {
  Env env;
  // Small: 1024 + 200192 + 524288 + 512 + 921600 bytes (one 2 MiB segment). Large: 3 MiB then
  // 12 MiB from one 20 MiB segment (5 MiB left), 5 MiB + 512 from a second 20 MiB segment.
  const std::vector<size_t> sizes = {1000, 200000, 3 * MiB, 512 * KiB, 12 * MiB, 64, 5 * MiB + 7, 900 * KiB};
  const size_t step_bytes = 1647616 + 20 * MiB + 512;
  for (int step = 0; step < 10; ++step) {
    std::vector<void*> ptrs;
    for (size_t n : sizes) ptrs.push_back(env.alloc.allocate_on(n, 1));
    StreamAllocatorStats s = env.alloc.stats();
    EXPECT_EQ(s.raw_allocs, 3u) << "step " << step;
    EXPECT_EQ(s.base.allocated_bytes, step_bytes) << "step " << step;
    EXPECT_EQ(s.active_blocks, 8u);
    for (size_t i = 0; i < ptrs.size(); ++i) env.alloc.deallocate(ptrs[i], sizes[i]);
  }
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 3u);
  EXPECT_EQ(s.raw_frees, 0u);
  EXPECT_EQ(s.base.misses, 3u);
  EXPECT_EQ(s.base.hits, 77u);
  EXPECT_EQ(s.segments, 3u);
  EXPECT_EQ(s.reserved_bytes, 42 * MiB);
  EXPECT_EQ(s.small_pool_bytes, 2 * MiB);
  EXPECT_EQ(s.large_pool_bytes, 40 * MiB);
  EXPECT_EQ(s.base.allocated_bytes, 0u);
  EXPECT_EQ(s.base.cached_bytes, 42 * MiB);
  EXPECT_EQ(s.base.peak_allocated_bytes, step_bytes);
  EXPECT_EQ(s.peak_reserved_bytes, 42 * MiB);
  EXPECT_EQ(s.requested_bytes, 0u);
  EXPECT_EQ(s.active_blocks, 0u);
}

TEST(StreamAllocator, SplitsLargeBlocksOnlyAboveOneMiB) {
  Env env;
  void* p = env.alloc.allocate_on(12 * MiB, 1);  // a 12 MiB segment, used whole
  ASSERT_EQ(env.mem.allocs.size(), 1u);
  EXPECT_EQ(env.mem.allocs[0].size, 12 * MiB);
  env.alloc.deallocate(p, 12 * MiB);
  // 11 MiB leaves 1 MiB, which is not more than 1 MiB: the whole block is handed out.
  EXPECT_EQ(env.alloc.allocate_on(11 * MiB, 1), p);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.base.allocated_bytes, 12 * MiB);
  EXPECT_EQ(s.base.cached_bytes, 0u);
  EXPECT_EQ(s.requested_bytes, 11 * MiB);
  env.alloc.deallocate(p, 11 * MiB);
  // 10 MiB + 512 leaves 2 MiB - 512: split.
  EXPECT_EQ(env.alloc.allocate_on(10 * MiB + 1, 1), p);
  s = env.alloc.stats();
  EXPECT_EQ(s.base.allocated_bytes, 10 * MiB + 512);
  EXPECT_EQ(s.base.cached_bytes, 2 * MiB - 512);
  // 1.5 MiB from the 2 MiB - 512 remainder leaves 523776 bytes: no split, the whole remainder.
  void* q = env.alloc.allocate_on(1536 * KiB, 1);
  EXPECT_TRUE(inside(q, p, 12 * MiB));
  s = env.alloc.stats();
  EXPECT_EQ(s.base.allocated_bytes, 12 * MiB);
  EXPECT_EQ(s.raw_allocs, 1u);
  EXPECT_EQ(s.active_blocks, 2u);
  env.alloc.deallocate(q, 1536 * KiB);
  env.alloc.deallocate(p, 10 * MiB + 1);
}

TEST(StreamAllocator, MergesFreedNeighbours) {
  Env env;
  // Four 512 KiB blocks fill one 2 MiB small segment exactly (a remainder of 0 is no split).
  std::vector<void*> b;
  for (int i = 0; i < 4; ++i) b.push_back(env.alloc.allocate_on(512 * KiB, 1));
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 1u);
  EXPECT_EQ(s.base.cached_bytes, 0u);
  for (int i : {1, 3, 0, 2}) env.alloc.deallocate(b[i], 512 * KiB);
  // Only a merged 2 MiB free block can serve two 1 MiB requests from the same segment.
  void* x = env.alloc.allocate_on(MiB, 1);
  void* y = env.alloc.allocate_on(MiB, 1);
  s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 1u);
  EXPECT_EQ(s.base.allocated_bytes, 2 * MiB);
  EXPECT_EQ(s.base.cached_bytes, 0u);
  EXPECT_TRUE(inside(x, env.mem.allocs[0].ptr, 2 * MiB));
  EXPECT_TRUE(inside(y, env.mem.allocs[0].ptr, 2 * MiB));
  // Full: the next small block needs a second segment.
  void* z = env.alloc.allocate_on(512, 1);
  EXPECT_EQ(env.alloc.stats().raw_allocs, 2u);
  env.alloc.deallocate(x, MiB);
  env.alloc.deallocate(y, MiB);
  env.alloc.deallocate(z, 512);
  env.alloc.empty_cache();
  s = env.alloc.stats();
  EXPECT_EQ(s.raw_frees, 2u);
  EXPECT_EQ(s.segments, 0u);
  EXPECT_EQ(env.mem.in_use(), 0u);
  EXPECT_EQ(env.mem.errors, 0);
}

TEST(StreamAllocator, RecordStreamDelaysReuseUntilItsEventsComplete) {
  Env env;
  void* p = env.alloc.allocate_on(4096, 1);
  env.alloc.record_stream(p, 2);
  env.alloc.record_stream(p, 3);
  env.alloc.deallocate(p, 4096);
  EXPECT_EQ(env.mem.record_calls, 2);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.pending_frees, 1u);
  EXPECT_EQ(env.mem.release_calls, 0);
  // Pending: a new allocation on stream 1 does not get it.
  void* q = env.alloc.allocate_on(4096, 1);
  EXPECT_NE(q, p);
  env.mem.complete(2);  // stream 3's work still runs
  void* r = env.alloc.allocate_on(4096, 1);
  EXPECT_NE(r, p);
  EXPECT_EQ(env.alloc.stats().pending_frees, 1u);
  env.mem.complete(3);
  s = env.alloc.stats();
  EXPECT_EQ(s.pending_frees, 0u);
  EXPECT_EQ(env.mem.release_calls, 2);
  EXPECT_EQ(env.alloc.allocate_on(4096, 1), p);  // best fit: exactly its size
  EXPECT_EQ(env.alloc.stats().raw_allocs, 1u);
  EXPECT_EQ(env.mem.sync_calls, 0);
  for (void* x : {p, q, r}) env.alloc.deallocate(x, 4096);
  EXPECT_EQ(env.mem.record_calls, 2);
  EXPECT_EQ(env.alloc.stats().base.allocated_bytes, 0u);
  EXPECT_EQ(env.mem.errors, 0);
}

TEST(StreamAllocator, RecordStreamOnItsOwnStreamDoesNothing) {
  Env env;
  void* p = env.alloc.allocate_on(4096, 1);
  env.alloc.record_stream(p, 1);
  env.alloc.deallocate(p, 4096);
  EXPECT_EQ(env.mem.record_calls, 0);
  EXPECT_EQ(env.alloc.stats().pending_frees, 0u);
  EXPECT_EQ(env.alloc.allocate_on(4096, 1), p);
  env.alloc.deallocate(p, 4096);
}

TEST(StreamAllocator, RecordStreamRejectsAPointerThatIsNoLiveBlock) {
  Env env;
  int local = 0;
  EXPECT_THROW(env.alloc.record_stream(&local, 2), Error);
  void* p = env.alloc.allocate_on(4096, 1);
  env.alloc.deallocate(p, 4096);
  EXPECT_THROW(env.alloc.record_stream(p, 2), Error);  // freed
  EXPECT_EQ(env.mem.record_calls, 0);
}

TEST(StreamAllocator, EmptyCacheFreesOnlyFullyFreeSegments) {
  Env env;
  void* a = env.alloc.allocate_on(4096, 1);     // segment 0 (small, stream 1)
  void* b = env.alloc.allocate_on(4096, 2);     // segment 1 (small, stream 2)
  void* c = env.alloc.allocate_on(3 * MiB, 1);  // segment 2 (large, 20 MiB)
  void* d = env.alloc.allocate_on(8192, 2);     // also segment 1
  env.alloc.deallocate(a, 4096);
  env.alloc.deallocate(c, 3 * MiB);
  env.alloc.deallocate(d, 8192);
  env.alloc.empty_cache();
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_frees, 2u);
  EXPECT_EQ(env.mem.free_calls, 2);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.reserved_bytes, 2 * MiB);
  EXPECT_EQ(s.small_pool_bytes, 2 * MiB);
  EXPECT_EQ(s.large_pool_bytes, 0u);
  EXPECT_EQ(s.base.allocated_bytes, 4096u);
  EXPECT_EQ(env.mem.in_use(), 2 * MiB);
  static_cast<char*>(b)[0] = 1;  // still valid memory
  static_cast<char*>(b)[4095] = 2;

  // A pending block: empty_cache waits for its event, then frees its segment.
  void* e = env.alloc.allocate_on(4096, 1);
  env.alloc.record_stream(e, 3);
  env.alloc.deallocate(e, 4096);
  EXPECT_EQ(env.alloc.stats().pending_frees, 1u);
  env.alloc.empty_cache();
  s = env.alloc.stats();
  EXPECT_EQ(env.mem.sync_calls, 1);
  EXPECT_EQ(env.mem.release_calls, 1);
  EXPECT_EQ(s.pending_frees, 0u);
  EXPECT_EQ(s.raw_allocs, 4u);
  EXPECT_EQ(s.raw_frees, 3u);
  EXPECT_EQ(s.segments, 1u);

  env.alloc.deallocate(b, 4096);
  env.alloc.empty_cache();
  s = env.alloc.stats();
  EXPECT_EQ(s.segments, 0u);
  EXPECT_EQ(s.reserved_bytes, 0u);
  EXPECT_EQ(s.base.cached_bytes, 0u);
  EXPECT_EQ(s.raw_frees, 4u);
  EXPECT_EQ(env.mem.in_use(), 0u);
  EXPECT_EQ(env.mem.errors, 0);
}

TEST(StreamAllocator, OutOfMemoryReleasesTheCacheAndRetries) {
  Env env(3 * MiB);  // room for one 2 MiB segment
  void* a = env.alloc.allocate_on(4096, 1);
  env.alloc.deallocate(a, 4096);  // cached on stream 1, useless to stream 2
  void* b = env.alloc.allocate_on(4096, 2);
  ASSERT_NE(b, nullptr);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.alloc_retries, 1u);
  EXPECT_EQ(s.ooms, 0u);
  EXPECT_EQ(s.raw_allocs, 2u);
  EXPECT_EQ(s.raw_frees, 1u);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.reserved_bytes, 2 * MiB);
  EXPECT_EQ(env.mem.alloc_calls, 3);  // one of them failed

  // A block pending on another stream's event: the retry waits for it and frees its segment.
  env.alloc.record_stream(b, 1);
  env.alloc.deallocate(b, 4096);
  void* c = env.alloc.allocate_on(4096, 3);
  ASSERT_NE(c, nullptr);
  s = env.alloc.stats();
  EXPECT_EQ(env.mem.sync_calls, 1);
  EXPECT_EQ(env.mem.release_calls, 1);
  EXPECT_EQ(s.alloc_retries, 2u);
  EXPECT_EQ(s.ooms, 0u);
  EXPECT_EQ(s.pending_frees, 0u);
  EXPECT_EQ(s.raw_frees, 2u);
  EXPECT_EQ(s.segments, 1u);
  env.alloc.deallocate(c, 4096);
  EXPECT_EQ(env.mem.errors, 0);
}

TEST(StreamAllocator, OutOfMemoryThrowsNamingTheDeviceAndSize) {
  Env env(MiB);  // less than one segment
  try {
    env.alloc.allocate_on(4096, 1);
    ADD_FAILURE() << "expected hpml::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("4096"), std::string::npos) << msg;
    EXPECT_NE(msg.find(env.mem.device().str()), std::string::npos) << msg;
  }
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.ooms, 1u);
  EXPECT_EQ(s.alloc_retries, 1u);
  EXPECT_EQ(s.raw_allocs, 0u);
  EXPECT_EQ(s.segments, 0u);
  EXPECT_EQ(s.base.allocated_bytes, 0u);
  EXPECT_EQ(s.requested_bytes, 0u);
  EXPECT_EQ(s.active_blocks, 0u);
  EXPECT_EQ(env.mem.alloc_calls, 2);
  EXPECT_THROW(env.alloc.allocate_on(100, 2), Error);
  EXPECT_EQ(env.alloc.stats().ooms, 2u);
}

TEST(StreamAllocator, RejectsHostileSizesWithoutAskingTheDevice) {
  Env env;
  EXPECT_THROW(env.alloc.allocate_on(SIZE_MAX, 1), Error);
  EXPECT_THROW(env.alloc.allocate_on(size_t{1} << 57, 1), Error);
  EXPECT_THROW(env.alloc.allocate_on((size_t{1} << 56) + 1, 1), Error);
  EXPECT_THROW(env.alloc.allocate(SIZE_MAX), Error);
  EXPECT_THROW(env.alloc.allocate(SIZE_MAX - 511), Error);
  EXPECT_EQ(env.mem.alloc_calls, 0);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.raw_allocs, 0u);
  EXPECT_EQ(s.base.allocated_bytes, 0u);
  EXPECT_EQ(s.requested_bytes, 0u);
}

TEST(StreamAllocator, TracksPeaksAndResetsThem) {
  Env env;
  void* a = env.alloc.allocate_on(MiB, 1);      // 2 MiB small segment
  void* b = env.alloc.allocate_on(3 * MiB, 1);  // 20 MiB large segment
  env.alloc.deallocate(b, 3 * MiB);
  env.alloc.empty_cache();
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.base.allocated_bytes, MiB);
  EXPECT_EQ(s.reserved_bytes, 2 * MiB);
  EXPECT_EQ(s.base.peak_allocated_bytes, 4 * MiB);
  EXPECT_EQ(s.peak_reserved_bytes, 22 * MiB);
  env.alloc.reset_peak();
  s = env.alloc.stats();
  EXPECT_EQ(s.base.peak_allocated_bytes, MiB);
  EXPECT_EQ(s.peak_reserved_bytes, 2 * MiB);
  env.alloc.deallocate(a, MiB);
  s = env.alloc.stats();
  EXPECT_EQ(s.base.peak_allocated_bytes, MiB);
  EXPECT_EQ(s.base.allocated_bytes, 0u);
}

TEST(StreamAllocator, CountsRequestedBytesUnrounded) {
  Env env;
  void* a = env.alloc.allocate_on(1, 1);
  void* b = env.alloc.allocate_on(513, 1);
  void* c = env.alloc.allocate_on(100000, 1);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.requested_bytes, 100514u);
  EXPECT_EQ(s.base.allocated_bytes, 512u + 1024u + 100352u);
  EXPECT_EQ(s.active_blocks, 3u);
  env.alloc.deallocate(b, 513);
  s = env.alloc.stats();
  EXPECT_EQ(s.requested_bytes, 100001u);
  EXPECT_EQ(s.base.allocated_bytes, 512u + 100352u);
  EXPECT_EQ(s.active_blocks, 2u);
  env.alloc.deallocate(a, 1);
  env.alloc.deallocate(c, 100000);
  EXPECT_EQ(env.alloc.stats().requested_bytes, 0u);
}

TEST(StreamAllocator, SummaryNamesTheDeviceAndTotals) {
  Env env;
  void* p = env.alloc.allocate_on(3 * MiB, 1);
  const std::string text = env.alloc.summary();
  EXPECT_FALSE(text.empty());
  EXPECT_NE(text.find('\n'), text.rfind('\n')) << "expected several lines:\n" << text;
  EXPECT_NE(text.find(env.mem.device().str()), std::string::npos) << text;
  EXPECT_NE(text.find("Allocated"), std::string::npos) << text;
  EXPECT_NE(text.find("Reserved"), std::string::npos) << text;
  env.alloc.deallocate(p, 3 * MiB);
}

TEST(StreamAllocator, ManyThreadsOnTheirOwnStreams) {
  Env env;
  std::atomic<int> corrupt{0};
  auto work = [&](int t) {
    std::mt19937 rng(1234 + t);
    struct Live { unsigned char* p; size_t n; unsigned char tag; };
    std::vector<Live> live;
    const StreamId stream = StreamId(t + 1);
    for (int i = 0; i < 1000; ++i) {
      if (live.size() >= 8 || (!live.empty() && rng() % 2 == 0)) {
        const size_t k = rng() % live.size();
        Live b = live[k];
        if (b.p[0] != b.tag || b.p[b.n - 1] != b.tag) ++corrupt;
        env.alloc.deallocate(b.p, b.n);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        const size_t n = rng() % 5 == 0 ? 1 + rng() % (4 * MiB) : 1 + rng() % (64 * KiB);
        auto* p = static_cast<unsigned char*>(env.alloc.allocate_on(n, stream));
        const auto tag = static_cast<unsigned char>(rng());
        p[0] = tag;
        p[n - 1] = tag;
        live.push_back({p, n, tag});
      }
    }
    for (Live& b : live) {
      if (b.p[0] != b.tag || b.p[b.n - 1] != b.tag) ++corrupt;
      env.alloc.deallocate(b.p, b.n);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(work, t);
  for (auto& th : threads) th.join();
  EXPECT_EQ(corrupt.load(), 0);
  StreamAllocatorStats s = env.alloc.stats();
  EXPECT_EQ(s.base.allocated_bytes, 0u);
  EXPECT_EQ(s.active_blocks, 0u);
  EXPECT_EQ(s.requested_bytes, 0u);
  EXPECT_EQ(s.base.cached_bytes, s.reserved_bytes);
  EXPECT_EQ(s.raw_allocs - s.raw_frees, s.segments);
  EXPECT_EQ(s.small_pool_bytes + s.large_pool_bytes, s.reserved_bytes);
  EXPECT_EQ(s.base.misses, s.raw_allocs);  // no retries: one segment per miss
  env.alloc.empty_cache();
  s = env.alloc.stats();
  EXPECT_EQ(s.segments, 0u);
  EXPECT_EQ(s.raw_frees, s.raw_allocs);
  EXPECT_EQ(env.mem.in_use(), 0u);
  EXPECT_EQ(env.mem.errors, 0);
}

}  // namespace
}  // namespace hpml
