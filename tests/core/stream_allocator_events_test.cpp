// StreamCachingAllocator over a fake DeviceMemory (fake_device_memory.h): record_stream and
// pending frees, empty_cache, the out-of-memory retry and error, hostile sizes, the statistics
// and summary, and a multithreaded smoke test.
#include <gtest/gtest.h>

#include "core/fake_device_memory.h"

namespace hpml {
namespace {

using namespace testing;  // NOLINT: FakeMemory, Env, inside

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
