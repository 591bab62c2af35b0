// Device graphs: the kernels a piece of code launches on one stream, captured once and replayed
// with one launch (torch.cuda.CUDAGraph). `sim::Graph` on the simulated device (the capture rules
// of CUDA, testable without a GPU) and `cuda::Graph` on CUDA (cudaStreamBeginCapture, compiled,
// not yet run on a GPU). Both have the same API; docs/cuda.md, "CUDA graphs", says how to use them.
//
//   auto s = sim::Stream::create();
//   Tensor x = zeros({64}, Device("sim:0"));          // a static input: keep it, copy into it
//   sim::Graph g;
//   Tensor y;
//   g.capture(s, [&] { y = x * 2 + 1; });             // nothing runs yet
//   x.copy_(new_input); g.replay();                   // y = new_input * 2 + 1, one launch
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "hpml/core/cuda.h"
#include "hpml/core/sim.h"

namespace hpml::sim {

struct GraphState;  // src/core/sim_graph.cpp

class Graph {
 public:
  Graph();
  // Its pool goes back to the device behind the queued replays: the free segments at once, each
  // other one when its last block (a tensor the capture made) is freed.
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Work launched on `s` (not a default stream; make it current with a StreamGuard, or use
  // capture()) from now on becomes nodes of this graph instead
  // of running; memory allocated on it comes from the graph's private pool. Refused inside:
  // synchronize, query, events, item(), blocking copies to the host, copies from pageable host
  // memory, random numbers (each would run or repeat once per replay); one invalidates the capture.
  void capture_begin(const Stream& s);
  // Ends the capture: throws, naming the refused call, when the capture was invalidated.
  void capture_end();
  // capture_begin, body() with `s` the current stream, capture_end; if body throws, the capture
  // ends (discarded) and the exception goes on.
  void capture(const Stream& s, const std::function<void()>& body);
  // Runs the captured nodes again, in order, as one launch on the current stream of its device.
  void replay();
  // Drops the nodes (after their replays ran); the graph can capture again, into the same pool.
  void reset();
  size_t num_nodes() const;
  bool captured() const;  // capture_end succeeded and reset has not run since

 private:
  std::unique_ptr<GraphState> state_;
};

// Whether the current stream of `device` (-1: the current one) is capturing a graph
// (torch.cuda.is_current_stream_capturing).
bool is_current_stream_capturing(int device = -1);

}  // namespace hpml::sim

namespace hpml::cuda {

struct GraphState;  // src/core/cuda/graph.cpp

// The same API on CUDA: cudaStreamBeginCapture (global mode), cudaGraphInstantiate,
// cudaGraphLaunch on the current stream. Compiled, not yet run on a GPU. In a build without CUDA
// every call throws saying so.
class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void capture_begin(const Stream& s);
  void capture_end();
  void capture(const Stream& s, const std::function<void()>& body);
  void replay();
  void reset();
  size_t num_nodes() const;
  bool captured() const;

 private:
  std::unique_ptr<GraphState> state_;
};

bool is_current_stream_capturing(int device = -1);

}  // namespace hpml::cuda

namespace hpml {

// Whether the current stream of `d` is capturing a graph, on any device type (false on the cpu).
bool is_current_stream_capturing(const Device& d);

}  // namespace hpml
