// gradcheck: analytical Jacobian (one backward per output element) against central differences,
// on any device: values are read with explicit copies to the host, and an input element on a
// device is perturbed through a one-element view filled by a kernel.
#include "hpml/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "hpml/autograd/engine.h"
#include "hpml/autograd/grad_mode.h"
#include "hpml/core/error.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/views.h"

namespace hpml::autograd {

namespace {

// Element offsets (in elements, from data_ptr) of a tensor in row-major order.
std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> offs(static_cast<size_t>(t.numel()));
  for (int64_t lin = 0; lin < t.numel(); ++lin) {
    int64_t rem = lin, off = 0;
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
      off += (rem % t.sizes()[d]) * t.strides()[d];
      rem /= t.sizes()[d];
    }
    offs[static_cast<size_t>(lin)] = off;
  }
  return offs;
}

// Row-major values of the floating outputs, as doubles.
std::vector<std::vector<double>> flatten_outputs(const TensorList& outs) {
  std::vector<std::vector<double>> v;
  for (const Tensor& o : outs) {
    std::vector<double> vals;
    if (o.defined() && o.is_floating_point()) {
      NoGradGuard ng;
      Tensor c = o.to(kFloat64).contiguous().cpu();  // host read: the output, once per evaluation
      const double* p = c.data_ptr<double>();
      vals.assign(p, p + c.numel());
    }
    v.push_back(std::move(vals));
  }
  return v;
}

// Writes v at element offset `off` of the f64 tensor x (from its storage offset): in place on the
// cpu (no version bump), with a one-element fill on another device.
void set_element(const Tensor& x, int64_t off, double v) {
  if (x.device().is_cpu()) {
    static_cast<double*>(x.data_ptr())[off] = v;
    return;
  }
  as_strided(x.detach(), {}, {}, x.storage_offset() + off).fill_(v);
}

}  // namespace

GradcheckResult gradcheck(const std::function<TensorList(const TensorList&)>& fn, const TensorList& inputs,
                          const GradcheckOptions& opt) {
  GradcheckResult res;
  std::vector<size_t> diff;  // inputs that are checked
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    HPML_CHECK(x.dtype() == kFloat64, "gradcheck: input ", i, " requires grad but has dtype ", x.dtype(),
               "; finite differences need f64 inputs\nhint: pass x.to(hpml::kFloat64) leaves");
    for (int64_t d = 0; d < x.dim(); ++d)
      HPML_CHECK(x.strides()[d] != 0 || x.sizes()[d] <= 1, "gradcheck: input ", i,
                 " has overlapping memory (stride 0 in shape ", x.sizes(), "); expand it inside fn instead");
    diff.push_back(i);
  }
  EnableGradGuard eg;
  TensorList outs = fn(inputs);
  TensorList diff_inputs;
  for (size_t i : diff) diff_inputs.push_back(inputs[i]);

  // analytical[o][i] is a (numel(out o) x numel(input i)) row-major matrix.
  std::vector<std::vector<std::vector<double>>> analytical(outs.size());
  for (size_t o = 0; o < outs.size(); ++o) {
    const Tensor& out = outs[o];
    analytical[o].resize(diff.size());
    if (!out.defined() || !out.is_floating_point()) continue;
    for (size_t k = 0; k < diff.size(); ++k)
      analytical[o][k].assign(static_cast<size_t>(out.numel() * inputs[diff[k]].numel()), 0.0);
    if (!out.requires_grad() || diff.empty()) continue;
    for (int64_t j = 0; j < out.numel(); ++j) {
      Tensor seed = zeros({out.numel()}, out.dtype());
      seed.data_ptr<double>()[j] = 1.0;  // on the host, then to the output's device
      seed = seed.to(out.device());
      GradOptions go;
      go.grad_outputs = {seed.view(out.sizes())};
      go.retain_graph = true;
      go.allow_unused = true;
      TensorList g = grad({out}, diff_inputs, go);
      for (size_t k = 0; k < diff.size(); ++k) {
        if (!g[k].defined()) continue;
        Tensor gc = g[k].to(kFloat64).contiguous().cpu();  // host read: one Jacobian row
        const double* p = gc.data_ptr<double>();
        for (int64_t e = 0; e < gc.numel(); ++e)
          analytical[o][k][static_cast<size_t>(j * gc.numel() + e)] = p[e];
      }
    }
  }

  // Numerical: perturb each input element in place, run fn, restore.
  for (size_t k = 0; k < diff.size(); ++k) {
    const Tensor& x = inputs[diff[k]];
    const Tensor host = x.detach().contiguous().cpu();  // host read: the input's values, once
    std::vector<int64_t> offs = element_offsets(x);
    for (int64_t e = 0; e < x.numel(); ++e) {
      const int64_t off = offs[static_cast<size_t>(e)];
      const double orig = host.data_ptr<double>()[e];
      std::vector<std::vector<double>> plus, minus;
      {
        NoGradGuard ng;
        set_element(x, off, orig + opt.eps);
        plus = flatten_outputs(fn(inputs));
        set_element(x, off, orig - opt.eps);
        minus = flatten_outputs(fn(inputs));
        set_element(x, off, orig);
      }
      for (size_t o = 0; o < outs.size(); ++o) {
        for (size_t j = 0; j < plus[o].size(); ++j) {
          const double num = (plus[o][j] - minus[o][j]) / (2 * opt.eps);
          const double ana = analytical[o][k][j * static_cast<size_t>(x.numel()) + static_cast<size_t>(e)];
          const double err = std::fabs(num - ana);
          res.max_abs_error = std::max(res.max_abs_error, std::isnan(err) ? INFINITY : err);
          if (res.ok && !(err <= opt.atol + opt.rtol * std::fabs(num))) {
            res.ok = false;
            std::ostringstream os;
            os << "gradcheck: Jacobian mismatch for output " << o << " with respect to input " << diff[k]
               << " (shape " << x.sizes() << ") at output element " << j << ", input element " << e
               << ": numerical " << num << ", analytical " << ana << " (atol " << opt.atol << ", rtol " << opt.rtol
               << ")";
            res.message = os.str();
          }
        }
      }
    }
  }
  if (!res.ok && opt.raise_exception) throw Error(res.message);
  return res;
}

}  // namespace hpml::autograd
