// Learning-rate schedulers against torch.optim.lr_scheduler (PyTorch 1.13): each case's lr,
// momentum and get_last_lr() for both groups of an SGD (lr 0.1 and 0.01, momentum 0.9), after
// construction and after each of 100 steps, equal PyTorch's to relative 1e-12. The fixture is
// written by tests/python/lr_torch.py with /usr/bin/python3 (python3-torch) from the same JSON specs
// that build hpml's schedulers here; the test fails, never skips, when Python or torch is missing.
// Also: InverseTimeDecay's closed form, state-dict round trips in the middle of a run, the initial
// lrs the schedulers of one optimizer share, Adam's beta1 as momentum, and the errors.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
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

using nlohmann::json;
using namespace optim;  // NOLINT
using SchedPtr = std::shared_ptr<LRScheduler>;

constexpr int64_t kSteps = 100;

const json& groups_spec() {
  static const json g = json::parse(R"([{"lr": 0.1, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.9}])");
  return g;
}

// Every case: a name, the scheduler (type and PyTorch keyword arguments; lambdas and scale
// functions by name), and how it steps ("metric": ReduceLROnPlateau; "epochs": fractional).
std::vector<json> cases() {
  static const json all = json::parse(R"([
  {"name": "LambdaLR_pow", "scheduler": {"type": "LambdaLR", "kwargs": {"lr_lambda": "pow095"}}},
  {"name": "LambdaLR_per_group", "scheduler": {"type": "LambdaLR", "kwargs": {"lr_lambda": ["step30", "lin200"]}}},
  {"name": "MultiplicativeLR_const", "scheduler": {"type": "MultiplicativeLR", "kwargs": {"lr_lambda": "const09"}}},
  {"name": "MultiplicativeLR_per_group", "scheduler": {"type": "MultiplicativeLR", "kwargs": {"lr_lambda": ["alt", "const09"]}}},
  {"name": "StepLR_default", "scheduler": {"type": "StepLR", "kwargs": {"step_size": 30}}},
  {"name": "StepLR_gamma", "scheduler": {"type": "StepLR", "kwargs": {"step_size": 7, "gamma": 0.5}}},
  {"name": "MultiStepLR_default", "scheduler": {"type": "MultiStepLR", "kwargs": {"milestones": [30, 80]}}},
  {"name": "MultiStepLR_repeated", "scheduler": {"type": "MultiStepLR", "kwargs": {"milestones": [10, 10, 45, 70], "gamma": 0.5}}},
  {"name": "ConstantLR_default", "scheduler": {"type": "ConstantLR"}},
  {"name": "ConstantLR_custom", "scheduler": {"type": "ConstantLR", "kwargs": {"factor": 0.5, "total_iters": 40}}},
  {"name": "LinearLR_default", "scheduler": {"type": "LinearLR"}},
  {"name": "LinearLR_custom", "scheduler": {"type": "LinearLR", "kwargs": {"start_factor": 0.25, "end_factor": 0.75, "total_iters": 60}}},
  {"name": "LinearLR_decay", "scheduler": {"type": "LinearLR", "kwargs": {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 100}}},
  {"name": "ExponentialLR", "scheduler": {"type": "ExponentialLR", "kwargs": {"gamma": 0.95}}},
  {"name": "PolynomialLR_default", "scheduler": {"type": "PolynomialLR"}},
  {"name": "PolynomialLR_custom", "scheduler": {"type": "PolynomialLR", "kwargs": {"total_iters": 80, "power": 2.0}}},
  {"name": "PolynomialLR_sqrt", "scheduler": {"type": "PolynomialLR", "kwargs": {"total_iters": 120, "power": 0.5}}},
  {"name": "CosineAnnealingLR_default", "scheduler": {"type": "CosineAnnealingLR", "kwargs": {"T_max": 30}}},
  {"name": "CosineAnnealingLR_eta_min", "scheduler": {"type": "CosineAnnealingLR", "kwargs": {"T_max": 17, "eta_min": 0.001}}},
  {"name": "CosineAnnealingWarmRestarts_default", "scheduler": {"type": "CosineAnnealingWarmRestarts", "kwargs": {"T_0": 10}}},
  {"name": "CosineAnnealingWarmRestarts_mult2", "scheduler": {"type": "CosineAnnealingWarmRestarts", "kwargs": {"T_0": 3, "T_mult": 2, "eta_min": 0.0001}}},
  {"name": "CosineAnnealingWarmRestarts_fractional", "epochs": "quarter", "scheduler": {"type": "CosineAnnealingWarmRestarts", "kwargs": {"T_0": 3, "T_mult": 2, "eta_min": 0.0001}}},
  {"name": "CyclicLR_default", "scheduler": {"type": "CyclicLR", "kwargs": {"base_lr": 0.001, "max_lr": 0.1}}},
  {"name": "CyclicLR_triangular", "scheduler": {"type": "CyclicLR", "kwargs": {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 10}}},
  {"name": "CyclicLR_triangular2", "scheduler": {"type": "CyclicLR", "kwargs": {"base_lr": [0.01, 0.001], "max_lr": [0.1, 0.05], "step_size_up": 7, "step_size_down": 13, "mode": "triangular2", "base_momentum": 0.85, "max_momentum": 0.95}}},
  {"name": "CyclicLR_exp_range", "scheduler": {"type": "CyclicLR", "kwargs": {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 5, "mode": "exp_range", "gamma": 0.97, "cycle_momentum": false}}},
  {"name": "CyclicLR_scale_fn", "scheduler": {"type": "CyclicLR", "kwargs": {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 6, "scale_fn": "inv1p", "scale_mode": "iterations", "base_momentum": [0.7, 0.75], "max_momentum": [0.9, 0.95]}}},
  {"name": "OneCycleLR_cos", "scheduler": {"type": "OneCycleLR", "kwargs": {"max_lr": 1.0, "total_steps": 100}}},
  {"name": "OneCycleLR_linear", "scheduler": {"type": "OneCycleLR", "kwargs": {"max_lr": [0.5, 0.05], "epochs": 10, "steps_per_epoch": 10, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0}}},
  {"name": "OneCycleLR_three_phase", "scheduler": {"type": "OneCycleLR", "kwargs": {"max_lr": 0.5, "total_steps": 100, "three_phase": true, "base_momentum": 0.8, "max_momentum": 0.9}}},
  {"name": "OneCycleLR_no_momentum", "scheduler": {"type": "OneCycleLR", "kwargs": {"max_lr": 0.3, "total_steps": 150, "cycle_momentum": false}}},
  {"name": "SequentialLR_warmup", "scheduler": {"type": "SequentialLR", "kwargs": {"milestones": [5], "schedulers": [{"type": "LinearLR", "kwargs": {"start_factor": 0.1, "total_iters": 5}}, {"type": "ExponentialLR", "kwargs": {"gamma": 0.95}}]}}},
  {"name": "SequentialLR_three", "scheduler": {"type": "SequentialLR", "kwargs": {"milestones": [10, 40], "schedulers": [
      {"type": "ConstantLR", "kwargs": {"factor": 0.5, "total_iters": 10}}, {"type": "CosineAnnealingLR", "kwargs": {"T_max": 20}},
      {"type": "StepLR", "kwargs": {"step_size": 10, "gamma": 0.5}}]}}},
  {"name": "ChainedScheduler", "scheduler": {"type": "ChainedScheduler", "kwargs": {"schedulers": [{"type": "ConstantLR", "kwargs": {"factor": 0.5, "total_iters": 4}}, {"type": "ExponentialLR", "kwargs": {"gamma": 0.9}}]}}},
  {"name": "ChainedScheduler_linear_lambda", "scheduler": {"type": "ChainedScheduler", "kwargs": {"schedulers": [{"type": "LinearLR", "kwargs": {"total_iters": 20}}, {"type": "LambdaLR", "kwargs": {"lr_lambda": "pow095"}}]}}},
  {"name": "ChainedScheduler_constant_cyclic", "scheduler": {"type": "ChainedScheduler", "kwargs": {"schedulers": [
      {"type": "ConstantLR", "kwargs": {"factor": 0.5}}, {"type": "CyclicLR", "kwargs": {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 8}}]}}},
  {"name": "ChainedScheduler_warmup_cosine", "scheduler": {"type": "ChainedScheduler", "kwargs": {"schedulers": [{"type": "LinearLR", "kwargs": {"total_iters": 20}}, {"type": "CosineAnnealingLR", "kwargs": {"T_max": 40}}]}}},
  {"name": "ChainedScheduler_step_poly_multistep", "scheduler": {"type": "ChainedScheduler", "kwargs": {"schedulers": [
      {"type": "StepLR", "kwargs": {"step_size": 7, "gamma": 0.8}}, {"type": "PolynomialLR", "kwargs": {"total_iters": 120, "power": 0.5}},
      {"type": "MultiStepLR", "kwargs": {"milestones": [20, 50]}}]}}},
  {"name": "ReduceLROnPlateau_default", "metric": "plateau", "scheduler": {"type": "ReduceLROnPlateau"}},
  {"name": "ReduceLROnPlateau_min_cooldown", "metric": "plateau", "scheduler": {"type": "ReduceLROnPlateau", "kwargs": {"patience": 2, "cooldown": 3, "factor": 0.5, "min_lr": 0.002}}},
  {"name": "ReduceLROnPlateau_max_cooldown", "metric": "rise", "scheduler": {"type": "ReduceLROnPlateau", "kwargs": {"mode": "max", "factor": 0.5, "patience": 3, "cooldown": 2, "threshold": 0.001, "threshold_mode": "abs", "min_lr": [0.01, 0.001]}}}
  ])");
  return std::vector<json>(all.begin(), all.end());
}

