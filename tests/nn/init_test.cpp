// nn::init against PyTorch's documented formulas, and PyTorch's default initialization of every
// module: calculate_gain; fans with the receptive field; uniform_/normal_/constant_/zeros_/ones_/
// eye_; xavier_*, kaiming_* (bounds, means, stds, f32 and f64); trunc_normal_ against the closed-form
// truncated-normal moments; orthogonal_ (orthonormal rows or columns times gain, Haar signs);
// errors where PyTorch raises; seeded determinism; no autograd history; and the reset_parameters
// defaults of the modules are in init_modules_test.cpp.
//
// Tolerances. Every statistical check on n draws allows kSE = 6 standard errors: a normal deviate
// beyond 6 has probability 2e-9, so a failure means a wrong formula, not bad luck (and every draw
// comes from a seeded generator, so a run is reproducible). The standard error of a sample mean is
// std/sqrt(n); that of a sample std is std*sqrt((kurtosis - 1)/(4n)), i.e. std/sqrt(2n) for a
// normal (kurtosis 3) and less for a uniform (1.8), with the kurtosis estimated from the sample.
// The expected numbers below are written from PyTorch's formulas, never read back from hpml.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "nn/init_test_util.h"

namespace hpml {
namespace {

using namespace inittest;  // NOLINT: the shared helpers and constants
using init::FanMode;

// ---- calculate_gain and fans ----------------------------------------------------------------

TEST(InitGain, ExactValuesFromPyTorchsTable) {
  for (const char* nl :
       {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"})
    EXPECT_EQ(init::calculate_gain(nl), 1.0) << nl;
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu"), kSqrt2);
  EXPECT_DOUBLE_EQ(init::calculate_gain("selu"), 0.75);
  // leaky_relu: sqrt(2 / (1 + slope^2)), slope 0.01 when not given.
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu"), std::sqrt(2.0 / 1.0001));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", 0.0), kSqrt2);
  EXPECT_DOUBLE_EQ(init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3.0));  // Linear's a
  // PyTorch ignores param for the others.
  EXPECT_DOUBLE_EQ(init::calculate_gain("relu", 0.3), kSqrt2);
  EXPECT_DOUBLE_EQ(init::calculate_gain("tanh", 0.3), 5.0 / 3.0);
}

TEST(InitGain, UnknownNonlinearityRaisesNamingIt) {
  for (const char* nl : {"softmax", "gelu", "Tanh", "RELU", "leaky-relu"}) {
    const std::string msg = error_of([&] { init::calculate_gain(nl); });
    EXPECT_CONTAINS(msg, "unsupported nonlinearity");
    EXPECT_CONTAINS(msg, std::string("'") + nl + "'");
  }
}

// PyTorch knows exactly conv1d/2d/3d and conv_transpose1d/2d/3d; any other "conv..." is a typo it rejects.
TEST(InitGain, OnlyPyTorchsConvNamesAreLinear) {
  for (const char* nl : {"conv", "conv4d", "convolution", "conv_2d"})
    EXPECT_CONTAINS(error_of([&] { init::calculate_gain(nl); }), std::string("'") + nl + "'");
}

TEST(InitFan, InAndOutIncludeTheReceptiveField) {
  auto fan = [](const Shape& s) { return init::calculate_fan_in_and_fan_out(hpml::empty(s)); };
  using P = std::pair<int64_t, int64_t>;
  EXPECT_EQ(fan({7, 3}), P(3, 7));               // Linear [out, in]
  EXPECT_EQ(fan({8, 4, 5}), P(20, 40));          // Conv1d [out, in, k]
  EXPECT_EQ(fan({16, 6, 3, 5}), P(90, 240));     // Conv2d [out, in, kh, kw]
  EXPECT_EQ(fan({2, 3, 4, 5, 6}), P(360, 240));  // Conv3d
}

// PyTorch raises for fans of fewer than 2 dims, for eye_ off 2 dims, for orthogonal_ under 2 dims,
// and for random fills of integer tensors (uniform_/normal_ are not implemented for them).
TEST(InitErrors, WherePyTorchRaises) {
  Tensor v = zeros({5}), s = zeros({}), cube = zeros({2, 3, 4}), i = zeros({4, 4}, kInt64);
  const char* fan = "fewer than 2 dimensions";
  for (Tensor* t : {&v, &s}) {
    EXPECT_CONTAINS(error_of([&] { init::calculate_fan_in_and_fan_out(*t); }), fan);
    EXPECT_CONTAINS(error_of([&] { init::xavier_uniform_(*t); }), fan);
    EXPECT_CONTAINS(error_of([&] { init::xavier_normal_(*t); }), fan);
    EXPECT_CONTAINS(error_of([&] { init::kaiming_uniform_(*t); }), fan);
    EXPECT_CONTAINS(error_of([&] { init::kaiming_normal_(*t, 0, FanMode::fan_out); }), fan);
    EXPECT_CONTAINS(error_of([&] { init::orthogonal_(*t); }), "2 or more dimensions");
    EXPECT_CONTAINS(error_of([&] { init::eye_(*t); }), "2-d");
    // No fan needed: PyTorch accepts any shape.
    EXPECT_EQ(error_of([&] { init::uniform_(*t), init::normal_(*t), init::trunc_normal_(*t); }), "<no error>");
  }
  EXPECT_CONTAINS(error_of([&] { init::eye_(cube); }), "2-d");
  for (auto f : {+[](Tensor& t) { init::uniform_(t); }, +[](Tensor& t) { init::normal_(t); },
                 +[](Tensor& t) { init::xavier_uniform_(t); }, +[](Tensor& t) { init::kaiming_normal_(t); },
                 +[](Tensor& t) { init::trunc_normal_(t); }, +[](Tensor& t) { init::orthogonal_(t); }})
    EXPECT_CONTAINS(error_of([&] { f(i); }), "floating");
  init::constant_(i, 7);  // but constant_ fills any dtype
  EXPECT_EQ(vals(i), std::vector<double>(16, 7.0));
}

// ---- plain fills ----------------------------------------------------------------------------

TEST(InitBasic, UniformBoundsMeanStd) {
  Generator gen(101);
  for (DType dt : {kFloat32, kFloat64})
    for (auto [a, b] : {std::pair{-3.0, 5.0}, std::pair{2.0, 2.5}}) {
      Tensor t = empty({1000, 1000}, dt);
      init::uniform_(t, a, b, &gen);
      expect_uniform(t, a, b, tag(dt, "uniform_(" + std::to_string(a) + ", " + std::to_string(b) + ")"));
    }
}

TEST(InitBasic, NormalMeanStd) {
  Generator gen(102);
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor t = empty({1000, 1000}, dt);
    init::normal_(t, 1.5, 0.25, &gen);
    expect_normal(vals(t), 1.5, 0.25, tag(dt, "normal_(1.5, 0.25)"));
  }
}

