// One device per op: every op of the op table with several tensor inputs, called with one input
// on the simulated device and the others on the cpu, raises hpml::Error naming the op, both
// devices and the hint to move with .to(...), before any kernel runs. (0-d cpu tensors next to
// device tensors are allowed by PyTorch's scalar rule in the elementwise ops, so samples with a
// 0-d input are not mixed here; tests/device/sim_device_test.cpp checks that rule.)
#include <gtest/gtest.h>

#include <string>

#include "op_harness.h"

namespace hpml {
namespace {

// The first sample of `op` whose tensor inputs are all at least 1-d and number two or more.
const ops::Sample* mixable_sample(const ops::OpInfo& op, const std::vector<ops::Sample>& samples) {
  for (const ops::Sample& s : samples) {
    if (s.inputs.size() < 2) continue;
    bool all_nd = true;
    for (const Tensor& t : s.inputs) all_nd = all_nd && t.defined() && t.dim() >= 1;
    if (all_nd) return &s;
  }
  (void)op;
  return nullptr;
}

// Whether the message starts with the op's name ("div: ..." for the table's "div_rounding" too):
// a composite op must check its inputs itself, not leave it to the first op it calls.
bool names_op(const std::string& what, const std::string& op) {
  const std::string head = what.substr(0, what.find(':'));
  return head == op || op.rfind(head + "_", 0) == 0;
}

TEST(OneDevicePerOp, EveryMultiInputOpNamesItselfBothDevicesAndTheHint) {
  const Device sim(DeviceType::Sim, 0);
  int checked = 0;
  for (const ops::OpInfo& op : ops::op_table()) {
    const std::vector<ops::Sample> samples = op.samples(kFloat32);
    const ops::Sample* s = mixable_sample(op, samples);
    if (!s) continue;
    for (size_t moved = 0; moved < s->inputs.size(); ++moved) {
      TensorList in = testing::make_inputs(*s, kFloat32, testing::Layout::contiguous, false);
      in[moved] = in[moved].to(sim);
      std::string what;
      try {
        testing::call_op(op, *s, in);
        synchronize(sim);
      } catch (const Error& e) {
        what = e.what();
      }
      const std::string where = op.name + " [" + s->label + "] with input " + std::to_string(moved) + " on sim:0";
      ASSERT_FALSE(what.empty()) << where << ": ran without an error";
      EXPECT_TRUE(names_op(what, op.name)) << where << ": the message does not name the op:\n" << what;
      EXPECT_NE(what.find("sim:0"), std::string::npos) << where << ":\n" << what;
      EXPECT_NE(what.find("cpu"), std::string::npos) << where << ":\n" << what;
      EXPECT_NE(what.find("hint: move with .to("), std::string::npos) << where << ":\n" << what;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100) << "fewer mixed-device calls than the table has multi-input ops";
}

}  // namespace
}  // namespace hpml
