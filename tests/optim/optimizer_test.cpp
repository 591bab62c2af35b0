// Optimizer mechanics: state-dict round trips in the middle of a run (through safetensors too),
// zero_grad, closures, parameters without gradients, option and state-dict errors, and the
// classical Nesterov form (docs/optim.md; the same trajectory as PyTorch's form, and the T-step test).
#include <gtest/gtest.h>

#include "nn/nn_test_util.h"
#include "optim/optim_test_util.h"

namespace hpml {
namespace {

using optimtest::Case;

bool same(const Tensor& a, const Tensor& b) { return a.sizes() == b.sizes() && eq(a, b).all().item<bool>(); }

class StateDictRoundTrip : public ::testing::TestWithParam<Case> {};

// 10 steps, state_dict, a fresh optimizer on copies of the parameters loads it, then both take 10
// more steps: bit-identical parameters and state. Also through a safetensors file.
TEST_P(StateDictRoundTrip, ContinuesIdenticallyAfterLoad) {
  const Case& c = GetParam();
  TensorList ps = optimtest::make_params(c);
  auto opt = c.make(ps);
  for (int64_t k = 0; k < 10; ++k) {
    optimtest::set_grads(ps, k);
    opt->step();
  }
  const optim::StateDict sd = opt->state_dict();
  nntest::TempDir dir;
  io::NamedTensors named(sd.begin(), sd.end());
  io::save_safetensors(dir.file("opt.safetensors"), named);
  io::NamedTensors loaded = io::load_safetensors(dir.file("opt.safetensors"));
  // Copies of the parameters, each with a fresh optimizer that loads the state dict (directly, or
  // through the file); the original keeps going uninterrupted.
  TensorList direct, via_file;
  for (const Tensor& p : ps) {
    direct.push_back(p.detach().clone().requires_grad_());
    via_file.push_back(p.detach().clone().requires_grad_());
  }
  auto opt_direct = c.make(direct), opt_file = c.make(via_file);
  opt_direct->load_state_dict(sd);
  opt_file->load_state_dict(optim::StateDict(loaded.begin(), loaded.end()));
  for (int64_t k = 10; k < 20; ++k) {
    for (TensorList* run : {&ps, &direct, &via_file}) optimtest::set_grads(*run, k);
    opt->step();
    opt_direct->step();
    opt_file->step();
  }
  const optim::StateDict ref = opt->state_dict();
  for (auto* other : {opt_direct.get(), opt_file.get()}) {
    const optim::StateDict got = other->state_dict();
    ASSERT_EQ(got.size(), ref.size()) << c.name;
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_EQ(got[i].first, ref[i].first);
      EXPECT_TRUE(same(got[i].second.to(kFloat64), ref[i].second.to(kFloat64))) << c.name << ": " << ref[i].first;
    }
  }
  for (size_t j = 0; j < ps.size(); ++j) {
    EXPECT_TRUE(same(direct[j], ps[j])) << c.name << " parameter " << j << " (state dict)";
    EXPECT_TRUE(same(via_file[j], ps[j])) << c.name << " parameter " << j << " (safetensors file)";
  }
}

INSTANTIATE_TEST_SUITE_P(Optim, StateDictRoundTrip, ::testing::ValuesIn(optimtest::all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

TEST(OptimizerBasics, ZeroGradClosureAndParametersWithoutGradients) {
  Tensor a = optimtest::initial_param(4, 0), b = optimtest::initial_param(3, 1);
  const Tensor b0 = b.detach().clone();
  optim::SGD opt({a, b}, {.lr = 0.5});
  a.mutable_grad() = ones({4}, kFloat64);
  opt.step();  // b has no gradient: untouched
  EXPECT_TRUE(same(b, b0));
  opt.zero_grad(false);
  EXPECT_TRUE(same(a.grad(), zeros({4}, kFloat64)));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  // step(closure): the closure runs with grad mode on (even under a NoGradGuard) and its loss is returned.
  NoGradGuard ng;
  Tensor loss = opt.step([&] {
    opt.zero_grad();
    Tensor l = (a * a).sum();
    l.backward();
    return l;
  });
  EXPECT_TRUE(loss.defined());
  EXPECT_TRUE(a.grad().defined());
}

TEST(OptimizerBasics, BadOptionsAndParametersRaiseNamingTheProblem) {
  Tensor p = optimtest::initial_param(3, 0);
  EXPECT_CONTAINS(nntest::error_of([&] { optim::SGD o({p}, {}); }), "SGD: the learning rate must be given");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::Adam o({p}, {.lr = -1}); }), "Adam: invalid learning rate: -1");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::SGD o({p}, {.lr = 0.1, .nesterov = true}); }),
                  "Nesterov momentum requires a momentum and zero dampening");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::Adam o({p}, {.betas = {1.0, 0.999}}); }), "invalid beta parameter at index 0");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::Adadelta o({p}, {.rho = 1.5}); }), "invalid rho value");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::RMSprop o({p}, {.momentum = -0.1}); }), "invalid momentum value");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::SGD o({p, p}, {.lr = 0.1}); }), "more than one parameter group");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::SGD o({p * 2}, {.lr = 0.1}); }), "can't optimize a non-leaf tensor");
  EXPECT_CONTAINS(nntest::error_of([&] { optim::SGD o({}, {.lr = 0.1}); }), "needs at least one parameter");
  optim::SGD o({p}, {.lr = 0.1});
  EXPECT_CONTAINS(nntest::error_of([&] { o.add_param_group({{p}, {.lr = 0.1}}); }), "more than one parameter group");
  p.mutable_grad() = ones({4}, kFloat64);
  EXPECT_CONTAINS(nntest::error_of([&] { o.step(); }), "SGD: the gradient of a f64 parameter of shape [3] is f64 of shape [4]");
}

