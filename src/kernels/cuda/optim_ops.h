// One element of each fused optimizer step (PyTorch 1.13's single-tensor formulas, as the cpu's
// kernels/cpu/optim.cpp, operation by operation), for the CUDA kernel (optim.cu) and the host test
// that checks it against the cpu's (tests/cuda/element_ops_test.cpp). Plain C++17 (core/hd.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"

namespace hpml::kernels::cuda {

// kernels::OptimParams, field for field (cuda_backend checks the kinds agree).
enum class Optim : int { sgd, adagrad, adadelta, rmsprop, adam };
struct OptimArgs {
  double lr, weight_decay;
  bool maximize;
  double momentum, dampening;
  bool nesterov, first_step;
  double eps, rho;
  bool centered;
  double beta1, beta2, step_size, bias_correction2_sqrt;
  bool amsgrad, decoupled_weight_decay;
};

HPML_HD float m_sqrt_of(float x) { return ::sqrtf(x); }
HPML_HD double m_sqrt_of(double x) { return ::sqrt(x); }

// Element i: p the parameter, g its gradient, s0..s2 the kind's state (null where absent).
template <typename T>
HPML_HD void optim_element(Optim kind, const OptimArgs& o, T* p, const T* grad, T* s0, T* s1, T* s2, int64_t i) {
  T pv = p[i], g = grad[i];
  const bool decoupled = kind == Optim::adam && o.decoupled_weight_decay && o.weight_decay != 0;
  if (decoupled) pv = pv * static_cast<T>(1 - o.lr * o.weight_decay);  // param.mul_(1 - lr wd)
  if (o.maximize) g = -g;
  if (o.weight_decay != 0 && !decoupled) g = static_cast<T>(o.weight_decay) * pv + g;
  switch (kind) {
    case Optim::sgd:
      if (s0) {  // buf = g on the first step, else buf * momentum + (1 - dampening) g
        const T b = o.first_step ? g : s0[i] * static_cast<T>(o.momentum) + static_cast<T>(1 - o.dampening) * g;
        s0[i] = b;
        g = o.nesterov ? static_cast<T>(o.momentum) * b + g : b;
      }
      p[i] = static_cast<T>(-o.lr) * g + pv;
      return;
    case Optim::adagrad: {
      const T s = g * g + s0[i];
      s0[i] = s;
      p[i] = static_cast<T>(-o.step_size) * (g / (m_sqrt_of(s) + static_cast<T>(o.eps))) + pv;
      return;
    }
    case Optim::adadelta: {
      const T rho = static_cast<T>(o.rho), one_m_rho = static_cast<T>(1 - o.rho), eps = static_cast<T>(o.eps);
      const T s = s0[i] * rho + one_m_rho * (g * g);
      s0[i] = s;
      const T a = s1[i];
      const T delta = (m_sqrt_of(a + eps) / m_sqrt_of(s + eps)) * g;
      s1[i] = a * rho + one_m_rho * (delta * delta);
      p[i] = static_cast<T>(-o.lr) * delta + pv;
      return;
    }
    case Optim::rmsprop: {
      const T alpha = static_cast<T>(o.rho), one_m_alpha = static_cast<T>(1 - o.rho);
      const T s = s0[i] * alpha + one_m_alpha * (g * g);
      s0[i] = s;
      T avg = s;
      if (s2) {
        const T ga = s2[i] * alpha + one_m_alpha * g;
        s2[i] = ga;
        avg = s - ga * ga;
      }
      avg = m_sqrt_of(avg) + static_cast<T>(o.eps);
      if (s1) {
        const T b = s1[i] * static_cast<T>(o.momentum) + g / avg;
        s1[i] = b;
        p[i] = static_cast<T>(-o.lr) * b + pv;
      } else {
        p[i] = static_cast<T>(-o.lr) * (g / avg) + pv;
      }
      return;
    }
    case Optim::adam: {
      const T m = s0[i] * static_cast<T>(o.beta1) + static_cast<T>(1 - o.beta1) * g;
      const T v = s1[i] * static_cast<T>(o.beta2) + static_cast<T>(1 - o.beta2) * (g * g);
      s0[i] = m;
      s1[i] = v;
      T s = v;
      if (s2) {
        s = s2[i] > v ? s2[i] : v;
        s2[i] = s;
      }
      const T denom = m_sqrt_of(s) / static_cast<T>(o.bias_correction2_sqrt) + static_cast<T>(o.eps);
      p[i] = static_cast<T>(-o.step_size) * (m / denom) + pv;
      return;
    }
  }
}

}  // namespace hpml::kernels::cuda
