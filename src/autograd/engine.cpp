// The backward engine. See Note [How backward runs].
#include "hpml/autograd/engine.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <queue>
#include <unordered_map>
#include <utility>

#include "autograd/internal.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/reduce.h"

namespace hpml::autograd {

// Note [How backward runs]
// 1. Each root tensor's gradient edge (its grad_fn, or its leaf accumulator) gets the root's
//    gradient (implicit 1 for one-element roots).
// 2. A depth-first walk counts, for every reachable node, how many edges point at it.
// 3. A node runs once all of its incoming gradients have arrived (its count drops to zero);
//    among ready nodes the most recently created runs first, as in PyTorch. Running a node:
//    materialize zeros for outputs that got no gradient, run hooks registered on its outputs,
//    call its backward, then hand each input gradient to the next node after casting it to the
//    input's dtype and summing it down to the input's shape where the forward broadcast it.
// 4. Without retain_graph each node frees its saved tensors after it ran.
// autograd::grad() runs the same walk, but only the nodes that lead to the requested inputs,
// and captures the gradient arriving at each input instead of accumulating it into .grad.
namespace {

// The profiler's name for a node's backward, as PyTorch writes it: "max_pool2d" -> "MaxPool2dBackward".
// Nodes already named in CamelCase (AccumulateGrad) keep their name.
std::string backward_event_name(const char* op) {
  std::string out;
  if (op[0] >= 'A' && op[0] <= 'Z') return op;
  bool upper = true;
  for (const char* c = op; *c; ++c) {
    if (*c == '_') {
      upper = true;
      continue;
    }
    out += upper && *c >= 'a' && *c <= 'z' ? static_cast<char>(*c - 'a' + 'A') : *c;
    upper = false;
  }
  return out + "Backward";
}

struct NodeState {
  int dependencies = 0;
  TensorList buffer;  // incoming gradient per output of the node
  bool execute = true;
  bool visited = false;  // by count_dependencies
  bool queued = false;   // a root already pushed onto the ready queue
};

// Note [Node states in a flat table]
// A backward pass keeps one NodeState per node it reaches. A node-based hash map allocates once
// per node, and a training step of a small model (the blobs benchmark: about 15 nodes) spent a
// tenth of its time in malloc and free; this table keeps the states in one vector, found through
// an open-addressing index of pointers (linear probing, at most half full). States are only added
// by count_dependencies, so references to them stay valid while the nodes run.
class NodeStates {
 public:
  NodeState& operator[](Node* n) {
    if (2 * (keys_.size() + 1) > index_.size()) grow();
    size_t i = probe(n);
    if (index_[i] == 0) {
      keys_.push_back(n);
      states_.emplace_back();
      index_[i] = static_cast<uint32_t>(keys_.size());
    }
    return states_[index_[i] - 1];
  }
  // The state of a node count_dependencies reached.
  NodeState& at(Node* n) {
    const uint32_t k = index_.empty() ? 0 : index_[probe(n)];
    HPML_ASSERT(k != 0, "backward: node ", n->name(), " was not reached by the dependency count");
    return states_[k - 1];
  }
  template <typename F>
  void for_each(F&& f) {
    for (size_t i = 0; i < keys_.size(); ++i) f(keys_[i], states_[i]);
  }

 private:
  size_t probe(Node* n) const {
    const size_t mask = index_.size() - 1;
    size_t i = (reinterpret_cast<uintptr_t>(n) >> 4) * 0x9E3779B97F4A7C15ull >> 32 & mask;
    while (index_[i] != 0 && keys_[index_[i] - 1] != n) i = (i + 1) & mask;
    return i;
  }
  void grow() {
    index_.assign(std::max<size_t>(64, 2 * index_.size()), 0);
    for (size_t k = 0; k < keys_.size(); ++k) index_[probe(keys_[k])] = static_cast<uint32_t>(k + 1);
  }
  std::vector<uint32_t> index_;  // 0: empty, else 1 + position in keys_ / states_
  std::vector<Node*> keys_;
  std::vector<NodeState> states_;
};

struct Ready {
  Node* node;
  bool accumulate;  // an AccumulateGrad, which runs first (releases gradients early)
  uint64_t sequence_nr;
  explicit Ready(Node* n) : node(n), accumulate(dynamic_cast<detail::AccumulateGrad*>(n) != nullptr), sequence_nr(n->sequence_nr()) {}
  bool operator<(const Ready& o) const {
    // AccumulateGrad first, then newest node first.
    if (accumulate != o.accumulate) return o.accumulate;
    return sequence_nr < o.sequence_nr;
  }
};

// Casts and reduces a gradient to the metadata of the input it is for.
Tensor validate(const Node& node, size_t i, Tensor g) {
  const TensorMeta& meta = node.input_meta[i];
  if (g.dtype() != meta.dtype) g = g.to(meta.dtype);
  if (!(g.sizes() == IntArrayRef(meta.sizes))) {
    HPML_CHECK(g.dim() >= static_cast<int64_t>(meta.sizes.size()), "backward of ", node.name(),
               ": gradient for input ", i, " has shape ", g.sizes(), " but the input has shape ", meta.sizes);
    g = sum_to(g, meta.sizes);
    HPML_CHECK(g.sizes() == IntArrayRef(meta.sizes), "backward of ", node.name(), ": gradient for input ", i,
               " has shape ", g.sizes(), " but the input has shape ", meta.sizes);
  }
  return g;
}

void check_backward_anomaly(const Node& node, const TensorList& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    const char* kind = detail::nonfinite_kind(grads[i]);
    if (!kind) continue;
    std::string outs;
    for (size_t k = 0; k < node.output_meta.size(); ++k)
      outs += hpml::detail::str_cat(k ? ", " : "", node.output_meta[k].sizes);
    HPML_FAIL("anomaly detected: the backward of ", node.name(), " produced ", kind, " in the gradient for input ", i,
              " (", detail::describe(grads[i]), "); forward output shapes: ", outs);
  }
}

class GraphTask {
 public:
  GraphTask(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), create_graph_(create_graph) {}

