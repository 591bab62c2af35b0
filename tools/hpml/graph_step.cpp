// hpml train --cuda-graph (graph_step.h): the options it refuses, and the capture and replay of a
// training step on the simulated device or on CUDA (core/graph.h).
#include "graph_step.h"

#include "train.h"

namespace hpml::cli {

// Note [The training step as a graph]
// A CUDA graph replays the kernels of one captured step with one launch, so the host's cost per
// step (hundreds of op dispatches and kernel launches) is paid once. Everything the kernels read
// is fixed at the capture, and `hpml train --cuda-graph` arranges its step for that:
// - The batch is copied into static input and target tensors before each replay; the loss and the
//   right predictions come out of the graph in one 2-element tensor, read after the replay (one
//   wait per step, which the progress line and the non-finite check need anyway).
// - The first step runs eagerly (the warm-up, as PyTorch asks): SGD makes its momentum buffers
//   there, which a capture would turn into a fresh clone at every replay.
// - A batch of another shape (the short last one) runs eagerly, and so does an epoch's last step
//   under --tensorboard (its gradients are logged; the graph's are gone after its zero_grad).
// - Host numbers are baked in: the lr, and a host-side step count. So an lr that changes every
//   step (onecycle, cyclic) is refused, and an epoch schedule or plateau that changes it makes the
//   next step capture again. Adam and AdamW run capturable (their step count and bias correction
//   on the device: Note [Capturable Adam] in optim/optimizers.cpp); the other optimizers count
//   their steps on the host and are refused.
// - Random numbers: each replay draws them anew from the default generator, the numbers the
//   eager step would draw (Note [Random numbers in a graph] in core/sim_graph.cpp), so --dropout
//   trains as it does eagerly.
// - An index's bounds are checked at each replay on the simulated device; on CUDA that check is
//   not done yet, so the gpt (its embeddings) is refused there.
// - The non-finite check reads the loss after the replay, so that step's update has been applied;
//   the checkpoints are still those of the last good epoch.
// A replay computes exactly what the eager step computes: tests/cli/train_graph_test.cpp trains
// with and without the graph and compares every number of the checkpoints.
void check_graphable(const TrainConfig& c) {
  if (!c.cuda_graph) return;
  const Device d(c.device);
  HPML_CHECK(!d.is_cpu(), "--cuda-graph captures the training step on a device, and --device is ", c.device,
             "\nhint: --device cuda, or --device sim (the simulated GPU)");
  HPML_CHECK(c.accumulate == 1, "--cuda-graph captures one whole step; --accumulate ", c.accumulate,
             " splits it into micro-batches\nhint: a larger --batch-size instead");
  HPML_CHECK(c.model != "gpt" || d.type() != DeviceType::CUDA, "--cuda-graph on ", c.device, ": --model gpt looks "
             "up its tokens with embeddings, whose bounds check inside a CUDA graph is not done yet (the simulated "
             "device checks them at each replay)\nhint: --device sim, or leave out --cuda-graph");
  HPML_CHECK(c.schedule != "onecycle" && c.schedule != "cyclic", "--cuda-graph bakes the lr into the graph, and "
             "--schedule ", c.schedule, " changes it after every step\nhint: an epoch schedule (step, cosine, ...) or "
             "plateau: the step is captured again when the lr changes");
  HPML_CHECK(c.optimizer == "sgd" || c.optimizer == "adam" || c.optimizer == "adamw", "--cuda-graph: --optimizer ",
             c.optimizer, " counts its steps on the host (the step in its state), which a replay would not "
             "advance\nhint: --optimizer sgd, adam or adamw (capturable: its step count on the device)");
  HPML_CHECK(c.nproc == 0, "--cuda-graph runs on one device; --nproc ", c.nproc, " is a data-parallel run on cpus");
}

// sim::Graph or cuda::Graph behind one face; each capture is on a new side stream that first
// waits for the work already queued on the current one (the eager warm-up step).
struct GraphedStep::DeviceGraph {
  virtual ~DeviceGraph() = default;
  virtual void capture(const std::function<void()>& body) = 0;
  virtual void replay() = 0;
  virtual void reset() = 0;
  virtual size_t num_nodes() const = 0;
};

namespace {
template <class Graph, class Stream, Stream (*current)(int)>
struct GraphOn final : GraphedStep::DeviceGraph {
  explicit GraphOn(int index) : index(index) {}
  void capture(const std::function<void()>& body) override {
    const Stream s = Stream::create(index);
    s.wait_stream(current(index));
    graph.capture(s, body);
  }
  void replay() override { graph.replay(); }
  void reset() override { graph.reset(); }
  size_t num_nodes() const override { return graph.num_nodes(); }
  int index;
  Graph graph;
};
}  // namespace

GraphedStep::GraphedStep(Device device, int64_t batch_size) : device_(device), batch_size_(batch_size) {
  if (device.type() == DeviceType::Sim)
    graph_ = std::make_unique<GraphOn<sim::Graph, sim::Stream, &sim::current_stream>>(device.index());
  else if (device.type() == DeviceType::CUDA)
    graph_ = std::make_unique<GraphOn<cuda::Graph, cuda::Stream, &cuda::current_stream>>(device.index());
  else
    HPML_FAIL("--cuda-graph: no graphs on ", device.str());
}

GraphedStep::~GraphedStep() = default;

size_t GraphedStep::num_nodes() const { return graph_->num_nodes(); }

bool GraphedStep::takes(const data::Batch& b, bool eager) const {
  if (eager || eager_steps_ == 0 || b.size() != 2) return false;
  if (x_.defined()) return b[0].sizes() == x_.sizes() && b[1].sizes() == y_.sizes();
  return b[0].size(0) == batch_size_;
}

std::pair<double, double> GraphedStep::step(const data::Batch& b, const std::vector<double>& lrs, const Body& body) {
  if (!x_.defined()) {
    x_ = empty(b[0].sizes(), TensorOptions(b[0].dtype()).device(device_));
    y_ = empty(b[1].sizes(), TensorOptions(b[1].dtype()).device(device_));
  }
  x_.copy_(b[0]);
  y_.copy_(b[1]);
  if (captures_ == 0 || lrs != lrs_) {
    stats_ = Tensor();  // its block goes back to the graph's pool for the new capture
    graph_->reset();
    graph_->capture([&] { stats_ = body(x_, y_); });
    lrs_ = lrs;
    ++captures_;
  }
  graph_->replay();
  ++replays_;
  const Tensor s = stats_.cpu();
  return {s[0].item<double>(), s[1].item<double>()};
}

}  // namespace hpml::cli
