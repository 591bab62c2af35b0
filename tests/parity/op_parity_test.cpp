// Table-driven PyTorch parity: every op in hpml's op table runs on each of its samples in f32 and
// f64 (contiguous and non-contiguous inputs) next to libtorch. Outputs must agree in shape, dtype
// and values; for differentiable ops, the gradients of every floating input must agree too, for
// the same random output gradients. A failure names the op, sample, dtype and the largest error.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "op_harness.h"
#include "parity/nn_parity_util.h"
#include "parity/torch_ops.h"

namespace hpml {
namespace {

using testing::Layout;

using nnparity::compare;  // NaN-aware, reports the largest error (shared with the nn parity tests)
using nnparity::Tol;
// Forward and gradient tolerances per dtype (gradients go through more arithmetic).
Tol forward_tol(DType d) { return d == kFloat64 ? Tol{1e-10, 1e-8} : Tol{1e-5, 1e-5}; }
Tol grad_tol(DType d) { return d == kFloat64 ? Tol{1e-9, 1e-7} : Tol{1e-4, 1e-4}; }

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
