// The loss-parity harness shared by nn_losses_parity_test.cpp and nn_loss_edges_parity_test.cpp:
// a case builds its data, calls hpml (as a module or as the functional) and libtorch's
// torch::nn::functional for one reduction; run_loss_case compares the value and the input (and,
// where asked, the target) gradient for the same random upstream gradient.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "parity/nn_parity_util.h"

namespace hpml::nnparity {

namespace F = nn::functional;
namespace TF = torch::nn::functional;

// Reductions by code: 0 none, 1 mean, 2 sum, 3 batchmean (kl_div only).
inline const char* reduction_name(int r) {
  static const char* names[] = {"none", "mean", "sum", "batchmean"};
  return names[r];
}
inline F::Reduction hp_reduction(int r) {
  return r == 0 ? F::Reduction::none : r == 2 ? F::Reduction::sum : F::Reduction::mean;
}
template <typename O>
O torch_reduction(O o, int r) {
  if (r == 0) o.reduction(torch::kNone);
  else if (r == 2) o.reduction(torch::kSum);
  else o.reduction(torch::kMean);
  return o;
}

// Inputs of one case, all in the dtype under test (weights too, as libtorch requires).
struct LossData {
  Tensor input, target, weight, pos_weight;
};
inline torch::Tensor T_or_none(const Tensor& t) { return t.defined() ? T(t) : torch::Tensor(); }

struct LossCase {
  std::string name;
  std::function<LossData(DType, Generator&)> data;
  std::function<Tensor(const LossData&, int reduction, bool module)> hp;
  std::function<torch::Tensor(const torch::Tensor& input, const torch::Tensor& target, const LossData&, int reduction)> ref;
  bool target_grad = false;  // also compare the gradient of a floating target
  std::vector<int> reductions = {0, 1, 2};
};

// The module (M(options)(input, target)) or the functional f(input, target, options).
template <typename M, typename O>
Tensor call_loss(bool module, Tensor (*f)(const Tensor&, const Tensor&, O), const LossData& d, O o) {
  if (module) {
    M m(o);
    return m(d.input, d.target);
  }
  return f(d.input, d.target, o);
}

struct LossResult {
  Tensor value, input_grad;
  torch::Tensor torch_value, torch_input_grad;
};

// Runs one case for one dtype, reduction and form, checking value and gradients; returns both
// sides' values and input gradients for further checks.
inline LossResult run_loss_case(const LossCase& c, DType dt, int r, bool module, uint64_t seed = 1) {
  const std::string what = c.name + " (" + dtype_name(dt) + ", reduction=" + reduction_name(r) + ", " +
                           (module ? "module" : "functional") + ")";
  Generator g(seed + (dt == kFloat64 ? 1000 : 0));
  LossData d = c.data(dt, g);
  LossData hd = d;
  hd.input = d.input.detach().clone().requires_grad_(true);
  const bool tgrad = c.target_grad && d.target.is_floating_point();
  hd.target = tgrad ? d.target.detach().clone().requires_grad_(true) : d.target;
  torch::Tensor tx = T(d.input, true), ty = T(d.target, tgrad);
  LossResult res;
  try {
    res.value = c.hp(hd, r, module);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": hpml raised: " << e.what();
    return res;
  }
  res.torch_value = c.ref(tx, ty, d, r);
  HPML_EXPECT_PARITY(what + ", value", res.value, res.torch_value, fwd_tol(dt));
  if (!res.value.requires_grad()) {
    ADD_FAILURE() << what << ": the loss does not require grad";
    return res;
  }
  Tensor go = randn(res.value.sizes(), &g, dt);
  res.value.backward(go);
  res.torch_value.backward(T(go));
  res.input_grad = hd.input.grad();
  res.torch_input_grad = tx.grad();
  HPML_EXPECT_PARITY(what + ", input gradient", res.input_grad, res.torch_input_grad, grad_tol(dt));
  if (tgrad && ty.grad().defined())
    HPML_EXPECT_PARITY(what + ", target gradient", hd.target.grad(), ty.grad(), grad_tol(dt));
  return res;
}

}  // namespace hpml::nnparity
