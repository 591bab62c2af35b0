// Every optimizer and option set for 20 steps against torch.optim, through a fixture that
// tests/python/optim_torch.py writes with /usr/bin/python3 (python3-torch): the same starting
// parameters and gradients on both sides, largest relative difference per step <= 1e-10 in f64
// (far tighter than 1e-6: the rules are the same operation by operation, so only rounding differs).
// Fails, never skips, when Python or torch is missing.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "nn/nn_test_util.h"
#include "optim/optim_test_util.h"

namespace hpml {
namespace {

using optimtest::Case;
constexpr int64_t kSteps = 20;

// hpml's option values as torch.optim keyword arguments.
nlohmann::json torch_kwargs(const optim::OptionValues& values) {
  static const std::set<std::string> bools = {"nesterov", "maximize", "centered", "amsgrad"};
  nlohmann::json kw = nlohmann::json::object();
  double beta1 = 0, beta2 = 0;
  bool betas = false;
  for (const auto& [k, v] : values) {
    if (k == "beta1") beta1 = v, betas = true;
    else if (k == "beta2") beta2 = v, betas = true;
    else if (bools.count(k)) kw[k] = v != 0;
    else kw[k] = v;
  }
  if (betas) kw["betas"] = {beta1, beta2};
  return kw;
}

const optimtest::TorchFixture& fixture() {
  static const optimtest::TorchFixture f = [] {
    nlohmann::json spec = {{"steps", kSteps}, {"cases", nlohmann::json::array()}};
    for (const Case& c : optimtest::all_cases()) {
      TensorList ps = optimtest::make_params(c);
      auto opt = c.make(ps);
      nlohmann::json groups = nlohmann::json::array();
      for (size_t g = 0; g < opt->num_param_groups(); ++g)
        groups.push_back({{"size", c.sizes[g]}, {"options", torch_kwargs(opt->options(g))}});
      spec["cases"].push_back({{"name", c.name}, {"optimizer", c.optimizer}, {"groups", groups}});
    }
    return optimtest::run_torch_fixture("optim_torch.py", spec.dump());
  }();
  return f;
}

class TorchOptim : public ::testing::TestWithParam<Case> {};

TEST_P(TorchOptim, TwentyStepsMatchTorchOptim) {
  const optimtest::TorchFixture& f = fixture();
  ASSERT_TRUE(f.error.empty()) << f.error;
  const Case& c = GetParam();
  TensorList ps = optimtest::make_params(c);
  auto opt = c.make(ps);
  double worst = 0;
  for (int64_t k = 0; k < kSteps; ++k) {
    optimtest::set_grads(ps, k);
    opt->step();
    for (size_t j = 0; j < ps.size(); ++j) {
      const std::string key = c.name + "." + std::to_string(k + 1) + "." + std::to_string(j);
      auto it = f.tensors.find(key);
      ASSERT_NE(it, f.tensors.end()) << "the fixture has no " << key;
      const double d = optimtest::max_rel_diff(ps[j], it->second);
      worst = std::max(worst, d);
      ASSERT_LE(d, 1e-10) << c.name << ": parameter " << j << " after step " << k + 1 << " differs from torch.optim";
    }
  }
  RecordProperty("max_rel_diff", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Optim, TorchOptim, ::testing::ValuesIn(optimtest::all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
}  // namespace hpml
