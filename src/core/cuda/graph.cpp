// CUDA graphs (core/graph.h): cudaStreamBeginCapture in global mode on a pooled stream,
// cudaStreamEndCapture + cudaGraphInstantiate, cudaGraphLaunch on the current stream, and the
// registry of capturing streams that gives the caching allocator each graph's private pool and
// the random fills their counters of each replay's draw (Note [Random numbers in a graph]).
//
// Status: compiled, not yet run on a GPU. The same rules as on the simulated device (Note
// [Graphs on the simulated device] in src/core/sim_graph.cpp), which tests them without a GPU;
// here CUDA itself refuses a synchronisation inside a capture and reports it at cudaStreamEndCapture.
#include <cuda_runtime_api.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "core/cuda/check.h"
#include "core/graph_random.h"
#include "hpml/core/error.h"
#include "hpml/core/generator.h"
#include "hpml/core/graph.h"

namespace hpml::cuda {

struct GraphState {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  int device = -1;
  const void* stream = nullptr;  // the capturing stream, while capturing
  size_t nodes = 0;
  // Note [Random numbers in a graph]: the counters the captured fills take, and the device
  // memory {seed, first counter} they read, which each replay sets (allocated before the first
  // capture: cudaMalloc is refused inside one).
  uint64_t random_counters = 0;
  uint64_t* random_cell = nullptr;
  uintptr_t pool() const { return reinterpret_cast<uintptr_t>(this); }
};

namespace {
struct Captures {
  std::atomic<int> active{0};  // graphs.size(): every allocation asks, and almost always none captures
  std::mutex mu;
  std::map<const void*, GraphState*> graphs;  // capturing cudaStream_t -> its graph
};
Captures& captures() {
  static auto* c = new Captures;  // never destroyed, like the allocators that ask it
  return *c;
}
}  // namespace

bool detail::any_capture() { return captures().active.load(std::memory_order_acquire) != 0; }

uintptr_t detail::capture_pool(const void* stream) {
  Captures& c = captures();
  if (c.active.load(std::memory_order_acquire) == 0) return 0;
  std::lock_guard<std::mutex> g(c.mu);
  auto it = c.graphs.find(stream);
  return it == c.graphs.end() ? 0 : it->second->pool();
}

namespace {
void unregister(const void* stream) {
  Captures& c = captures();
  std::lock_guard<std::mutex> g(c.mu);
  c.graphs.erase(stream);
  c.active.store(static_cast<int>(c.graphs.size()), std::memory_order_release);
}
// Ends the capture of g without keeping it (an exception in its body, or its destructor).
void abort_capture(GraphState& g) {
  const void* stream = std::exchange(g.stream, nullptr);
  unregister(stream);
  cudaGraph_t dropped = nullptr;
  (void)cudaStreamEndCapture(static_cast<cudaStream_t>(const_cast<void*>(stream)), &dropped);
  if (dropped) (void)cudaGraphDestroy(dropped);
  (void)cudaGetLastError();
}
}  // namespace

Graph::Graph() : state_(std::make_unique<GraphState>()) {}

Graph::~Graph() {
  try {
    if (state_->stream) abort_capture(*state_);
    reset();
    if (state_->random_cell) {
      DeviceGuard guard(state_->device);
      // cudaFree waits for the replays that read it; during another capture it is refused
      // (Note [cudaMalloc and cudaFree during a capture]), and the 16 bytes are left.
      if (!detail::any_capture()) (void)cudaFree(state_->random_cell);
      detail::release_graph_pool(state_->device, state_->pool());  // its free segments: cudaFree waits too
    }
  } catch (const std::exception&) {  // a destructor does not throw
  }
}

void Graph::capture_begin(const Stream& s) {
  HPML_CHECK(!state_->stream, "cuda::Graph::capture_begin: this graph is capturing already");
  HPML_CHECK(!state_->exec, "cuda::Graph::capture_begin: this graph holds a capture\nhint: call reset() first");
  HPML_CHECK(s.id() != 0, "cuda::Graph::capture_begin: cannot capture the default stream of cuda:", s.device_index(),
             " (CUDA refuses the legacy stream)\nhint: capture on a side stream: auto s = cuda::Stream::create()");
  DeviceGuard guard(s.device_index());
  HPML_CHECK(!state_->random_cell || state_->device == s.device_index(), "cuda::Graph::capture_begin: this graph "
             "captured on cuda:", state_->device, " before; a capture on cuda:", s.device_index(), " needs its own graph");
  if (!state_->random_cell) {
    check(cudaMalloc(reinterpret_cast<void**>(&state_->random_cell), 2 * sizeof(uint64_t)),
          "cuda::Graph::capture_begin (cudaMalloc of the random draw's 16 bytes)", s.device_index());
    state_->device = s.device_index();  // the cell's device, for the destructor even if the capture fails
  }
  state_->random_counters = 0;
  detail::reuse_graph_pool(s.device_index(), state_->pool());
  {
    Captures& c = captures();
    std::lock_guard<std::mutex> g(c.mu);
    HPML_CHECK(!c.graphs.count(s.native()), "cuda::Graph::capture_begin: stream ", s.id(), " of cuda:",
               s.device_index(), " is capturing a graph already (captures do not nest)");
    c.graphs[s.native()] = state_.get();
    c.active.store(static_cast<int>(c.graphs.size()), std::memory_order_release);
  }
  const cudaError_t e = cudaStreamBeginCapture(static_cast<cudaStream_t>(s.native()), cudaStreamCaptureModeGlobal);
  if (e != cudaSuccess) unregister(s.native());
  check(e, "cuda::Graph::capture_begin (cudaStreamBeginCapture)", s.device_index());
  state_->device = s.device_index();
  state_->stream = s.native();
}

void Graph::capture_end() {
  HPML_CHECK(state_->stream, "cuda::Graph::capture_end: this graph is not capturing (call capture_begin first)");
  DeviceGuard guard(state_->device);
  const void* stream = std::exchange(state_->stream, nullptr);
  unregister(stream);
  cudaGraph_t graph = nullptr;
  const cudaError_t e = cudaStreamEndCapture(static_cast<cudaStream_t>(const_cast<void*>(stream)), &graph);
  if (e != cudaSuccess && graph) (void)cudaGraphDestroy(graph);
  // cudaErrorStreamCaptureInvalidated: a call inside the capture was refused (its own error came first).
  check(e, "cuda::Graph::capture_end (cudaStreamEndCapture; a synchronize, query or item() inside the capture "
           "invalidates it)", state_->device);
  state_->graph = graph;
  check(cudaGraphGetNodes(graph, nullptr, &state_->nodes), "cudaGraphGetNodes", state_->device);
  check(cudaGraphInstantiate(&state_->exec, graph, 0), "cuda::Graph::capture_end (cudaGraphInstantiate)",
        state_->device);
}

void Graph::capture(const Stream& s, const std::function<void()>& body) {
  capture_begin(s);
  try {
    StreamGuard current(s);
    body();
  } catch (...) {
    abort_capture(*state_);
    throw;
  }
  capture_end();
}

void Graph::replay() {
  HPML_CHECK(!state_->stream, "cuda::Graph::replay: the graph is still capturing (call capture_end first)");
  HPML_CHECK(state_->exec, "cuda::Graph::replay: nothing has been captured (capture_begin ... capture_end first)");
  DeviceGuard guard(state_->device);
  const Stream s = current_stream(state_->device);
  HPML_CHECK(!detail::capture_pool(s.native()), "cuda::Graph::replay: the current stream of cuda:", state_->device,
             " is capturing a graph (graphs do not nest)");
  if (state_->random_counters > 0) {  // this replay's draw: what the eager code would reserve here
    Generator& gen = default_generator();
    const uint64_t draw[2] = {gen.initial_seed(), gen.reserve(state_->random_counters)};
    // From pageable memory: staged before the call returns, so `draw` may go at once.
    check(cudaMemcpyAsync(state_->random_cell, draw, sizeof draw, cudaMemcpyHostToDevice,
                          static_cast<cudaStream_t>(s.native())),
          "cuda::Graph::replay (the random draw's copy)", state_->device);
  }
  check(cudaGraphLaunch(state_->exec, static_cast<cudaStream_t>(s.native())), "cuda::Graph::replay (cudaGraphLaunch)",
        state_->device);
}

void Graph::reset() {
  HPML_CHECK(!state_->stream, "cuda::Graph::reset: the graph is capturing (call capture_end first)");
  if (!state_->exec) return;
  DeviceGuard guard(state_->device);
  // cudaGraphExecDestroy may run while a launch is in flight: CUDA keeps what it needs until the
  // launch completes.
  (void)cudaGraphExecDestroy(state_->exec);
  (void)cudaGraphDestroy(state_->graph);
  state_->exec = nullptr;
  state_->graph = nullptr;
  state_->nodes = 0;
  state_->random_counters = 0;
}

size_t Graph::num_nodes() const { return state_->nodes; }
bool Graph::captured() const { return state_->exec != nullptr; }

bool is_current_stream_capturing(int device) {
  return detail::capture_pool(current_stream(device).native()) != 0;
}

}  // namespace hpml::cuda

std::optional<hpml::detail::CudaCapturedDraw> hpml::detail::cuda_captured_draw(int device, uint64_t n) {
  cuda::Captures& c = cuda::captures();
  if (c.active.load(std::memory_order_acquire) == 0) return std::nullopt;
  const void* stream = cuda::current_stream(device).native();
  std::lock_guard<std::mutex> g(c.mu);
  auto it = c.graphs.find(stream);
  if (it == c.graphs.end()) return std::nullopt;
  cuda::GraphState& s = *it->second;
  const uint64_t rel = s.random_counters;
  s.random_counters += n;
  return CudaCapturedDraw{s.random_cell, rel};
}
