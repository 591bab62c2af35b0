// The stream-ordered caching allocator (core/stream_allocator.h): segments from the device, split
// into blocks kept in two pools ordered by (stream, size, address), record_stream events, and the
// statistics and summary of torch.cuda's memory functions.
#include "hpml/core/stream_allocator.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/record.h"

namespace hpml {

// Note [Stream-ordered caching allocator]
// cudaMalloc and cudaFree are slow (cudaFree waits for the whole device), so a GPU framework
// keeps what it got. PyTorch's rules, which hpml follows:
// - Rounding: a request becomes a multiple of 512 bytes. Requests up to 1 MiB are cut from 2 MiB
//   segments (the small pool), up to 10 MiB from 20 MiB segments, larger ones get a segment of
//   their size rounded to 2 MiB (the large pool). A block is split when what is left is worth
//   keeping (512 bytes in the small pool, more than 1 MiB in the large one); freed neighbours in
//   a segment merge again.
// - Streams: a block belongs to the stream it was allocated on. Freed, it may be handed out again
//   at once, but only to that stream: whatever the old owner queued is ahead in the same queue
//   of whatever the new owner will queue, so no synchronisation is needed. Another stream could
//   run the new owner's kernel before the old owner's kernels finish, so it never gets the block.
// - record_stream: work on a second stream that uses a block is unknown to the allocator unless
//   the caller says so. The free then records an event on each such stream, and the block joins
//   its pool only when all of them have completed (checked at each allocation, with no waiting).
// - Out of memory: the allocator waits for the pending events, returns every free segment of
//   every stream to the device and asks once more, then fails with the numbers.
// Waiting for an event is done without the allocator's lock held: on the simulated device the
// worker that completes the event may itself free a tensor, which takes the lock.
namespace {

constexpr size_t kMinBlockSize = 512;
constexpr size_t kSmallSize = size_t{1} << 20;       // largest request of the small pool
constexpr size_t kSmallBuffer = size_t{2} << 20;     // the small pool's segments
constexpr size_t kLargeBuffer = size_t{20} << 20;    // segments for requests up to kMinLargeAlloc
constexpr size_t kMinLargeAlloc = size_t{10} << 20;  // from here a segment is the request's size
constexpr size_t kRoundLarge = size_t{2} << 20;
constexpr size_t kMaxBytes = size_t{1} << 56;  // no size arithmetic overflows below this

struct Block {
  Block(StreamId s, size_t n, char* p, bool is_small) : stream(s), size(n), ptr(p), small(is_small) {}
  StreamId stream;
  size_t size;
  char* ptr;
  bool small;
  size_t requested = 0;  // the caller's bytes, while allocated
  bool allocated = false;
  int pending_events = 0;
  Block* prev = nullptr;  // neighbours in the same segment
  Block* next = nullptr;
  std::vector<StreamId> uses;  // streams record_stream added
};

struct BlockLess {
  bool operator()(const Block* a, const Block* b) const {
    return std::tie(a->stream, a->size, a->ptr) < std::tie(b->stream, b->size, b->ptr);
  }
};
using Pool = std::set<Block*, BlockLess>;

std::string bytes_text(size_t n) {
  char buf[32];
  if (n < 1024) std::snprintf(buf, sizeof buf, "%zu B", n);
  else if (n < (size_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  else if (n < (size_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(n) / (1 << 30));
  return buf;
}

}  // namespace

struct StreamCachingAllocator::Impl {
  DeviceMemory* mem;
  std::mutex mu;
  Pool small_pool, large_pool;
  std::unordered_map<const void*, Block*> active;
  std::deque<std::pair<EventId, Block*>> pending;  // record_stream events, oldest first
  std::set<StreamId> released;  // graph pools whose segments go back to the device once whole and free
  // Graph pools in use (reuse_pool .. release_pool): their free blocks are still written by the
  // graph's replays, so neither empty_cache nor the out-of-memory retry returns them.
  std::set<StreamId> live_pools;
  StreamAllocatorStats st;

  Pool& pool_of(const Block* b) { return b->small ? small_pool : large_pool; }

  // A free block joins its pool, merged with free neighbours of its segment.
  void free_block(Block* b) {
    for (Block* n : {b->prev, b->next}) {
      if (!n || n->allocated || n->pending_events > 0) continue;
      pool_of(n).erase(n);
      if (n == b->prev) {
        b->ptr = n->ptr;
        b->prev = n->prev;
        if (b->prev) b->prev->next = b;
      } else {
        b->next = n->next;
        if (b->next) b->next->prev = b;
      }
      b->size += n->size;
      delete n;
    }
    if (!b->prev && !b->next && released.count(b->stream)) {  // the last block of a released pool's segment
      release_segment(b);
      return;
    }
    pool_of(b).insert(b);
  }

  // Returns the whole free segment b (in no pool) to the device.
  void release_segment(Block* b) {
    mem->free(b->ptr, b->size);
    ++st.raw_frees;
    --st.segments;
    st.reserved_bytes -= b->size;
    (b->small ? st.small_pool_bytes : st.large_pool_bytes) -= b->size;
    delete b;
  }

  // One event of b's has completed.
  void event_done(Block* b) {
    if (--b->pending_events == 0) {
      --st.pending_frees;
      free_block(b);
    }
  }

  // Frees the blocks whose events have completed, oldest first, without waiting.
  void process_events() {
    while (!pending.empty() && mem->event_done(pending.front().first)) {
      auto [e, b] = pending.front();
      pending.pop_front();
      mem->event_release(e);
      event_done(b);
    }
  }

  // Waits for every pending event; `lk` is released while waiting (Note [Stream-ordered ...]).
  void wait_for_events(std::unique_lock<std::mutex>& lk) {
    std::deque<std::pair<EventId, Block*>> mine;
    mine.swap(pending);  // no other thread touches these now; their blocks stay pending
    lk.unlock();
    for (auto& [e, b] : mine) mem->event_synchronize(e);
    lk.lock();
    for (auto& [e, b] : mine) {
      mem->event_release(e);
      event_done(b);
    }
  }

  // Returns every whole free segment (of `only`'s blocks, when given) to the device.
  void release_free_segments(const StreamId* only = nullptr) {
    for (Pool* pool : {&small_pool, &large_pool}) {
      for (auto it = pool->begin(); it != pool->end();) {
        Block* b = *it;
        if (b->prev || b->next || (only ? b->stream != *only : live_pools.count(b->stream) > 0)) {
          ++it;
          continue;
        }
        it = pool->erase(it);
        release_segment(b);
      }
    }
  }

  Block* find_free(size_t size, StreamId stream, bool small) {
    Pool& pool = small ? small_pool : large_pool;
    Block key{stream, size, nullptr, small};
    auto it = pool.lower_bound(&key);
    if (it == pool.end() || (*it)->stream != stream) return nullptr;
    Block* b = *it;
    pool.erase(it);
    return b;
  }

  Block* new_segment(size_t nbytes, size_t size, StreamId stream, bool small, std::unique_lock<std::mutex>& lk) {
    const size_t seg = segment_size(size);
    void* p = mem->alloc(seg);
    if (!p) {
      ++st.alloc_retries;
      wait_for_events(lk);
      release_free_segments();
      p = mem->alloc(seg);
    }
    if (!p) {
      ++st.ooms;
      HPML_FAIL(mem->device(), " allocator: out of memory allocating ", nbytes, " bytes (", size,
                " rounded, a segment of ", seg, "); ", st.base.allocated_bytes, " bytes are allocated and ",
                st.reserved_bytes, " reserved by hpml on this device, every free segment was returned first\n"
                "hint: reduce the batch size, or free tensors you no longer need");
    }
    ++st.raw_allocs;
    ++st.segments;
    st.reserved_bytes += seg;
    st.peak_reserved_bytes = std::max(st.peak_reserved_bytes, st.reserved_bytes);
    (small ? st.small_pool_bytes : st.large_pool_bytes) += seg;
    return new Block(stream, seg, static_cast<char*>(p), small);
  }

  // Cuts what is not needed off b, back into its pool, when it is worth keeping.
  void split(Block* b, size_t size) {
    const size_t rest = b->size - size;
    if (b->small ? rest < kMinBlockSize : rest <= kSmallSize) return;
    auto* r = new Block(b->stream, rest, b->ptr + size, b->small);
    r->prev = b;
    r->next = b->next;
    if (r->next) r->next->prev = r;
    b->next = r;
    b->size = size;
    pool_of(r).insert(r);
  }
};

StreamCachingAllocator::StreamCachingAllocator(DeviceMemory* memory) : impl_(std::make_unique<Impl>()) {
  impl_->mem = memory;
}
// The blocks' bookkeeping goes; the segments stay with the device (which may be gone: the
// device allocators are never destroyed, an allocator over a test's fake device is).
StreamCachingAllocator::~StreamCachingAllocator() {
  std::set<Block*> blocks(impl_->small_pool.begin(), impl_->small_pool.end());
  blocks.insert(impl_->large_pool.begin(), impl_->large_pool.end());
  for (auto& [p, b] : impl_->active) blocks.insert(b);
  for (auto& [e, b] : impl_->pending) blocks.insert(b);
  for (Block* b : blocks) delete b;
}

size_t StreamCachingAllocator::round_size(size_t nbytes) {
  return nbytes < kMinBlockSize ? kMinBlockSize : (nbytes + kMinBlockSize - 1) / kMinBlockSize * kMinBlockSize;
}
size_t StreamCachingAllocator::segment_size(size_t rounded) {
  if (rounded <= kSmallSize) return kSmallBuffer;
  if (rounded < kMinLargeAlloc) return kLargeBuffer;
  return (rounded + kRoundLarge - 1) / kRoundLarge * kRoundLarge;
}

void* StreamCachingAllocator::allocate(size_t nbytes) {
  return nbytes == 0 ? nullptr : allocate_on(nbytes, impl_->mem->current_stream());
}

void* StreamCachingAllocator::allocate_on(size_t nbytes, StreamId stream) {
  if (nbytes == 0) return nullptr;
  Impl& m = *impl_;
  HPML_CHECK(nbytes <= kMaxBytes, m.mem->device(), " allocator: cannot allocate ", nbytes, " bytes (more than 2^56)");
  const size_t size = round_size(nbytes);
  const bool small = size <= kSmallSize;
  std::unique_lock<std::mutex> lk(m.mu);
  m.process_events();
  Block* b = m.find_free(size, stream, small);
  if (b) {
    ++m.st.base.hits;
  } else {
    ++m.st.base.misses;
    b = m.new_segment(nbytes, size, stream, small, lk);
  }
  m.split(b, size);
  b->allocated = true;
  b->requested = nbytes;
  m.active.emplace(b->ptr, b);
  AllocatorStats& s = m.st.base;
  s.allocated_bytes += b->size;
  s.peak_allocated_bytes = std::max(s.peak_allocated_bytes, s.allocated_bytes);
  m.st.requested_bytes += nbytes;
  ++m.st.active_blocks;
  if (record::detail::memory_on()) record::memory_changed(static_cast<int64_t>(b->size), m.mem->device());
  return b->ptr;
}

void StreamCachingAllocator::deallocate(void* p, size_t) {
  if (!p) return;
  Impl& m = *impl_;
  std::lock_guard<std::mutex> g(m.mu);
  auto it = m.active.find(p);
  HPML_CHECK(it != m.active.end(), m.mem->device(), " allocator: free of ", p, ", which is not a live block");
  Block* b = it->second;
  m.active.erase(it);
  b->allocated = false;
  m.st.base.allocated_bytes -= b->size;
  m.st.requested_bytes -= b->requested;
  --m.st.active_blocks;
  if (record::detail::memory_on()) record::memory_changed(-static_cast<int64_t>(b->size), m.mem->device());
  if (b->uses.empty()) {
    m.free_block(b);
    return;
  }
  for (StreamId s : b->uses) m.pending.emplace_back(m.mem->record_event(s), b);
  b->pending_events = static_cast<int>(b->uses.size());
  b->uses.clear();
  ++m.st.pending_frees;
}

void StreamCachingAllocator::record_stream(const void* p, StreamId stream) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> g(m.mu);
  auto it = m.active.find(p);
  HPML_CHECK(it != m.active.end(), m.mem->device(), " record_stream: ", p,
             " is not the start of a live block of this device's allocator");
  Block* b = it->second;
  if (stream == b->stream) return;
  for (StreamId s : b->uses)
    if (s == stream) return;
  b->uses.push_back(stream);
}

void StreamCachingAllocator::empty_cache() {
  std::unique_lock<std::mutex> lk(impl_->mu);
  impl_->wait_for_events(lk);
  impl_->release_free_segments();
}

void StreamCachingAllocator::release_pool(StreamId pool) {
  std::lock_guard<std::mutex> g(impl_->mu);
  impl_->live_pools.erase(pool);
  impl_->process_events();
  impl_->release_free_segments(&pool);
  bool in_use = false;  // a block of the pool still allocated, or waiting for its events
  for (const auto& [p, b] : impl_->active) in_use = in_use || b->stream == pool;
  for (const auto& [e, b] : impl_->pending) in_use = in_use || b->stream == pool;
  if (in_use) impl_->released.insert(pool);
}

void StreamCachingAllocator::reuse_pool(StreamId pool) {
  std::lock_guard<std::mutex> g(impl_->mu);
  impl_->released.erase(pool);
  impl_->live_pools.insert(pool);
}

StreamAllocatorStats StreamCachingAllocator::stats() {
  std::lock_guard<std::mutex> g(impl_->mu);
  impl_->process_events();
  StreamAllocatorStats s = impl_->st;
  s.base.cached_bytes = s.reserved_bytes - s.base.allocated_bytes;
  return s;
}

void StreamCachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> g(impl_->mu);
  impl_->st.base.peak_allocated_bytes = impl_->st.base.allocated_bytes;
  impl_->st.peak_reserved_bytes = impl_->st.reserved_bytes;
}

std::string StreamCachingAllocator::summary() {
  const StreamAllocatorStats s = stats();
  std::string out;
  auto line = [&out](const std::string& name, const std::string& now, const std::string& peak) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "| %-30s | %14s | %14s |\n", name.c_str(), now.c_str(), peak.c_str());
    out += buf;
  };
  auto count = [](uint64_t n) { return std::to_string(n); };
  const std::string rule = "|" + std::string(66, '-') + "|\n";
  out += "|" + std::string(66, '=') + "|\n";
  char title[80];
  std::snprintf(title, sizeof title, "| %-64s |\n", ("hpml memory summary, device " + impl_->mem->device().str()).c_str());
  out += title;
  out += rule;
  line("Metric", "Now", "Peak");
  out += rule;
  line("Allocated memory", bytes_text(s.base.allocated_bytes), bytes_text(s.base.peak_allocated_bytes));
  line("Requested memory", bytes_text(s.requested_bytes), "");
  line("Reserved memory", bytes_text(s.reserved_bytes), bytes_text(s.peak_reserved_bytes));
  line("  from the small pool", bytes_text(s.small_pool_bytes), "");
  line("  from the large pool", bytes_text(s.large_pool_bytes), "");
  line("Cached (reserved - allocated)", bytes_text(s.base.cached_bytes), "");
  out += rule;
  line("Active blocks", count(s.active_blocks), "");
  line("Segments", count(s.segments), "");
  line("Frees waiting for streams", count(s.pending_frees), "");
  line("Allocations from the cache", count(s.base.hits), "");
  line("Device allocations", count(s.raw_allocs), "");
  line("Device frees", count(s.raw_frees), "");
  line("Retries after freeing the cache", count(s.alloc_retries), "");
  line("Out-of-memory errors", count(s.ooms), "");
  out += "|" + std::string(66, '=') + "|\n";
  return out;
}

}  // namespace hpml
