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
};

// The runtime of `type`, or null when this build has none (cuda without HPML_CUDA).
const DeviceRuntime* device_runtime(DeviceType type);

// The allocator for tensors on `d` (d resolved: it has an index unless it is the cpu).
inline Allocator* allocator_for(const Device& d) {
  return d.is_cpu() ? cpu_allocator() : device_runtime(d.type())->allocator(d.index());
}

// Waits for every queued kernel of `d` (nothing on the cpu).
void synchronize(const Device& d);

}  // namespace hpml
