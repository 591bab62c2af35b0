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

// Where the gradient of `t` must be sent: its grad_fn, or its leaf accumulator (created on
// first use). Empty if t does not require grad.
Edge gradient_edge(const Tensor& t);
// "nan" / "inf" if t holds such a value, else nullptr.
const char* nonfinite_kind(const Tensor& t);
std::string describe(const Tensor& t);  // "[2, 3] f32"

}  // namespace hpml::autograd::detail
