// scaled_dot_product_attention beyond the op table: which implementation runs (Note [Which
// attention runs]), the fused kernel against the composed form at sizes of a real model (many
// 64-row blocks, f32), dropout's determinism, double backward through the fused path, and the
// errors for bad arguments.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/test_helpers.h"
#include "hpml/hpml.h"

namespace hpml {
namespace {

using testing::values;

double max_abs_diff(const Tensor& a, const Tensor& b) {
  NoGradGuard ng;
  return (a.to(kFloat64) - b.to(kFloat64)).abs().max().item<double>();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(Attention, FlashRunsWhereItAppliesAndMathElsewhere) {
  Tensor q = randn({2, 4, 100, 16}), k = randn({2, 4, 120, 16}), v = randn({2, 4, 120, 8});
  EXPECT_EQ(sdpa_backend(q, k, v), SDPBackend::flash);
  EXPECT_EQ(sdpa_backend(q, k, v, Tensor(), 0.1), SDPBackend::math) << "dropout";
  EXPECT_EQ(sdpa_backend(q, k, v, ones({100, 120}, TensorOptions(kBool))), SDPBackend::math) << "a mask";
  EXPECT_EQ(sdpa_backend(q, k.slice(0, 0, 1), v.slice(0, 0, 1)), SDPBackend::math) << "broadcast batch";
  EXPECT_EQ(sdpa_backend(q.slice(2, 0, 0), k, v), SDPBackend::math) << "no queries";
  SDPAKernel only(SDPBackend::math);
  EXPECT_EQ(sdpa_backend(q, k, v), SDPBackend::math);
}

// The kernel against the composition in f32 at a GPT block's size: 256 queries = four blocks.
TEST(Attention, FlashMatchesMathInF32ForwardAndBackward) {
  for (bool causal : {false, true}) {
    Generator g(5);
    Tensor q = randn({2, 4, 256, 32}, &g), k = randn({2, 4, 256, 32}, &g), v = randn({2, 4, 256, 32}, &g);
    Tensor gout = randn({2, 4, 256, 32}, &g);
    TensorList got, want;
    for (SDPBackend b : {SDPBackend::flash, SDPBackend::math}) {
      SDPAKernel only(b);
      Tensor qq = q.clone().requires_grad_(true), kk = k.clone().requires_grad_(true),
             vv = v.clone().requires_grad_(true);
      Tensor y = scaled_dot_product_attention(qq, kk, vv, Tensor(), 0.0, causal);
      autograd::backward({y}, {gout});
      TensorList& r = b == SDPBackend::flash ? got : want;
      r = {y.detach(), qq.grad(), kk.grad(), vv.grad()};
    }
    const char* what[] = {"output", "dq", "dk", "dv"};
    for (int i = 0; i < 4; ++i) EXPECT_LT(max_abs_diff(got[i], want[i]), 2e-5) << what[i] << " causal=" << causal;
  }
}

TEST(Attention, DoubleBackwardThroughTheFusedPath) {
  Generator g(9);
  TensorList grads;
  for (SDPBackend b : {SDPBackend::flash, SDPBackend::math}) {
    SDPAKernel only(b);
    Tensor q = randn({2, 5, 4}, &g, TensorOptions(kFloat64)).requires_grad_(true);
    Tensor k = q.detach().flip({1}).requires_grad_(true), v = q.detach().cos().requires_grad_(true);
    Tensor y = scaled_dot_product_attention(q, k, v, Tensor(), 0.0, true);
    TensorList dq = autograd::grad({y.square().sum()}, {q}, {.grad_outputs = {}, .retain_graph = true, .create_graph = true});
    grads.push_back(autograd::grad({dq[0].sum()}, {q})[0]);
    g = Generator(9);  // the same inputs for the math side
  }
  EXPECT_LT(max_abs_diff(grads[0], grads[1]), 1e-12);
}

TEST(Attention, DropoutIsDrawnFromTheGenerator) {
  Tensor q = randn({2, 6, 4}), k = randn({2, 6, 4}), v = randn({2, 6, 4});
  Generator a(1), b(1), c(2);
  Tensor ya = scaled_dot_product_attention(q, k, v, Tensor(), 0.5, false, std::nullopt, &a);
  Tensor yb = scaled_dot_product_attention(q, k, v, Tensor(), 0.5, false, std::nullopt, &b);
  Tensor yc = scaled_dot_product_attention(q, k, v, Tensor(), 0.5, false, std::nullopt, &c);
  EXPECT_EQ(values<float>(ya), values<float>(yb));
  EXPECT_NE(values<float>(ya), values<float>(yc));
  EXPECT_GT(max_abs_diff(ya, scaled_dot_product_attention(q, k, v)), 1e-3);
}

TEST(Attention, BadArgumentsNameTheOpAndTheShapes) {
  Tensor q = randn({2, 5, 4}), k = randn({2, 6, 4}), v = randn({2, 6, 3});
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, randn({2, 6, 3}), v); }).find("differ in E: [2, 5, 4]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, k, randn({2, 7, 3})); }).find("differ in S"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, k, v, ones({5, 6}, TensorOptions(kBool)), 0, true); })
                .find("attn_mask or is_causal, not both"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, k, v, Tensor(), 1.0); }).find("dropout_p must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, k, v, ones({5, 6}, TensorOptions(kInt64))); })
                .find("attn_mask must be bool"),
            std::string::npos);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q.to(kInt64), k, v); }).find("one floating dtype"),
            std::string::npos);
  SDPAKernel only(SDPBackend::flash);
  EXPECT_NE(error_of([&] { scaled_dot_product_attention(q, k, v, Tensor(), 0.2); }).find("flash kernel was asked for"),
            std::string::npos);
}

}  // namespace
}  // namespace hpml
