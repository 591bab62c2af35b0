// Helpers shared by the nn parity tests (modules, losses, init): per-dtype tolerances, a
// NaN-aware tensor comparison against libtorch that reports the largest error, copying an hpml
// module's parameters and buffers into a libtorch module by state-dict name, and converting a
// libtorch module's floating state only (as Python's module.to(dtype) does).
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <hpml/hpml.h>

#include "parity/torch_ops.h"

namespace hpml::nnparity {

struct Tol {
  double atol, rtol;
};
// Separate tolerances for values and gradients (gradients go through more arithmetic).
inline Tol fwd_tol(DType d) { return d == kFloat64 ? Tol{1e-10, 1e-10} : Tol{1e-5, 1e-5}; }
inline Tol grad_tol(DType d) { return d == kFloat64 ? Tol{1e-9, 1e-9} : Tol{1e-4, 1e-4}; }


// Empty if `ours` equals `ref` within tol (NaN matches NaN, inf matches the same inf); otherwise
// what differs: shape, dtype (unless check_dtype is false), or the largest error and where.
inline std::string compare(const Tensor& ours, const torch::Tensor& ref, Tol tol, bool check_dtype = true) {
  std::ostringstream os;
  if (!ours.defined() || !ref.defined()) {
    os << "defined: hpml " << ours.defined() << ", PyTorch " << ref.defined();
    return os.str();
  }
  std::vector<int64_t> rs(ref.sizes().begin(), ref.sizes().end());
  if (ours.sizes() != IntArrayRef(rs)) {
    os << "shape " << ours.sizes() << " vs PyTorch " << IntArrayRef(rs);
    return os.str();
  }
  if (check_dtype && testing::torch_dtype(ours.dtype()) != ref.scalar_type()) {
    os << "dtype " << ours.dtype() << " vs PyTorch " << ref.scalar_type();
    return os.str();
  }
  Tensor a;
  {
    NoGradGuard ng;
    a = ours.detach().to(kFloat64).contiguous();
  }
  torch::Tensor b = ref.detach().to(torch::kFloat64).contiguous();
  const double* pa = a.data_ptr<double>();
  const double* pb = b.data_ptr<double>();
  double worst = -1;
  int64_t worst_i = -1, bad = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::isnan(pa[i]) && std::isnan(pb[i])) continue;
    if (pa[i] == pb[i]) continue;  // equal infinities too
    const double err = std::fabs(pa[i] - pb[i]);
    if (!(err <= tol.atol + tol.rtol * std::fabs(pb[i]))) {  // NaN on one side only fails here
      ++bad;
      const double e = std::isnan(err) ? INFINITY : err;
      if (e > worst) worst = e, worst_i = i;
    }
  }
  if (worst_i >= 0)
    os << bad << " of " << a.numel() << " elements differ; largest error " << worst << " at element " << worst_i
       << ": hpml " << pa[worst_i] << ", PyTorch " << pb[worst_i] << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
  return os.str();
}

// The tolerance is the variadic tail so that a braced `Tol{0, 0}` can be passed unparenthesised.
#define HPML_EXPECT_PARITY(what, ours, ref, ...)                                \
  do {                                                                          \
    const std::string diff_ = ::hpml::nnparity::compare(ours, ref, __VA_ARGS__); \
    EXPECT_TRUE(diff_.empty()) << (what) << ": " << diff_;              \
  } while (0)

// hpml tensor -> libtorch tensor (a copy), optionally a leaf that requires grad.
inline torch::Tensor T(const Tensor& t, bool requires_grad = false) {
  torch::Tensor r = testing::to_torch(t);
  if (requires_grad) r.requires_grad_(true);
  return r;
}

// Defined parameters and buffers of a libtorch module by dotted name.
inline std::map<std::string, torch::Tensor> torch_state(torch::nn::Module& tm) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : tm.named_parameters())
    if (p.value().defined()) out[p.key()] = p.value();
  for (const auto& b : tm.named_buffers())
    if (b.value().defined()) out[b.key()] = b.value();
  return out;
}

// Converts the floating parameters and buffers of a libtorch module (integer buffers such as
// num_batches_tracked stay i64, as in Python; the C++ frontend's Module::to would convert them).
inline void torch_to(torch::nn::Module& tm, torch::ScalarType dt) {
  torch::NoGradGuard ng;
  for (auto& p : tm.named_parameters())
    if (p.value().defined() && p.value().is_floating_point()) p.value().set_data(p.value().to(dt));
  for (auto& b : tm.named_buffers())
    if (b.value().defined() && b.value().is_floating_point()) b.value().set_data(b.value().to(dt));
}

// Copies every parameter and buffer of the hpml module into the libtorch module under the same
// state-dict name. Fails the test if either side has a name the other lacks.
inline void copy_state(nn::Module& m, torch::nn::Module& tm, const std::string& what) {
  std::map<std::string, torch::Tensor> ts = torch_state(tm);
  std::set<std::string> seen;
  torch::NoGradGuard ng;
  for (const auto& [name, t] : m.state_dict()) {
    if (!t.defined()) continue;
    auto it = ts.find(name);
    if (it == ts.end()) {
      ADD_FAILURE() << what << ": hpml has '" << name << "', the PyTorch module does not";
      continue;
    }
    ASSERT_EQ(it->second.sizes(), testing::to_torch(t).sizes()) << what << ": shape of " << name;
    it->second.copy_(testing::to_torch(t));
    seen.insert(name);
  }
  for (const auto& [name, t] : ts)
    if (!seen.count(name)) ADD_FAILURE() << what << ": PyTorch has '" << name << "', the hpml module does not";
}

// Row-major values as doubles, read with libtorch (independent of hpml's ops).
inline std::vector<double> values(const Tensor& t) {
  torch::Tensor c = testing::to_torch(t).to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// A tensor of dtype dt with the given values (built in f64, then converted).
inline Tensor make(IntArrayRef sizes, const std::vector<double>& v, DType dt) {
  return tensor(v, kFloat64).reshape(sizes).to(dt);
}

}  // namespace hpml::nnparity
