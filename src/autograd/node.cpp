// Graph nodes: saving tensors for backward, attaching a node to its inputs and outputs, the leaf
// accumulator, and anomaly checks on forward outputs.
#include <atomic>
#include <cmath>

#include "autograd/internal.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"

namespace hpml::autograd {

namespace {
std::atomic<uint64_t> g_sequence{0};

Tensor alias_without_autograd(const Tensor& t) {
  auto* impl = t.impl();
  return Tensor(IntrusivePtr<TensorImpl>::make(impl->storage(), impl->dtype(), impl->sizes(), impl->strides(),
                                               impl->offset()));
}
}  // namespace

Node::Node(const char* name) : name_(name), sequence_nr_(g_sequence.fetch_add(1)) {}

// Note [Freeing long graphs]
// Destroying a node drops its edges, which can destroy the previous node, and so on: a chain of
// 100k ops would recurse 100k deep and overflow the stack. So a dying node first drops its saved
// tensors (which may also hold the previous node, through their grad_fn), then moves its edges
// onto a local stack and frees, one at a time, the nodes whose last reference that was.
Node::~Node() {
  saved.clear();
  std::vector<std::shared_ptr<Node>> stack;
  // Take every edge; a node is only taken apart once we hold its last reference (edges that
  // point twice at the same node, as in x * x, just drop one reference each).
  auto take_edges = [&stack](Node& n) {
    n.saved.clear();
    for (Edge& e : n.next_edges)
      if (e.node) stack.push_back(std::move(e.node));
  };
  take_edges(*this);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) take_edges(*n);
  }  // n is freed (or just released) here, with nothing left to free recursively
}

void Node::release_variables() {
  for (auto& s : saved) s.reset();
  released = true;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output), was_defined_(t.defined()) {
  if (!t.defined()) return;
  version_ = t.version();
  if (is_output) {
    // Keeping the output itself would make output -> grad_fn -> saved output a cycle.
    data_ = alias_without_autograd(t);
    output_nr_ = t.output_nr();
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& owner, size_t index) const {
  if (!was_defined_) return Tensor();
  HPML_CHECK(!released_, "backward of ", owner->name(),
             ": trying to backward through the graph a second time, but its saved tensors were freed "
             "by the first backward\nhint: call backward(..., retain_graph=true) the first time");
  HPML_CHECK(data_.version() == version_, "backward of ", owner->name(), ": ",
             is_output_ ? "its output" : "a tensor", " saved for backward (saved tensor ", index, ", shape ",
             data_.sizes(), ", ", data_.dtype(), ") was modified by an in-place operation: saved at version ",
             version_, ", now at version ", data_.version(),
             "\nhint: do the in-place operation on a clone(), or use its out-of-place form");
  if (is_output_ && GradMode::is_enabled()) {
    // create_graph: the saved output must lead back to this node for higher-order gradients.
    Tensor t = alias_without_autograd(data_);
    auto& m = t.impl()->autograd_or_create();
    m.grad_fn = owner;
    m.output_nr = output_nr_;
    return t;
  }
  return data_;
}

namespace detail {

namespace {
thread_local bool t_in_backward = false;
}
bool in_backward() { return t_in_backward; }
BackwardScope::BackwardScope() : prev_(t_in_backward) { t_in_backward = true; }
BackwardScope::~BackwardScope() { t_in_backward = prev_; }

void check_hook_result(const char* node_name, const TensorMeta& meta, const Tensor& r) {
  HPML_CHECK(r.sizes() == IntArrayRef(meta.sizes) && r.dtype() == meta.dtype, "a hook on a gradient flowing into ",
             node_name, " changed it from ", meta.sizes, " ", meta.dtype, " to ", r.sizes(), " ", r.dtype(),
             "\nhint: a hook may return a new gradient, but of the same shape and dtype");
}

void unpack_saved(Node& node, SmallVector<Tensor, 4>& out) {
  if (node.saved.size() == 0) return;
  out.reserve(node.saved.size());
  auto self = node.shared_from_this();
  for (size_t i = 0; i < node.saved.size(); ++i) out.push_back(node.saved[i].unpack(self, i));
}

void attach(const std::shared_ptr<Node>& node, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
            std::span<const Tensor> save) {
  if (record::on()) record::set_sequence_nr(node->sequence_nr());  // links the op's event to its backward
  node->next_edges.reserve(inputs.size());
  node->input_meta.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next_edges.push_back(in.defined() ? gradient_edge(in) : Edge{});
    if (in.defined()) node->input_meta.push_back(TensorMeta{DimVector(in.sizes()), in.dtype(), in.device()});
    else node->input_meta.push_back(TensorMeta{});
  }
  node->output_meta.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->output_meta.push_back(TensorMeta{DimVector(out.sizes()), out.dtype(), out.device()});
    if (!is_floating(out.dtype())) continue;  // integer outputs (indices) carry no gradient
    auto& m = out.impl()->autograd_or_create();
    m.grad_fn = node;
    m.output_nr = static_cast<uint32_t>(i);
    m.requires_grad = false;  // derived from grad_fn for non-leaves
  }
  node->saved.reserve(save.size());
  for (const Tensor& s : save) {
    bool is_output = false;
    for (const Tensor& out : outputs) is_output = is_output || (s.defined() && s.is_same(out));
    node->saved.emplace_back(s, is_output);
  }
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return hpml::detail::str_cat(t.sizes(), " ", t.dtype());
}

