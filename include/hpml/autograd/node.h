// The autograd graph: a Node per recorded op, Edges to the nodes that produced its inputs, and
// record(), the one call through which every differentiable op adds itself to the graph.
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     Tensor out = ...forward...;
//     if (autograd::should_record(a, b))
//       autograd::record("mul", {a, b}, {out}, /*save=*/{a, b}, [](const autograd::Ctx& c) {
//         // g: out's shape. The engine sums each result back to its input's shape (broadcasting).
//         return TensorList{c.needs(0) ? c.g(0) * c.s(1) : Tensor(), c.needs(1) ? c.g(0) * c.s(0) : Tensor()};
//       });
//     return out;
//   }
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/small_vector.h"
#include "hpml/core/tensor.h"

namespace hpml::autograd {

class Node;

// Where a gradient goes: input `input_nr` of `node` (the node that produced a tensor, or the
// accumulator of a leaf). An empty edge means "no gradient needed".
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

// What the engine needs to know about a tensor without keeping it alive.
struct TensorMeta {
  DimVector sizes;
  DType dtype = DType::f32;
  Device device = kCPU;
};

// A tensor saved for backward, with the storage version at save time.
// See Note [Version counter] in src/core/storage.cpp.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  // The saved tensor; throws if it was modified in place since it was saved or already freed.
  Tensor unpack(const std::shared_ptr<Node>& owner, size_t index) const;
  void reset() { data_ = Tensor(); released_ = true; }

 private:
  Tensor data_;              // outputs are kept as a detached alias (no reference cycle)
  uint32_t version_ = 0;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  bool released_ = false;
  bool was_defined_ = false;
};

// What a backward function sees.
// It borrows the node's own state (no copies: a backward function runs for every node of every
// step, and allocating here was a measurable part of a small model's step).
struct Ctx {
  const TensorList& grads;        // one per output of the op (zeros where an output got no gradient)
  std::span<const Tensor> saved;  // the tensors passed as `save`, in order
  std::span<const Edge> edges;    // one per input; an input needs a gradient if its edge is valid
  const Tensor& g(size_t i) const { return grads[i]; }
  const Tensor& s(size_t i) const { return saved[i]; }
  bool needs(size_t i) const { return edges[i].valid(); }
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  explicit Node(const char* name);
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  uint64_t sequence_nr() const { return sequence_nr_; }

  // grads: one per output -> gradients: one per input edge (undefined = none).
  virtual TensorList apply(TensorList&& grads) = 0;
  // Frees saved tensors after a backward pass that did not ask to retain the graph.
  virtual void release_variables();

  SmallVector<Edge, 2> next_edges;         // one per input
  SmallVector<TensorMeta, 2> input_meta;   // one per input
  SmallVector<TensorMeta, 1> output_meta;  // one per output
  SmallVector<SavedTensor, 2> saved;
  // Hooks registered on non-leaf outputs (Tensor::register_hook), per output; empty until the
  // first registration.
  std::vector<std::vector<Hook>> output_hooks;
  std::vector<Hook>& hooks_of_output(uint32_t output_nr) {
    if (output_hooks.size() < output_meta.size()) output_hooks.resize(output_meta.size());
    return output_hooks[output_nr];
  }
  bool released = false;

 protected:
  const char* name_;
  uint64_t sequence_nr_;
};

using BackwardFn = TensorList (*)(const Ctx&);

namespace detail {
template <typename F>
class FnNode final : public Node {
 public:
  FnNode(const char* name, F fn) : Node(name), fn_(std::move(fn)) {}
  TensorList apply(TensorList&& grads) override;

 private:
  F fn_;
};
// Unpacks saved tensors into `out` and checks versions; shared by every FnNode.
void unpack_saved(Node& node, SmallVector<Tensor, 4>& out);
void attach(const std::shared_ptr<Node>& node, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
            std::span<const Tensor> save);
void check_forward_anomaly(const char* name, std::span<const Tensor> inputs, std::span<const Tensor> outputs);

template <typename F>
TensorList FnNode<F>::apply(TensorList&& grads) {
  SmallVector<Tensor, 4> s;
  unpack_saved(*this, s);
  return fn_(Ctx{grads, std::span<const Tensor>(s.begin(), s.size()),
                 std::span<const Edge>(next_edges.begin(), next_edges.size())});
}
}  // namespace detail

bool any_requires_grad(std::span<const Tensor> ts);

namespace detail {
// True while the engine runs a backward function on this thread. Anomaly mode checks forward
// outputs only outside backward: inside it, the engine checks each backward function's results
// and names that function, not the ops its formula is made of.
bool in_backward();
inline bool check_forward() { return AnomalyMode::is_enabled() && !in_backward(); }
}  // namespace detail

// True when an op with these inputs must call record(): grad mode is on and an input requires
// grad, or anomaly mode is on (record() then checks the outputs for NaN/Inf).
template <typename... Ts>
inline bool should_record(const Ts&... ts) {
  if (detail::check_forward()) return true;
  if (!GradMode::is_enabled()) return false;
  return ((ts.defined() && ts.requires_grad()) || ...);
}
inline bool should_record(std::span<const Tensor> ts) {
  if (detail::check_forward()) return true;
  return GradMode::is_enabled() && any_requires_grad(ts);
}

// Adds op `name` to the graph: `outputs` get a new node whose backward is `fn`, with an edge per
// input and `save` kept (version-checked) for backward.
template <typename F>
void record(const char* name, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
            std::span<const Tensor> save, F fn) {
  if (detail::check_forward()) detail::check_forward_anomaly(name, inputs, outputs);
  if (!GradMode::is_enabled() || !any_requires_grad(inputs)) return;
  auto node = std::make_shared<detail::FnNode<F>>(name, std::move(fn));
  detail::attach(node, inputs, outputs, save);
}
template <typename F>
void record(const char* name, std::initializer_list<Tensor> inputs, std::initializer_list<Tensor> outputs,
            std::initializer_list<Tensor> save, F fn) {
  record(name, std::span<const Tensor>(inputs.begin(), inputs.size()),
         std::span<const Tensor>(outputs.begin(), outputs.size()), std::span<const Tensor>(save.begin(), save.size()),
         std::move(fn));
}

}  // namespace hpml::autograd
