// Fused optimizer steps: one pass over a parameter reading param, grad and state once and writing
// param and state once, split across threads by element ranges. The loops are plain and compiled
// for every SIMD target (as binary.cpp), so they vectorize for AVX2 and AVX-512. Each formula
// follows PyTorch 1.13's single-tensor implementation operation by operation (comments quote it).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/optim.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "hpml/core/threads.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu {
namespace HWY_NAMESPACE {

namespace {

template <typename T>
T* ptr(const TensorView* v) {
  return v ? v->ptr<T>() : nullptr;
}

// g = (maximize ? -grad : grad) + weight_decay * p   (the L2 term only when weight_decay != 0)
template <typename T>
inline T effective_grad(const OptimParams& o, T g, T p, bool l2) {
  if (o.maximize) g = -g;
  if (l2) g = g + static_cast<T>(o.weight_decay) * p;
  return g;
}

template <typename T>
void sgd(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT buf, int64_t lo,
         int64_t hi) {
  const T lr = static_cast<T>(o.lr), m = static_cast<T>(o.momentum), damp = static_cast<T>(1 - o.dampening);
  const bool l2 = o.weight_decay != 0;
  for (int64_t i = lo; i < hi; ++i) {
    T d = effective_grad(o, grad[i], p[i], l2);
    if (buf) {
      // buf = d (first step), else buf.mul_(momentum).add_(d, alpha=1 - dampening)
      buf[i] = o.first_step ? d : buf[i] * m + damp * d;
      d = o.nesterov ? d + m * buf[i] : buf[i];  // d.add(buf, alpha=momentum) or buf
    }
    p[i] = p[i] + (-lr) * d;  // p.add_(d, alpha=-lr)
  }
}

template <typename T>
void adagrad(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT sum, int64_t lo,
             int64_t hi) {
  const T clr = static_cast<T>(o.step_size), eps = static_cast<T>(o.eps);
  const bool l2 = o.weight_decay != 0;
  for (int64_t i = lo; i < hi; ++i) {
    const T g = effective_grad(o, grad[i], p[i], l2);
    sum[i] = sum[i] + g * g;              // state_sum.addcmul_(grad, grad, value=1)
    const T std = std::sqrt(sum[i]) + eps;  // state_sum.sqrt().add_(eps)
    p[i] = p[i] + (-clr) * (g / std);     // param.addcdiv_(grad, std, value=-clr)
  }
}

template <typename T>
void adadelta(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT sq,
              T* HWY_RESTRICT acc, int64_t lo, int64_t hi) {
  const T lr = static_cast<T>(o.lr), rho = static_cast<T>(o.rho), eps = static_cast<T>(o.eps);
  const T one_m_rho = static_cast<T>(1 - o.rho);
  const bool l2 = o.weight_decay != 0;
  for (int64_t i = lo; i < hi; ++i) {
    const T g = effective_grad(o, grad[i], p[i], l2);
    sq[i] = sq[i] * rho + one_m_rho * (g * g);              // square_avg.mul_(rho).addcmul_(g, g, value=1 - rho)
    const T std = std::sqrt(sq[i] + eps);                   // square_avg.add(eps).sqrt_()
    const T delta = std::sqrt(acc[i] + eps) / std * g;      // acc_delta.add(eps).sqrt_().div_(std).mul_(g)
    acc[i] = acc[i] * rho + one_m_rho * (delta * delta);    // acc_delta.mul_(rho).addcmul_(delta, delta, 1 - rho)
    p[i] = p[i] + (-lr) * delta;                            // param.add_(delta, alpha=-lr)
  }
}

template <typename T>
void rmsprop(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT sq,
             T* HWY_RESTRICT buf, T* HWY_RESTRICT gavg, int64_t lo, int64_t hi) {
  const T lr = static_cast<T>(o.lr), alpha = static_cast<T>(o.rho), eps = static_cast<T>(o.eps);
  const T one_m_alpha = static_cast<T>(1 - o.rho), m = static_cast<T>(o.momentum);
  const bool l2 = o.weight_decay != 0;
  for (int64_t i = lo; i < hi; ++i) {
    const T g = effective_grad(o, grad[i], p[i], l2);
    sq[i] = sq[i] * alpha + one_m_alpha * (g * g);  // square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    T avg;
    if (gavg) {
      gavg[i] = gavg[i] * alpha + one_m_alpha * g;     // grad_avg.mul_(alpha).add_(g, alpha=1 - alpha)
      avg = std::sqrt(sq[i] + (-1) * (gavg[i] * gavg[i])) + eps;  // square_avg.addcmul(ga, ga, value=-1).sqrt_().add_(eps)
    } else {
      avg = std::sqrt(sq[i]) + eps;  // square_avg.sqrt().add_(eps)
    }
    if (buf) {
      buf[i] = buf[i] * m + g / avg;  // buf.mul_(momentum).addcdiv_(g, avg)
      p[i] = p[i] + (-lr) * buf[i];   // param.add_(buf, alpha=-lr)
    } else {
      p[i] = p[i] + (-lr) * (g / avg);  // param.addcdiv_(g, avg, value=-lr)
    }
  }
}

template <typename T>
void adam(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT m, T* HWY_RESTRICT v,
          T* HWY_RESTRICT vmax, int64_t lo, int64_t hi) {
  const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2), eps = static_cast<T>(o.eps);
  const T one_m_b1 = static_cast<T>(1 - o.beta1), one_m_b2 = static_cast<T>(1 - o.beta2);
  const T step_size = static_cast<T>(o.step_size), bc2s = static_cast<T>(o.bias_correction2_sqrt);
  const T decay = static_cast<T>(1 - o.lr * o.weight_decay);
  const bool l2 = o.weight_decay != 0 && !o.decoupled_weight_decay;
  const bool decoupled = o.weight_decay != 0 && o.decoupled_weight_decay;
  for (int64_t i = lo; i < hi; ++i) {
    T pi = p[i];
    if (decoupled) pi = pi * decay;  // AdamW: param.mul_(1 - lr * weight_decay)
    const T g = effective_grad(o, grad[i], pi, l2);
    m[i] = m[i] * b1 + one_m_b1 * g;        // exp_avg.mul_(beta1).add_(g, alpha=1 - beta1)
    v[i] = v[i] * b2 + one_m_b2 * (g * g);  // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    T s = v[i];
    if (vmax) s = vmax[i] = std::max(vmax[i], v[i]);  // torch.maximum(max_exp_avg_sq, exp_avg_sq, out=...)
    const T denom = std::sqrt(s) / bc2s + eps;          // (sq.sqrt() / bias_correction2_sqrt).add_(eps)
    p[i] = pi + (-step_size) * (m[i] / denom);          // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

}  // namespace

void OptimStepImpl(OptimKind kind, const OptimParams& o, const TensorView& param, const TensorView& grad,
                   const TensorView* s0, const TensorView* s1, const TensorView* s2) {
  dispatch_floating(param.dtype, "optimizer step", [&]<typename T>() {
    T* p = param.ptr<T>();
    const T* g = grad.ptr<T>();
    T *a = ptr<T>(s0), *b = ptr<T>(s1), *c = ptr<T>(s2);
    parallel_for(0, param.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      switch (kind) {
        case OptimKind::sgd: return sgd(o, p, g, a, lo, hi);
        case OptimKind::adagrad: return adagrad(o, p, g, a, lo, hi);
        case OptimKind::adadelta: return adadelta(o, p, g, a, b, lo, hi);
        case OptimKind::rmsprop: return rmsprop(o, p, g, a, b, c, lo, hi);
        case OptimKind::adam: return adam(o, p, g, a, b, c, lo, hi);
        case OptimKind::kCount: break;
      }
    });
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace hpml::kernels::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hpml::kernels::cpu {

HWY_EXPORT(OptimStepImpl);

void optim_step(OptimKind kind, const OptimParams& p, const TensorView& param, const TensorView& grad, const TensorView* s0,
                const TensorView* s1, const TensorView* s2) {
  HWY_DYNAMIC_DISPATCH(OptimStepImpl)(kind, p, param, grad, s0, s1, s2);
}

}  // namespace hpml::kernels::cpu
#endif  // HWY_ONCE
