// Fused optimizer steps: one pass over a parameter reading param, grad and state once and writing
// param and state once, split across threads by element ranges, in Highway SIMD compiled for every
// target (as binary.cpp). Each formula follows PyTorch 1.13's single-tensor implementation
// operation by operation (comments quote it); a multiply and an add may fuse, which changes only
// the last bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/optim.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>


#include "hpml/core/threads.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

namespace {

template <typename T>
T* ptr(const TensorView* v) {
  return v ? v->ptr<T>() : nullptr;
}

// Runs block(d, i) over [lo, hi): whole SIMD vectors, then the rest one lane at a time (the same
// code on 1-lane vectors), so the tail computes exactly as the body.
template <typename T, class F>
HWY_INLINE void for_lanes(int64_t lo, int64_t hi, const F& block) {
  const hn::ScalableTag<T> d;
  const hn::CappedTag<T, 1> d1;
  const auto L = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = lo;
  for (; i + 2 * L <= hi; i += 2 * L) {  // two vectors per iteration: more loads in flight
    block(d, i);
    block(d, i + L);
  }
  for (; i + L <= hi; i += L) block(d, i);
  for (; i < hi; ++i) block(d1, i);
}

// g = (maximize ? -grad : grad) + weight_decay * p   (the L2 term only when asked)
template <class D, class V>
HWY_INLINE V effective_grad(D d, const OptimParams& o, V g, V p, bool l2) {
  if (o.maximize) g = hn::Neg(g);
  if (l2) g = hn::MulAdd(hn::Set(d, static_cast<hn::TFromD<D>>(o.weight_decay)), p, g);
  return g;
}

template <typename T>
void sgd(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT buf, int64_t lo,
         int64_t hi) {
  const bool l2 = o.weight_decay != 0;
  for_lanes<T>(lo, hi, [&](auto d, int64_t i) HWY_ATTR {
    const auto pv = hn::LoadU(d, p + i);
    auto g = effective_grad(d, o, hn::LoadU(d, grad + i), pv, l2);
    if (buf) {
      // buf = g on the first step, else buf.mul_(momentum).add_(g, alpha=1 - dampening)
      const auto b = o.first_step ? g
                                  : hn::MulAdd(hn::LoadU(d, buf + i), hn::Set(d, static_cast<T>(o.momentum)),
                                               hn::Mul(hn::Set(d, static_cast<T>(1 - o.dampening)), g));
      hn::StoreU(b, d, buf + i);
      g = o.nesterov ? hn::MulAdd(hn::Set(d, static_cast<T>(o.momentum)), b, g) : b;  // g.add(buf, alpha=momentum)
    }
    hn::StoreU(hn::MulAdd(hn::Set(d, static_cast<T>(-o.lr)), g, pv), d, p + i);  // p.add_(g, alpha=-lr)
  });
}

template <typename T>
void adagrad(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT sum, int64_t lo,
             int64_t hi) {
  const bool l2 = o.weight_decay != 0;
  for_lanes<T>(lo, hi, [&](auto d, int64_t i) HWY_ATTR {
    const auto pv = hn::LoadU(d, p + i);
    const auto g = effective_grad(d, o, hn::LoadU(d, grad + i), pv, l2);
    const auto s = hn::MulAdd(g, g, hn::LoadU(d, sum + i));  // state_sum.addcmul_(grad, grad, value=1)
    hn::StoreU(s, d, sum + i);
    const auto std = hn::Add(hn::Sqrt(s), hn::Set(d, static_cast<T>(o.eps)));  // state_sum.sqrt().add_(eps)
    hn::StoreU(hn::MulAdd(hn::Set(d, static_cast<T>(-o.step_size)), hn::Div(g, std), pv), d, p + i);  // addcdiv_(g, std, -clr)
  });
}

template <typename T>
void adadelta(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT sq,
              T* HWY_RESTRICT acc, int64_t lo, int64_t hi) {
  const bool l2 = o.weight_decay != 0;
  for_lanes<T>(lo, hi, [&](auto d, int64_t i) HWY_ATTR {
    const auto rho = hn::Set(d, static_cast<T>(o.rho)), one_m_rho = hn::Set(d, static_cast<T>(1 - o.rho));
    const auto eps = hn::Set(d, static_cast<T>(o.eps));
    const auto pv = hn::LoadU(d, p + i);
    const auto g = effective_grad(d, o, hn::LoadU(d, grad + i), pv, l2);
    const auto s = hn::MulAdd(hn::LoadU(d, sq + i), rho, hn::Mul(one_m_rho, hn::Mul(g, g)));  // square_avg update
    hn::StoreU(s, d, sq + i);
    const auto std = hn::Sqrt(hn::Add(s, eps));                                       // square_avg.add(eps).sqrt_()
    const auto a = hn::LoadU(d, acc + i);
    const auto delta = hn::Mul(hn::Div(hn::Sqrt(hn::Add(a, eps)), std), g);         // acc.add(eps).sqrt_().div_(std).mul_(g)
    hn::StoreU(hn::MulAdd(a, rho, hn::Mul(one_m_rho, hn::Mul(delta, delta))), d, acc + i);
    hn::StoreU(hn::MulAdd(hn::Set(d, static_cast<T>(-o.lr)), delta, pv), d, p + i);  // param.add_(delta, alpha=-lr)
  });
}

template <typename T>
void rmsprop(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT sq,
             T* HWY_RESTRICT buf, T* HWY_RESTRICT gavg, int64_t lo, int64_t hi) {
  const bool l2 = o.weight_decay != 0;
  for_lanes<T>(lo, hi, [&](auto d, int64_t i) HWY_ATTR {
    const auto alpha = hn::Set(d, static_cast<T>(o.rho)), one_m_alpha = hn::Set(d, static_cast<T>(1 - o.rho));
    const auto pv = hn::LoadU(d, p + i);
    const auto g = effective_grad(d, o, hn::LoadU(d, grad + i), pv, l2);
    const auto s = hn::MulAdd(hn::LoadU(d, sq + i), alpha, hn::Mul(one_m_alpha, hn::Mul(g, g)));
    hn::StoreU(s, d, sq + i);
    auto avg = s;
    if (gavg) {
      const auto ga = hn::MulAdd(hn::LoadU(d, gavg + i), alpha, hn::Mul(one_m_alpha, g));  // grad_avg update
      hn::StoreU(ga, d, gavg + i);
      avg = hn::NegMulAdd(ga, ga, s);  // square_avg.addcmul(grad_avg, grad_avg, value=-1)
    }
    avg = hn::Add(hn::Sqrt(avg), hn::Set(d, static_cast<T>(o.eps)));  // .sqrt_().add_(eps)
    const auto neg_lr = hn::Set(d, static_cast<T>(-o.lr));
    if (buf) {
      const auto b = hn::MulAdd(hn::LoadU(d, buf + i), hn::Set(d, static_cast<T>(o.momentum)), hn::Div(g, avg));
      hn::StoreU(b, d, buf + i);
      hn::StoreU(hn::MulAdd(neg_lr, b, pv), d, p + i);  // param.add_(buf, alpha=-lr)
    } else {
      hn::StoreU(hn::MulAdd(neg_lr, hn::Div(g, avg), pv), d, p + i);  // param.addcdiv_(g, avg, value=-lr)
    }
  });
}

template <typename T>
void adam(const OptimParams& o, T* HWY_RESTRICT p, const T* HWY_RESTRICT grad, T* HWY_RESTRICT m, T* HWY_RESTRICT v,
          T* HWY_RESTRICT vmax, int64_t lo, int64_t hi) {
  const bool l2 = o.weight_decay != 0 && !o.decoupled_weight_decay;
  const bool decoupled = o.weight_decay != 0 && o.decoupled_weight_decay;
  for_lanes<T>(lo, hi, [&](auto d, int64_t i) HWY_ATTR {
    auto pv = hn::LoadU(d, p + i);
    if (decoupled) pv = hn::Mul(pv, hn::Set(d, static_cast<T>(1 - o.lr * o.weight_decay)));  // param.mul_(1 - lr wd)
    const auto g = effective_grad(d, o, hn::LoadU(d, grad + i), pv, l2);
    const auto mv = hn::MulAdd(hn::LoadU(d, m + i), hn::Set(d, static_cast<T>(o.beta1)),
                               hn::Mul(hn::Set(d, static_cast<T>(1 - o.beta1)), g));  // exp_avg update
    const auto vv = hn::MulAdd(hn::LoadU(d, v + i), hn::Set(d, static_cast<T>(o.beta2)),
                               hn::Mul(hn::Set(d, static_cast<T>(1 - o.beta2)), hn::Mul(g, g)));  // exp_avg_sq update
    hn::StoreU(mv, d, m + i);
    hn::StoreU(vv, d, v + i);
    auto s = vv;
    if (vmax) {
      s = hn::Max(hn::LoadU(d, vmax + i), vv);  // torch.maximum(max_exp_avg_sq, exp_avg_sq)
      hn::StoreU(s, d, vmax + i);
    }
    const auto denom = hn::Add(hn::Div(hn::Sqrt(s), hn::Set(d, static_cast<T>(o.bias_correction2_sqrt))),
                               hn::Set(d, static_cast<T>(o.eps)));  // (sqrt / bias_correction2_sqrt).add_(eps)
    hn::StoreU(hn::MulAdd(hn::Set(d, static_cast<T>(-o.step_size)), hn::Div(mv, denom), pv), d, p + i);
  });
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
