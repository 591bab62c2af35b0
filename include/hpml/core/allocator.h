// Allocators. The CPU allocator caches freed blocks by size class so a training loop that makes
// the same tensors every step never goes back to malloc/mmap (and never re-faults fresh pages).
// See Note [Caching CPU allocator] in src/core/allocator.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hpml {

inline constexpr size_t kAlignment = 64;  // one cache line; enough for AVX-512 loads

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* p, size_t nbytes) = 0;
};

// The process-wide caching CPU allocator (thread-safe).
Allocator* cpu_allocator();

struct CpuAllocatorStats {
  size_t allocated_bytes = 0;  // held by live storages (rounded up to the size class)
  size_t cached_bytes = 0;     // freed, kept for reuse
  size_t peak_allocated_bytes = 0;
  uint64_t hits = 0;           // allocations served from the cache
  uint64_t misses = 0;         // allocations that went to the system
};

CpuAllocatorStats cpu_allocator_stats();
// Returns every cached block to the system.
void cpu_empty_cache();
// Largest number of bytes the cache may hold; beyond it freed blocks go back to the system.
// Default 4 GiB; environment variable HPML_CPU_CACHE_LIMIT_MB overrides it at start-up.
void set_cpu_cache_limit(size_t bytes);

}  // namespace hpml
