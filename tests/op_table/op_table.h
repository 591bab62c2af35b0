// The op table: every op hpml has, with a uniform way to call it and sample inputs to test it on.
// The tests walk this table: every differentiable op is gradchecked in f64 and every op is
// compared with PyTorch, on each sample as given and with non-contiguous inputs, and run on the
// simulated device against the cpu. An op that is not in the table does not exist (see
// docs/adding-an-op.md). Test data, not part of libhpml: built as hpml_op_table (tests/CMakeLists.txt).
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::ops {

using ArgValue = std::variant<int64_t, double, bool, std::vector<int64_t>, std::string>;

// Non-tensor arguments of a sample, by name: {{"dim", 1}, {"keepdim", true}}.
class Args {
 public:
  Args() = default;
  Args(std::initializer_list<std::pair<std::string, ArgValue>> kv) : kv_(kv) {}
  bool has(std::string_view key) const;
  int64_t i(std::string_view key) const;
  double d(std::string_view key) const;  // accepts int values too
  bool b(std::string_view key) const;
  std::vector<int64_t> ints(std::string_view key) const;
  std::string s(std::string_view key) const;
  int64_t i_or(std::string_view key, int64_t def) const { return has(key) ? i(key) : def; }
  double d_or(std::string_view key, double def) const { return has(key) ? d(key) : def; }
  bool b_or(std::string_view key, bool def) const { return has(key) ? b(key) : def; }
  std::string str() const;  // "dim=1, keepdim=true"
  // A copy with one more argument.
  Args with(std::string key, ArgValue value) const {
    Args a = *this;
    a.kv_.emplace_back(std::move(key), std::move(value));
    return a;
  }

 private:
  const ArgValue& get(std::string_view key) const;
  std::vector<std::pair<std::string, ArgValue>> kv_;
};

struct Sample {
  std::string label;        // what the sample exercises: "broadcast", "empty", "0-d", ...
  TensorList inputs;        // tensor arguments in order; floating ones are differentiated
  Args args;
  // Per input (may be shorter than inputs): a shape to expand the input to before the call, so the
  // op sees a stride-0 view while gradients flow back to the small tensor.
  std::vector<std::vector<int64_t>> expand_to = {};
  // Non-empty where PyTorch 1.13 itself cannot compute this sample's gradients (a PyTorch bug);
  // the parity test then compares the forward only and prints this reason. gradcheck still runs.
  std::string pytorch_grad_differs = {};
  // Non-empty where the op is not differentiable in the finite-difference sense at this sample
  // (std or a p-norm at exactly 0: a kink, where PyTorch's formula picks the 0 subgradient). The
  // f64 gradcheck skips it and prints this reason; the PyTorch parity check compares its forward
  // and gradients, which is what pins the chosen subgradient (as PyTorch's OpInfo does).
  std::string fd_gradcheck_skip = {};
};

struct OpInfo {
  std::string name;     // PyTorch's name where there is one
  std::string family;   // unary, activation, binary, compare, reduce, linalg, view, index
  bool differentiable;  // gradchecked when true
  // Calls the op on inputs (already expanded as the sample says) and returns its outputs.
  std::function<TensorList(const TensorList&, const Args&)> call;
  // Sample inputs of the given floating dtype (integer and bool inputs keep their own dtypes).
  std::function<std::vector<Sample>(DType)> samples;
  // Whether the non-contiguous variant of each sample makes sense (false for ops whose inputs
  // are read for their layout, none so far).
  bool noncontiguous_variant = true;
};

const std::vector<OpInfo>& op_table();
// The entry for `name`; throws hpml::Error if there is none.
const OpInfo& find_op(std::string_view name);

}  // namespace hpml::ops