// The functions lr_torch.py has under the same names.
LRLambda lambda_named(const std::string& n) {
  if (n == "pow095") return [](int64_t e) { return std::pow(0.95, static_cast<double>(e)); };
  if (n == "step30") return [](int64_t e) { return static_cast<double>(e / 30); };
  if (n == "lin200") return [](int64_t e) { return 1 - static_cast<double>(e) / 200; };
  if (n == "const09") return [](int64_t) { return 0.9; };
  if (n == "alt") return [](int64_t e) { return e % 3 ? 1.02 : 0.9; };
  throw std::runtime_error("unknown lambda " + n);
}
double metric(const std::string& name, int64_t k) {
  const auto d = [](int64_t i) { return static_cast<double>(i); };
  if (name == "plateau") return 1.0 / (1.0 + 0.05 * d(std::min<int64_t>(k, 30))) + 0.001 * d((7 * k) % 11);
  if (name == "rise") return 1.0 - 1.0 / (1.0 + 0.1 * d(std::min<int64_t>(k, 25))) + 0.002 * d((5 * k) % 7);
  throw std::runtime_error("unknown metric " + name);
}

std::unique_ptr<SGD> make_sgd() {
  const json& g = groups_spec();
  auto p = [] { return zeros({3}, kFloat64).requires_grad_(); };
  auto opt = std::make_unique<SGD>(
      TensorList{p()}, SGDOptions{.lr = g[0]["lr"].get<double>(), .momentum = g[0]["momentum"].get<double>()});
  opt->add_param_group({{p()}, {.lr = g[1]["lr"].get<double>(), .momentum = g[1]["momentum"].get<double>()}});
  return opt;
}

