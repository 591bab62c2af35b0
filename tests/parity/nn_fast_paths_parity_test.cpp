// The kernels' special paths against libtorch, on the shapes that reach their edges:
// - max_pool2d's 2x2 / stride-2 path (Note [2x2 max pooling]) on inputs built to stress its tie
//   and NaN rules (and the general loop on the same data): values from {0, 1, 2} (most windows
//   hold ties), NaNs (two in some windows), -inf windows, odd heights and widths (the last row /
//   column is not covered), rows shorter and longer than one SIMD vector;
// - conv2d's shifted-plane im2col/col2im (Note [Shifted-plane im2col]): stride 1 with output as
//   wide as the input, for kernels, paddings and dilations whose shifts cross the plane's edges,
//   down to 1-pixel images, and the general path beside it;
// - conv2d's Winograd path (Note [Winograd F(2x2, 3x3)]) in f32;
// - the f32 GELU and its gradient, whose erf and exp are polynomials (Note [GELU's erf]).
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
      HPML_EXPECT_PARITY(what + ", values", v, tv, nnparity::Tol{3e-6, 2e-6});
      HPML_EXPECT_PARITY(what + ", indices", i, ti, nnparity::Tol{3e-6, 2e-6});
      HPML_EXPECT_PARITY(what + ", 3x3 stride 1 padding 1, values", gv, tgv, nnparity::Tol{3e-6, 2e-6});
      HPML_EXPECT_PARITY(what + ", 3x3 stride 1 padding 1, indices", gi, tgi, nnparity::Tol{3e-6, 2e-6});
      // Without indices the window positions are kept as bytes (Note [Compact 2x2 max pooling
      // indices]): the same values, and the gradient goes to the chosen element of every window
      // with zeros everywhere else, the odd last row and column included.
      HPML_EXPECT_PARITY(what + ", values of max_pool2d (u8 positions)", max_pool2d(x, {.kernel_size = {2, 2}}), tv,
                         nnparity::Tol{3e-6, 2e-6});
      Tensor xr = x.detach().requires_grad_(true);
      Tensor go = randn(v.sizes(), nullptr, dt);
      max_pool2d(xr, {.kernel_size = {2, 2}}).backward(go);
      torch::Tensor txr = T(x, true);
      torch::max_pool2d(txr, {2, 2}).backward(T(go));
      HPML_EXPECT_PARITY(what + ", input gradient", xr.grad(), txr.grad(), nnparity::Tol{3e-6, 2e-6});
    }
}

TEST(ConvShiftedPlane, ForwardAndGradientsMatchPyTorchAtThePlaneEdges) {
  struct Case {
    std::vector<int64_t> x, w;  // [N, C, H, W], [OC, C, KH, KW]
    std::vector<int64_t> padding, dilation, stride;
  };
  const std::vector<Case> cases = {
      {{2, 3, 6, 5}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}},    // the common 3x3 "same"
      {{1, 2, 7, 9}, {3, 2, 5, 5}, {2, 2}, {1, 1}, {1, 1}},    // 5x5 "same"
      {{1, 2, 6, 6}, {2, 2, 3, 3}, {2, 2}, {2, 2}, {1, 1}},    // dilated "same"
      {{2, 1, 1, 1}, {2, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1}},    // 1x1 image: every shift leaves it
      {{1, 2, 2, 3}, {2, 2, 5, 3}, {2, 1}, {1, 1}, {1, 1}},    // kernel taller than the image
      {{1, 2, 5, 4}, {3, 2, 3, 1}, {1, 0}, {1, 1}, {1, 1}},    // 3x1: no column shift
      {{1, 2, 4, 6}, {2, 2, 1, 3}, {0, 1}, {1, 1}, {1, 1}},    // 1x3: no row shift
      {{1, 2, 6, 6}, {2, 2, 3, 3}, {0, 1}, {1, 1}, {1, 1}},    // output shorter than the input
      {{1, 2, 6, 7}, {2, 2, 3, 3}, {1, 1}, {1, 1}, {2, 1}},    // row stride 2: general path
      {{1, 2, 6, 7}, {2, 2, 3, 3}, {1, 1}, {1, 1}, {1, 2}}};   // column stride 2: general path
  Generator g(5);
  for (const Case& c : cases) {
    Tensor x = randn(c.x, &g, kFloat64).requires_grad_(), w = randn(c.w, &g, kFloat64).requires_grad_();
    Tensor b = randn({c.w[0]}, &g, kFloat64).requires_grad_();
    ConvOptions o{.stride = Dims{c.stride[0], c.stride[1]}, .padding = Padding({c.padding[0], c.padding[1]}),
                  .dilation = Dims{c.dilation[0], c.dilation[1]}};
    Tensor y = conv2d(x, w, b, o);
    Tensor go = randn(y.sizes(), &g, kFloat64);
    y.backward(go);
    torch::Tensor tx = T(x, true), tw = T(w, true), tb = T(b, true);
    torch::Tensor ty = torch::conv2d(tx, tw, tb, c.stride, c.padding, c.dilation);
    ty.backward(T(go));
    std::ostringstream os;
    os << "conv2d x " << x.sizes() << " w " << w.sizes() << " padding " << IntArrayRef(c.padding) << " dilation "
       << IntArrayRef(c.dilation) << " stride " << IntArrayRef(c.stride);
    const nnparity::Tol tol{1e-12, 1e-12};
    HPML_EXPECT_PARITY(os.str() + ", output", y, ty, tol);
    HPML_EXPECT_PARITY(os.str() + ", input gradient", x.grad(), tx.grad(), tol);
    HPML_EXPECT_PARITY(os.str() + ", weight gradient", w.grad(), tw.grad(), tol);
    HPML_EXPECT_PARITY(os.str() + ", bias gradient", b.grad(), tb.grad(), tol);
  }
}

