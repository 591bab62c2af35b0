// Convolution the way the CUDA backend computes it (conv_slots.cpp: im2col, one GEMM per group
// over [OC/g, C/g KH KW] x [C/g KH KW, OH OW], col2im), run on the host with pool_ops.h's
// im2col_value / col2im_value and plain loops for the GEMMs, against the cpu's conv2d kernels:
// forward, both gradients, with groups, stride, padding and dilation. Every build, no GPU: it
// tests the index math and the GEMMs' layout, not cuBLAS or the launches.
#include <gtest/gtest.h>

#include <vector>

#include "hpml/hpml.h"
#include "kernels/backend.h"
#include "kernels/cuda/pool_ops.h"

namespace hpml {
namespace {

namespace kc = kernels::cuda;

struct Case {
  int64_t N, C, H, W, OC, K, S, P, D, G;
};

kernels::Window2d geometry(const Case& c) {
  const int64_t OH = (c.H + 2 * c.P - c.D * (c.K - 1) - 1) / c.S + 1, OW = (c.W + 2 * c.P - c.D * (c.K - 1) - 1) / c.S + 1;
  return {c.N, c.C, c.H, c.W, c.OC, OH, OW, c.K, c.K, c.S, c.S, c.P, c.P, c.D, c.D, c.G};
}

kc::Window window_of(const kernels::Window2d& w) {
  return {w.N, w.C, w.H, w.W, w.OC, w.OH, w.OW, w.KH, w.KW, w.SH, w.SW, w.PH, w.PW, w.DH, w.DW, w.groups};
}

const std::vector<Case> kCases = {{2, 3, 7, 7, 4, 3, 1, 1, 1, 1}, {2, 4, 9, 8, 6, 3, 2, 1, 1, 2},
                                  {1, 2, 10, 10, 2, 3, 1, 2, 2, 2}, {3, 1, 6, 5, 3, 2, 2, 0, 1, 1},
                                  {2, 6, 5, 5, 6, 1, 1, 0, 1, 3}};

const double* d(const Tensor& t) { return static_cast<const double*>(t.data_ptr()); }

TEST(CudaConvOps, Im2colGemmCol2imComputeTheCpusConvolutionAndGradients) {
  manual_seed(8);
  for (const Case& c : kCases) {
    const kernels::Window2d w = geometry(c);
    const kc::Window kw = window_of(w);
    const TensorOptions f64(kFloat64);
    const Tensor x = randn({w.N, w.C, w.H, w.W}, f64), wt = randn({w.OC, w.C / w.groups, w.KH, w.KW}, f64);
    const Tensor go = randn({w.N, w.OC, w.OH, w.OW}, f64);
    const Tensor y = empty({w.N, w.OC, w.OH, w.OW}, f64), gx = empty({w.N, w.C, w.H, w.W}, f64);
    const Tensor gw = empty({w.OC, w.C / w.groups, w.KH, w.KW}, f64);
    const kernels::Backend& k = kernels::backend(kCPU, "test");
    k.conv2d(kernels::view_of(y), kernels::view_of(x), kernels::view_of(wt), nullptr, w);
    k.conv2d_backward_input(kernels::view_of(gx), kernels::view_of(go), kernels::view_of(wt), w);
    k.conv2d_backward_weight(kernels::view_of(gw), nullptr, kernels::view_of(go), kernels::view_of(x), w);

    const int64_t ohw = w.OH * w.OW, kk = w.KH * w.KW, ckk = w.C * kk, cgkk = ckk / w.groups, ocg = w.OC / w.groups;
    std::vector<double> cols(static_cast<size_t>(w.N * ckk * ohw)), gcols(cols.size(), 0.0), gwh(gw.numel(), 0.0);
    for (int64_t b = 0; b < w.N; ++b)
      for (int64_t r = 0; r < ckk; ++r)
        for (int64_t p = 0; p < ohw; ++p) cols[static_cast<size_t>((b * ckk + r) * ohw + p)] = kc::im2col_value(d(x), kw, b, r, p);
    for (int64_t b = 0; b < w.N; ++b)
      for (int64_t g = 0; g < w.groups; ++g)
        for (int64_t i = 0; i < ocg; ++i)
          for (int64_t p = 0; p < ohw; ++p) {
            const int64_t oc = g * ocg + i;
            double out = 0;
            const double gout = d(go)[(b * w.OC + oc) * ohw + p];
            for (int64_t r = 0; r < cgkk; ++r) {
              const size_t col = static_cast<size_t>((b * ckk + g * cgkk + r) * ohw + p);
              out += d(wt)[oc * cgkk + r] * cols[col];   // forward: W_g @ cols_g
              gcols[col] += d(wt)[oc * cgkk + r] * gout;  // input: W_g^T @ grad_out_g
              gwh[static_cast<size_t>(oc * cgkk + r)] += gout * cols[col];  // weight: grad_out_g @ cols_g^T
            }
            ASSERT_NEAR(out, d(y)[(b * w.OC + oc) * ohw + p], 1e-10) << "output (" << b << ", " << oc << ", " << p << ")";
          }
    for (int64_t e = 0; e < gx.numel(); ++e) {
      const int64_t iw = e % w.W, ih = e / w.W % w.H, ch = e / (w.H * w.W) % w.C, b = e / (w.C * w.H * w.W);
      ASSERT_NEAR(kc::col2im_value(gcols.data(), kw, b, ch, ih, iw), d(gx)[e], 1e-10) << "input gradient " << e;
    }
    for (int64_t e = 0; e < gw.numel(); ++e) ASSERT_NEAR(gwh[static_cast<size_t>(e)], d(gw)[e], 1e-10) << "weight gradient " << e;
  }
}

}  // namespace
}  // namespace hpml
