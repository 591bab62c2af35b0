// Shared by the optimizer tests: the inputs both hpml and PyTorch build from closed forms (see
// tests/python/optim_torch.py), the table of option sets, and running the PyTorch fixture.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <hpml/hpml.h>

namespace hpml::optimtest {

// Parameter j of a case: p0[i] = sin(0.37 i + 1.3 j); its gradient before step k:
// g[i] = cos(0.11 (k + 1) i + 0.7 j) + 0.05 k - 0.3 (f64).
inline Tensor initial_param(int64_t n, int64_t j) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = std::sin(0.37 * static_cast<double>(i) + 1.3 * static_cast<double>(j));
  return tensor(v, kFloat64).requires_grad_();
}
inline Tensor gradient(int64_t n, int64_t j, int64_t k) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = std::cos(0.11 * static_cast<double>(k + 1) * static_cast<double>(i) + 0.7 * static_cast<double>(j)) +
                                0.05 * static_cast<double>(k) - 0.3;
  return tensor(v, kFloat64);
}

// An option set: the optimizer's PyTorch class name, the group sizes, and a factory that builds the
// hpml optimizer over one parameter per group (the PyTorch side gets the options the factory set,
// read back through Optimizer::options, so the two cannot drift apart).
struct Case {
  std::string name, optimizer;
  std::vector<int64_t> sizes;
  std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)> make;
};

std::vector<Case> all_cases();

inline TensorList make_params(const Case& c) {
  TensorList ps;
  for (size_t j = 0; j < c.sizes.size(); ++j) ps.push_back(initial_param(c.sizes[j], static_cast<int64_t>(j)));
  return ps;
}

inline void set_grads(TensorList& ps, int64_t k) {
  for (size_t j = 0; j < ps.size(); ++j) ps[j].mutable_grad() = gradient(ps[j].numel(), static_cast<int64_t>(j), k);
}

// Largest |a - b| / max(|b|, 1e-300) over the elements (both f64).
inline double max_rel_diff(const Tensor& a, const Tensor& b) {
  Tensor x = a.detach().to(kFloat64).contiguous(), y = b.detach().to(kFloat64).contiguous();
  double worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double u = x.data_ptr<double>()[i], v = y.data_ptr<double>()[i];
    worst = std::max(worst, std::fabs(u - v) / std::max(std::fabs(v), 1e-300));
  }
  return worst;
}

// Runs tests/python/<script> with /usr/bin/python3 on a JSON spec and returns the tensors it writes
// to a safetensors file. On failure (no Python, no torch, the script failing) `error` says why and
// the caller fails the test: PyTorch fixtures never skip.
struct TorchFixture {
  std::map<std::string, Tensor> tensors;
  std::string error;
};
TorchFixture run_torch_fixture(const std::string& script, const std::string& spec_json);

}  // namespace hpml::optimtest
