// What the simulated device's runtime (sim_runtime.cpp) gives its memory (sim_memory.cpp) beyond
// core/sim.h. Core only.
#pragma once

#include <functional>

namespace hpml::sim::detail {

// Queues `task` on the default stream of `device` behind everything queued on any of its streams
// so far: the return of a segment that a queued kernel or poisoning may still touch.
void launch_after_all(int device, const char* op, std::function<void()> task);

}  // namespace hpml::sim::detail
