// The stream-ordered caching allocator of a GPU-like device (CUDA; the simulated device): device
// memory is taken from the driver in large segments, split into blocks, and a freed block goes
// back to a pool of its stream, reused by the next allocation on that stream at once (the work
// that used it is queued before the work of its next owner) and by no other stream. A block a
// second stream still uses (record_stream) is reused only when events recorded on those streams
// at its free have completed. PyTorch's CUDACachingAllocator is the model (its rounding, its
// small and large pools, its statistics and memory_summary): Note [Stream-ordered caching
// allocator] in src/core/stream_allocator.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "hpml/core/allocator.h"
#include "hpml/core/device.h"

namespace hpml {

// A device's stream as the allocator sees it: cudaStream_t, or the simulated device's stream
// state, as an integer. The allocator only compares them and hands them back to DeviceMemory.
using StreamId = uintptr_t;
// An event recorded on a stream, likewise opaque (cudaEvent_t; the simulated device's event).
using EventId = uintptr_t;

// What the allocator needs from its device: raw segments, the current stream, and events.
class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  virtual Device device() const = 0;
  // A segment of `size` bytes (a multiple of 512), or null when the device is out of memory.
  virtual void* alloc(size_t size) = 0;
  virtual void free(void* p, size_t size) = 0;
  // The stream that allocate() (the Allocator interface storages use) allocates on.
  virtual StreamId current_stream() = 0;
  // An event recorded now on `stream`; whether it has completed; waiting for it; releasing it.
  virtual EventId record_event(StreamId stream) = 0;
  virtual bool event_done(EventId e) = 0;
  virtual void event_synchronize(EventId e) = 0;
  virtual void event_release(EventId e) = 0;
};

// What StreamCachingAllocator counts, beyond AllocatorStats (whose allocated_bytes are the
// blocks handed out, rounded, and cached_bytes = reserved - allocated).
struct StreamAllocatorStats {
  AllocatorStats base;
  size_t reserved_bytes = 0, peak_reserved_bytes = 0;  // segments held from the device
  size_t requested_bytes = 0;                          // what callers asked for, unrounded
  uint64_t segments = 0, active_blocks = 0;            // now
  uint64_t raw_allocs = 0, raw_frees = 0;              // device allocations (cudaMalloc) so far
  uint64_t alloc_retries = 0;  // allocations that had to free the cache and ask the device again
  uint64_t ooms = 0;           // allocations that failed even then
  uint64_t pending_frees = 0;  // freed blocks waiting for other streams' events
  size_t small_pool_bytes = 0, large_pool_bytes = 0;  // reserved, per pool
};

class StreamCachingAllocator final : public Allocator {
 public:
  // `memory` outlives the allocator (both are usually never destroyed).
  explicit StreamCachingAllocator(DeviceMemory* memory);
  ~StreamCachingAllocator() override;

  // Allocator: on memory->current_stream(). Zero bytes give null.
  void* allocate(size_t nbytes) override;
  void deallocate(void* p, size_t nbytes) override;

  // A block of at least `nbytes` for work on `stream`. Throws, naming the device and the sizes,
  // when the device has no memory left even after the cache is released.
  void* allocate_on(size_t nbytes, StreamId stream);
  // The block at `p` (as allocate returned it) is also used by work on `stream`: when it is
  // freed, it is reused only after the work queued on `stream` by then has finished
  // (torch.Tensor.record_stream). A block's own stream is ignored. Throws if p is not a live block.
  void record_stream(const void* p, StreamId stream);
  // Frees blocks whose events have completed, waits for the rest, and returns every segment no
  // block of which is in use to the device (torch.cuda.empty_cache).
  void empty_cache();
  // A graph's private pool (core/graph.h) that no graph will capture into again: its free
  // segments go back to the device now, and each segment still holding one of its blocks goes
  // back once all of them are freed (torch.cuda releases a destroyed graph's pool so too).
  void release_pool(StreamId pool);
  // A capture is about to allocate from `pool` (an id a released pool may have had): its blocks
  // are cached again.
  void reuse_pool(StreamId pool);

  StreamAllocatorStats stats();
  void reset_peak();  // the peaks := now (torch.cuda.reset_peak_memory_stats)
  // torch.cuda.memory_summary: a table of the statistics, per pool.
  std::string summary();

  // The rounding (PyTorch's): a request becomes a multiple of 512 bytes, and a block of that size
  // is cut from a segment of segment_size(rounded) bytes.
  static size_t round_size(size_t nbytes);
  static size_t segment_size(size_t rounded);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hpml
