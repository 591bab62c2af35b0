// The CUDA table's training slots: the fused optimizer step (optim.cu) and the fused
// negative log-likelihood (loss.cu).
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/slots.h"

namespace hpml::kernels::cuda_slots {

static_assert(static_cast<int>(OptimKind::sgd) == static_cast<int>(cuda::Optim::sgd));
static_assert(static_cast<int>(OptimKind::adagrad) == static_cast<int>(cuda::Optim::adagrad));
static_assert(static_cast<int>(OptimKind::adadelta) == static_cast<int>(cuda::Optim::adadelta));
static_assert(static_cast<int>(OptimKind::rmsprop) == static_cast<int>(cuda::Optim::rmsprop));
static_assert(static_cast<int>(OptimKind::adam) == static_cast<int>(cuda::Optim::adam));

namespace {
cuda::OptimArgs optim_args(const OptimParams& p) {
  return {p.lr,        p.weight_decay, p.maximize, p.momentum, p.dampening, p.nesterov,  p.first_step,
          p.eps,       p.rho,          p.centered, p.beta1,    p.beta2,     p.step_size, p.bias_correction2_sqrt,
          p.amsgrad,   p.decoupled_weight_decay};
}
}  // namespace

void optim_step(OptimKind kind, const OptimParams& p, const TensorView& param, const TensorView& grad,
                const TensorView* s0, const TensorView* s1, const TensorView* s2) {
  if (param.numel() == 0) return;
  Launch l("optim_step", param, {&grad});
  auto data = [](const TensorView* v) -> void* { return v ? v->data : nullptr; };
  hpml::cuda::check(cuda::launch_optim_step(static_cast<cuda::Optim>(kind), optim_args(p), elem(param.dtype),
                                            param.data, grad.data, data(s0), data(s1), data(s2), param.numel(),
                                            stream_of(l.dev)),
                    "optim_step", l.dev);
}

void nll_loss(const TensorView* loss, const TensorView& sums, const TensorView* safe_target, const TensorView* neg_w,
              const TensorView& bad, const TensorView& x, const TensorView& target, const TensorView* weight,
              int64_t ignore_index) {
  Launch l("nll_loss", sums, {&x, &target, &bad});
  auto data = [](const TensorView* v) -> void* { return v ? v->data : nullptr; };
  hpml::cuda::check(cuda::launch_nll_loss(data(loss), sums.ptr<double>(), static_cast<int64_t*>(data(safe_target)),
                                          data(neg_w), bad.ptr<int64_t>(), x.data, x.strides[0], x.strides[1],
                                          target.ptr<int64_t>(), data(weight), elem(x.dtype), x.sizes[0], x.sizes[1],
                                          ignore_index, stream_of(l.dev)),
                    "nll_loss", l.dev);
}

}  // namespace hpml::kernels::cuda_slots
