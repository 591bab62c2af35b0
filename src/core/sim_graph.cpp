// Graphs on the simulated device (core/graph.h): a capture turns the launches on one stream into
// a list of nodes, a replay runs that list as one task on a stream's worker.
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/graph_random.h"
#include "core/sim_internal.h"
#include "hpml/core/error.h"
#include "hpml/core/generator.h"
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
//   simulated device pays memory for checks that hold. A block's poisoning at its allocation
//   runs then, uncaptured, on the capture's stream, and every replay waits for it. While the
//   graph lives, empty_cache leaves its pool alone; a destroyed graph's pool goes back to the
//   device: its free segments at once, the others when their last block is freed.
// - Nothing may wait inside a capture: synchronize, query, events, item(), a blocking copy to the
//   host would wait for work that has not run (CUDA: cudaErrorStreamCaptureUnsupported). Each is
//   refused and invalidates the capture, which capture_end then reports. A copy from pageable
//   host memory would replay stale bytes: it is refused (a copy from pinned memory reads the host
//   at each replay, as a GPU's does, and is captured).
// - Random fills draw new numbers at each replay: Note [Random numbers in a graph].
// - Captures are of one stream (not the default one) and do not nest.
//
// Note [Random numbers in a graph]
// A random fill whose counters were fixed at the capture would give the same numbers at every
// replay: dropout would drop the same units at every step. So, as PyTorch's CUDA graphs do, a fill
// inside a capture takes counters relative to the graph's draw (core/graph_random.h: the first
// fill 0 .. n1, the next n1 .. n1 + n2, ...), and each replay reserves the capture's total from
// the default generator, at the replay call, and hands the seed and first counter to its nodes.
// A replay therefore draws exactly the numbers the eager code would have drawn at that point (a
// Philox counter gives its words without any state between them: core/philox.h), and leaves the
// generator where the eager code would. The capture itself draws nothing. Only the default generator can feed a
// graph (a Generator object could be gone by the time of a replay); a fill from another is
// refused inside a capture. The draw is handed to the nodes through one cell per graph, set by
// the replay's task: two replays of one graph must not run at once (on two streams), which they
// must not anyway, as both write the same memory.
struct GraphState {
  std::shared_ptr<detail::CaptureState> capture;  // while capturing, and after: the nodes
  std::shared_ptr<const std::vector<detail::CaptureState::Node>> nodes;  // after capture_end
  std::shared_ptr<hpml::detail::GraphRandom> random;  // after capture_end, if it drew random numbers
  uint64_t random_counters = 0;                       // the counters one replay draws
  std::shared_ptr<StreamState> stream;  // the stream it was captured on
  // What the capture queued there uncaptured (its blocks' poisoning, now): every replay waits for it.
  uint64_t prepared = 0;
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
    // The pool's segments go back to the device behind the queued replays (their frees are
    // stream-ordered); those of blocks still in use, once they are freed.
    if (state_->stream) detail::allocator(Stream(state_->stream).device_index())->release_pool(state_->pool());
  } catch (const std::exception&) {  // a destructor does not throw; a kernel's error stays on its stream
  }
}

void Graph::capture_begin(const Stream& s) {
  HPML_CHECK(!state_->capturing, "sim::Graph::capture_begin: this graph is capturing already");
  HPML_CHECK(!state_->nodes, "sim::Graph::capture_begin: this graph holds a capture (", state_->nodes->size(),
             " nodes)\nhint: call reset() first");
  auto c = std::make_shared<detail::CaptureState>();
  c->pool = state_->pool();
  detail::allocator(s.device_index())->reuse_pool(c->pool);  // this graph's address may be a released pool's
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
  state_->random = std::move(c->random);
  state_->random_counters = c->random_counters;
  state_->prepared = detail::mark_uncaptured(Stream(state_->stream));
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
  // The poisoning of the capture's blocks ran on the capture's stream: a replay on another one
  // must not overtake it (the test: SimGraph.GraphPoolsSurviveEmptyCacheAndFreesInsideOtherCaptures).
  detail::wait_mark_uncaptured(s, Stream(state_->stream), state_->prepared);
  hpml::detail::GraphRandom draw;  // Note [Random numbers in a graph]
  if (state_->random) {
    Generator& gen = default_generator();
    draw = {gen.initial_seed(), gen.reserve(state_->random_counters)};
  }
  detail::launch_on(s, "graph replay", [nodes = state_->nodes, random = state_->random, draw] {
    if (random) *random = draw;
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
  state_->random.reset();
  state_->random_counters = 0;
}

size_t Graph::num_nodes() const { return state_->nodes ? state_->nodes->size() : 0; }
bool Graph::captured() const { return state_->nodes != nullptr; }

bool is_current_stream_capturing(int device) { return detail::capture_of(current_stream(device)) != nullptr; }

}  // namespace hpml::sim

namespace hpml {

bool is_current_stream_capturing(const Device& d) {
  if (d.type() == DeviceType::Sim) return sim::is_current_stream_capturing(d.index());
  if (d.type() == DeviceType::CUDA) return cuda::is_current_stream_capturing(d.index());
  return false;
}

}  // namespace hpml

namespace hpml::detail {

std::optional<CapturedDraw> sim_captured_draw(int device, uint64_t n) {
  sim::detail::CaptureState* c = sim::detail::capture_of(sim::current_stream(device));
  if (!c) return std::nullopt;
  if (!c->random) c->random = std::make_shared<GraphRandom>();
  const uint64_t rel = c->random_counters;
  c->random_counters += n;
  return CapturedDraw{c->random, rel};
}

}  // namespace hpml::detail
