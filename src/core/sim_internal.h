// What the simulated device's runtime (sim_runtime.cpp) gives its memory (sim_memory.cpp) and its
// graphs (sim_graph.cpp) beyond core/sim.h. Core only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/graph_random.h"
#include "hpml/core/sim.h"

namespace hpml::sim::detail {

// Queues `task` on the default stream of `device` behind everything queued on any of its streams
// so far: the return of a segment that a queued kernel or poisoning may still touch.
void launch_after_all(int device, const char* op, std::function<void()> task);

// A stream capturing a graph (Note [Graphs on the simulated device], sim_graph.cpp): what is
// launched on it is appended to `nodes` instead of queued; `pool` is the allocator's stream id of
// the graph's private memory; `invalid` says which refused call ended its use.
struct CaptureState {
  struct Node {
    std::function<void()> fn;
    const char* op;
  };
  std::vector<Node> nodes;
  StreamId pool = 0;
  std::string invalid;
  std::vector<std::pair<void*, size_t>> deferred_frees;  // pool blocks freed during the capture
  // The random fills' draw (core/graph_random.h): the counters they take, the cell replays set.
  uint64_t random_counters = 0;
  std::shared_ptr<hpml::detail::GraphRandom> random;
};

// Starts and ends the capture of `s` into `c` (throw, naming the stream, on the default stream,
// on a stream that is capturing already, or on the end of a capture the stream is not in).
// end_capture returns the blocks freed during the capture, for the caller to free now.
void begin_capture(const Stream& s, std::shared_ptr<CaptureState> c);
std::vector<std::pair<void*, size_t>> end_capture(const Stream& s, CaptureState* c);
// Whether `s` is capturing into `pool`; if so, the free of (p, nbytes) waits for end_capture.
bool defer_free_in_capture(const Stream& s, StreamId pool, void* p, size_t nbytes);
// The capture `s` is in (null: none). The pointer lives as long as the capture's Graph.
CaptureState* capture_of(const Stream& s);
// Throws, naming `what`, when `s` is capturing, and invalidates that capture: what CUDA answers
// with cudaErrorStreamCaptureUnsupported (a synchronisation, a query, an event inside a capture).
void refuse_while_capturing(const Stream& s, const char* what);
// launch_on, but queued even while `s` captures: a block's poisoning and canaries belong to now,
// not to each replay.
uint64_t launch_uncaptured(const Stream& s, const char* op, std::function<void()> task);
// Stream::wait_stream that a capture of `waiter` does not take (see launch_on above).
void wait_stream_uncaptured(const Stream& waiter, const Stream& other);
// The same in two halves: a mark of what is queued on `s` now (uncaptured), and a wait of
// `waiter` for it, however much `s` has queued since.
uint64_t mark_uncaptured(const Stream& s);
void wait_mark_uncaptured(const Stream& waiter, const Stream& s, uint64_t mark);

}  // namespace hpml::sim::detail
