// BatchNorm's running statistics over several training steps next to libtorch (momentum 0.1,
// momentum = nullopt (cumulative average), affine = false, track_running_stats = false), eval
// mode on the statistics gathered, the one-value-per-channel error, the identity (gamma
// = sqrt(var + eps), beta = mean gives back the input), and Dropout's train/eval behaviour (its
// random mask differs from libtorch's, so its statistics are checked instead of its values).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parity/nn_parity_util.h"

namespace hpml {
namespace {

namespace tnn = torch::nn;
using nnparity::T;

struct RunningCase {
  std::string name;
  std::function<std::shared_ptr<nn::BatchNormBase>()> make;
  std::function<tnn::AnyModule()> make_torch;
  std::vector<int64_t> shape;
};

template <typename M, typename H, typename TO>
RunningCase running_case(const std::string& name, int64_t c, nn::BatchNormOptions o, TO to, std::vector<int64_t> shape) {
  return {name, [=] { return std::make_shared<M>(c, o); }, [=] { return tnn::AnyModule(H(to)); }, shape};
}

std::vector<RunningCase> running_cases() {
  using BO = nn::BatchNormOptions;
  using O1 = tnn::BatchNorm1dOptions;
  using O2 = tnn::BatchNorm2dOptions;
  using B1 = nn::BatchNorm1d;
  using B2 = nn::BatchNorm2d;
  using T1 = tnn::BatchNorm1d;
  using T2 = tnn::BatchNorm2d;
  std::vector<RunningCase> c;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes1 = {{"NC", {8, 4}}, {"NCL", {4, 4, 6}}};
  for (const auto& [suffix, shape1] : shapes1) {
    c.push_back(running_case<B1, T1>("BatchNorm1d_" + suffix + "_momentum_0_1", 4, BO{}, O1(4), shape1));
    c.push_back(running_case<B1, T1>("BatchNorm1d_" + suffix + "_cumulative", 4, BO{.momentum = std::nullopt},
                                     O1(4).momentum(c10::nullopt), shape1));
    c.push_back(running_case<B1, T1>("BatchNorm1d_" + suffix + "_no_affine", 4, BO{.affine = false}, O1(4).affine(false), shape1));
    c.push_back(running_case<B1, T1>("BatchNorm1d_" + suffix + "_no_running_stats", 4, BO{.track_running_stats = false},
                                     O1(4).track_running_stats(false), shape1));
  }
  const std::vector<int64_t> shape2 = {3, 3, 4, 5};
  c.push_back(running_case<B2, T2>("BatchNorm2d_momentum_0_1", 3, BO{}, O2(3), shape2));
  c.push_back(running_case<B2, T2>("BatchNorm2d_cumulative", 3, BO{.momentum = std::nullopt}, O2(3).momentum(c10::nullopt), shape2));
  c.push_back(running_case<B2, T2>("BatchNorm2d_no_affine", 3, BO{.affine = false}, O2(3).affine(false), shape2));
  c.push_back(running_case<B2, T2>("BatchNorm2d_no_running_stats", 3, BO{.track_running_stats = false},
                                   O2(3).track_running_stats(false), shape2));
  c.push_back(running_case<B2, T2>("BatchNorm2d_cumulative_no_affine_eps", 3, BO{.eps = 1e-2, .momentum = std::nullopt, .affine = false},
                                   O2(3).eps(1e-2).momentum(c10::nullopt).affine(false), shape2));
  return c;
}

// A batch whose per-channel mean and spread differ from step to step.
Tensor batch(const std::vector<int64_t>& shape, int step, Generator& g, DType dt) {
  return randn(shape, &g, dt) * (0.5 + step) + (step % 2 ? -1.5 : 2.0) * step;
}

class BatchNormRunningStats : public ::testing::TestWithParam<RunningCase> {};

TEST_P(BatchNormRunningStats, FiveTrainingStepsThenEvalMatchPyTorch) {
  const RunningCase& c = GetParam();
  constexpr int kSteps = 5;
  for (DType dt : {kFloat32, kFloat64}) {
    const std::string what = c.name + " (" + dtype_name(dt) + ")";
    Generator g(dt == kFloat32 ? 5 : 6);
    std::shared_ptr<nn::BatchNormBase> m = c.make();
    tnn::AnyModule tany = c.make_torch();
    tnn::Module& tm = *tany.ptr();
    m->to(dt);
    nnparity::torch_to(tm, testing::torch_dtype(dt));
    if (m->weight.defined()) {  // random affine parameters, so that they matter
      NoGradGuard ng;
      m->weight.copy_(uniform({m->num_features}, 0.5, 1.5, &g, dt));
      m->bias.copy_(randn({m->num_features}, &g, dt));
    }
    nnparity::copy_state(*m, tm, what);
    auto ts = nnparity::torch_state(tm);
    const bool tracks = m->options.track_running_stats;
    EXPECT_EQ(tracks, ts.count("running_mean") == 1) << what;
    std::vector<torch::Tensor> batch_means, batch_vars;  // computed by libtorch, for the cumulative identity
    for (int step = 1; step <= kSteps; ++step) {
      const std::string at = what + ", training step " + std::to_string(step);
      Tensor x = batch(c.shape, step, g, dt);
      Tensor y = (*m)(x);
      torch::Tensor ty = tany.forward(T(x));
      HPML_EXPECT_PARITY(at + ", output", y, ty, nnparity::fwd_tol(dt));
      std::vector<int64_t> dims = {0};
      for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      batch_means.push_back(T(x).mean(dims));
      batch_vars.push_back(T(x).var(dims, /*unbiased=*/true));
      if (!tracks) continue;
      HPML_EXPECT_PARITY(at + ", running_mean", m->running_mean, ts["running_mean"], nnparity::fwd_tol(dt));
      HPML_EXPECT_PARITY(at + ", running_var", m->running_var, ts["running_var"], nnparity::fwd_tol(dt));
      ASSERT_EQ(m->num_batches_tracked.dtype(), kInt64) << at;
      EXPECT_EQ(m->num_batches_tracked.item<int64_t>(), step) << at << ": num_batches_tracked";
      EXPECT_EQ(ts["num_batches_tracked"].item<int64_t>(), step) << at << ": PyTorch's num_batches_tracked";
    }
    if (tracks && !m->options.momentum) {
      // Cumulative average: the running statistics are the plain averages of the batch statistics.
      torch::Tensor mean_avg = torch::stack(batch_means).mean(0), var_avg = torch::stack(batch_vars).mean(0);
      HPML_EXPECT_PARITY(what + ", running_mean = average of the batch means", m->running_mean, mean_avg, nnparity::fwd_tol(dt));
      HPML_EXPECT_PARITY(what + ", running_var = average of the unbiased batch variances", m->running_var, var_avg,
                         nnparity::fwd_tol(dt));
    }
    // Eval: normalizes with the running statistics (batch statistics without them) and leaves them alone.
    m->eval();
    tm.eval();
    const std::string at = what + ", eval mode";
    Tensor x = batch(c.shape, 7, g, dt).requires_grad_(true);
    torch::Tensor tx = T(x, true);
    Tensor y = (*m)(x);
    torch::Tensor ty = tany.forward(tx);
    HPML_EXPECT_PARITY(at + ", output", y, ty, nnparity::fwd_tol(dt));
    if (tracks) {
      // y = (x - running_mean) / sqrt(running_var + eps) * w + b, computed here with libtorch.
      std::vector<int64_t> view(x.dim(), 1);
      view[1] = m->num_features;
      torch::Tensor want = (T(x) - ts["running_mean"].view(view)) / (ts["running_var"].view(view) + m->options.eps).sqrt();
      if (m->weight.defined()) want = want * T(m->weight).view(view) + T(m->bias).view(view);
      HPML_EXPECT_PARITY(at + ", output from the running statistics", y, want, nnparity::fwd_tol(dt));
      EXPECT_EQ(m->num_batches_tracked.item<int64_t>(), kSteps) << at << ": eval must not count batches";
      HPML_EXPECT_PARITY(at + ", running_mean unchanged", m->running_mean, ts["running_mean"], nnparity::fwd_tol(dt));
    }
    Tensor go = randn(y.sizes(), &g, dt);
    y.backward(go);
    ty.backward(T(go));
    HPML_EXPECT_PARITY(at + ", input gradient", x.grad(), tx.grad(), nnparity::grad_tol(dt));
    if (m->weight.defined()) {
      HPML_EXPECT_PARITY(at + ", weight gradient", m->weight.grad(), ts["weight"].grad(), nnparity::grad_tol(dt));
      HPML_EXPECT_PARITY(at + ", bias gradient", m->bias.grad(), ts["bias"].grad(), nnparity::grad_tol(dt));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(NN, BatchNormRunningStats, ::testing::ValuesIn(running_cases()),
                         [](const ::testing::TestParamInfo<RunningCase>& info) { return info.param.name; });

TEST(BatchNormErrors, OneValuePerChannelInTrainingModeRaisesWithTheInputShape) {
  for (DType dt : {kFloat32, kFloat64}) {
    nn::BatchNorm1d bn(3);
    bn.to(dt);
    Tensor x = randn({1, 3}, dt);
    std::string msg = "<no error>";
    try {
      bn(x);
    } catch (const Error& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("[1, 3]"), std::string::npos) << dtype_name(dt) << ": " << msg;
    tnn::BatchNorm1d tbn(3);
    EXPECT_THROW(tbn->forward(T(x)), c10::Error) << "PyTorch raises too";

    nn::BatchNorm2d bn2(3);
    bn2.to(dt);
    msg = "<no error>";
    try {
      bn2(randn({1, 3, 1, 1}, dt));
    } catch (const Error& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("[1, 3, 1, 1]"), std::string::npos) << dtype_name(dt) << ": " << msg;

    // Eval mode uses the running statistics: one sample is fine, and equals PyTorch.
    nn::BatchNorm1d ev(3);
    ev.to(dt);
    ev.eval();
    tnn::BatchNorm1d tev(3);
    nnparity::torch_to(*tev, testing::torch_dtype(dt));
    tev->eval();
    HPML_EXPECT_PARITY(std::string("BatchNorm1d eval on [1, 3], ") + dtype_name(dt), ev(x), tev->forward(T(x)),
                       nnparity::fwd_tol(dt));
  }
}

// BatchNorm normalizes x to (x - mean) / sqrt(var + eps) and then scales by gamma and
// shifts by beta; with gamma = sqrt(var + eps) and beta = mean (the batch's, computed here with
// libtorch: biased variance) a training-mode BatchNorm gives back its input.
TEST(BatchNormConcept, GammaSqrtVarBetaMeanGivesBackTheInput) {
  for (DType dt : {kFloat32, kFloat64}) {
    for (std::vector<int64_t> shape : {std::vector<int64_t>{16, 4}, {5, 4, 7}, {3, 4, 5, 6}}) {
      Generator g(77);
      Tensor x = randn(shape, &g, dt) * 3.0 + 1.25;
      std::unique_ptr<nn::BatchNormBase> bn;
      if (shape.size() == 4) bn = std::make_unique<nn::BatchNorm2d>(4);
      else bn = std::make_unique<nn::BatchNorm1d>(4);
      bn->to(dt);
      std::vector<int64_t> dims = {0};
      for (size_t d = 2; d < shape.size(); ++d) dims.push_back(static_cast<int64_t>(d));
      torch::Tensor tx = T(x);
      torch::Tensor mean = tx.mean(dims), var = tx.var(dims, /*unbiased=*/false);
      {
        NoGradGuard ng;
        bn->weight.copy_(testing::from_torch((var + bn->options.eps).sqrt()));
        bn->bias.copy_(testing::from_torch(mean));
      }
      Tensor y = (*bn)(x);
      // f32: |x| ~ up to 15, normalizing and undoing it costs a few ulps.
      const nnparity::Tol tol = dt == kFloat64 ? nnparity::Tol{1e-12, 1e-12} : nnparity::Tol{1e-5, 1e-5};
      HPML_EXPECT_PARITY(std::string("BatchNorm gives back its input, ") + dtype_name(dt) + ", shape " +
                             std::to_string(shape.size()) + "-d",
                         y, tx, tol);
    }
  }
}

// ---- Dropout --------------------------------------------------------------------------------
// Checks one train-mode output: each element is 0 or x / (1 - p), and the fraction of zeros is p
// within 5 standard errors sqrt(p (1 - p) / n) of a Bernoulli proportion (a false failure has
// probability < 1e-6; the seeds are fixed anyway).
void expect_dropout_output(const std::string& what, const torch::Tensor& x, const torch::Tensor& y, double p, double rel) {
  torch::Tensor zero = y.eq(0);
  torch::Tensor scaled = x / (1 - p);
  torch::Tensor ok = zero | ((y - scaled).abs() <= rel * scaled.abs());
  EXPECT_TRUE(ok.all().item<bool>()) << what << ": " << (~ok).sum().item<int64_t>()
                                     << " elements are neither 0 nor x / (1 - p)";
  const double n = static_cast<double>(x.numel());
  const double frac = zero.to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(frac, p, 5 * std::sqrt(p * (1 - p) / n)) << what << ": fraction of zeros";
}

TEST(DropoutParity, TrainModeZeroesAboutPAndScalesByOneOverOneMinusPEvalIsIdentity) {
  for (DType dt : {kFloat32, kFloat64}) {
    const double rel = dt == kFloat64 ? 1e-14 : 1e-6;
    for (double p : {0.1, 0.5, 0.8}) {
      const std::string what = "Dropout(p=" + std::to_string(p) + ", " + dtype_name(dt) + ")";
      Generator g(99);
      // |x| >= 1, so that a zero in the output can only come from the mask.
      Tensor x = (rand({400, 500}, &g, dt) + 1.0).requires_grad_(true);
      nn::Dropout d(p);
      tnn::Dropout td(p);
      Tensor y = d(x);
      torch::Tensor tx = T(x, true);
      torch::Tensor ty = td->forward(tx);
      expect_dropout_output(what + ", hpml, train mode", T(x), T(y), p, rel);
      expect_dropout_output(what + ", PyTorch, train mode", tx.detach(), ty.detach(), p, rel);
      // Gradient: the upstream gradient through the same mask, scaled by 1 / (1 - p).
      Tensor go = randn(y.sizes(), &g, dt);
      y.backward(go);
      torch::Tensor want = T(go) * T(y).ne(0).to(T(go).scalar_type()) / (1 - p);
      HPML_EXPECT_PARITY(what + ", train-mode input gradient", x.grad(), want, nnparity::grad_tol(dt));
      // Eval mode: the identity, gradient included, as PyTorch.
      d.eval();
      td->eval();
      x.mutable_grad() = Tensor();
      Tensor ye = d(x);
      HPML_EXPECT_PARITY(what + ", eval-mode output", ye, td->forward(tx), nnparity::Tol{0, 0});
      ye.backward(go);
      HPML_EXPECT_PARITY(what + ", eval-mode input gradient", x.grad(), T(go), nnparity::Tol{0, 0});
    }
    // p = 0 keeps everything, p = 1 drops everything (deterministic: compared with PyTorch).
    Generator g(3);
    Tensor x = randn({50, 40}, &g, dt);
    for (double p : {0.0, 1.0}) {
      nn::Dropout d(p);
      tnn::Dropout td(p);
      HPML_EXPECT_PARITY("Dropout(p=" + std::to_string(p) + ", " + dtype_name(dt) + ", train mode)", d(x),
                         td->forward(T(x)), nnparity::Tol{0, 0});
    }
  }
}

}  // namespace
}  // namespace hpml