TEST(InitBasic, ConstantZerosOnes) {
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor t = empty({3, 4}, dt);
    const double tenth = dt == kFloat32 ? static_cast<double>(0.1f) : 0.1;
    init::constant_(t, 0.1);
    EXPECT_EQ(vals(t), std::vector<double>(12, tenth)) << tag(dt, "constant_");
    init::zeros_(t);
    EXPECT_EQ(vals(t), std::vector<double>(12, 0.0)) << tag(dt, "zeros_");
    init::ones_(t);
    EXPECT_EQ(vals(t), std::vector<double>(12, 1.0)) << tag(dt, "ones_");
  }
}

TEST(InitBasic, EyeIsTheIdentity) {
  for (const Shape& s : {Shape{3, 5}, Shape{5, 3}, Shape{4, 4}}) {
    Tensor t = full(s, 9.0);
    init::eye_(t);
    const std::vector<double> v = vals(t);
    for (int64_t r = 0; r < s[0]; ++r)
      for (int64_t c = 0; c < s[1]; ++c) EXPECT_EQ(v[r * s[1] + c], r == c ? 1.0 : 0.0) << r << "," << c;
  }
}

// In-place on a view writes into its base, as in PyTorch (Embedding's padding row relies on it).
TEST(InitBasic, FillsWriteThroughViews) {
  Tensor base = zeros({4, 6});
  Tensor col = base.select(1, 2);
  init::ones_(col);
  const std::vector<double> v = vals(base);
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(v[i], i % 6 == 2 ? 1.0 : 0.0) << i;

  Generator gen(103);
  Tensor m = zeros({300, 200}, kFloat64), mt = m.t();  // non-contiguous view
  init::uniform_(mt, 1.0, 2.0, &gen);
  expect_uniform(m, 1.0, 2.0, "uniform_ through a transposed view");
}

