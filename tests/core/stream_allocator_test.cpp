// StreamCachingAllocator (PyTorch's CUDACachingAllocator rules) over a fake DeviceMemory
// (fake_device_memory.h): rounding and segment sizes, the small and large pools, splitting and
// merging, per-stream reuse, and a training loop that stops asking for segments.
#include <gtest/gtest.h>

#include "core/fake_device_memory.h"

namespace hpml {
namespace {

using namespace testing;  // NOLINT: FakeMemory, Env, inside

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

}  // namespace
}  // namespace hpml