  // Captured gradients for autograd::grad: (node, slot) -> index into captured_.
  void add_capture(const Edge& e, size_t index) { captures_[e.node.get()].push_back({e.input_nr, index}); }
  TensorList captured_;

  void run(const std::vector<Edge>& roots, const TensorList& root_grads) {
    count_dependencies(roots);
    if (!captures_.empty()) mark_needed(roots);
    for (size_t i = 0; i < roots.size(); ++i) add_grad(roots[i], root_grads[i]);
    std::priority_queue<Ready> ready;
    for (const Edge& e : roots) {
      NodeState& st = states_.at(e.node.get());
      if (st.dependencies == 0 && !st.queued) {
        st.queued = true;
        ready.push(Ready(e.node.get()));
      }
    }
    GradMode::set_enabled(create_graph_);
    CurrentTask current(this);
    while (!ready.empty()) {
      Node* node = ready.top().node;
      ready.pop();
      process(node, ready);
    }
    // Callbacks may queue more callbacks; they run in the order queued.
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      std::function<void()> fn = std::move(callbacks_[i]);
      fn();
    }
  }

  static GraphTask*& current() {
    thread_local GraphTask* task = nullptr;
    return task;
  }
  std::vector<std::function<void()>> callbacks_;

 private:
  // The task running on this thread (backward passes nest: a hook may call backward).
  struct CurrentTask {
    GraphTask* prev;
    explicit CurrentTask(GraphTask* t) : prev(std::exchange(current(), t)) {}
    ~CurrentTask() { current() = prev; }
  };

  struct CaptureSlot {
    uint32_t slot;
    size_t index;
  };

  void count_dependencies(const std::vector<Edge>& roots) {
    std::vector<Node*> stack;
    auto visit = [&](Node* n) {
      NodeState& st = states_[n];
      if (st.visited) return;
      st.visited = true;
      stack.push_back(n);
    };
    for (const Edge& e : roots) visit(e.node.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      states_.at(n).buffer.resize(n->output_meta.size());
      for (const Edge& next : n->next_edges) {
        if (!next.valid()) continue;
        states_[next.node.get()].dependencies++;
        visit(next.node.get());
      }
    }
  }

  // grad(): a node runs only if a captured input lies below it.
  void mark_needed(const std::vector<Edge>& roots) {
    std::unordered_map<Node*, bool> needed;
    // Iterative post-order DFS.
    std::vector<std::pair<Node*, size_t>> stack;
    for (const Edge& e : roots) {
      if (needed.count(e.node.get())) continue;
      stack.push_back({e.node.get(), 0});
      needed[e.node.get()] = false;
      while (!stack.empty()) {
        auto& [n, i] = stack.back();
        if (i < n->next_edges.size()) {
          Node* c = n->next_edges[i++].node.get();
          if (c && !needed.count(c)) {
            needed[c] = false;
            stack.push_back({c, 0});
          }
          continue;
        }
        bool any = false;
        for (const Edge& next : n->next_edges)
          if (next.valid() && (needed[next.node.get()] || captures_.count(next.node.get()))) any = true;
        needed[n] = any;
        stack.pop_back();
      }
    }
    states_.for_each([&](Node* n, NodeState& st) { st.execute = needed[n]; });
  }

  void add_grad(const Edge& e, Tensor g) {
    Tensor& slot = states_.at(e.node.get()).buffer[e.input_nr];
    if (!slot.defined()) slot = std::move(g);
    else slot = slot + g;
  }