// ---- xavier and kaiming -----------------------------------------------------------------------

struct FanCase {
  Shape shape;
  double fan_in, fan_out;  // by hand: in * prod(kernel), out * prod(kernel)
};
const std::vector<FanCase> kFanCases = {{{1000, 300}, 300, 1000}, {{96, 48, 3, 5}, 720, 1440}};

// Glorot: std = gain * sqrt(2 / (fan_in + fan_out)); the uniform bound is sqrt(3) std.
TEST(InitXavier, UniformBoundAndNormalStd) {
  Generator gen(201);
  for (DType dt : {kFloat32, kFloat64})
    for (const FanCase& c : kFanCases)
      for (double gain : {1.0, 5.0 / 3.0}) {
        const double std = gain * std::sqrt(2.0 / (c.fan_in + c.fan_out));
        Tensor t = empty(c.shape, dt);
        init::xavier_uniform_(t, gain, &gen);
        expect_uniform(t, -kSqrt3 * std, kSqrt3 * std, tag(dt, "xavier_uniform_ gain " + std::to_string(gain)));
        init::xavier_normal_(t, gain, &gen);
        expect_normal(vals(t), 0.0, std, tag(dt, "xavier_normal_ gain " + std::to_string(gain)));
      }
}

struct KaimingCase {
  double a;
  FanMode mode;
  const char* nonlinearity;
  double gain;  // by hand from PyTorch's table
};
const std::vector<KaimingCase> kKaimingCases = {
    {0.0, FanMode::fan_in, "leaky_relu", kSqrt2},                         // the defaults
    {std::sqrt(5.0), FanMode::fan_in, "leaky_relu", std::sqrt(1.0 / 3)},  // Linear/Conv's choice
    {0.2, FanMode::fan_out, "leaky_relu", std::sqrt(2.0 / 1.04)},
    {0.0, FanMode::fan_out, "relu", kSqrt2},
    {0.0, FanMode::fan_in, "tanh", 5.0 / 3.0},
    {0.0, FanMode::fan_out, "selu", 0.75},
};

std::string kaiming_tag(DType dt, const char* fn, const KaimingCase& k) {
  return tag(dt, std::string(fn) + "(a=" + std::to_string(k.a) + ", " +
                     (k.mode == FanMode::fan_in ? "fan_in" : "fan_out") + ", " + k.nonlinearity + ")");
}

// He: std = gain / sqrt(fan), gain from (nonlinearity, a), fan by mode; the uniform bound is sqrt(3) std.
TEST(InitKaiming, UniformBoundAndNormalStd) {
  Generator gen(203);
  for (DType dt : {kFloat32, kFloat64})
    for (const FanCase& c : kFanCases)
      for (const KaimingCase& k : kKaimingCases) {
        const double std = k.gain / std::sqrt(k.mode == FanMode::fan_in ? c.fan_in : c.fan_out);
        Tensor t = empty(c.shape, dt);
        init::kaiming_uniform_(t, k.a, k.mode, k.nonlinearity, &gen);
        expect_uniform(t, -kSqrt3 * std, kSqrt3 * std, kaiming_tag(dt, "kaiming_uniform_", k));
        init::kaiming_normal_(t, k.a, k.mode, k.nonlinearity, &gen);
        expect_normal(vals(t), 0.0, std, kaiming_tag(dt, "kaiming_normal_", k));
      }
}

