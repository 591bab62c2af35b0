// hpml train --cuda-graph: the whole training step (forward, loss, backward, clipping, the
// optimizer's update) captured once as a device graph and replayed for every batch of its shape
// (Note [The training step as a graph] in graph_step.cpp).
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "hpml/hpml.h"

namespace hpml::cli {

struct TrainConfig;

// Refuses, naming the option, what a captured step cannot do: a cpu run, micro-batches
// (--accumulate), an lr that changes every step (onecycle, cyclic), optimizers that count their
// steps on the host (all but sgd, adam, adamw), and on CUDA the gpt (its embeddings' bounds check).
void check_graphable(const TrainConfig& c);

class GraphedStep {
 public:
  // The step on the static tensors x and y; returns a 2-element f64 tensor on the device:
  // the loss and the number of right predictions (0 for a regression).
  using Body = std::function<Tensor(const Tensor& x, const Tensor& y)>;

  GraphedStep(Device device, int64_t batch_size);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  // Whether batch b goes through the graph: after one eager step (the warm-up: the optimizer's
  // state exists), and of the captured shape (a full batch). `eager` forces an eager step.
  bool takes(const data::Batch& b, bool eager) const;
  // One step through the graph: b copied into the static tensors, the step captured first when
  // nothing is captured yet or `lrs` (every group's lr) changed since the capture, then replayed.
  // Returns the loss and the right predictions, read from the device after the replay.
  std::pair<double, double> step(const data::Batch& b, const std::vector<double>& lrs, const Body& body);
  void eager_step_done() { ++eager_steps_; }
  int64_t eager_steps() const { return eager_steps_; }
  int64_t captures() const { return captures_; }
  int64_t replays() const { return replays_; }
  size_t num_nodes() const;

  struct DeviceGraph;  // sim::Graph or cuda::Graph (graph_step.cpp)

 private:
  std::unique_ptr<DeviceGraph> graph_;
  Device device_;
  int64_t batch_size_;
  Tensor x_, y_, stats_;    // the static input and target; the captured step's output
  std::vector<double> lrs_;  // the lrs the capture baked in
  int64_t eager_steps_ = 0, captures_ = 0, replays_ = 0;
};

}  // namespace hpml::cli
