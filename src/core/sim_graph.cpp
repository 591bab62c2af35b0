// Graphs on the simulated device (core/graph.h): a capture turns the launches on one stream into
// a list of nodes, a replay runs that list as one task on a stream's worker.
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/sim_internal.h"
#include "hpml/core/error.h"
#include "hpml/core/graph.h"

namespace hpml::sim {

// Note [Graphs on the simulated device]
// A CUDA graph records kernels with their arguments (pointers, sizes, scalars) while the code
// that launches them runs once; a replay launches the whole recording with one call, so the host
// pays for one launch instead of hundreds. What that means for a program, and what the simulated
// device therefore does too:
// - The arguments are fixed. A replay reads and writes the same memory as the capture, so the
//   inputs are "static" tensors the program copies new data into before each replay, and the
//   outputs are the tensors the capture made. Scalars computed on the host (a learning rate) are
//   baked in.
// - Memory allocated during the capture comes from the graph's private pool: the allocator keys
//   those blocks by the pool's id instead of the stream's, so after the capture no ordinary
//   allocation reuses them while a replay may still write them. A block freed inside the capture
//   stays its tensor's until capture_end, and only then goes back to the pool: so no two tensors
//   of a capture share a block, and each block's canaries (written at its allocation, now, not
//   at each replay) stay true. PyTorch, and hpml on CUDA, reuse blocks within a capture; the
//   simulated device pays memory for checks that hold. A destroyed graph's free blocks stay cached until empty_cache.
// - Nothing may wait inside a capture: synchronize, query, events, item(), a blocking copy to the
//   host would wait for work that has not run (CUDA: cudaErrorStreamCaptureUnsupported). Each is
//   refused and invalidates the capture, which capture_end then reports. A copy from pageable
//   host memory would replay stale bytes, and a random fill the same numbers every time: both are
//   refused (a copy from pinned memory reads the host at each replay, as a GPU's does, and is
//   captured).
// - Captures are of one stream (not the default one) and do not nest.
struct GraphState {
  std::shared_ptr<detail::CaptureState> capture;  // while capturing, and after: the nodes
  std::shared_ptr<const std::vector<detail::CaptureState::Node>> nodes;  // after capture_end
  std::shared_ptr<StreamState> stream;  // the stream it was captured on
  // The private pool's id: the address of this object, which no stream state can have.
  StreamId pool() const { return reinterpret_cast<StreamId>(this); }
  bool capturing = false;
};

namespace {
// Ends the capture of g, then frees the blocks its tensors freed during it.
std::shared_ptr<detail::CaptureState> end(GraphState& g) {
  const Stream s(g.stream);
  g.capturing = false;
  auto c = std::move(g.capture);
  for (auto [p, nbytes] : detail::end_capture(s, c.get())) detail::device_allocator(s.device_index())->deallocate(p, nbytes);
  return c;
}
}  // namespace

Graph::Graph() : state_(std::make_unique<GraphState>()) {}

Graph::~Graph() {
  try {
    if (state_->capturing) end(*state_);
    reset();
  } catch (const std::exception&) {  // a destructor does not throw; a kernel's error stays on its stream
  }
}

void Graph::capture_begin(const Stream& s) {
  HPML_CHECK(!state_->capturing, "sim::Graph::capture_begin: this graph is capturing already");
  HPML_CHECK(!state_->nodes, "sim::Graph::capture_begin: this graph holds a capture (", state_->nodes->size(),
             " nodes)\nhint: call reset() first");
  auto c = std::make_shared<detail::CaptureState>();
  c->pool = state_->pool();
  detail::begin_capture(s, c);
  state_->capture = std::move(c);
  state_->stream = s.shared_state();
  state_->capturing = true;
}

void Graph::capture_end() {
  HPML_CHECK(state_->capturing, "sim::Graph::capture_end: this graph is not capturing (call capture_begin first)");
  const auto c = end(*state_);
  HPML_CHECK(c->invalid.empty(), "sim::Graph::capture_end: the capture was invalidated by ", c->invalid,
             ", which is not permitted inside a capture; the graph is empty");
  state_->nodes = std::make_shared<const std::vector<detail::CaptureState::Node>>(std::move(c->nodes));
}

void Graph::capture(const Stream& s, const std::function<void()>& body) {
  capture_begin(s);
  try {
    StreamGuard current(s);
    body();
  } catch (...) {
    end(*state_);
    throw;
  }
  capture_end();
}

void Graph::replay() {
  HPML_CHECK(!state_->capturing, "sim::Graph::replay: the graph is still capturing (call capture_end first)");
  HPML_CHECK(state_->nodes, "sim::Graph::replay: nothing has been captured (capture_begin ... capture_end first)");
  const Stream s = current_stream(Stream(state_->stream).device_index());
  HPML_CHECK(!detail::capture_of(s), "sim::Graph::replay: the current stream is capturing a graph (graphs do not nest)");
  detail::launch_on(s, "graph replay", [nodes = state_->nodes] {
    for (size_t i = 0; i < nodes->size(); ++i) {
      try {
        (*nodes)[i].fn();
      } catch (const std::exception& e) {
        HPML_FAIL("node ", i, " of ", nodes->size(), " (", (*nodes)[i].op, "): ", e.what());
      }
    }
  });
}

void Graph::reset() {
  HPML_CHECK(!state_->capturing, "sim::Graph::reset: the graph is capturing (call capture_end first)");
  if (!state_->nodes) return;
  // The replays queued so far hold the node list themselves; dropping ours frees what only the
  // capture kept alive once they are done.
  state_->nodes.reset();
}

size_t Graph::num_nodes() const { return state_->nodes ? state_->nodes->size() : 0; }
bool Graph::captured() const { return state_->nodes != nullptr; }

bool is_current_stream_capturing(int device) { return detail::capture_of(current_stream(device)) != nullptr; }

}  // namespace hpml::sim