// ---- trunc_normal_ ------------------------------------------------------------------------------

TEST(InitTruncNormal, InsideBoundsWithClosedFormMoments) {
  auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi); };
  auto Phi = [](double x) { return 0.5 * std::erfc(-x / kSqrt2); };
  struct Case {
    double mu, sigma, a, b;
  };
  Generator gen(301);
  for (DType dt : {kFloat32, kFloat64})
    for (const Case& c :
         {Case{0, 1, -2, 2}, Case{1, 2, -1, 4}, Case{0, 1, 0, 3}, Case{-0.5, 0.25, -1, -0.25}, Case{0, 1, 2, 4}}) {
      Tensor t = empty({1000, 1000}, dt);
      init::trunc_normal_(t, c.mu, c.sigma, c.a, c.b, &gen);
      const std::string what = tag(dt, "trunc_normal_(" + std::to_string(c.mu) + ", " + std::to_string(c.sigma) + ", " +
                                           std::to_string(c.a) + ", " + std::to_string(c.b) + ")");
      const double al = (c.a - c.mu) / c.sigma, be = (c.b - c.mu) / c.sigma, Z = Phi(be) - Phi(al);
      const double r = (phi(al) - phi(be)) / Z;
      const double mean = c.mu + c.sigma * r;
      const double std = c.sigma * std::sqrt(1 + (al * phi(al) - be * phi(be)) / Z - r * r);
      const std::vector<double> v = vals(t);
      const Stats s = stats(v);
      EXPECT_GE(s.min, c.a) << what;  // a, b are exact in float too
      EXPECT_LE(s.max, c.b) << what;
      // The density at a is phi(alpha)/(sigma Z): the n draws all miss [a, a + d] with probability
      // about exp(-n d phi(alpha)/(sigma Z)), e^-20 for the d below; likewise at b.
      const double n = s.n;
      EXPECT_LT(s.min, c.a + kEdge * c.sigma * Z / (n * phi(al))) << what << ": min not near a";
      EXPECT_GT(s.max, c.b - kEdge * c.sigma * Z / (n * phi(be))) << what << ": max not near b";
      expect_moments(v, mean, std, what);
    }
}

// ---- orthogonal_ --------------------------------------------------------------------------------

// W flattened to [rows, cols]: W W^T = gain^2 I when rows <= cols, else W^T W = gain^2 I. Tolerance:
// Q is built in double (error ~ n * 1e-16, far under 1e-10 * gain^2 for n <= 200); stored as f32,
// each entry moves by at most 2^-24 relative, so each inner product by at most 2 * 2^-24 * gain^2
// (Cauchy-Schwarz), under 1e-6 * gain^2.
TEST(InitOrthogonal, OrthonormalRowsOrColumnsTimesGain) {
  struct Case {
    Shape shape;
    double gain;
  };
  Generator gen(401);
  for (DType dt : {kFloat32, kFloat64})
    for (const Case& c : {Case{{50, 200}, 1.0}, Case{{200, 50}, 2.0}, Case{{64, 16, 3, 3}, kSqrt2}, Case{{40, 40}, 0.5},
                          Case{{8, 1}, 1.0}, Case{{1, 8}, 3.0}}) {
      Tensor t = empty(c.shape, dt);
      init::orthogonal_(t, c.gain, &gen);
      EXPECT_EQ(t.sizes(), IntArrayRef(c.shape));
      const std::vector<double> w = vals(t);
      const int64_t rows = c.shape[0], cols = t.numel() / rows;
      const bool by_rows = rows <= cols;
      const int64_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
      auto at = [&](int64_t vec, int64_t i) { return by_rows ? w[vec * cols + i] : w[i * cols + vec]; };
      const double tol = (dt == kFloat32 ? 1e-6 : 1e-10) * c.gain * c.gain;
      std::string what = tag(dt, "orthogonal_ shape " + std::to_string(rows) + "x" + std::to_string(cols));
      for (int64_t p = 0; p < k; ++p)
        for (int64_t q = 0; q < k; ++q) {
          double dot = 0;
          for (int64_t i = 0; i < len; ++i) dot += at(p, i) * at(q, i);
          ASSERT_NEAR(dot, p == q ? c.gain * c.gain : 0.0, tol) << what << " entry " << p << "," << q;
        }
    }
}

