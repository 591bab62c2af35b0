// Autograd internals shared by node.cpp, engine.cpp and the Tensor autograd methods.
#pragma once

#include <memory>

#include "hpml/autograd/node.h"

namespace hpml::autograd::detail {

// Accumulates the incoming gradient into a leaf's .grad (running the leaf's hooks first).
// See Note [Leaf accumulators] in node.cpp.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(TensorImpl* leaf);
  TensorList apply(TensorList&& grads) override;
  TensorImpl* leaf() const { return leaf_; }  // null once the leaf is gone
  void forget_leaf() { leaf_ = nullptr; }

 private:
  TensorImpl* leaf_;
};

// Marks the engine running a backward function on this thread (see in_backward()).
class BackwardScope {
 public:
  BackwardScope();
  ~BackwardScope();
  BackwardScope(const BackwardScope&) = delete;
  BackwardScope& operator=(const BackwardScope&) = delete;

 private:
  bool prev_;
};

// A hook may replace a gradient, but not change its shape or dtype.
void check_hook_result(const char* node_name, const TensorMeta& meta, const Tensor& result);

// Registers the hook behind retain_grad() on t's current grad_fn (again after an in-place op
// gave t a new grad_fn; the previous hook is retired).
void install_retain_hook(const Tensor& t);

// Where the gradient of `t` must be sent: its grad_fn, or its leaf accumulator (created on
// first use). Empty if t does not require grad.
Edge gradient_edge(const Tensor& t);
// "nan" / "inf" if t holds such a value, else nullptr.
const char* nonfinite_kind(const Tensor& t);
std::string describe(const Tensor& t);  // "[2, 3] f32"

}  // namespace hpml::autograd::detail
