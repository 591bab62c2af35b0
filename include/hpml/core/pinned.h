// Page-locked ("pinned") host memory: the host side of a device, from which copies to it can run
// asynchronously (Note [Pinned memory] in src/core/pinned.cpp). Each device type's runtime says
// which allocator gives its pinned memory (DeviceRuntime::pinned_allocator); this is the one for
// the host itself and the simulated device: mmap'd pages locked with mlock, cached by size.
#pragma once

#include "hpml/core/allocator.h"

namespace hpml {

// The page-locking host allocator (thread-safe; never destroyed).
Allocator* page_locked_allocator();
// Whether `p` is the start of a block page_locked_allocator() gave out and managed to lock.
bool is_page_locked(const void* p);

}  // namespace hpml
