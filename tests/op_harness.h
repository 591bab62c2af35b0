// Shared by the table-driven tests: turning a sample into inputs (as given, or the same values
// in non-contiguous memory) and calling an op on them.
#pragma once

#include <hpml/hpml.h>

#include <string>
#include <vector>

#include "op_table/op_table.h"

namespace hpml::testing {

enum class Layout { contiguous, noncontiguous };

inline const char* layout_name(Layout l) { return l == Layout::contiguous ? "contiguous" : "non-contiguous"; }

// The same values as `x`, stored so that `x` is not contiguous: transposed storage for 2+ dims,
// every other element of a larger buffer for 1-d. 0-d and one-element tensors stay as they are.
inline Tensor noncontiguous_copy(const Tensor& x) {
  NoGradGuard ng;
  if (x.numel() <= 1) return x.clone();
  if (x.dim() >= 2) {
    Tensor t = x.transpose(-1, -2).contiguous().transpose(-1, -2);
    if (!t.is_contiguous()) return t;
  }
  DimVector big(x.sizes());
  big.back() *= 2;
  Tensor buf = zeros(big, TensorOptions(x.dtype()));
  Tensor view = buf.slice(-1, 0, std::nullopt, 2);
  view.copy_(x);
  return view;
}

// Inputs for one run: floating inputs are converted to `dt` and, if `requires_grad`, made leaves
// that require grad; integer and bool inputs pass through unchanged.
inline TensorList make_inputs(const ops::Sample& s, DType dt, Layout layout, bool requires_grad) {
  TensorList in;
  for (const Tensor& x : s.inputs) {
    Tensor v = x;
    if (x.is_floating_point()) {
      v = x.to(dt, /*copy=*/true);
      if (layout == Layout::noncontiguous) v = noncontiguous_copy(v);
      if (requires_grad) v.requires_grad_(true);
    } else if (layout == Layout::noncontiguous) {
      v = noncontiguous_copy(x);
    }
    in.push_back(v);
  }
  return in;
}

// Calls the op with the sample's expansions applied.
inline TensorList call_op(const ops::OpInfo& op, const ops::Sample& s, const TensorList& in) {
  TensorList args = in;
  for (size_t i = 0; i < s.expand_to.size() && i < args.size(); ++i)
    if (!s.expand_to[i].empty()) args[i] = args[i].expand(s.expand_to[i]);
  return op.call(args, s.args);
}

// The devices besides the cpu that the table-driven device tests run every op on: the simulated
// device in every build (a CUDA build adds its GPU when there is one).
inline std::vector<Device> devices_under_test() {
  std::vector<Device> d{Device(DeviceType::Sim, 0)};
  if (cuda::is_available()) d.push_back(Device(DeviceType::CUDA, 0));
  return d;
}

inline std::string describe(const ops::OpInfo& op, const ops::Sample& s, DType dt, Layout l) {
  std::string d = op.name + " [" + s.label + "] (" + s.args.str() + ") " + dtype_name(dt) + " " + layout_name(l);
  return d;
}

}  // namespace hpml::testing