TEST(OptimizerBasics, LoadStateDictChecksGroupsCountsAndShapes) {
  Tensor a = optimtest::initial_param(3, 0), b = optimtest::initial_param(5, 1);
  optim::Adam one({a}, {});
  a.mutable_grad() = ones({3}, kFloat64);
  one.step();
  optim::Adam two({a}, {});
  two.add_param_group({{b}, {}});
  EXPECT_CONTAINS(nntest::error_of([&] { two.load_state_dict(one.state_dict()); }), "has no parameter group 1");
  Tensor c = optimtest::initial_param(4, 0);
  optim::Adam other({c}, {});
  EXPECT_CONTAINS(nntest::error_of([&] { other.load_state_dict(one.state_dict()); }),
                  "state.0.exp_avg has shape [3] (f64), its parameter 0 has [4] (f64)");
  optim::StateDict bad = one.state_dict();
  bad.emplace_back("momentum", zeros({}));
  EXPECT_CONTAINS(nntest::error_of([&] { one.load_state_dict(bad); }), "unexpected key 'momentum'");
  // Options come back with the state: a changed lr is restored.
  optim::StateDict sd = one.state_dict();
  one.set_lr(0, 0.5);
  one.load_state_dict(sd);
  EXPECT_DOUBLE_EQ(one.lr(0), 1e-3);
}

// The classical form with the gradient at the look-ahead point follows PyTorch's
// Nesterov SGD after the change of variables p = W + momentum V (Note [Classical Nesterov]).
// The loss is a quadratic, so the gradient depends on where it is taken.
TEST(ClassicalNesterov, FollowsPyTorchsNesterovAfterTheChangeOfVariables) {
  const double lr = 0.05, m = 0.9;
  Tensor A = tensor({{2.0, 0.3, 0.0}, {0.3, 1.0, 0.2}, {0.0, 0.2, 0.5}}, kFloat64);
  Tensor target = tensor(std::vector<double>{1.0, -2.0, 0.5}, kFloat64);
  auto grad_at = [&](Tensor& p) {
    p.mutable_grad() = Tensor();
    Tensor d = p - target;
    (d * A.matmul(d)).sum().mul(0.5).backward();  // gradient A (p - target)
  };
  Tensor p = tensor(std::vector<double>{0.3, 0.1, -0.4}, kFloat64).requires_grad_();
  Tensor q = p.detach().clone().requires_grad_();
  optim::SGD torch_form({p}, {.lr = lr, .momentum = m, .nesterov = true});
  optim::ClassicalNesterov classical({q}, {.lr = lr, .momentum = m});
  for (int t = 0; t < 30; ++t) {
    grad_at(p);
    grad_at(q);
    torch_form.step();
    classical.step();
    EXPECT_LT(optimtest::max_rel_diff(q, p), 1e-12) << "step " << t + 1;
    // W = p - m V: the weights are the look-ahead point minus the momentum term.
    EXPECT_LT(optimtest::max_rel_diff(classical.weights(0), q.detach() - classical.velocity(0) * m), 1e-12);
  }
}

// The T-step test: alpha(t) = 0.1 for t < T and 0 from T on. Then V_T = m V_{T-1},
// W_T = W_{T-1} + m V_{T-1} and W_{T+1} = W_{T-1} + (1 + m) V_T.
TEST(ClassicalNesterov, StepSizeZeroFromTOnCoasts) {
  const double m = 0.8;
  const int T = 6;
  Tensor p = tensor(std::vector<double>{1.0, -0.5}, kFloat64).requires_grad_();
  optim::ClassicalNesterov opt({p}, {.lr = 0.1, .momentum = m});
  std::vector<Tensor> W, V;  // after step t (index t), W[0] = start, V[0] = 0
  W.push_back(p.detach().clone());
  V.push_back(zeros({2}, kFloat64));
  for (int t = 1; t <= T + 1; ++t) {
    opt.set_lr(0, t < T ? 0.1 : 0.0);
    p.mutable_grad() = Tensor();
    (p * p * p).sum().backward();  // any gradient that is not zero
    opt.step();
    W.push_back(opt.weights(0).clone());
    V.push_back(opt.velocity(0).clone());
  }
  EXPECT_LT(optimtest::max_rel_diff(V[T], V[T - 1] * m), 1e-14);
  EXPECT_LT(optimtest::max_rel_diff(W[T], W[T - 1] + V[T - 1] * m), 1e-14);
  EXPECT_LT(optimtest::max_rel_diff(W[T + 1], W[T - 1] + V[T] * (1 + m)), 1e-14);
  EXPECT_GT(V[T - 1].abs().sum().item<double>(), 0.1);  // it was moving
}

}  // namespace
}  // namespace hpml
