// What core knows of each device type: how many devices it has, which is current, where its
// memory comes from, and how to wait for it. One entry per DeviceType (src/core/device.cpp);
// a new device type fills one (docs/adding-a-backend.md), and its kernels fill a kernels::Backend.
#pragma once

#include "hpml/core/allocator.h"
#include "hpml/core/device.h"

namespace hpml {

struct DeviceRuntime {
  const char* name;  // "cpu", "sim", "cuda"
  int (*device_count)();
  int (*current_device)();
  // The allocator tensors on device `index` get their storage from.
  Allocator* (*allocator)(int index);
  // Its statistics and cache (the cpu has one allocator for all).
  AllocatorStats (*memory_stats)(int index);
  void (*empty_cache)(int index);
  // Waits until all work queued on device `index` has finished; raises what a kernel raised.
  void (*synchronize)(int index);
  // The host side: page-locked host memory that copies to and from this device type can use
  // without waiting (cudaHostAlloc for CUDA; mmap + mlock, core/pinned.h, for the host and sim),
  // and whether a pointer is the start of such a block.
  Allocator* (*pinned_allocator)();
  bool (*is_pinned)(const void* p);
  // Whether this process has started the device (a context, stream threads): a forked child
  // would inherit it half-alive, so mp::Process refuses fork from then on (spawn is fine).
  bool (*is_initialized)();
};

// The runtime of `type`, or null when this build has none (cuda without HPML_CUDA).
const DeviceRuntime* device_runtime(DeviceType type);

// The allocator for tensors on `d` (d resolved: it has an index unless it is the cpu).
inline Allocator* allocator_for(const Device& d) {
  return d.is_cpu() ? cpu_allocator() : device_runtime(d.type())->allocator(d.index());
}

// Waits for every queued kernel of `d` (nothing on the cpu).
void synchronize(const Device& d);
// The allocator statistics of `d` (torch.cuda.memory_stats; the cpu's are for all threads), and
// its cached blocks returned to the device (torch.cuda.empty_cache).
AllocatorStats memory_stats(const Device& d);
void empty_cache(const Device& d);

// The device pinned memory is for when none is named (PyTorch's default): the first CUDA device
// when there is one, else the cpu, whose pinned memory is the host's page-locked memory.
Device default_pin_device();
// Whether `p` starts a pinned block of any device type's runtime.
bool is_pinned_memory(const void* p);
// The first device type other than the cpu that this process has initialised (null if none).
const DeviceRuntime* initialized_device_runtime();

}  // namespace hpml
