// bf16 and f16 against libtorch 1.13 on the cpu: the conversions bit for bit (c10::BFloat16 and
// c10::Half), the promotion table, and every op of the op table on 2-byte inputs. An op either
// matches PyTorch (forward and gradients, within a few units in the last place of the 2-byte
// type) or refuses with an error that names the dtype; the ops of the families that compute in
// f32 by design (Note [Half-precision dtypes] in core/half.h) must match.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <set>

#include "op_harness.h"
#include "parity/nn_parity_util.h"
#include "parity/torch_ops.h"

namespace hpml {
namespace {

using nnparity::compare;
using nnparity::Tol;
using testing::Layout;

float float_of_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Every sign, exponent and top mantissa bits (the upper half of the f32), with lower halves that
// make exact ties, near-ties and the ends at both the bf16 and the f16 rounding points.
TEST(HalfConversions, MatchC10BitForBit) {
  const uint32_t lows[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x2000, 0x3000, 0x5000,
                           0x7fff, 0x8000, 0x8001, 0xa000, 0xc000, 0xefff, 0xf000, 0xffff};
  int64_t checked = 0;
  for (uint32_t hi = 0; hi < 0x10000; ++hi) {
    for (uint32_t lo : lows) {
      const float f = float_of_bits(hi << 16 | lo);
      const c10::BFloat16 rb(f);
      const c10::Half rh(f);
      const BFloat16 b(f);
      const Half h(f);
      // NaNs too: bf16 makes every NaN 0x7fc0, f16 keeps the sign (both as c10).
      ASSERT_EQ(b.x, rb.x) << "bf16 of the f32 bits 0x" << std::hex << (hi << 16 | lo) << " (" << f << ")";
      ASSERT_EQ(h.x, rh.x) << "f16 of the f32 bits 0x" << std::hex << (hi << 16 | lo) << " (" << f << ")";
      ++checked;
    }
  }
  // And back: every 2-byte pattern to f32.
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto u = static_cast<uint16_t>(bits);
    const float fb = BFloat16::from_bits(u), fh = Half::from_bits(u);
    const float rb = c10::BFloat16(u, c10::BFloat16::from_bits()), rh = c10::Half(u, c10::Half::from_bits());
    if (std::isnan(rb)) EXPECT_TRUE(std::isnan(fb)) << bits;
    else ASSERT_EQ(fb, rb) << "bf16 bits 0x" << std::hex << bits;
    if (std::isnan(rh)) EXPECT_TRUE(std::isnan(fh)) << bits;
    else ASSERT_EQ(fh, rh) << "f16 bits 0x" << std::hex << bits;
  }
  EXPECT_GT(checked, 1000000);
}

TEST(HalfConversions, PromotionMatchesTorchForEveryPair) {
  const DType all[] = {kFloat32, kFloat64, kInt64, kInt32, kUInt8, kBool, kBFloat16, kFloat16};
  for (DType a : all)
    for (DType b : all)
      EXPECT_EQ(testing::torch_dtype(promote_types(a, b)),
                torch::promote_types(testing::torch_dtype(a), testing::torch_dtype(b)))
          << a << " with " << b;
}

// Casts between every pair of dtypes, through values that round, overflow and are special.
TEST(HalfConversions, CastsMatchTorch) {
  const std::vector<double> v = {0, -0.0, 1, -1.5, 3.14159265, 65504, 65520, 1e5, 3.4e38, 1e-6, 6e-8, 2.5e-8,
                                 INFINITY, -INFINITY, NAN, 255, 256.5, -7.25, 1e-40};
  Tensor src = tensor(v, TensorOptions(kFloat64));
  torch::Tensor tsrc = testing::to_torch(src);
  for (DType to : {kBFloat16, kFloat16}) {
    Tensor ours = src.to(to);
    torch::Tensor ref = tsrc.to(testing::torch_dtype(to));
    EXPECT_EQ(compare(ours, ref, Tol{0, 0}), "") << "f64 -> " << to;
    for (DType back : {kFloat32, kFloat64, kBFloat16, kFloat16, kBool}) {
      EXPECT_EQ(compare(ours.to(back), ref.to(testing::torch_dtype(back)), Tol{0, 0}), "") << to << " -> " << back;
    }
  }
  // Integers into the 2-byte floats (finite values only: NaN to an integer is undefined).
  Tensor ints = tensor(std::vector<double>{0, 1, -3, 255, 257, 4097, 65519, 70000}, TensorOptions(kFloat64)).to(kInt64);
  for (DType to : {kBFloat16, kFloat16})
    EXPECT_EQ(compare(ints.to(to), testing::to_torch(ints).to(testing::torch_dtype(to)), Tol{0, 0}), "") << to;
}

// Tolerances in units of the 2-byte type's epsilon (bf16 2^-7 relative, f16 2^-10): results are
// rounded once from f32 on both sides, and a reordered f32 sum may round the other way.
Tol forward_tol(DType d) {
  const double eps = d == kBFloat16 ? 0x1p-7 : 0x1p-10;
  return Tol{2 * eps, 2 * eps};
}
Tol grad_tol(DType d) {
  const double eps = d == kBFloat16 ? 0x1p-7 : 0x1p-10;
  return Tol{8 * eps, 8 * eps};
}

// The families whose every op computes in f32 and must run on 2-byte floats.
const testing::TorchFn& op_torch(const ops::OpInfo& op) { return testing::torch_ops().at(op.name); }

bool must_work(const ops::OpInfo& op) {
  static const std::set<std::string> families = {"unary", "activation", "binary", "compare", "reduce", "linalg",
                                                  "view", "shape"};
  return families.count(op.family) > 0;
}

// PyTorch's result for 2-byte inputs: its own 2-byte kernels, or, where 1.13 has none on the cpu
// for the forward or the backward ("not implemented for 'Half'"), the same values in f32 with
// the results rounded to the 2-byte type: what PyTorch's 2-byte kernels compute by design.
struct TorchRun {
  std::vector<torch::Tensor> in, out;
  bool widened = false;
};
// grads: the output gradients (hpml's, one per output that takes one; undefined elsewhere).
TorchRun run_torch(const testing::TorchFn& fn, const TensorList& in, const ops::Sample& s, DType dt,
                   const TensorList& grads, bool force_widen) {
  auto attempt = [&](bool widen) {
    TorchRun r;
    r.widened = widen;
    for (const Tensor& x : in) {
      torch::Tensor t = testing::to_torch(x);
      if (widen && x.dtype() == dt) t = t.to(torch::kFloat32);
      if (x.requires_grad()) t.requires_grad_(true);
      r.in.push_back(t);
    }
    std::vector<torch::Tensor> args = r.in;
    for (size_t i = 0; i < s.expand_to.size(); ++i)
      if (!s.expand_to[i].empty()) args[i] = args[i].expand(s.expand_to[i]);
    r.out = fn(args, s.args);
    std::vector<torch::Tensor> douts, dgrads;
    for (size_t o = 0; o < grads.size() && o < r.out.size(); ++o) {
      if (!grads[o].defined()) continue;
      douts.push_back(r.out[o]);
      dgrads.push_back(testing::to_torch(grads[o]).to(r.out[o].scalar_type()));
    }
    if (!douts.empty()) torch::autograd::backward(douts, dgrads);
    return r;
  };
  if (force_widen) return attempt(true);
  try {
    return attempt(false);
  } catch (const c10::Error&) {
    return attempt(true);
  }
}

torch::Tensor rounded(const torch::Tensor& t, DType dt, bool widened) {
  return widened && t.defined() && t.is_floating_point() ? t.to(testing::torch_dtype(dt)) : t;
}

// Samples where PyTorch 1.13's own 2-byte kernel is wrong by its documentation: compared against
// PyTorch in f32, rounded, instead.
bool torch_half_kernel_wrong(const ops::OpInfo& op, const ops::Sample& s) {
  // "If beta is 0, input is ignored, and nan and inf in it are not propagated": its bf16 cpu
  // kernel propagates them.
  return op.name == "baddbmm" && s.label == "beta 0";
}

// Samples whose gradient sums terms of opposite signs (a broadcast input's gradient): hpml rounds
// each op's result to the 2-byte type, the f32 reference only the end, so the sum keeps about one
// unit in the last place of the terms, not of the result. Compared with 32 epsilons.
bool cancels(const ops::OpInfo& op, const ops::Sample& s) {
  return op.name == "cosine_similarity" && s.label.find("1-d against 2-d") != std::string::npos;
}

class HalfParity : public ::testing::TestWithParam<std::string> {};

// One sample in one dtype and layout: false when hpml refused it (by name, checked here).
bool check_sample(const ops::OpInfo& op, const ops::Sample& s, DType dt, Layout l, Generator& g, int* widened) {
  const std::string what = testing::describe(op, s, dt, l);
  TensorList in = testing::make_inputs(s, dt, l, op.differentiable);
  TensorList outs, grads;
  try {
    outs = testing::call_op(op, s, in);
    const bool backward = op.differentiable && s.pytorch_grad_differs.empty();
    TensorList douts, dgrads;
    for (const Tensor& o : outs) {
      const bool takes = backward && o.is_floating_point() && o.requires_grad();
      grads.push_back(takes ? randn(o.sizes(), &g, TensorOptions(o.dtype())) : Tensor());
      if (takes) douts.push_back(o), dgrads.push_back(grads.back());
    }
    if (!douts.empty()) autograd::backward(douts, dgrads);
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(dtype_name(dt)), std::string::npos) << what << ": refused without naming " << dt << ": " << msg;
    EXPECT_FALSE(must_work(op)) << what << ": " << msg;
    return false;
  }
  TorchRun t = run_torch(op_torch(op), in, s, dt, grads, torch_half_kernel_wrong(op, s));
  Tol gtol = grad_tol(dt);
  if (cancels(op, s)) gtol = Tol{gtol.atol * 4, gtol.rtol * 4};
  *widened += t.widened;
  EXPECT_EQ(outs.size(), t.out.size()) << what;
  for (size_t o = 0; o < outs.size() && o < t.out.size(); ++o)
    EXPECT_EQ(compare(outs[o], rounded(t.out[o], dt, t.widened), forward_tol(dt)), "") << what << ", output " << o;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].requires_grad() || !t.in[i].grad().defined()) continue;
    EXPECT_TRUE(in[i].grad().defined()) << what << ": input " << i << " got no gradient";
    EXPECT_EQ(compare(in[i].grad(), rounded(t.in[i].grad(), dt, t.widened), gtol), "")
        << what << ", gradient of input " << i;
  }
  return true;
}

TEST_P(HalfParity, MatchesTorchOrRefusesByName) {
  const ops::OpInfo& op = ops::find_op(GetParam());
  Generator g(99);
  int compared = 0, refused = 0, widened = 0;
  for (DType dt : {kBFloat16, kFloat16})
    for (const ops::Sample& s : op.samples(kFloat32))
      for (Layout l : {Layout::contiguous, Layout::noncontiguous}) {
        if (l == Layout::noncontiguous && !op.noncontiguous_variant) continue;
        if (check_sample(op, s, dt, l, g, &widened)) ++compared;
        else ++refused;
      }
  std::cout << "[   NOTE   ] " << op.name << ": " << compared << " runs compared (" << widened
            << " against PyTorch in f32, rounded, where 1.13 has no 2-byte cpu kernel), " << refused << " refused\n";
  if (must_work(op)) EXPECT_GT(compared, 0);
}

std::vector<std::string> all_ops() {
  std::vector<std::string> names;
  for (const ops::OpInfo& op : ops::op_table()) names.push_back(op.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Table, HalfParity, ::testing::ValuesIn(all_ops()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace hpml
