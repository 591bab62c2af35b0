// Table-driven: every differentiable op in the op table is gradchecked in f64 on each of its
// samples, with contiguous and non-contiguous inputs; every op's backward also runs once with a
// random gradient (covering empty tensors, where gradcheck has nothing to compare).
#include <gtest/gtest.h>

#include <iostream>

#include "op_harness.h"

namespace hpml {
namespace {

using testing::Layout;

class OpGradcheck : public ::testing::TestWithParam<std::string> {};

TEST_P(OpGradcheck, MatchesFiniteDifferences) {
  const ops::OpInfo& op = ops::find_op(GetParam());
  ASSERT_TRUE(op.differentiable);
  int checked = 0;
  for (const ops::Sample& s : op.samples(kFloat64)) {
    if (!s.fd_gradcheck_skip.empty()) {
      std::cout << "[   NOTE   ] " << op.name << " [" << s.label << "]: no finite-difference gradcheck: "
                << s.fd_gradcheck_skip << " (OpParity compares it with PyTorch)\n";
      continue;
    }
    for (Layout l : {Layout::contiguous, Layout::noncontiguous}) {
      if (l == Layout::noncontiguous && !op.noncontiguous_variant) continue;
      TensorList in = testing::make_inputs(s, kFloat64, l, true);
      SCOPED_TRACE(testing::describe(op, s, kFloat64, l));
      autograd::GradcheckResult r;
      EXPECT_NO_THROW(r = autograd::gradcheck([&](const TensorList& x) { return testing::call_op(op, s, x); }, in,
                                              {.raise_exception = false}));
      EXPECT_TRUE(r.ok) << r.message;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << op.name << " has no f64 samples";
}

TEST_P(OpGradcheck, BackwardGivesGradientsOfInputShape) {
  const ops::OpInfo& op = ops::find_op(GetParam());
  Generator g(7);
  for (const ops::Sample& s : op.samples(kFloat64)) {
    TensorList in = testing::make_inputs(s, kFloat64, Layout::contiguous, true);
    SCOPED_TRACE(testing::describe(op, s, kFloat64, Layout::contiguous));
    TensorList outs = testing::call_op(op, s, in);
    TensorList diff_outs, grads;
    for (const Tensor& o : outs) {
      if (!o.is_floating_point() || !o.requires_grad()) continue;
      diff_outs.push_back(o);
      grads.push_back(randn(o.sizes(), &g, o.dtype()));
    }
    if (diff_outs.empty()) continue;
    ASSERT_NO_THROW(autograd::backward(diff_outs, grads));
    for (const Tensor& x : in) {
      if (!x.requires_grad() || !x.grad().defined()) continue;
      EXPECT_EQ(x.grad().sizes(), x.sizes());
      EXPECT_EQ(x.grad().dtype(), x.dtype());
    }
  }
}

std::vector<std::string> differentiable_ops() {
  std::vector<std::string> names;
  for (const ops::OpInfo& op : ops::op_table())
    if (op.differentiable) names.push_back(op.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Table, OpGradcheck, ::testing::ValuesIn(differentiable_ops()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace hpml
