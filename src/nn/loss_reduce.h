// The reduction every loss ends with (loss.cpp, losses_extra.cpp): none, sum or mean.
#pragma once

#include "hpml/nn/functional.h"

namespace hpml::nn::functional::detail {

inline Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::none: return loss;
    case Reduction::sum: return loss.sum();
    case Reduction::mean: return loss.mean();
  }
  return loss;
}

}  // namespace hpml::nn::functional::detail