// A spec's keyword arguments: fields are set only when given (else hpml's defaults stay), and
// every key must be used, so a misspelt or unsupported one fails the test.
class Kw {
 public:
  explicit Kw(const json& spec) : j_(spec.value("kwargs", json::object())) {}
  bool has(const std::string& k) const { return j_.contains(k); }
  const json& at(const std::string& k) {
    used_.insert(k);
    return j_.at(k);
  }
  template <class T>
  void set(const std::string& k, T& field) {
    if (has(k)) field = at(k).get<T>();
  }
  template <class T>
  void set(const std::string& k, std::optional<T>& field) {
    if (has(k)) field = at(k).get<T>();
  }
  void set(const std::string& k, PerGroup& field) {
    if (has(k)) field = at(k).is_array() ? PerGroup(at(k).get<std::vector<double>>()) : PerGroup(at(k).get<double>());
  }
  template <class E>
  void set_enum(const std::string& k, E& field, const std::map<std::string, E>& names) {
    if (has(k)) field = names.at(at(k).get<std::string>());
  }
  void done() const {
    for (const auto& [k, v] : j_.items())
      if (!used_.count(k)) throw std::runtime_error("the test's builder ignores '" + k + "'");
  }

 private:
  json j_;
  std::set<std::string> used_;
};

template <class S>
SchedPtr with_lambdas(Optimizer& opt, const json& f) {
  if (!f.is_array()) return std::make_shared<S>(opt, lambda_named(f));
  std::vector<LRLambda> fs;
  for (const json& n : f) fs.push_back(lambda_named(n));
  return std::make_shared<S>(opt, fs);
}
template <class E>
using Names = std::map<std::string, E>;