// PyTorch multiplies Q by sign(diag R) so Q is Haar-distributed (uniform on the orthogonal group).
// For a Haar n x n Q, trace(Q) has mean 0 and variance 1 (Diaconis-Shahshahani), so |trace| < 6;
// without the sign fix a Householder Q's diagonal leans negative: trace about -12 for n = 400
// (simulated), which this catches.
TEST(InitOrthogonal, HaarDistributedDiagonal) {
  Generator gen(402);
  for (double gain : {1.0, 3.0}) {
    Tensor t = empty({400, 400}, kFloat64);
    init::orthogonal_(t, gain, &gen);
    const std::vector<double> w = vals(t);
    double trace = 0;
    for (int64_t i = 0; i < 400; ++i) trace += w[i * 400 + i];
    EXPECT_LT(std::fabs(trace / gain), kSE) << "gain " << gain;
  }
  Tensor e = empty({0, 5});
  EXPECT_EQ(error_of([&] { init::orthogonal_(e); }), "<no error>");  // PyTorch: no-op on an empty tensor
}

// ---- determinism and autograd ---------------------------------------------------------------------

// Every initializer, on a [24, 16] tensor (the random ones with the given generator).
using Init = std::function<Tensor&(Tensor&, Generator*)>;
const std::vector<std::pair<std::string, Init>> kRandomInits = {
    {"uniform_", [](Tensor& t, Generator* g) -> Tensor& { return init::uniform_(t, -1, 1, g); }},
    {"normal_", [](Tensor& t, Generator* g) -> Tensor& { return init::normal_(t, 0, 1, g); }},
    {"xavier_uniform_", [](Tensor& t, Generator* g) -> Tensor& { return init::xavier_uniform_(t, 1, g); }},
    {"xavier_normal_", [](Tensor& t, Generator* g) -> Tensor& { return init::xavier_normal_(t, 1, g); }},
    {"kaiming_uniform_",
     [](Tensor& t, Generator* g) -> Tensor& { return init::kaiming_uniform_(t, 0, FanMode::fan_in, "relu", g); }},
    {"kaiming_normal_",
     [](Tensor& t, Generator* g) -> Tensor& { return init::kaiming_normal_(t, 0, FanMode::fan_out, "tanh", g); }},
    {"trunc_normal_", [](Tensor& t, Generator* g) -> Tensor& { return init::trunc_normal_(t, 0, 1, -2, 2, g); }},
    {"orthogonal_", [](Tensor& t, Generator* g) -> Tensor& { return init::orthogonal_(t, 1, g); }},
};
const std::vector<std::pair<std::string, Init>> kFixedInits = {
    {"constant_", [](Tensor& t, Generator*) -> Tensor& { return init::constant_(t, 0.5); }},
    {"zeros_", [](Tensor& t, Generator*) -> Tensor& { return init::zeros_(t); }},
    {"ones_", [](Tensor& t, Generator*) -> Tensor& { return init::ones_(t); }},
    {"eye_", [](Tensor& t, Generator*) -> Tensor& { return init::eye_(t); }},
};

TEST(InitDeterminism, SeededGeneratorReproducesEveryRandomInit) {
  for (const auto& [name, fill] : kRandomInits) {
    Generator g1(77), g2(77), g3(78);
    Tensor a = empty({24, 16}), b = empty({24, 16}), c = empty({24, 16}), d = empty({24, 16});
    fill(a, &g1);
    fill(b, &g2);
    fill(c, &g3);
    fill(d, &g1);
    EXPECT_EQ(vals(a), vals(b)) << name << ": same seed, same values";
    EXPECT_NE(vals(a), vals(c)) << name << ": another seed, other values";
    EXPECT_NE(vals(a), vals(d)) << name << ": the generator advances";
  }
}

