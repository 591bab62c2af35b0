// The fused negative log-likelihood of rows: checks, one kernel launch, the bound check read
// back once, and a backward built from ops.
#include "hpml/ops/loss.h"

#include <algorithm>
#include <limits>

#include "hpml/autograd/node.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/binary.h"
#include "ops/common.h"

namespace hpml {

using kernels::view_of;

// Note [Fused nll_loss]
// The loss of rows [M, C] with class targets [M] is one gather per row, yet composed from ops it
// took about twenty (masks for ignore_index, the bounds check, the weights, the mean's guard):
// a quarter of a small MLP's training step. One kernel computes the loss, checks the bounds and
// sums the weights where the data lives; the op then reads back, once, the kernel's flag for a
// bad target and the two sums (a synchronisation on an asynchronous device, as the bound check
// needs one anyway). The backward scatters -w_i * scale into a zero gradient, built from ops so
// that a double backward still works.
bool nll_loss_rows_applies(const Tensor& x, const Tensor& weight) {
  return (x.dtype() == kFloat32 || x.dtype() == kFloat64) && (!weight.defined() || !weight.requires_grad());
}

namespace {

void record_nll_rows(const Tensor& x, const Tensor& loss, const Tensor& safe_t, const Tensor& neg_w) {
  const int64_t M = x.sizes()[0], C = x.sizes()[1];
  autograd::record("nll_loss", {x}, {loss}, {}, [=](const autograd::Ctx& c) {
    // grad x [M, C]: row i gets neg_w[i] * g (g [M] for none, a scalar otherwise) at column t_i.
    Tensor coef = (neg_w * c.g(0)).unsqueeze(1);  // [M, 1]
    ops::IndicesInRange in_range;  // safe_t: the kernel's targets, 0 where ignored or out of range
    return TensorList{scatter(zeros({M, C}, TensorOptions(coef.dtype()).device(coef.device())), 1, safe_t, coef)};
  });
}

// Note [Fused nll_loss in a graph]
// Inside a graph capture nothing may be read back, and a host number would be baked into every
// replay: the loss and the mean's scale are computed from the kernel's sums on the device,
// rounding as the host does (the f64 quotient, then the input's dtype), and a target out of
// bounds makes the loss NaN, since the check cannot raise there (CUDA's own kernels stop the
// process instead). `hpml train --cuda-graph` then stops on that non-finite loss.
Tensor nll_rows_captured(const Tensor& x, Tensor loss, const Tensor& sums, const Tensor& bad, const Tensor& safe_t,
                         Tensor neg_w, NllReduction reduction, bool grad) {
  const Tensor sum = sums.select(0, 0), total = sums.select(0, 1);
  const Tensor out_of_bounds = bad.select(0, 0).ne(0);
  if (reduction == NllReduction::sum) loss = sum.to(x.dtype());
  if (reduction == NllReduction::mean) loss = (sum / total).to(x.dtype());  // 0 / 0 = NaN: every target ignored
  loss = masked_fill(loss, out_of_bounds, std::numeric_limits<double>::quiet_NaN());
  if (grad) {
    // With no weight at all (total 0) every neg_w is 0: dividing by 1 instead keeps it 0, not NaN.
    if (reduction == NllReduction::mean) neg_w = neg_w / (total + total.eq(0).to(kFloat64)).to(neg_w.dtype());
    record_nll_rows(x, loss, safe_t, neg_w);
  }
  return loss;
}

}  // namespace

Tensor nll_loss_rows(const Tensor& x, const Tensor& t, const Tensor& weight, int64_t ignore_index,
                     NllReduction reduction) {
  ops::check_same_device("nll_loss", {{"input", &x}, {"target", &t}, {"weight", &weight}});
  HPML_CHECK(x.dim() == 2 && t.dim() == 1 && t.sizes()[0] == x.sizes()[0] && t.dtype() == kInt64 &&
                 nll_loss_rows_applies(x, weight),
             "nll_loss: the fused path takes f32/f64 rows [M, C] and i64 targets [M], got ", x.dtype(), " ",
             x.sizes(), " and ", t.dtype(), " ", t.sizes());
  const int64_t M = x.sizes()[0], C = x.sizes()[1];
  const Device dev = x.device();
  const bool grad = autograd::should_record(x);
  const Tensor tc = t.contiguous();
  const Tensor wc = weight.defined() ? ops::cast(weight, x.dtype()).contiguous() : Tensor();
  // For the backward: each row's target (0 where ignored) and -weight (0 where ignored).
  Tensor safe_t = grad ? ops::empty_tensor({M, 1}, kInt64, dev) : Tensor();
  Tensor neg_w = grad ? ops::empty_tensor({M}, x.dtype(), dev) : Tensor();
  Tensor loss = reduction == NllReduction::none ? ops::empty_tensor({M}, x.dtype(), dev) : Tensor();
  // The kernel's sums {loss, weight} and its flag {bad?, target}: on the cpu two arrays on the
  // stack (this op is on every classifier's step), elsewhere device tensors read back once.
  double sums_h[2] = {0, 0};
  int64_t bad_h[2] = {0, 0};
  Tensor sums, bad;
  kernels::TensorView sums_v{reinterpret_cast<char*>(sums_h), {2}, {1}, kFloat64};
  kernels::TensorView bad_v{reinterpret_cast<char*>(bad_h), {2}, {1}, kInt64};
  if (!dev.is_cpu()) {
    sums = zeros({2}, TensorOptions(kFloat64).device(dev));
    bad = zeros({2}, TensorOptions(kInt64).device(dev));
    sums_v = view_of(sums);
    bad_v = view_of(bad);
  }
  kernels::TensorView lv, sv, nv, wv;
  if (loss.defined()) lv = view_of(loss);
  if (grad) sv = view_of(safe_t.view({M})), nv = view_of(neg_w);
  if (wc.defined()) wv = view_of(wc);
  ops::be(x, "nll_loss")
      .nll_loss(loss.defined() ? &lv : nullptr, sums_v, grad ? &sv : nullptr, grad ? &nv : nullptr, bad_v,
                view_of(x), view_of(tc), wc.defined() ? &wv : nullptr, ignore_index);
  if (ops::capturing(dev)) return nll_rows_captured(x, loss, sums, bad, safe_t, neg_w, reduction, grad);
  if (!dev.is_cpu()) {
    const Tensor b = ops::to_host(bad);  // host read: the bound check's flag, once
    std::copy_n(b.data_ptr<int64_t>(), 2, bad_h);
  }
  HPML_CHECK(bad_h[0] == 0, "nll_loss: target ", bad_h[1], " is out of bounds for ", C, " classes");
  if (!dev.is_cpu()) {
    const Tensor h = ops::to_host(sums);  // host read: the two sums, once
    std::copy_n(h.data_ptr<double>(), 2, sums_h);
  }
  const double sum = sums_h[0], total = sums_h[1];
  const TensorOptions on_dev = TensorOptions(x.dtype()).device(dev);
  if (reduction == NllReduction::sum) loss = full({}, sum, on_dev);
  if (reduction == NllReduction::mean) loss = full({}, sum / total, on_dev);  // 0 / 0 = NaN: every target ignored
  if (grad) {
    // Note [Mean over ignored targets] (nn/loss.cpp): with no weight at all the gradient is 0, not NaN.
    if (reduction == NllReduction::mean) neg_w = total != 0 ? neg_w / total : zeros_like(neg_w);
    record_nll_rows(x, loss, safe_t, neg_w);
  }
  return loss;
}

}  // namespace hpml