// hpml's scheduler for a spec. Options structs take the PyTorch keyword arguments of their names.
SchedPtr build(Optimizer& opt, const json& spec) {
#define KW(field) kw.set(#field, o.field)
  Kw kw(spec);
  const std::string t = spec.at("type");
  auto num = [&](const char* k) { return kw.at(k).get<double>(); };
  auto integer = [&](const char* k) { return kw.at(k).get<int64_t>(); };
  SchedPtr s;
  if (t == "LambdaLR") {
    s = with_lambdas<LambdaLR>(opt, kw.at("lr_lambda"));
  } else if (t == "MultiplicativeLR") {
    s = with_lambdas<MultiplicativeLR>(opt, kw.at("lr_lambda"));
  } else if (t == "StepLR") {
    const int64_t n = integer("step_size");
    s = kw.has("gamma") ? std::make_shared<StepLR>(opt, n, num("gamma")) : std::make_shared<StepLR>(opt, n);
  } else if (t == "MultiStepLR") {
    const auto m = kw.at("milestones").get<std::vector<int64_t>>();
    s = kw.has("gamma") ? std::make_shared<MultiStepLR>(opt, m, num("gamma")) : std::make_shared<MultiStepLR>(opt, m);
  } else if (t == "ConstantLR") {
    ConstantLROptions o;
    KW(factor), KW(total_iters);
    s = std::make_shared<ConstantLR>(opt, o);
  } else if (t == "LinearLR") {
    LinearLROptions o;
    KW(start_factor), KW(end_factor), KW(total_iters);
    s = std::make_shared<LinearLR>(opt, o);
  } else if (t == "ExponentialLR") {
    s = std::make_shared<ExponentialLR>(opt, num("gamma"));
  } else if (t == "PolynomialLR") {
    PolynomialLROptions o;
    KW(total_iters), KW(power);
    s = std::make_shared<PolynomialLR>(opt, o);
  } else if (t == "CosineAnnealingLR") {
    const int64_t T = integer("T_max");
    s = kw.has("eta_min") ? std::make_shared<CosineAnnealingLR>(opt, T, num("eta_min"))
                          : std::make_shared<CosineAnnealingLR>(opt, T);
  } else if (t == "CosineAnnealingWarmRestarts") {  // T_mult and eta_min both or neither
    const int64_t T0 = integer("T_0");
    s = kw.has("T_mult") ? std::make_shared<CosineAnnealingWarmRestarts>(opt, T0, integer("T_mult"), num("eta_min"))
                         : std::make_shared<CosineAnnealingWarmRestarts>(opt, T0);
  } else if (t == "CyclicLR") {
    CyclicLROptions o;
    KW(base_lr), KW(max_lr), KW(step_size_up), KW(step_size_down), KW(gamma), KW(cycle_momentum), KW(base_momentum);
    KW(max_momentum);
    kw.set_enum("mode", o.mode,
                Names<CyclicMode>{{"triangular", CyclicMode::triangular},
                                  {"triangular2", CyclicMode::triangular2},
                                  {"exp_range", CyclicMode::exp_range}});
    kw.set_enum("scale_mode", o.scale_mode,
                Names<ScaleMode>{{"cycle", ScaleMode::cycle}, {"iterations", ScaleMode::iterations}});
    if (kw.has("scale_fn") && kw.at("scale_fn") == "inv1p") o.scale_fn = [](double x) { return 1.0 / (1.0 + x); };
    s = std::make_shared<CyclicLR>(opt, o);
  } else if (t == "OneCycleLR") {
    OneCycleLROptions o;
    KW(max_lr), KW(total_steps), KW(epochs), KW(steps_per_epoch), KW(pct_start), KW(cycle_momentum);
    KW(base_momentum), KW(max_momentum), KW(div_factor), KW(final_div_factor), KW(three_phase);
    kw.set_enum("anneal_strategy", o.anneal_strategy,
                Names<AnnealStrategy>{{"cos", AnnealStrategy::cos}, {"linear", AnnealStrategy::linear}});
    s = std::make_shared<OneCycleLR>(opt, o);
  } else if (t == "SequentialLR" || t == "ChainedScheduler") {
    std::vector<SchedPtr> children;
    for (const json& c : kw.at("schedulers")) children.push_back(build(opt, c));
    s = t == "ChainedScheduler" ? std::make_shared<ChainedScheduler>(children)
                                : SchedPtr(std::make_shared<SequentialLR>(opt, children, kw.at("milestones")));
  } else if (t == "ReduceLROnPlateau") {
    return nullptr;  // not an LRScheduler: build_case makes it
  }
  kw.done();
  if (!s) throw std::runtime_error("the test's builder has no " + t);
  return s;
}