const char* nonfinite_kind(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return nullptr;
  NoGradGuard ng;
  Tensor c = t.contiguous().cpu();  // host read: one copy
  if (is_reduced_float(c.dtype())) c = c.to(kFloat32);  // exact: the same NaNs and infinities
  return dispatch_floating(c.dtype(), "anomaly check", [&]<typename T>() -> const char* {
    const T* p = c.data_ptr<T>();
    const char* kind = nullptr;
    for (int64_t i = 0; i < c.numel(); ++i) {
      if (std::isnan(p[i])) return "nan";
      if (std::isinf(p[i])) kind = "inf";
    }
    return kind;
  });
}

void check_forward_anomaly(const char* name, std::span<const Tensor> inputs, std::span<const Tensor> outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const char* kind = nonfinite_kind(outputs[i]);
    if (!kind) continue;
    std::string ins;
    for (size_t k = 0; k < inputs.size(); ++k) ins += (k ? ", " : "") + describe(inputs[k]);
    HPML_FAIL("anomaly detected: the forward of ", name, " produced ", kind, " in output ", i, " (",
              describe(outputs[i]), "); inputs: ", ins);
  }
}

void forget_leaf(Node* accumulator) {
  if (auto* acc = static_cast<AccumulateGrad*>(accumulator)) acc->forget_leaf();
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = t.impl()->autograd();
  if (!m) return Edge{};
  if (m->grad_fn) return Edge{m->grad_fn, m->output_nr};
  if (!m->requires_grad) return Edge{};
  if (!m->grad_accumulator) m->grad_accumulator = std::make_shared<AccumulateGrad>(t.impl());
  return Edge{m->grad_accumulator, 0};
}

// Note [Leaf accumulators]
// A leaf keeps its accumulator alive (so recording an op on a parameter does not build a new one
// each time), and the accumulator points back at the leaf without owning it: the leaf's
// autograd metadata clears that pointer when it dies. A gradient that arrives for a leaf nobody
// holds any more is dropped — nothing could read its .grad.
AccumulateGrad::AccumulateGrad(TensorImpl* leaf) : Node("AccumulateGrad"), leaf_(leaf) {
  output_meta.push_back(TensorMeta{DimVector(leaf->sizes()), leaf->dtype(), leaf->device()});
}

// Note [Accumulating into .grad]
// The first gradient is stored as it is when nothing else holds it (the common case: it was just
// computed), else cloned, so a later in-place accumulation never writes into a tensor the user
// can see elsewhere. Later gradients are added in place, unless the backward itself is being
// recorded (create_graph), where .grad = .grad + g keeps the graph of the sum.
TensorList AccumulateGrad::apply(TensorList&& grads) {
  if (!leaf_) return {};
  Tensor g = std::move(grads[0]);
  AutogradMeta& m = leaf_->autograd_or_create();
  for (auto& hook : m.hooks) {
    Tensor r = hook(g);
    if (!r.defined()) continue;
    check_hook_result("a leaf", output_meta[0], r);
    g = r;
  }
  if (!g.defined()) return {};
  if (!m.grad) m.grad = std::make_shared<Tensor>();
  Tensor& acc = *m.grad;
  if (!acc.defined()) {
    if (GradMode::is_enabled()) acc = g.clone();  // differentiable copy: .grad never aliases
    else if (g.use_count() == 1 && g.impl()->storage().use_count() == 1 && g.is_contiguous() && !g.requires_grad())
      acc = g;
    else acc = g.detach().clone();
  } else if (GradMode::is_enabled()) {
    acc = acc + g;
  } else {
    acc.add_(g);
  }
  if (!m.post_accumulate_hooks.empty()) {
    const Tensor leaf{IntrusivePtr<TensorImpl>(leaf_)};
    for (auto& hook : m.post_accumulate_hooks)
      if (hook) hook(leaf);
  }
  return {};
}

}  // namespace detail
}  // namespace hpml::autograd

namespace hpml::autograd {
bool any_requires_grad(std::span<const Tensor> ts) {
  for (const Tensor& t : ts)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}
}  // namespace hpml::autograd
