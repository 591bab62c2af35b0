// The backward engine: walks the graph behind some outputs in reverse topological order and
// either accumulates gradients into the leaves' .grad (backward) or returns them (grad).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::autograd {

// Accumulates d(sum of outputs[i] * grad_outputs[i]) / d(leaf) into each leaf's .grad.
// grad_outputs may be empty (each output must then have one element: implicit 1).
// With create_graph, each .grad is differentiable and its graph holds the leaf again: a reference
// cycle (as in PyTorch) that lives until .grad is reset — prefer autograd::grad for that.
void backward(const TensorList& outputs, const TensorList& grad_outputs = {}, bool retain_graph = false,
              bool create_graph = false);

struct GradOptions {
  TensorList grad_outputs;   // empty = implicit ones for one-element outputs
  bool retain_graph = false;
  bool create_graph = false;  // record the backward pass too (for higher-order gradients)
  bool allow_unused = false;  // an input the outputs do not depend on gets an undefined tensor
};

// Returns d(outputs)/d(inputs) without touching any .grad (like torch.autograd.grad).
TensorList grad(const TensorList& outputs, const TensorList& inputs, const GradOptions& options = {});

// From inside a backward pass (a hook): runs fn on this thread once the pass has run every node,
// before backward() returns (PyTorch's Variable._execution_engine.queue_callback).
// DistributedDataParallel waits for its buckets' all-reduces there.
void queue_callback(std::function<void()> fn);

// The graph behind `roots` as Graphviz DOT: one box per op (name and output shapes), one
// ellipse per leaf that requires grad (its shape), edges in the direction of the forward pass.
std::string to_dot(const TensorList& roots);
inline std::string to_dot(const Tensor& root) { return to_dot(TensorList{root}); }

}  // namespace hpml::autograd
