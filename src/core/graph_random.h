// Random numbers inside a graph capture (Note [Random numbers in a graph] in sim_graph.cpp): the
// seam through which a device's random-fill kernels learn that they are being captured, and take
// counters relative to each replay's draw from the default generator. The sim's and CUDA's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

namespace hpml::detail {

// The default generator's seed and first counter at one replay: set by the replay, on the
// stream's side, before the graph's nodes run; read by its random fills.
struct GraphRandom {
  uint64_t seed = 0;
  uint64_t base = 0;
};

// A random fill captured into a graph: its counters are cell->base + rel ... at each replay.
struct CapturedDraw {
  std::shared_ptr<GraphRandom> cell;
  uint64_t rel = 0;
};

// When the current stream of sim device `device` is capturing: takes `n` counters of the
// capture's draw (the replays reserve the total from the default generator) and says where they
// are; else nullopt.
std::optional<CapturedDraw> sim_captured_draw(int device, uint64_t n);

// The same on CUDA (core/cuda/graph.cpp; nullopt in a build without CUDA): `cell` is device
// memory {seed, first counter} that each replay sets before the graph's kernels run.
struct CudaCapturedDraw {
  const uint64_t* cell = nullptr;
  uint64_t rel = 0;
};
std::optional<CudaCapturedDraw> cuda_captured_draw(int device, uint64_t n);

}  // namespace hpml::detail