// Each default argument is PyTorch's: from the same manual_seed, the call with defaults draws
// exactly what the call spelling out PyTorch's defaults draws (whose formulas are tested above).
TEST(InitDeterminism, DefaultsArePyTorchsAndFollowManualSeed) {
  using Fill = std::function<void(Tensor&)>;
  const std::vector<std::tuple<std::string, Fill, Fill>> pairs = {
      // on [40, 30]: fan_in 30, fan_out 40
      {"uniform_", [](Tensor& t) { init::uniform_(t); }, [](Tensor& t) { init::uniform_(t, 0, 1); }},
      {"normal_", [](Tensor& t) { init::normal_(t); }, [](Tensor& t) { init::normal_(t, 0, 1); }},
      {"xavier_uniform_", [](Tensor& t) { init::xavier_uniform_(t); },
       [](Tensor& t) { init::uniform_(t, -std::sqrt(6.0 / 70), std::sqrt(6.0 / 70)); }},
      {"xavier_normal_", [](Tensor& t) { init::xavier_normal_(t); },
       [](Tensor& t) { init::normal_(t, 0, std::sqrt(2.0 / 70)); }},
      {"kaiming_uniform_", [](Tensor& t) { init::kaiming_uniform_(t); },
       [](Tensor& t) { init::uniform_(t, -std::sqrt(6.0 / 30), std::sqrt(6.0 / 30)); }},
      {"kaiming_normal_", [](Tensor& t) { init::kaiming_normal_(t); },
       [](Tensor& t) { init::normal_(t, 0, std::sqrt(2.0 / 30)); }},
      {"trunc_normal_", [](Tensor& t) { init::trunc_normal_(t); },
       [](Tensor& t) { init::trunc_normal_(t, 0, 1, -2, 2); }},
      {"orthogonal_", [](Tensor& t) { init::orthogonal_(t); }, [](Tensor& t) { init::orthogonal_(t, 1); }},
  };
  for (const auto& [name, with_defaults, spelled_out] : pairs) {
    Tensor a = empty({40, 30}), b = empty({40, 30});
    manual_seed(9);
    with_defaults(a);
    manual_seed(9);
    spelled_out(b);
    // Equal up to the rounding of a bound or std computed two ways (then stored as f32).
    nntest::expect_near(vals(a), vals(b), 1e-6, 0, name);
  }
  manual_seed(5);
  nn::Linear l1(20, 30);
  manual_seed(5);
  nn::Linear l2(20, 30);
  EXPECT_EQ(vals(l1.weight), vals(l2.weight));
  EXPECT_EQ(vals(l1.bias), vals(l2.bias));
}

// nn.init runs under no_grad: a leaf that requires grad stays one, with no grad_fn, its version
// bumped, grad mode untouched, and it still collects gradients afterwards.
TEST(InitAutograd, NoHistoryOnALeafThatRequiresGrad) {
  for (const auto* inits : {&kFixedInits, &kRandomInits})
    for (const auto& [name, fill] : *inits) {
      Tensor w = zeros({24, 16});
      w.requires_grad_();
      const uint32_t v0 = w.version();
      Tensor& r = fill(w, nullptr);
      EXPECT_EQ(&r, &w) << name << " returns its argument";
      EXPECT_TRUE(w.is_leaf()) << name;
      EXPECT_TRUE(w.requires_grad()) << name;
      EXPECT_EQ(w.grad_fn(), nullptr) << name;
      EXPECT_GT(w.version(), v0) << name;
      EXPECT_TRUE(autograd::GradMode::is_enabled()) << name;
      (w * 3.0).sum().backward();
      ASSERT_TRUE(w.grad().defined()) << name;
      EXPECT_EQ(vals(w.grad()), std::vector<double>(24 * 16, 3.0)) << name;
    }
}

}  // namespace
}  // namespace hpml
