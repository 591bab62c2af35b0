// ctc_loss: the connectionist temporal classification loss, its alpha recursion written directly
// with a recorded backward (the beta recursion), Note [ctc_loss is written directly].
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/nn/functional.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/checks.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"

namespace hpml::nn::functional {

// Note [ctc_loss is written directly]
// For one sample with target l of length L, the extended target l' = (blank, l1, blank, l2, ...,
// lL, blank) has S = 2L + 1 states, and alpha_t(s) (log space) sums the probabilities of every
// alignment of the first t + 1 frames that ends in state s:
//   alpha_t(s) = lp[t, l'(s)] + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2)),
// the last term only when l'(s) is not blank and differs from l'(s-2). The loss is
// -logsumexp(alpha_{T-1}(S-1), alpha_{T-1}(S-2)).
// Composing this from ops (a logsumexp of [N, S] tensors per time step) was the other option,
// and it was rejected for two reasons:
//   - unreachable states hold -inf, and logsumexp's gradient exp(x - logsumexp(x)) is NaN when
//     every term is -inf; a finite stand-in (-1e30) would keep gradients finite but turn an
//     impossible alignment's inf loss into 1e30, which zero_infinity could no longer recognise;
//   - T steps of several ops each build a graph of ~10 T nodes over small tensors: for T in the
//     hundreds the bookkeeping costs far more than the arithmetic.
// So one loop (in f64 whatever the input's dtype) computes alpha, and the backward runs the
// mirror-image beta recursion and gives, for t < T,
//   d loss / d lp[t, c] = -exp(logsumexp_{s: l'(s) = c}(alpha_t(s) + beta_t(s)) + loss - lp[t, c]).
// That is the true derivative with respect to log_probs. PyTorch 1.13's adds exp(lp[t, c]) to it,
// which is the gradient with respect to the logits when log_probs = log_softmax(logits) (the
// log_softmax backward then removes the extra term, since each frame's derivatives sum to -1),
// but is not d loss / d log_probs. Through log_softmax, as CTC is used, the two agree; the parity
// tests compare them there, and gradcheck checks hpml's directly. An impossible alignment has an
// inf loss and, as in PyTorch, NaN gradients on its frames, unless zero_infinity sets both to 0.
// The backward is not itself differentiable: a double backward (create_graph) raises.

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double lse(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  return std::max(a, b) + std::log1p(std::exp(-std::fabs(a - b)));
}

// One sample: its lengths, its target labels and the alpha table [Ti, S] the forward fills.
struct Sample {
  int64_t Ti = 0, L = 0;
  std::vector<int64_t> target;
  std::vector<double> alpha;
  double nll = 0;
};

struct Problem {
  int64_t T = 0, N = 0, C = 0, blank = 0;
  bool zero_infinity = false;
  std::vector<Sample> samples;
};

// l'(s): blank at even states, the target's labels at odd ones.
int64_t label(const Problem& p, const Sample& b, int64_t s) { return s % 2 == 0 ? p.blank : b.target[s / 2]; }

// lp: [T, N, C] f64 contiguous. Fills b.alpha and b.nll.
void forward_sample(const Problem& p, Sample& b, const double* lp, int64_t n) {
  const int64_t S = 2 * b.L + 1, Ti = b.Ti;
  auto at = [&](int64_t t, int64_t c) { return lp[(t * p.N + n) * p.C + c]; };
  if (Ti == 0) {
    b.nll = b.L == 0 ? 0.0 : std::numeric_limits<double>::infinity();
    return;
  }
  b.alpha.assign(static_cast<size_t>(Ti * S), kNegInf);
  double* al = b.alpha.data();
  al[0] = at(0, p.blank);
  if (S > 1) al[1] = at(0, label(p, b, 1));
  for (int64_t t = 1; t < Ti; ++t) {
    const double* prev = al + (t - 1) * S;
    double* cur = al + t * S;
    for (int64_t s = 0; s < S; ++s) {
      const int64_t l = label(p, b, s);
      double a = prev[s];
      if (s >= 1) a = lse(a, prev[s - 1]);
      if (s >= 2 && l != p.blank && l != label(p, b, s - 2)) a = lse(a, prev[s - 2]);
      cur[s] = a == kNegInf ? kNegInf : a + at(t, l);
    }
  }
  const double* last = al + (Ti - 1) * S;
  b.nll = -lse(last[S - 1], S > 1 ? last[S - 2] : kNegInf);
}

// grad [T, N, C] f64 (zero-filled): d nll_n / d lp[t, n, c] for t < Ti, times scale.
void backward_sample(const Problem& p, const Sample& b, const double* lp, int64_t n, double scale, double* grad) {
  const int64_t S = 2 * b.L + 1, Ti = b.Ti;
  if (Ti == 0 || scale == 0) return;
  auto at = [&](int64_t t, int64_t c) { return lp[(t * p.N + n) * p.C + c]; };
  auto g = [&](int64_t t, int64_t c) -> double& { return grad[(t * p.N + n) * p.C + c]; };
  if (std::isinf(b.nll)) {
    if (p.zero_infinity) return;
    for (int64_t t = 0; t < Ti; ++t)
      for (int64_t c = 0; c < p.C; ++c) g(t, c) = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  std::vector<double> beta(static_cast<size_t>(Ti * S), kNegInf), lcab(static_cast<size_t>(p.C));
  double* be = beta.data();
  be[(Ti - 1) * S + S - 1] = at(Ti - 1, p.blank);
  if (S > 1) be[(Ti - 1) * S + S - 2] = at(Ti - 1, label(p, b, S - 2));
  for (int64_t t = Ti - 2; t >= 0; --t) {
    const double* next = be + (t + 1) * S;
    double* cur = be + t * S;
    for (int64_t s = 0; s < S; ++s) {
      const int64_t l = label(p, b, s);
      double v = next[s];
      if (s + 1 < S) v = lse(v, next[s + 1]);
      if (s + 2 < S && l != p.blank && l != label(p, b, s + 2)) v = lse(v, next[s + 2]);
      cur[s] = v == kNegInf ? kNegInf : v + at(t, l);
    }
  }
  for (int64_t t = 0; t < Ti; ++t) {
    std::fill(lcab.begin(), lcab.end(), kNegInf);
    for (int64_t s = 0; s < S; ++s) {
      double& v = lcab[static_cast<size_t>(label(p, b, s))];
      v = lse(v, b.alpha[static_cast<size_t>(t * S + s)] + be[t * S + s]);
    }
    for (int64_t c = 0; c < p.C; ++c) {
      const double v = lcab[static_cast<size_t>(c)];
      if (v != kNegInf) g(t, c) = -std::exp(v + b.nll - at(t, c)) * scale;
    }
  }
}

// Reads the integer tensor `t` (i64 or i32) as i64 values.
std::vector<int64_t> int_values(const char* what, const Tensor& t) {
  HPML_CHECK(t.defined(), "ctc_loss: ", what, " is undefined");
  HPML_CHECK(t.dtype() == kInt64 || t.dtype() == kInt32, "ctc_loss: ", what, " must be an integer tensor, got ",
             t.dtype());
  Tensor c = t.to(kInt64).contiguous().cpu();  // host read: lengths and labels, once (they may be on the cpu)
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Checks the arguments and splits the targets into samples (lengths and labels).
Problem make_problem(const Tensor& lp, const Tensor& targets, const Tensor& input_lengths,
                     const Tensor& target_lengths, const CTCOptions& o) {
  Problem p{lp.sizes()[0], lp.sizes()[1], lp.sizes()[2], o.blank, o.zero_infinity, {}};
  HPML_CHECK(o.blank >= 0 && o.blank < p.C, "ctc_loss: blank ", o.blank, " is not a class of ", p.C);
  std::vector<int64_t> il = int_values("input_lengths", input_lengths), tl = int_values("target_lengths",
                                                                                          target_lengths);
  std::vector<int64_t> tg = int_values("targets", targets);
  HPML_CHECK(static_cast<int64_t>(il.size()) == p.N && static_cast<int64_t>(tl.size()) == p.N,
             "ctc_loss: input_lengths and target_lengths need one entry per sample (", p.N, "), got shapes ",
             input_lengths.sizes(), " and ", target_lengths.sizes());
  const bool padded = targets.dim() == 2;
  HPML_CHECK(targets.dim() == 1 || (padded && targets.sizes()[0] == p.N), "ctc_loss: targets must be [N, S] padded ",
             "(N = ", p.N, ") or 1-d concatenated, got shape ", targets.sizes());
  int64_t offset = 0, total = 0;
  for (int64_t n = 0; n < p.N; ++n) {
    HPML_CHECK(il[n] >= 0 && il[n] <= p.T, "ctc_loss: input_lengths[", n, "] = ", il[n], " is not in [0, T = ", p.T,
               "]");
    HPML_CHECK(tl[n] >= 0, "ctc_loss: target_lengths[", n, "] = ", tl[n], " is negative");
    if (padded)
      HPML_CHECK(tl[n] <= targets.sizes()[1], "ctc_loss: target_lengths[", n, "] = ", tl[n], " is longer than the ",
                 "padded targets (", targets.sizes()[1], ")");
    total += tl[n];
  }
  if (!padded)
    HPML_CHECK(total == targets.numel(), "ctc_loss: concatenated targets have ", targets.numel(),
               " labels but target_lengths sum to ", total);
  for (int64_t n = 0; n < p.N; ++n) {
    Sample b;
    b.Ti = il[n];
    b.L = tl[n];
    const int64_t start = padded ? n * targets.sizes()[1] : offset;
    b.target.assign(tg.begin() + start, tg.begin() + start + tl[n]);
    for (int64_t v : b.target)
      HPML_CHECK(v >= 0 && v < p.C, "ctc_loss: target label ", v, " of sample ", n, " is not a class of ", p.C);
    offset += tl[n];
    p.samples.push_back(std::move(b));
  }
  return p;
}

// log_probs [T, N, C] -> per-sample losses [N] (0 where zero_infinity drops an inf).
Tensor ctc_nll(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
               const Tensor& target_lengths, const CTCOptions& o) {
  auto prob = std::make_shared<Problem>(make_problem(log_probs, targets, input_lengths, target_lengths, o));
  // Note [ctc_loss is written directly]: the recursions run on the host, so log_probs is copied
  // there once, and the losses and the gradient are copied back to its device.
  Tensor lpd = log_probs.detach().to(kFloat64).contiguous().cpu();
  Tensor nll = empty({prob->N}, kFloat64);
  double* out = nll.data_ptr<double>();
  for (int64_t n = 0; n < prob->N; ++n) {
    Sample& b = prob->samples[static_cast<size_t>(n)];
    forward_sample(*prob, b, lpd.data_ptr<double>(), n);
    out[n] = o.zero_infinity && std::isinf(b.nll) ? 0.0 : b.nll;
  }
  Tensor loss = nll.to(log_probs.dtype()).to(log_probs.device());
  if (autograd::should_record(log_probs)) {
    autograd::record("ctc_loss", {log_probs}, {loss}, {log_probs}, [prob](const autograd::Ctx& c) {
      HPML_CHECK(!autograd::GradMode::is_enabled(), "ctc_loss: double backward (create_graph) is not supported");
      // g [N] -> grad log_probs [T, N, C]: each sample's frames t < Ti (Note [ctc_loss is written directly]).
      Tensor lp = c.s(0).to(kFloat64).contiguous().cpu();  // host reads: log_probs and the gradient, once
      Tensor g = c.g(0).to(kFloat64).contiguous().cpu();
      Tensor grad = zeros({prob->T, prob->N, prob->C}, kFloat64);
      for (int64_t n = 0; n < prob->N; ++n)
        backward_sample(*prob, prob->samples[static_cast<size_t>(n)], lp.data_ptr<double>(), n,
                        g.data_ptr<double>()[n], grad.data_ptr<double>());
      return TensorList{grad.to(c.s(0).dtype()).to(c.s(0).device())};
    });
  }
  return loss;
}

}  // namespace

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, CTCOptions o) {
  HPML_RECORD_OP("ctc_loss", log_probs, targets);
  HPML_CHECK(log_probs.defined() && targets.defined(), "ctc_loss: log_probs and targets must be defined");
  ops::check_same_device("ctc_loss", {{"log_probs", &log_probs}, {"targets", &targets}});
  HPML_CHECK(log_probs.is_floating_point(), "ctc_loss: log_probs must be floating point, got ", log_probs.dtype());
  HPML_CHECK(log_probs.dim() == 3 || log_probs.dim() == 2, "ctc_loss: log_probs must be [T, N, C] or [T, C] ",
             "(unbatched), got shape ", log_probs.sizes());
  const bool unbatched = log_probs.dim() == 2;
  if (unbatched)
    HPML_CHECK(targets.dim() == 1, "ctc_loss: unbatched log_probs [T, C] take 1-d targets, got shape ",
               targets.sizes());
  // Unbatched: a batch of one with padded targets [1, S].
  Tensor lp = unbatched ? log_probs.unsqueeze(1) : log_probs;
  Tensor tg = unbatched ? targets.unsqueeze(0) : targets;
  Tensor il = unbatched ? input_lengths.reshape({-1}) : input_lengths;
  Tensor tl = unbatched ? target_lengths.reshape({-1}) : target_lengths;
  Tensor nll = ctc_nll(lp, tg, il, tl, o);
  switch (o.reduction) {
    case Reduction::none: return unbatched ? nll.reshape({}) : nll;
    case Reduction::sum: return nll.sum();
    case Reduction::mean: return (nll / clamp_min(tl.to(nll.dtype()).to(nll.device()), 1)).mean();  // per target length, as PyTorch
  }
  return nll;
}

}  // namespace hpml::nn::functional
