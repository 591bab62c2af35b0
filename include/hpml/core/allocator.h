// Allocators. A device supplies raw memory (allocate/free of its own kind: aligned host pages for
// the cpu, guarded blocks for the simulated device, cudaMalloc for CUDA); CachingAllocator keeps
// freed blocks by size class over any such raw memory so that a training loop which makes the same
// tensors every step never goes back to the system. See Note [Caching allocator] in
// src/core/allocator.cpp. Each device type's allocator is found through core/device_runtime.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "hpml/core/device.h"

namespace hpml {

inline constexpr size_t kAlignment = 64;  // one cache line; enough for AVX-512 loads

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* p, size_t nbytes) = 0;
};

// What a caching allocator counts (per device). PyTorch's names: memory_allocated() is
// allocated_bytes, memory_reserved() is reserved_bytes(), max_memory_allocated() the peak.
struct AllocatorStats {
  size_t allocated_bytes = 0;  // held by live storages (rounded up to the size class)
  size_t cached_bytes = 0;     // freed, kept for reuse
  size_t peak_allocated_bytes = 0;
  uint64_t hits = 0;           // allocations served from the cache
  uint64_t misses = 0;         // allocations that went to the raw memory (raw allocations)
  size_t reserved_bytes() const { return allocated_bytes + cached_bytes; }
};
using CpuAllocatorStats = AllocatorStats;

// A device's own memory: what CachingAllocator asks for when no cached block fits. `alloc`
// returns null when the device is out of memory.
struct RawMemory {
  Device device;
  void* (*alloc)(size_t size);
  void (*free)(void* p, size_t size);
};

class CachingAllocator final : public Allocator {
 public:
  CachingAllocator(RawMemory raw, size_t cache_limit) : raw_(raw), limit_(cache_limit) {}
  void* allocate(size_t nbytes) override;
  void deallocate(void* p, size_t nbytes) override;
  void empty_cache();  // returns every cached block to the raw memory
  AllocatorStats stats();
  void reset_peak();   // peak := what is allocated now
  void set_limit(size_t bytes);  // most bytes the cache may hold; beyond it blocks go back

 private:
  static constexpr int kNumClasses = 16 + 4 * 64;
  RawMemory raw_;
  std::mutex mu_;
  std::array<std::vector<void*>, kNumClasses> bins_;
  AllocatorStats stats_;
  size_t limit_;
};

// The process-wide caching CPU allocator (thread-safe).
Allocator* cpu_allocator();
CpuAllocatorStats cpu_allocator_stats();
// Returns every cached block to the system.
void cpu_empty_cache();
// Largest number of bytes the cache may hold; beyond it freed blocks go back to the system.
// Default 4 GiB; environment variable HPML_CPU_CACHE_LIMIT_MB overrides it at start-up.
void set_cpu_cache_limit(size_t bytes);

}  // namespace hpml
