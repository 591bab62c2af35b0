// What a CUDA thread computes for each pooling output and input gradient
// (src/kernels/cuda/pool_ops.h, plain C++ here) against the cpu's pooling kernels, over windows
// with padding, stride, dilation and partial windows: every build, no GPU needed.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "hpml/hpml.h"
#include "kernels/backend.h"
#include "kernels/cuda/pool_ops.h"

namespace hpml {
namespace {

namespace kc = kernels::cuda;

kc::Window window_of(const kernels::Window2d& w) {
  return {w.N, w.C, w.H, w.W, w.OC, w.OH, w.OW, w.KH, w.KW, w.SH, w.SW, w.PH, w.PW, w.DH, w.DW, w.groups};
}

// A window over a [2, 3, H, W] input; OH, OW from PyTorch's floor formula.
kernels::Window2d geometry(int64_t H, int64_t W, int64_t K, int64_t S, int64_t P, int64_t D = 1) {
  const int64_t OH = (H + 2 * P - D * (K - 1) - 1) / S + 1, OW = (W + 2 * P - D * (K - 1) - 1) / S + 1;
  return {2, 3, H, W, 3, OH, OW, K, K, S, S, P, P, D, D, 1};
}

const std::vector<kernels::Window2d> kWindows = {geometry(8, 8, 2, 2, 0), geometry(7, 9, 3, 2, 1),
                                                 geometry(10, 6, 3, 1, 1), geometry(9, 9, 2, 3, 0),
                                                 geometry(11, 8, 3, 2, 1, 2), geometry(5, 5, 5, 1, 2)};

const float* f(const Tensor& t) { return static_cast<const float*>(t.data_ptr()); }

TEST(CudaPoolOps, MaxPoolingPicksTheCpusValuesAndIndices) {
  manual_seed(1);
  for (const kernels::Window2d& w : kWindows) {
    Tensor x = randn({w.N, w.C, w.H, w.W});
    static_cast<float*>(x.data_ptr())[5] = std::nanf("");  // a NaN wins its windows
    const Tensor y = empty({w.N, w.C, w.OH, w.OW}), idx = empty({w.N, w.C, w.OH, w.OW}, TensorOptions(kInt64));
    kernels::backend(kCPU, "test").max_pool2d(kernels::view_of(y), kernels::view_of(idx), kernels::view_of(x), w);
    // The compact form (u8 window positions) for the 2x2 windows that have one.
    const Tensor yc = empty({w.N, w.C, w.OH, w.OW}), pos = empty({w.N, w.C, w.OH, w.OW}, TensorOptions(kUInt8));
    if (kernels::is_2x2_pool(w))
      kernels::backend(kCPU, "test").max_pool2d(kernels::view_of(yc), kernels::view_of(pos), kernels::view_of(x), w);
    const kc::Window kw = window_of(w);
    for (int64_t e = 0; e < y.numel(); ++e) {
      const int64_t ow = e % w.OW, oh = e / w.OW % w.OH, p = e / (w.OH * w.OW);
      int64_t arg = -1;
      const float v = kc::max_window(f(x) + p * w.H * w.W, kw, oh, ow, &arg);
      ASSERT_TRUE(v == f(y)[e] || (std::isnan(v) && std::isnan(f(y)[e]))) << "output " << e;
      ASSERT_EQ(arg, static_cast<const int64_t*>(idx.data_ptr())[e]) << "output " << e;
      if (kernels::is_2x2_pool(w)) {
        ASSERT_EQ(kc::position_2x2(arg, w.W, oh, ow), static_cast<const uint8_t*>(pos.data_ptr())[e]) << e;
      }
    }
  }
}

TEST(CudaPoolOps, AveragePoolingAndItsGradientMatchTheCpu) {
  manual_seed(2);
  for (const kernels::Window2d& w : kWindows)
    for (bool include_pad : {true, false})
      for (int64_t div : {int64_t{0}, int64_t{3}}) {
        const Tensor x = randn({w.N, w.C, w.H, w.W}), go = randn({w.N, w.C, w.OH, w.OW});
        const Tensor y = empty({w.N, w.C, w.OH, w.OW}), gx = empty({w.N, w.C, w.H, w.W});
        const kernels::Backend& k = kernels::backend(kCPU, "test");
        k.avg_pool2d(kernels::view_of(y), kernels::view_of(x), w, include_pad, div);
        k.avg_pool2d_backward(kernels::view_of(gx), kernels::view_of(go), w, include_pad, div);
        const kc::Window kw = window_of(w);
        for (int64_t e = 0; e < y.numel(); ++e) {
          const int64_t ow = e % w.OW, oh = e / w.OW % w.OH, p = e / (w.OH * w.OW);
          ASSERT_NEAR(kc::avg_window(f(x) + p * w.H * w.W, kw, oh, ow, include_pad, div), f(y)[e], 1e-5) << e;
        }
        for (int64_t e = 0; e < gx.numel(); ++e) {
          const int64_t iw = e % w.W, ih = e / w.W % w.H, p = e / (w.H * w.W);
          ASSERT_NEAR(kc::avg_window_backward(f(go) + p * w.OH * w.OW, kw, ih, iw, include_pad, div), f(gx)[e], 1e-5)
              << "input " << e << " window K" << w.KH << " S" << w.SH << " P" << w.PH;
        }
      }
}

TEST(CudaPoolOps, AdaptivePoolingAndItsGradientMatchTheCpu) {
  manual_seed(3);
  for (auto [H, W, OH, OW] : std::vector<std::array<int64_t, 4>>{{7, 7, 1, 1}, {7, 9, 3, 4}, {5, 5, 5, 5}, {6, 10, 4, 3}}) {
    const Tensor x = randn({2, 3, H, W}), go = randn({2, 3, OH, OW});
    const Tensor y = empty({2, 3, OH, OW}), gx = empty({2, 3, H, W});
    const kernels::Backend& k = kernels::backend(kCPU, "test");
    k.adaptive_avg_pool2d(kernels::view_of(y), kernels::view_of(x));
    k.adaptive_avg_pool2d_backward(kernels::view_of(gx), kernels::view_of(go));
    for (int64_t e = 0; e < y.numel(); ++e) {
      const int64_t ow = e % OW, oh = e / OW % OH, p = e / (OH * OW);
      ASSERT_NEAR(kc::adaptive_window(f(x) + p * H * W, H, W, OH, OW, oh, ow), f(y)[e], 1e-5) << e;
    }
    for (int64_t e = 0; e < gx.numel(); ++e) {
      const int64_t iw = e % W, ih = e / W % H, p = e / (H * W);
      ASSERT_NEAR(kc::adaptive_window_backward(f(go) + p * OH * OW, H, W, OH, OW, ih, iw), f(gx)[e], 1e-5) << e;
    }
  }
}

}  // namespace
}  // namespace hpml
