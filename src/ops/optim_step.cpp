// fused_optimizer_step_ (hpml/ops/optim_step.h): checks the parameter, its gradient and its state
// buffers, then runs the backend's optim_step slot (src/kernels/cpu/optim.cpp on the cpu).
#include "hpml/ops/optim_step.h"

#include <array>
#include <sstream>

#include "ops/common.h"

namespace hpml::ops {

namespace {
constexpr const char* kOp = "fused_optimizer_step_";
using States = std::array<const Tensor*, 3>;

// Note [Two optimizer step structs]
// kernels::OptimParams and ops::OptimizerStepParams hold the same fields. The public one cannot be
// the kernels' (kernels/backend.h is private: optim and users see only hpml/ops), and the kernels'
// cannot include the public one (kernels may include only core: docs/layers.md). So the seam
// copies one into the other: a dozen scalars per parameter per step, nothing next to the pass
// over the parameter's elements.
kernels::OptimParams kernel_params(const OptimizerStepParams& p) {
  return {.lr = p.lr,
          .weight_decay = p.weight_decay,
          .maximize = p.maximize,
          .momentum = p.momentum,
          .dampening = p.dampening,
          .nesterov = p.nesterov,
          .first_step = p.first_step,
          .eps = p.eps,
          .rho = p.rho,
          .centered = p.centered,
          .beta1 = p.beta1,
          .beta2 = p.beta2,
          .step_size = p.step_size,
          .bias_correction2_sqrt = p.bias_correction2_sqrt,
          .amsgrad = p.amsgrad,
          .decoupled_weight_decay = p.decoupled_weight_decay};
}

// The kernel's kind, the kind's name and how many state buffers it needs (then may take).
struct KindInfo {
  kernels::OptimKind kernel;
  const char* name;
  size_t needs, takes;
};
KindInfo info(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::sgd:
      return {kernels::OptimKind::sgd, "sgd", 0, 1};
    case OptimizerKind::adagrad:
      return {kernels::OptimKind::adagrad, "adagrad", 1, 1};
    case OptimizerKind::adadelta:
      return {kernels::OptimKind::adadelta, "adadelta", 2, 2};
    case OptimizerKind::rmsprop:
      return {kernels::OptimKind::rmsprop, "rmsprop", 1, 3};
    case OptimizerKind::adam:
      return {kernels::OptimKind::adam, "adam", 2, 3};
  }
  HPML_FAIL(kOp, ": unknown optimizer kind ", static_cast<int>(k));
}

void check_devices(const Tensor& param, const Tensor& grad, const States& s) {
  bool one = grad.device() == param.device();
  for (const Tensor* t : s) one = one && (!t || t->device() == param.device());
  if (one) return;
  std::ostringstream got;
  got << "param on " << param.device() << ", grad on " << grad.device();
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i]) got << ", state " << i << " on " << s[i]->device();
  HPML_FAIL(kOp, ": the parameter, its gradient and its state buffers must be on one device, got ", got.str(),
            "\nhint: move with .to(...)");
}

void check_args(const KindInfo& k, const Tensor& param, const Tensor& grad, const States& s) {
  check_defined(kOp, param, "param");
  check_inplace(kOp, param);
  check_defined(kOp, grad, "grad");
  HPML_CHECK(param.dtype() == kFloat32 || param.dtype() == kFloat64, kOp, ": param must be f32 or f64, got ",
             param.dtype());
  HPML_CHECK(grad.dtype() == param.dtype() && grad.sizes() == param.sizes(), kOp, ": grad is ", grad.dtype(),
             " of shape ", grad.sizes(), ", its parameter ", param.dtype(), " of shape ", param.sizes());
  for (size_t i = 0; i < s.size(); ++i) {
    HPML_CHECK(i >= k.needs || s[i], kOp, ": ", k.name, " needs at least ", k.needs, " state buffer(s), state ", i,
               " is null");
    if (!s[i]) continue;
    HPML_CHECK(i < k.takes, kOp, ": ", k.name, " takes at most ", k.takes, " state buffer(s), got state ", i);
    check_defined(kOp, *s[i], "a state buffer");
    HPML_CHECK(s[i]->dtype() == param.dtype() && s[i]->sizes() == param.sizes() && s[i]->is_contiguous(), kOp,
               ": state ", i, " must be a contiguous ", param.dtype(), " tensor of shape ", param.sizes(), ", got ",
               s[i]->dtype(), " of shape ", s[i]->sizes(), s[i]->is_contiguous() ? "" : " (not contiguous)");
  }
  check_devices(param, grad, s);
}
}  // namespace

void fused_optimizer_step_(OptimizerKind kind, const OptimizerStepParams& p, const Tensor& param, const Tensor& grad,
                           const Tensor* s0, const Tensor* s1, const Tensor* s2) {
  const KindInfo k = info(kind);
  const States s = {s0, s1, s2};
  check_args(k, param, grad, s);
  // The kernel wants contiguous memory: a strided parameter is stepped in a copy, written back.
  // (References where nothing is copied: no handle copies, two atomic counts each, per parameter.)
  Tensor g_copy, p_copy;
  const Tensor& g = grad.is_contiguous() ? grad : (g_copy = grad.contiguous());
  const Tensor& pc = param.is_contiguous() ? param : (p_copy = param.contiguous());
  std::array<kernels::TensorView, 3> views;
  std::array<const kernels::TensorView*, 3> state{};
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i]) state[i] = &(views[i] = kernels::view_of(*s[i]));
  be(param, kOp)
      .optim_step(k.kernel, kernel_params(p), kernels::view_of(pc), kernels::view_of(g), state[0], state[1], state[2]);
  if (pc.impl_ptr().get() != param.impl_ptr().get()) {
    Tensor q = param;
    q.copy_(pc);
  } else {
    param.bump_version();
  }
  for (const Tensor* t : s)
    if (t) t->bump_version();
}

}  // namespace hpml::ops