// conv2d's Winograd F(2x2, 3x3) path (f32, 3x3, stride 1, padding 1, >= 16 channels each way): the
// output and both gradients against libtorch, on even and odd sizes (partial last tiles), sizes
// whose tile rows are shorter and longer than one vector, and one image or several per chunk.
TEST(ConvWinograd, ForwardAndGradientsMatchPyTorch) {
  const std::vector<std::vector<int64_t>> shapes = {// x [N, C, H, W], then OC
                                                    {3, 16, 14, 14, 32}, {2, 32, 7, 9, 16}, {1, 16, 28, 28, 16},
                                                    {2, 24, 1, 1, 16},   {9, 16, 5, 4, 20}, {1, 16, 33, 2, 16}};
  Generator g(11);
  for (const auto& sh : shapes) {
    Tensor x = randn({sh[0], sh[1], sh[2], sh[3]}, &g).requires_grad_();
    Tensor w = (randn({sh[4], sh[1], 3, 3}, &g) * 0.2).requires_grad_();
    Tensor b = randn({sh[4]}, &g).requires_grad_();
    Tensor y = conv2d(x, w, b, {.padding = Padding(1)});
    Tensor go = randn(y.sizes(), &g);
    y.backward(go);
    torch::Tensor tx = T(x, true), tw = T(w, true), tb = T(b, true);
    torch::Tensor ty = torch::conv2d(tx, tw, tb, 1, 1);
    ty.backward(T(go));
    std::ostringstream os;
    os << "Winograd conv2d x " << x.sizes() << " w " << w.sizes();
    // f32 sums of C * 9 terms: both sides round differently; 1e-4 relative to the output's scale.
    const nnparity::Tol tol{2e-4, 1e-4};
    HPML_EXPECT_PARITY(os.str() + ", output", y, ty, tol);
    HPML_EXPECT_PARITY(os.str() + ", input gradient", x.grad(), tx.grad(), tol);
    HPML_EXPECT_PARITY(os.str() + ", weight gradient", w.grad(), tw.grad(), nnparity::Tol{1e-3, 1e-4});
    HPML_EXPECT_PARITY(os.str() + ", bias gradient", b.grad(), tb.grad(), nnparity::Tol{1e-3, 1e-4});
  }
}

// Every f32 step of 1e-4 over [-10, 10] (erf saturates, the exp underflows at both ends), the
// infinities and NaN, in one tensor, against PyTorch's GELU (Sleef's erf, within 1 ulp).
TEST(GeluF32, ValueAndGradientMatchPyTorchOnADenseRangeAndAtTheSpecials) {
  Tensor x = cat({linspace(-10, 10, 200001), tensor({INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 1e-30f, -1e-30f})}, 0)
                 .requires_grad_(true);
  Tensor go = ones_like(x);
  Tensor y = gelu(x);
  y.backward(go);
  torch::Tensor tx = T(x, true);
  torch::Tensor ty = torch::gelu(tx);
  ty.backward(T(go));
  // The polynomial erf is within 4.2e-7 of the true one; near x = -5.6, where 1 + erf is below
  // f32's resolution and PyTorch's GELU is 0, 0.5 x (1 + erf) is 1e-6 (measured: 9.96e-7 there,
  // and 2.4e-7 the gradient's largest error).
  HPML_EXPECT_PARITY("gelu f32 on [-10, 10]", y, ty, nnparity::Tol{1.5e-6, 1e-6});
  HPML_EXPECT_PARITY("gelu's gradient, f32 on [-10, 10]", x.grad(), tx.grad(), nnparity::Tol{5e-7, 1e-6});
}

}  // namespace
}  // namespace hpml