// A case's scheduler, either kind, and its step k (0-based).
struct Built {
  SchedPtr s;
  std::shared_ptr<ReduceLROnPlateau> plateau;
};
Built build_case(Optimizer& opt, const json& c) {
  const json& spec = c.at("scheduler");
  if (spec.at("type") != "ReduceLROnPlateau") return {build(opt, spec), nullptr};
  Kw kw(spec);
  ReduceLROnPlateauOptions o;
  KW(factor), KW(patience), KW(threshold), KW(cooldown), KW(min_lr), KW(eps);
  kw.set_enum("mode", o.mode, Names<PlateauMode>{{"min", PlateauMode::min}, {"max", PlateauMode::max}});
  kw.set_enum("threshold_mode", o.threshold_mode,
              Names<ThresholdMode>{{"rel", ThresholdMode::rel}, {"abs", ThresholdMode::abs}});
  kw.done();
  return {nullptr, std::make_shared<ReduceLROnPlateau>(opt, o)};
#undef KW
}
void step_case(const json& c, Built& b, int64_t k) {
  if (b.plateau) return b.plateau->step(metric(c.at("metric"), k));
  if (c.value("epochs", "") != "quarter") return b.s->step();
  dynamic_cast<CosineAnnealingWarmRestarts&>(*b.s).step_to(0.25 * static_cast<double>(k + 1));
}
std::vector<double> last_lr(const Built& b) { return b.plateau ? b.plateau->get_last_lr() : b.s->get_last_lr(); }
StateDict state_of(const Built& b) { return b.plateau ? b.plateau->state_dict() : b.s->state_dict(); }
void load_into(Built& b, const StateDict& sd) { b.plateau ? b.plateau->load_state_dict(sd) : b.s->load_state_dict(sd); }

struct Fixture {
  std::map<std::string, std::vector<double>> rows;  // "<case>.lr" etc., row-major [kSteps + 1, groups]
  std::string error;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    const json spec = {{"steps", kSteps}, {"groups", groups_spec()}, {"cases", cases()}};
    optimtest::TorchFixture run = optimtest::run_torch_fixture("lr_torch.py", spec.dump());
    out.error = run.error;
    for (auto& [k, t] : run.tensors) {
      Tensor c = t.to(kFloat64).contiguous();
      out.rows[k].assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    }
    return out;
  }();
  return f;
}

bool close(double got, double want) { return got == want || std::fabs(got - want) <= 1e-12 * std::fabs(want); }

class LRSchedulerTorch : public ::testing::TestWithParam<json> {};

