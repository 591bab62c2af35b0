// gradcheck: compares the gradients backward computes with central finite differences, in f64,
// with PyTorch's defaults (eps 1e-6, atol 1e-5, rtol 1e-3). Public so users can check their own
// differentiable functions.
#pragma once

#include <functional>
#include <string>

#include "hpml/core/tensor.h"

namespace hpml::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  bool raise_exception = true;  // throw hpml::Error with the details on a mismatch
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;  // largest |analytical - numerical| seen
  std::string message;       // which input, output and element disagreed first
};

// fn maps the inputs to one or more outputs. Every f64 input with requires_grad is checked;
// other inputs are passed through unchanged. All floating outputs are differentiated.
GradcheckResult gradcheck(const std::function<TensorList(const TensorList&)>& fn, const TensorList& inputs,
                          const GradcheckOptions& options = {});

}  // namespace hpml::autograd
