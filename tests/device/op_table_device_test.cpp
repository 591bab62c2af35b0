// Every op of the op table on every device of devices_under_test() (the simulated device in
// every build): the same samples, contiguous and not, forward and backward, compared with the
// cpu's results; and the f64 gradcheck of every differentiable op there. The sim device runs the cpu kernels asynchronously, so a difference here is a
// host read without a copy, a missing synchronisation or a device mix-up in the op, not a kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "op_harness.h"

namespace hpml {
namespace {

using testing::Layout;

struct DeviceRun {
  TensorList outputs;  // on the cpu
  TensorList grads;    // of each input (undefined where none), on the cpu
  std::string error;   // what the op raised, if it did
};

// Calls the op on `inputs` moved to `device` (leaves there), then backward with `seed_grads`.
DeviceRun run_on(const ops::OpInfo& op, const ops::Sample& s, const TensorList& inputs, Device device,
           const std::vector<Tensor>& seed_grads, bool with_grad) {
  DeviceRun r;
  TensorList in;
  for (const Tensor& x : inputs) {
    Tensor v = x.detach().to(device, false, /*copy=*/true);
    if (with_grad && v.is_floating_point()) v.requires_grad_(true);
    in.push_back(v);
  }
  manual_seed(1234);  // random ops draw the same counters on every device
  try {
    TensorList outs = testing::call_op(op, s, in);
    TensorList diff, grads;
    for (size_t i = 0; i < outs.size(); ++i) {
      r.outputs.push_back(outs[i].defined() ? outs[i].detach().cpu() : Tensor());
      if (with_grad && outs[i].defined() && outs[i].requires_grad() && i < seed_grads.size() &&
          seed_grads[i].defined()) {
        diff.push_back(outs[i]);
        grads.push_back(seed_grads[i].to(device));
      }
    }
    if (!diff.empty()) autograd::backward(diff, grads);
    for (const Tensor& x : in)
      r.grads.push_back(x.requires_grad() && x.grad().defined() ? x.grad().cpu() : Tensor());
    synchronize(device);  // a kernel's error (a canary, a bad index) surfaces here at the latest
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

void expect_same(const Tensor& want, const Tensor& got, const std::string& what) {
  ASSERT_EQ(want.defined(), got.defined()) << what;
  if (!want.defined()) return;
  ASSERT_EQ(want.sizes(), got.sizes()) << what;
  ASSERT_EQ(want.dtype(), got.dtype()) << what;
  if (want.numel() == 0) return;
  const bool f32 = want.dtype() == kFloat32;
  const double rtol = f32 ? 1e-5 : 1e-10, atol = f32 ? 1e-6 : 1e-12;
  const Tensor w = want.to(kFloat64).contiguous(), g = got.to(kFloat64).contiguous();
  const double* pw = w.data_ptr<double>();
  const double* pg = g.data_ptr<double>();
  for (int64_t i = 0; i < w.numel(); ++i) {
    const bool same = (std::isnan(pw[i]) && std::isnan(pg[i])) || pw[i] == pg[i] ||
                      std::abs(pw[i] - pg[i]) <= atol + rtol * std::abs(pw[i]);
    ASSERT_TRUE(same) << what << ": element " << i << " is " << pg[i] << " on the device, " << pw[i]
                      << " on the cpu\ndevice:\n" << got << "\ncpu:\n" << want;
  }
}

class OpOnDevice : public ::testing::TestWithParam<std::string> {};

TEST_P(OpOnDevice, MatchesCpu) {
  const ops::OpInfo& op = ops::find_op(GetParam());
  int compared = 0;
  for (const Device& device : testing::devices_under_test()) {
    for (DType dt : {kFloat32, kFloat64}) {
      for (const ops::Sample& s : op.samples(dt)) {
        for (Layout l : {Layout::contiguous, Layout::noncontiguous}) {
          if (l == Layout::noncontiguous && !op.noncontiguous_variant) continue;
          const std::string what = testing::describe(op, s, dt, l) + " on " + device.str();
          SCOPED_TRACE(what);
          TensorList in = testing::make_inputs(s, dt, l, false);
          // Seed gradients from the cpu outputs' shapes, the same for both runs.
          DeviceRun probe = run_on(op, s, in, kCPU, {}, false);
          std::vector<Tensor> seeds;
          Generator g(7);
          for (const Tensor& o : probe.outputs)
            seeds.push_back(o.defined() && o.is_floating_point() ? randn(o.sizes(), &g, o.dtype()) : Tensor());
          const bool with_grad = op.differentiable;
          DeviceRun want = run_on(op, s, in, kCPU, seeds, with_grad);
          DeviceRun got = run_on(op, s, in, device, seeds, with_grad);
          ASSERT_EQ(want.error.empty(), got.error.empty())
              << what << ": cpu says '" << want.error << "', device says '" << got.error << "'";
          if (!want.error.empty()) continue;
          ASSERT_EQ(want.outputs.size(), got.outputs.size());
          for (size_t i = 0; i < want.outputs.size(); ++i)
            expect_same(want.outputs[i], got.outputs[i], what + " output " + std::to_string(i));
          for (size_t i = 0; i < want.grads.size() && i < got.grads.size(); ++i)
            expect_same(want.grads[i], got.grads[i], what + " grad of input " + std::to_string(i));
          ++compared;
        }
      }
    }
  }
  EXPECT_GT(compared, 0) << op.name << " has no sample that runs";
}

// The f64 finite-difference gradcheck of every differentiable op with its inputs on the device
// (gradcheck perturbs them through one-element fills there); contiguous inputs: the comparison
// above already runs the non-contiguous ones on the device against the cpu.
class OpGradcheckOnDevice : public ::testing::TestWithParam<std::string> {};

TEST_P(OpGradcheckOnDevice, MatchesFiniteDifferences) {
  const ops::OpInfo& op = ops::find_op(GetParam());
  int checked = 0;
  for (const Device& device : testing::devices_under_test()) {
    for (const ops::Sample& s : op.samples(kFloat64)) {
      if (!s.fd_gradcheck_skip.empty()) continue;  // printed by OpGradcheck on the cpu
      SCOPED_TRACE(testing::describe(op, s, kFloat64, Layout::contiguous) + " on " + device.str());
      TensorList in;
      for (const Tensor& x : testing::make_inputs(s, kFloat64, Layout::contiguous, false)) {
        Tensor v = x.to(device, false, /*copy=*/true);
        if (v.is_floating_point()) v.requires_grad_(true);
        in.push_back(v);
      }
      autograd::GradcheckResult r;
      EXPECT_NO_THROW(r = autograd::gradcheck(
                          [&](const TensorList& x) {
                            manual_seed(1234);  // random ops: the same draws on every evaluation
                            return testing::call_op(op, s, x);
                          },
                          in, {.raise_exception = false}));
      EXPECT_TRUE(r.ok) << r.message;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << op.name << " has no f64 sample to gradcheck";
}

std::vector<std::string> all_ops() {
  std::vector<std::string> names;
  for (const ops::OpInfo& op : ops::op_table()) names.push_back(op.name);
  return names;
}

std::vector<std::string> differentiable_ops() {
  std::vector<std::string> names;
  for (const ops::OpInfo& op : ops::op_table())
    if (op.differentiable) names.push_back(op.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Table, OpOnDevice, ::testing::ValuesIn(all_ops()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Table, OpGradcheckOnDevice, ::testing::ValuesIn(differentiable_ops()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace hpml