  void process(Node* node, std::priority_queue<Ready>& ready) {
    NodeState& st = states_.at(node);
    TensorList grads = std::move(st.buffer);
    // Hooks on the outputs of this node (registered with Tensor::register_hook on non-leaves).
    for (size_t i = 0; i < grads.size() && i < node->output_hooks.size(); ++i) {
      for (auto& hook : node->output_hooks[i]) {
        if (!grads[i].defined()) continue;
        Tensor r = hook(grads[i]);
        if (!r.defined()) continue;
        detail::check_hook_result(node->name(), node->output_meta[i], r);
        grads[i] = r;
      }
    }
    if (auto it = captures_.find(node); it != captures_.end()) {
      for (const CaptureSlot& c : it->second) {
        Tensor g = grads[c.slot];
        Tensor& dst = captured_[c.index];
        dst = dst.defined() ? dst + g : g;
      }
    }
    if (!st.execute) return;
    const bool any = std::any_of(grads.begin(), grads.end(), [](const Tensor& t) { return t.defined(); });
    TensorList outs;
    if (any) {
      for (size_t i = 0; i < grads.size(); ++i) {
        if (!grads[i].defined() && i < node->output_meta.size()) {
          const TensorMeta& m = node->output_meta[i];
          grads[i] = zeros(m.sizes, TensorOptions(m.dtype).device(m.device));
        }
      }
      {
        detail::BackwardScope scope;
        std::optional<record::Scope> event;  // "MulBackward", with the forward op's sequence number
        if (record::on()) {
          event.emplace(record::Kind::backward, backward_event_name(node->name()));
          record::set_sequence_nr(node->sequence_nr());
        }
        outs = node->apply(std::move(grads));
      }
      if (AnomalyMode::is_enabled()) check_backward_anomaly(*node, outs);
    }
    if (!keep_graph_) node->release_variables();
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      if (i < outs.size() && outs[i].defined()) add_grad(e, validate(*node, i, std::move(outs[i])));
      NodeState& next = states_.at(e.node.get());
      if (--next.dependencies == 0) ready.push(Ready(e.node.get()));
    }
  }

  bool keep_graph_, create_graph_;
  NodeStates states_;
  std::unordered_map<Node*, std::vector<CaptureSlot>> captures_;
};

// Checks the roots and builds their edges and gradients.
void prepare_roots(const TensorList& outputs, const TensorList& grad_outputs, const char* api,
                   std::vector<Edge>* edges, TensorList* grads) {
  HPML_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), api, ": got ", outputs.size(),
             " outputs but ", grad_outputs.size(), " gradients");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    HPML_CHECK(out.defined(), api, ": output ", i, " is undefined");
    HPML_CHECK(out.requires_grad(), api, ": output ", i, " (shape ", out.sizes(),
               ") does not require grad and has no grad_fn\nhint: did you call it inside a NoGradGuard, "
               "or forget requires_grad_() on a parameter?");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      HPML_CHECK(out.numel() == 1, api, ": a gradient can be created implicitly only for one-element outputs, "
                 "but output ", i, " has shape ", out.sizes(), "\nhint: pass a gradient of that shape");
      g = ones_like(out);
    } else {
      HPML_CHECK(g.sizes() == out.sizes(), api, ": gradient ", i, " has shape ", g.sizes(), " but output ", i,
                 " has shape ", out.sizes());
      if (g.dtype() != out.dtype()) g = g.to(out.dtype());
    }
    edges->push_back(detail::gradient_edge(out));
    grads->push_back(g);
  }
}

// Restores the caller's grad mode however the backward ends.
struct GradModeRestore {
  bool prev = GradMode::is_enabled();
  ~GradModeRestore() { GradMode::set_enabled(prev); }
};

}  // namespace

void queue_callback(std::function<void()> fn) {
  GraphTask* task = GraphTask::current();
  HPML_CHECK(task, "autograd::queue_callback: called outside a backward pass\nhint: call it from a hook");
  task->callbacks_.push_back(std::move(fn));
}

void backward(const TensorList& outputs, const TensorList& grad_outputs, bool retain_graph, bool create_graph) {
  std::vector<Edge> edges;
  TensorList grads;
  prepare_roots(outputs, grad_outputs, "backward", &edges, &grads);
  GradModeRestore restore;
  GraphTask task(retain_graph || create_graph, create_graph);
  task.run(edges, grads);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const GradOptions& options) {
  HPML_CHECK(!inputs.empty(), "autograd::grad: requires a non-empty list of inputs\nhint: use backward() to fill .grad");
  std::vector<Edge> edges;
  TensorList grads;
  prepare_roots(outputs, options.grad_outputs, "autograd::grad", &edges, &grads);
  GradModeRestore restore;
  GraphTask task(options.retain_graph || options.create_graph, options.create_graph);
  task.captured_.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    HPML_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "autograd::grad: input ", i,
               " does not require grad");
    task.add_capture(detail::gradient_edge(inputs[i]), i);
  }
  task.run(edges, grads);
  TensorList result = std::move(task.captured_);
  for (size_t i = 0; i < result.size(); ++i) {
    HPML_CHECK(result[i].defined() || options.allow_unused, "autograd::grad: input ", i, " (shape ",
               inputs[i].sizes(), ") is not used by the outputs\nhint: pass allow_unused = true");
    if (result[i].defined() && result[i].dtype() != inputs[i].dtype()) result[i] = result[i].to(inputs[i].dtype());
  }
  return result;
}

}  // namespace hpml::autograd
