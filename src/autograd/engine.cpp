// The backward engine. See Note [How backward runs].
#include "hpml/autograd/engine.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/internal.h"
#include "hpml/core/error.h"
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

struct NodeState {
  int dependencies = 0;
  TensorList buffer;  // incoming gradient per output of the node
  bool execute = true;
};

struct Ready {
  Node* node;
  bool operator<(const Ready& o) const {
    // AccumulateGrad first (release gradients early), then newest node first.
    bool a = dynamic_cast<detail::AccumulateGrad*>(node) != nullptr;
    bool b = dynamic_cast<detail::AccumulateGrad*>(o.node) != nullptr;
    if (a != b) return b;
    return node->sequence_nr() < o.node->sequence_nr();
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
    std::unordered_set<Node*> queued;
    for (const Edge& e : roots) {
      if (states_[e.node.get()].dependencies == 0 && queued.insert(e.node.get()).second) ready.push({e.node.get()});
    }
    GradMode::set_enabled(create_graph_);
    while (!ready.empty()) {
      Node* node = ready.top().node;
      ready.pop();
      process(node, ready);
    }
  }

 private:
  struct CaptureSlot {
    uint32_t slot;
    size_t index;
  };

  void count_dependencies(const std::vector<Edge>& roots) {
    std::vector<Node*> stack;
    std::unordered_set<Node*> seen;
    for (const Edge& e : roots) {
      if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
    }
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      states_[n].buffer.resize(n->output_meta.size());
      for (const Edge& next : n->next_edges) {
        if (!next.valid()) continue;
        states_[next.node.get()].dependencies++;
        if (seen.insert(next.node.get()).second) stack.push_back(next.node.get());
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
    for (auto& [n, st] : states_) st.execute = needed[n];
  }

  void add_grad(const Edge& e, Tensor g) {
    Tensor& slot = states_[e.node.get()].buffer[e.input_nr];
    if (!slot.defined()) slot = std::move(g);
    else slot = slot + g;
  }

  void process(Node* node, std::priority_queue<Ready>& ready) {
    NodeState& st = states_[node];
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
        outs = node->apply(std::move(grads));
      }
      if (AnomalyMode::is_enabled()) check_backward_anomaly(*node, outs);
    }
    if (!keep_graph_) node->release_variables();
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      if (i < outs.size() && outs[i].defined()) add_grad(e, validate(*node, i, std::move(outs[i])));
      NodeState& next = states_[e.node.get()];
      if (--next.dependencies == 0) ready.push({e.node.get()});
    }
  }

  bool keep_graph_, create_graph_;
  std::unordered_map<Node*, NodeState> states_;
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
