// max_pool2d's 2x2 / stride-2 fast path (Note [2x2 max pooling]) against libtorch on inputs built
// to stress its tie and NaN rules (and the general loop on the same data): values from {0, 1, 2} (most windows hold ties), NaNs in some
// windows (two NaNs in some), -inf windows, odd heights and widths (the last row / column is not
// covered), and widths whose rows are shorter and longer than one SIMD vector.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "parity/nn_parity_util.h"

namespace hpml {
namespace {

using nnparity::T;

Tensor tie_and_nan_input(IntArrayRef shape, DType dt, uint64_t seed) {
  Generator g(seed);
  Tensor x = randint(0, 3, shape, &g).to(kFloat64);
  Tensor u = rand(shape, &g, kFloat64);
  NoGradGuard ng;
  // About 3% NaN, 2% -inf, the rest ties.
  x = where(lt(u, scalar_tensor(0.03, kFloat64)), full_like(x, std::nan("")), x);
  x = where(logical_and(ge(u, scalar_tensor(0.03, kFloat64)), lt(u, scalar_tensor(0.05, kFloat64))),
            full_like(x, -std::numeric_limits<double>::infinity()), x);
  return x.to(dt);
}

TEST(MaxPoolFastPath, ValuesAndIndicesMatchPyTorchWithTiesNaNsAndOddSizes) {
  const std::vector<std::vector<int64_t>> shapes = {{2, 3, 28, 28}, {2, 3, 9, 15}, {1, 2, 14, 14}, {1, 1, 2, 2},
                                                     {3, 2, 7, 70},  {1, 1, 5, 3}};
  uint64_t seed = 1;
  for (DType dt : {kFloat32, kFloat64})
    for (const auto& shape : shapes) {
      Tensor x = tie_and_nan_input(shape, dt, seed++);
      auto [v, i] = max_pool2d_with_indices(x, {.kernel_size = {2, 2}});
      auto [tv, ti] = torch::max_pool2d_with_indices(T(x), {2, 2});
      // The general loop on the same data: overlapping 3x3 windows with padding.
      auto [gv, gi] = max_pool2d_with_indices(x, {.kernel_size = {3, 3}, .stride = Dims{1, 1}, .padding = {1, 1}});
      auto [tgv, tgi] = torch::max_pool2d_with_indices(T(x), {3, 3}, {1, 1}, {1, 1});
      std::ostringstream os;
      os << "max_pool2d 2x2 on " << dtype_name(dt) << " " << x.sizes();
      const std::string what = os.str();
      HPML_EXPECT_PARITY(what + ", values", v, tv, nnparity::Tol{0, 0});
      HPML_EXPECT_PARITY(what + ", indices", i, ti, nnparity::Tol{0, 0});
      HPML_EXPECT_PARITY(what + ", 3x3 stride 1 padding 1, values", gv, tgv, nnparity::Tol{0, 0});
      HPML_EXPECT_PARITY(what + ", 3x3 stride 1 padding 1, indices", gi, tgi, nnparity::Tol{0, 0});
      // The gradient goes to the chosen element of every window.
      Tensor xr = x.detach().requires_grad_(true);
      Tensor go = randn(v.sizes(), nullptr, dt);
      max_pool2d(xr, {.kernel_size = {2, 2}}).backward(go);
      torch::Tensor txr = T(x, true);
      torch::max_pool2d(txr, {2, 2}).backward(T(go));
      HPML_EXPECT_PARITY(what + ", input gradient", xr.grad(), txr.grad(), nnparity::Tol{0, 0});
    }
}

}  // namespace
}  // namespace hpml