TEST_P(LRSchedulerTorch, HundredStepsMatchPyTorch) {
  const Fixture& f = fixture();
  ASSERT_TRUE(f.error.empty()) << f.error;
  const json& c = GetParam();
  const std::string name = c.at("name");
  auto opt = make_sgd();
  Built b = build_case(*opt, c);
  const size_t groups = opt->num_param_groups();
  const std::array<const char*, 3> what = {"lr", "momentum", "last_lr"};
  std::array<const std::vector<double>*, 3> want{};
  for (size_t w = 0; w < 3; ++w) {
    auto it = f.rows.find(name + "." + what[w]);
    ASSERT_TRUE(it != f.rows.end() && it->second.size() == static_cast<size_t>(kSteps + 1) * groups)
        << name << "." << what[w];
    want[w] = &it->second;
  }
  for (int64_t k = 0; k <= kSteps; ++k) {
    if (k > 0) step_case(c, b, k - 1);
    const std::vector<double> last = last_lr(b);
    ASSERT_EQ(last.size(), groups);
    for (size_t g = 0; g < groups; ++g) {
      const std::array<double, 3> got = {opt->lr(g), opt->momentum(g).value(), last[g]};
      for (size_t w = 0; w < 3; ++w)
        ASSERT_TRUE(close(got[w], (*want[w])[static_cast<size_t>(k) * groups + g]))
            << name << ": " << what[w] << " of group " << g << " after " << k << " steps is " << got[w]
            << ", PyTorch's " << (*want[w])[static_cast<size_t>(k) * groups + g];
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<json>& i) { return i.param.at("name"); }
INSTANTIATE_TEST_SUITE_P(LR, LRSchedulerTorch, ::testing::ValuesIn(cases()), case_name);

bool same(const StateDict& a, const StateDict& b) {
  auto eq = [](const auto& x, const auto& y) {
    return x.first == y.first && x.second.dtype() == y.second.dtype() &&
           x.second.template item<double>() == y.second.template item<double>();
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), eq);
}

class LRSchedulerStateDict : public ::testing::TestWithParam<json> {};

// 50 steps, state_dict (through a safetensors file), a fresh optimizer and scheduler load the
// optimizer's and the scheduler's state, then both take 50 more steps: bit-identical lrs, momenta
// and states. (Lambdas are not saved: the fresh scheduler is made with the same ones.)
TEST_P(LRSchedulerStateDict, RoundTripMidRunContinuesIdentically) {
  const json& c = GetParam();
  auto opt = make_sgd(), opt2 = make_sgd();
  Built a = build_case(*opt, c), b = build_case(*opt2, c);
  for (int64_t k = 0; k < kSteps / 2; ++k) step_case(c, a, k);
  nntest::TempDir dir;
  io::save_safetensors(dir.file("sched.safetensors"), state_of(a));
  opt2->load_state_dict(opt->state_dict());
  load_into(b, io::load_safetensors(dir.file("sched.safetensors")));
  EXPECT_TRUE(same(state_of(b), state_of(a)));
  for (int64_t k = kSteps / 2; k < kSteps; ++k) {
    step_case(c, a, k);
    step_case(c, b, k);
    for (size_t g = 0; g < 2; ++g) {
      ASSERT_EQ(opt2->lr(g), opt->lr(g)) << "step " << k;
      ASSERT_EQ(*opt2->momentum(g), *opt->momentum(g)) << "step " << k;
    }
    ASSERT_EQ(last_lr(b), last_lr(a));
  }
  EXPECT_TRUE(same(state_of(b), state_of(a)));
}

INSTANTIATE_TEST_SUITE_P(LR, LRSchedulerStateDict, ::testing::ValuesIn(cases()), case_name);

TEST(LRScheduler, InverseTimeDecayClosedForm) {
  auto opt = make_sgd();
  InverseTimeDecay s(*opt, 0.05);
  for (int64_t t = 0; t <= kSteps; ++t) {
    if (t > 0) s.step();
    EXPECT_EQ(s.last_epoch(), t);
    for (size_t g = 0; g < 2; ++g) {
      const double want = (g ? 0.01 : 0.1) / (1 + 0.05 * static_cast<double>(t));
      ASSERT_TRUE(close(opt->lr(g), want)) << "t " << t << ": " << opt->lr(g) << " vs " << want;
      ASSERT_EQ(s.get_last_lr()[g], opt->lr(g));
    }
  }
  s.step(7);  // the closed form at an explicit epoch
  EXPECT_TRUE(close(opt->lr(0), 0.1 / 1.35));
}

TEST(LRScheduler, LoadStateDictRestoresHyperparameters) {
  auto opt = make_sgd(), opt2 = make_sgd();
  StepLR a(*opt, 3, 0.5), b(*opt2, 7);  // b takes a's step_size and gamma from the state dict
  for (int i = 0; i < 4; ++i) a.step();
  b.load_state_dict(a.state_dict());
  opt2->load_state_dict(opt->state_dict());
  for (int i = 0; i < 2; ++i) a.step(), b.step();
  EXPECT_EQ(b.get_last_lr(), (std::vector<double>{0.1 * 0.25, 0.01 * 0.25}));
}

// PyTorch's initial_lr: the first scheduler on an optimizer records the lrs; later ones take
// their base lrs from it, until no scheduler on that optimizer is left.
TEST(LRScheduler, SchedulersOfOneOptimizerShareTheInitialLrs) {
  auto opt = make_sgd();
  {
    auto warm = std::make_shared<LinearLR>(*opt, LinearLROptions{.start_factor = 0.5});
    EXPECT_EQ(opt->lr(0), 0.05);
    ExponentialLR decay(*opt, 0.9);
    EXPECT_EQ(decay.base_lrs(), (std::vector<double>{0.1, 0.01}));
  }
  // The initial lrs live in the optimizer (PyTorch's param_group["initial_lr"]), not in the
  // schedulers: a scheduler made after the others are gone still starts from them.
  ExponentialLR fresh(*opt, 0.9);
  EXPECT_EQ(fresh.base_lrs(), (std::vector<double>{0.1, 0.01}));
  EXPECT_EQ(opt->initial_lr(1), 0.01);
}

// Adam's beta1 is its momentum: OneCycleLR and CyclicLR cycle it as they cycle SGD's momentum.
TEST(LRScheduler, AdamBeta1CyclesLikeSgdMomentum) {
  auto sgd = make_sgd();
  Adam adam({zeros({3}, kFloat64).requires_grad_()}, {.lr = 0.1});
  adam.add_param_group({{zeros({3}, kFloat64).requires_grad_()}, {.lr = 0.01}});
  const OneCycleLROptions o{.max_lr = 0.5, .total_steps = 30};
  OneCycleLR a(*sgd, o), b(adam, o);
  for (int i = 0; i < 30; ++i) {
    a.step(), b.step();
    ASSERT_EQ(adam.group_options(1).betas.first, *sgd->momentum(1));
    ASSERT_EQ(adam.lr(1), sgd->lr(1));
  }
  CyclicLR c(adam, {.base_lr = 0.001, .max_lr = 0.1, .step_size_up = 4});
  c.step();
  EXPECT_EQ(adam.group_options(0).betas.first, 0.9 - (0.9 - 0.8) * 0.25);
}

void expect_error(const std::function<void()>& f, std::initializer_list<const char*> parts, int line) {
  SCOPED_TRACE("line " + std::to_string(line));
  try {
    f();
    ADD_FAILURE() << "no error, expected one mentioning " << *parts.begin();
  } catch (const Error& e) {
    for (const char* p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}
#define EXPECT_LR_ERROR(stmt, ...) expect_error([&] { stmt; }, {__VA_ARGS__}, __LINE__)

TEST(LRScheduler, BadArgumentsRaise) {
  auto opt = make_sgd(), other = make_sgd();
  Adagrad ada({zeros({3}, kFloat64).requires_grad_()}, {});
  EXPECT_LR_ERROR(LambdaLR(*opt, std::vector<LRLambda>{lambda_named("pow095")}), "LambdaLR", "Expected 2", "got 1");
  EXPECT_LR_ERROR(StepLR(*opt, 0), "StepLR", "step_size", "0");
  EXPECT_LR_ERROR(MultiStepLR(*opt, {30, 10}), "MultiStepLR", "[30, 10]");
  EXPECT_LR_ERROR(ConstantLR(*opt, {.factor = 1.5}), "ConstantLR", "factor", "1.5");
  EXPECT_LR_ERROR(ConstantLR(*opt, {.total_iters = -1}), "ConstantLR", "total_iters", "-1");
  EXPECT_LR_ERROR(LinearLR(*opt, {.start_factor = 0}), "LinearLR", "start_factor", "0");
  EXPECT_LR_ERROR(LinearLR(*opt, {.end_factor = 1.5}), "LinearLR", "end_factor", "1.5");
  EXPECT_LR_ERROR(LinearLR(*opt, {.total_iters = 0}), "LinearLR", "total_iters", "0");
  EXPECT_LR_ERROR(PolynomialLR(*opt, {.total_iters = -2}), "PolynomialLR", "total_iters", "-2");
  EXPECT_LR_ERROR(CosineAnnealingLR(*opt, 0), "CosineAnnealingLR", "T_max", "0");
  EXPECT_LR_ERROR(CosineAnnealingWarmRestarts(*opt, 0), "CosineAnnealingWarmRestarts", "T_0", "0");
  EXPECT_LR_ERROR(CosineAnnealingWarmRestarts(*opt, 5, 0), "CosineAnnealingWarmRestarts", "T_mult", "0");
  EXPECT_LR_ERROR(CosineAnnealingWarmRestarts(*opt, 5).step_to(-1.5), "CosineAnnealingWarmRestarts", "-1.5");
  EXPECT_LR_ERROR(InverseTimeDecay(*opt, -0.5), "InverseTimeDecay", "decay", "-0.5");
  EXPECT_LR_ERROR(CyclicLR(*opt, {.max_lr = 0.1}), "CyclicLR", "base_lr", "required");
  EXPECT_LR_ERROR(CyclicLR(*opt, {.base_lr = 0.01, .max_lr = {0.1, 0.2, 0.3}}), "CyclicLR", "max_lr", "got 3");
  EXPECT_LR_ERROR(CyclicLR(*opt, {.base_lr = 0.01, .max_lr = 0.1, .step_size_up = 0}), "CyclicLR", "step_size_up", "0");
  EXPECT_LR_ERROR(CyclicLR(*opt, {.base_lr = 0.01, .max_lr = 0.1, .mode = static_cast<CyclicMode>(7)}), "CyclicLR",
                  "mode", "7");
  EXPECT_LR_ERROR(CyclicLR(ada, {.base_lr = 0.01, .max_lr = 0.1}), "CyclicLR", "momentum", "Adagrad");
  EXPECT_LR_ERROR(OneCycleLR(*opt, {.max_lr = 0.1}), "OneCycleLR", "total_steps");
  EXPECT_LR_ERROR(OneCycleLR(*opt, {.max_lr = 0.1, .total_steps = 0}), "OneCycleLR", "total_steps", "0");
  EXPECT_LR_ERROR(OneCycleLR(*opt, {.max_lr = 0.1, .epochs = 3, .steps_per_epoch = -1}), "OneCycleLR",
                  "steps_per_epoch", "-1");
  EXPECT_LR_ERROR(OneCycleLR(*opt, {.max_lr = 0.1, .total_steps = 10, .pct_start = 1.5}), "OneCycleLR", "pct_start",
                  "1.5");
  EXPECT_LR_ERROR(OneCycleLR(ada, {.max_lr = 0.1, .total_steps = 10}), "OneCycleLR", "momentum", "Adagrad");
  {  // stepping past total_steps raises, as in PyTorch, and leaves the scheduler as it was
    OneCycleLR s(*opt, {.max_lr = 0.1, .total_steps = 10});
    for (int i = 0; i < 10; ++i) s.step();
    EXPECT_LR_ERROR(s.step(), "OneCycleLR", "Tried to step 12 times", "total steps is 10");
    EXPECT_EQ(s.last_epoch(), 10);
  }
  SchedPtr lin = std::make_shared<LinearLR>(*opt), exp = std::make_shared<ExponentialLR>(*opt, 0.9);
  auto elsewhere = std::make_shared<ExponentialLR>(*other, 0.9);
  EXPECT_LR_ERROR(SequentialLR(*opt, {lin, exp}, {}), "SequentialLR", "2 schedulers and 0 milestones");
  EXPECT_LR_ERROR(SequentialLR(*opt, {lin, exp, lin}, {5, 5}), "SequentialLR", "increasing", "[5, 5]");
  EXPECT_LR_ERROR(SequentialLR(*opt, {lin, elsewhere}, {5}), "SequentialLR", "same optimizer", "scheduler 1");
  EXPECT_LR_ERROR(SequentialLR(*opt, {lin, exp}, {5}).step(3), "SequentialLR", "step(epoch)");
  EXPECT_LR_ERROR(ChainedScheduler(std::vector<SchedPtr>{}), "ChainedScheduler", "none");
  EXPECT_LR_ERROR(ChainedScheduler({lin, elsewhere}), "ChainedScheduler", "same optimizer", "0 and 1");
  EXPECT_LR_ERROR(ReduceLROnPlateau(*opt, {.factor = 1.0}), "ReduceLROnPlateau", "factor", "1");
  EXPECT_LR_ERROR(ReduceLROnPlateau(*opt, {.min_lr = {0.1, 0.2, 0.3}}), "ReduceLROnPlateau", "min_lr", "got 3");
  EXPECT_LR_ERROR(ReduceLROnPlateau(*opt, {.mode = static_cast<PlateauMode>(2)}), "ReduceLROnPlateau", "mode", "2");
}

TEST(LRScheduler, BadStateDictsRaiseAndChangeNothing) {
  auto opt = make_sgd();
  StepLR s(*opt, 3);
  s.step();
  const StateDict good = s.state_dict();
  auto edited = [&](const std::string& drop, const std::string& add = "", const Tensor& value = {}) {
    StateDict sd;
    for (const auto& e : good)
      if (e.first != drop) sd.push_back(e);
    if (!add.empty()) sd.emplace_back(add, value);
    return sd;
  };
  EXPECT_LR_ERROR(s.load_state_dict(edited("gamma")), "StepLR.load_state_dict", "no 'gamma'");
  EXPECT_LR_ERROR(s.load_state_dict(edited("", "surprise", scalar_tensor(1.0, kFloat64))), "StepLR.load_state_dict",
                  "unexpected key 'surprise'");
  EXPECT_LR_ERROR(s.load_state_dict(edited("step_size", "step_size", scalar_tensor(3.0, kFloat64))),
                  "StepLR.load_state_dict", "'step_size'", "i64");
  EXPECT_LR_ERROR(s.load_state_dict(edited("step_size", "step_size", scalar_tensor(int64_t{0}, kInt64))), "StepLR",
                  "step_size", "0");
  EXPECT_LR_ERROR(s.load_state_dict(edited("", "base_lrs.2", scalar_tensor(0.5, kFloat64))), "StepLR.load_state_dict",
                  "base_lrs", "3 entries, expected 2");
  EXPECT_TRUE(same(s.state_dict(), good));  // every failed load left it unchanged
  EXPECT_LR_ERROR(CosineAnnealingLR(*opt, 10).load_state_dict(good), "CosineAnnealingLR.load_state_dict");
}

}  // namespace
}  // namespace hpml
