// Table-driven PyTorch parity: every op in hpml's op table runs on each of its samples in f32 and
// f64 (contiguous and non-contiguous inputs) next to libtorch. Outputs must agree in shape, dtype
// and values; for differentiable ops, the gradients of every floating input must agree too, for
// the same random output gradients. A failure names the op, sample, dtype and the largest error.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "op_harness.h"
#include "parity/torch_ops.h"

namespace hpml {
namespace {

using testing::Layout;

struct Tol {
  double atol, rtol;
};
// Forward and gradient tolerances per dtype (gradients go through more arithmetic).
Tol forward_tol(DType d) { return d == kFloat64 ? Tol{1e-10, 1e-8} : Tol{1e-5, 1e-5}; }
Tol grad_tol(DType d) { return d == kFloat64 ? Tol{1e-9, 1e-7} : Tol{1e-4, 1e-4}; }

// Empty string if equal within tolerance, else what differs.
std::string compare(const Tensor& ours, const torch::Tensor& ref, Tol tol) {
  std::ostringstream os;
  std::vector<int64_t> rs(ref.sizes().begin(), ref.sizes().end());
  if (ours.sizes() != IntArrayRef(rs)) {
    os << "shape " << ours.sizes() << " vs PyTorch " << IntArrayRef(rs);
    return os.str();
  }
  if (testing::torch_dtype(ours.dtype()) != ref.scalar_type()) {
    os << "dtype " << ours.dtype() << " vs PyTorch " << ref.scalar_type();
    return os.str();
  }
  Tensor a = ours.detach().to(kFloat64).contiguous();
  torch::Tensor b = ref.detach().to(torch::kFloat64).contiguous();
  const double* pa = a.data_ptr<double>();
  const double* pb = b.data_ptr<double>();
  double worst = 0;
  int64_t worst_i = -1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::isnan(pa[i]) && std::isnan(pb[i])) continue;
    if (pa[i] == pb[i]) continue;
    double err = std::fabs(pa[i] - pb[i]);
    double excess = err - (tol.atol + tol.rtol * std::fabs(pb[i]));
    if (std::isnan(err) || excess > 0) {
      if (worst_i < 0 || std::isnan(err) || err > worst) {
        worst = std::isnan(err) ? INFINITY : err;
        worst_i = i;
      }
    }
  }
  if (worst_i >= 0)
    os << "largest error " << worst << " at element " << worst_i << ": hpml " << pa[worst_i] << ", PyTorch "
       << pb[worst_i];
  return os.str();
}

class OpParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OpParity, ForwardAndGradientsMatchPyTorch) {
  const ops::OpInfo& op = ops::find_op(GetParam());
  auto it = testing::torch_ops().find(op.name);
  ASSERT_NE(it, testing::torch_ops().end()) << "no PyTorch counterpart for " << op.name << " in tests/parity/torch_ops.cpp";
  const testing::TorchFn& ref_fn = it->second;
  Generator g(1234);
  int compared = 0;
  for (DType dt : {kFloat32, kFloat64}) {
    for (const ops::Sample& s : op.samples(dt)) {
      for (Layout l : {Layout::contiguous, Layout::noncontiguous}) {
        if (l == Layout::noncontiguous && !op.noncontiguous_variant) continue;
        const std::string what = testing::describe(op, s, dt, l);
        TensorList in = testing::make_inputs(s, dt, l, op.differentiable);
        std::vector<torch::Tensor> tin;
        for (const Tensor& x : in) {
          torch::Tensor t = testing::to_torch(x);
          if (x.requires_grad()) t.requires_grad_(true);
          tin.push_back(t);
        }
        TensorList outs = testing::call_op(op, s, in);
        std::vector<torch::Tensor> targs = tin;
        for (size_t i = 0; i < s.expand_to.size(); ++i)
          if (!s.expand_to[i].empty()) targs[i] = targs[i].expand(s.expand_to[i]);
        std::vector<torch::Tensor> touts = ref_fn(targs, s.args);
        ASSERT_EQ(outs.size(), touts.size()) << what << ": number of outputs";
        for (size_t o = 0; o < outs.size(); ++o) {
          std::string diff = compare(outs[o], touts[o], forward_tol(dt));
          EXPECT_TRUE(diff.empty()) << what << ", output " << o << ": " << diff;
        }
        ++compared;
        if (!op.differentiable) continue;
        if (!s.pytorch_grad_differs.empty()) {
          std::cout << "[   NOTE   ] " << what << ": gradients not compared: " << s.pytorch_grad_differs << "\n";
          continue;
        }
        // Same random gradient for every floating output on both sides.
        TensorList douts, grads;
        std::vector<torch::Tensor> tdouts, tgrads;
        for (size_t o = 0; o < outs.size(); ++o) {
          if (!outs[o].is_floating_point() || !outs[o].requires_grad()) continue;
          Tensor go = randn(outs[o].sizes(), &g, outs[o].dtype());
          douts.push_back(outs[o]);
          grads.push_back(go);
          tdouts.push_back(touts[o]);
          tgrads.push_back(testing::to_torch(go));
        }
        if (douts.empty()) continue;
        autograd::backward(douts, grads);
        torch::autograd::backward(tdouts, tgrads);
        for (size_t i = 0; i < in.size(); ++i) {
          if (!in[i].requires_grad()) continue;
          const torch::Tensor& tg = tin[i].grad();
          if (!tg.defined()) {
            EXPECT_FALSE(in[i].grad().defined() && in[i].grad().ne(scalar_tensor(0, in[i].dtype())).sum().item<int64_t>() > 0)
                << what << ": input " << i << " got a nonzero gradient, PyTorch none";
            continue;
          }
          ASSERT_TRUE(in[i].grad().defined()) << what << ": input " << i << " got no gradient";
          std::string diff = compare(in[i].grad(), tg, grad_tol(dt));
          EXPECT_TRUE(diff.empty()) << what << ", gradient of input " << i << ": " << diff;
        }
      }
    }
  }
  EXPECT_GT(compared, 0);
}

std::vector<std::string> all_ops() {
  std::vector<std::string> names;
  for (const ops::OpInfo& op : ops::op_table()) names.push_back(op.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Table, OpParity, ::testing::ValuesIn(all_ops()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(OpTable, EveryOpHasAPyTorchCounterpartAndNoneIsStale) {
  for (const ops::OpInfo& op : ops::op_table())
    EXPECT_TRUE(testing::torch_ops().count(op.name)) << op.name << " has no PyTorch counterpart";
  for (const auto& [name, fn] : testing::torch_ops()) EXPECT_NO_THROW(ops::find_op(name)) << name;
}

}  // namespace
}  // namespace hpml
