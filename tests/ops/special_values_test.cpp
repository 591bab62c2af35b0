// IEEE special values through the SIMD math (exp/log/tanh/sigmoid on long, strided and transposed inputs, f32
// and f64) and softmax/log_softmax normalisation and stability on extreme inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "core/test_helpers.h"

namespace hpml {
namespace {

using testing::values;

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The same logical values (n of them, cycling through `pattern`) in three layouts: contiguous, every other
// element of a twice-as-long buffer, and a transposed matrix.
std::vector<Tensor> layouts(const std::vector<double>& pattern, int64_t n, DType d) {
  std::vector<double> flat(static_cast<size_t>(n)), strided(static_cast<size_t>(2 * n), 5.0);
  for (int64_t i = 0; i < n; ++i) {
    flat[static_cast<size_t>(i)] = pattern[static_cast<size_t>(i) % pattern.size()];
    strided[static_cast<size_t>(2 * i)] = flat[static_cast<size_t>(i)];
  }
  Tensor c = tensor(flat, d);
  Tensor s = tensor(strided, d).slice(0, 0, 2 * n, 2);
  Tensor t = tensor(flat, d).view({7, n / 7}).t();  // n must be a multiple of 7
  return {c, s, t};
}

const char* layout_name(const Tensor& t) {
  return t.is_contiguous() ? "contiguous" : t.dim() == 1 ? "every other element" : "transposed";
}

std::vector<double> as_doubles(const Tensor& t) {
  if (t.dtype() == kFloat64) return values<double>(t);
  std::vector<double> v;
  for (float x : values<float>(t)) v.push_back(x);
  return v;
}

// out must equal ref(in) element by element: the same NaN / infinity, otherwise within a relative tolerance.
void expect_matches(const Tensor& in, const Tensor& out, const std::function<double(double)>& ref_f32,
                    const std::function<double(double)>& ref_f64) {
  ASSERT_EQ(out.sizes(), in.sizes());
  ASSERT_EQ(out.dtype(), in.dtype());
  const bool f32 = in.dtype() == kFloat32;
  const double tol = f32 ? 4e-7 : 1e-14;
  std::vector<double> x = as_doubles(in), y = as_doubles(out);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = f32 ? ref_f32(x[i]) : ref_f64(x[i]);
    SCOPED_TRACE(::testing::Message() << "element " << i << ", input " << x[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(y[i])) << y[i];
    } else if (std::isinf(want) || want == 0) {
      EXPECT_EQ(y[i], want);
    } else {
      EXPECT_NEAR(y[i], want, tol * std::fabs(want) + (f32 ? 1e-37 : 1e-300));
    }
  }
}

TEST(SpecialValues, ExpOverflowUnderflowNaN) {
  // 88.8 overflows f32 only; 700 and 710 straddle the f64 limit.
  const std::vector<double> pattern = {1000, -1000, 0, kNaN, kInf, -kInf, 1, -2.5, 88.8, 700, 710, -750, 3};
  for (DType d : {kFloat32, kFloat64}) {
    for (const Tensor& x : layouts(pattern, 203, d)) {
      SCOPED_TRACE(::testing::Message() << d << " " << layout_name(x));
      Tensor y = x.exp();
      expect_matches(
          x, y, [](double v) { return static_cast<double>(std::exp(static_cast<float>(v))); },
          [](double v) { return std::exp(v); });
      if (x.dim() != 1) continue;  // the spot checks below index the 1-d layouts
      std::vector<double> yv = as_doubles(y);
      EXPECT_TRUE(std::isinf(yv[0]) && yv[0] > 0) << "exp(1000) = inf";
      EXPECT_EQ(yv[1], 0.0) << "exp(-1000) = 0";
      EXPECT_TRUE(std::isnan(yv[3])) << "exp(nan) = nan";
      EXPECT_EQ(yv[5], 0.0) << "exp(-inf) = 0";
    }
  }
}

TEST(SpecialValues, LogOfZeroNegativeNaN) {
  const std::vector<double> pattern = {0, -0.0, -1, kNaN, kInf, -kInf, 1, 2.5, 1e-30, 1e30, 0.5, -1e-20, 7};
  for (DType d : {kFloat32, kFloat64}) {
    for (const Tensor& x : layouts(pattern, 203, d)) {
      SCOPED_TRACE(::testing::Message() << d << " " << layout_name(x));
      Tensor y = x.log();
      expect_matches(
          x, y, [](double v) { return static_cast<double>(std::log(static_cast<float>(v))); },
          [](double v) { return std::log(v); });
      if (x.dim() != 1) continue;
      std::vector<double> yv = as_doubles(y);
      EXPECT_TRUE(std::isinf(yv[0]) && yv[0] < 0) << "log(0) = -inf";
      EXPECT_TRUE(std::isinf(yv[1]) && yv[1] < 0) << "log(-0) = -inf";
      EXPECT_TRUE(std::isnan(yv[2])) << "log(-1) = nan";
      EXPECT_TRUE(std::isnan(yv[3])) << "log(nan) = nan";
      EXPECT_TRUE(std::isinf(yv[4]) && yv[4] > 0) << "log(inf) = inf";
      EXPECT_TRUE(std::isnan(yv[5])) << "log(-inf) = nan";
    }
  }
}

TEST(SpecialValues, LogOfSubnormalIsFinite) {
  // PyTorch: torch.log(torch.tensor(1e-45)) = -103.2789 (no flush to zero).
  const float tiny = std::numeric_limits<float>::denorm_min();
  std::vector<double> v(128, static_cast<double>(tiny));
  Tensor y = tensor(v, kFloat32).log();
  for (float r : values<float>(y)) ASSERT_NEAR(r, std::log(tiny), 1e-3);
  std::vector<double> vd(128, std::numeric_limits<double>::denorm_min());
  for (double r : values<double>(tensor(vd, kFloat64).log()))
    ASSERT_NEAR(r, std::log(std::numeric_limits<double>::denorm_min()), 1e-9);
}

TEST(SpecialValues, TanhAndSigmoidSaturate) {
  const std::vector<double> pattern = {1000, -1000, kNaN, kInf, -kInf, 0, 0.5, -3, 20, -20, 1e-8, 40, -40, -745};
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (DType d : {kFloat32, kFloat64}) {
    for (const Tensor& x : layouts(pattern, 203, d)) {
      SCOPED_TRACE(::testing::Message() << d << " " << layout_name(x));
      std::vector<double> t = as_doubles(x.tanh()), s = as_doubles(x.sigmoid()), in = as_doubles(x);
      for (size_t i = 0; i < in.size(); ++i) {
        SCOPED_TRACE(::testing::Message() << "input " << in[i]);
        if (std::isnan(in[i])) {
          EXPECT_TRUE(std::isnan(t[i]));
          EXPECT_TRUE(std::isnan(s[i]));
          continue;
        }
        EXPECT_NEAR(t[i], std::tanh(in[i]), d == kFloat32 ? 1e-6 : 1e-14);
        EXPECT_NEAR(s[i], sig(in[i]), d == kFloat32 ? 1e-6 : 1e-14);
        EXPECT_TRUE(t[i] >= -1 && t[i] <= 1);
        EXPECT_TRUE(s[i] >= 0 && s[i] <= 1);
      }
    }
  }
}

// softmax along `dim` of a 2-d tensor, computed in double with plain loops.
std::vector<double> softmax_ref(const std::vector<double>& x, int64_t rows, int64_t cols, int dim, bool log) {
  std::vector<double> out(x.size());
  const int64_t outer = dim == 1 ? rows : cols, inner = dim == 1 ? cols : rows;
  for (int64_t o = 0; o < outer; ++o) {
    auto idx = [&](int64_t k) { return static_cast<size_t>(dim == 1 ? o * cols + k : k * cols + o); };
    double m = -kInf, s = 0;
    for (int64_t k = 0; k < inner; ++k) m = std::max(m, x[idx(k)]);
    for (int64_t k = 0; k < inner; ++k) s += std::exp(x[idx(k)] - m);
    for (int64_t k = 0; k < inner; ++k) out[idx(k)] = log ? x[idx(k)] - m - std::log(s) : std::exp(x[idx(k)] - m) / s;
  }
  return out;
}

TEST(Softmax, RowsSumToOneAndMatchReference) {
  Generator g(9);
  for (int64_t cols : {7, 100, 1000}) {
    for (int dim : {0, 1}) {
      SCOPED_TRACE(::testing::Message() << "cols " << cols << " dim " << dim);
      Tensor x = randn({5, cols}, &g) * 3.0;
      std::vector<double> xv = as_doubles(x);
      std::vector<double> y = as_doubles(x.softmax(dim)), ly = as_doubles(x.log_softmax(dim));
      std::vector<double> ref = softmax_ref(xv, 5, cols, dim, false), lref = softmax_ref(xv, 5, cols, dim, true);
      for (size_t i = 0; i < y.size(); ++i) {
        EXPECT_NEAR(y[i], ref[i], 1e-6);
        EXPECT_NEAR(ly[i], lref[i], 2e-5);
      }
      const int64_t outer = dim == 1 ? 5 : cols, inner = dim == 1 ? cols : 5;
      for (int64_t o = 0; o < outer; ++o) {
        double s = 0;
        for (int64_t k = 0; k < inner; ++k) s += y[static_cast<size_t>(dim == 1 ? o * cols + k : k * cols + o)];
        EXPECT_NEAR(s, 1.0, 1e-5);
      }
    }
  }
  // A non-contiguous input and dim = -1.
  Tensor x = randn({6, 4}, &g).t();  // [4, 6]
  std::vector<double> ref = softmax_ref(as_doubles(x), 4, 6, 1, false), y = as_doubles(x.softmax(-1));
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-6);
}

TEST(Softmax, ExtremeInputsStayFinite) {
  for (DType d : {kFloat32, kFloat64}) {
    for (int64_t cols : {3, 128}) {
      SCOPED_TRACE(::testing::Message() << d << " cols " << cols);
      // Row 0: one 1e4, one -1e4, the rest 0. Row 1: all 1e4. Row 2: all -1e4.
      std::vector<double> v(static_cast<size_t>(3 * cols), 0.0);
      v[0] = 1e4;
      v[1] = -1e4;
      for (int64_t k = 0; k < cols; ++k)
        v[static_cast<size_t>(cols + k)] = 1e4, v[static_cast<size_t>(2 * cols + k)] = -1e4;
      Tensor x = tensor(v, d).view({3, cols});
      std::vector<double> y = as_doubles(x.softmax(1)), ly = as_doubles(x.log_softmax(1));
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_TRUE(std::isfinite(y[i])) << i;
        ASSERT_TRUE(std::isfinite(ly[i])) << i;
      }
      const double uniform = 1.0 / static_cast<double>(cols);
      EXPECT_NEAR(y[0], 1.0, 1e-6);
      EXPECT_EQ(y[1], 0.0);
      EXPECT_NEAR(ly[0], 0.0, 1e-6);
      EXPECT_NEAR(ly[1], -2e4, 1e-2);
      EXPECT_NEAR(ly[2], -1e4, 1e-2);
      for (int64_t k = 0; k < cols; ++k) {
        EXPECT_NEAR(y[static_cast<size_t>(cols + k)], uniform, 1e-6);
        EXPECT_NEAR(y[static_cast<size_t>(2 * cols + k)], uniform, 1e-6);
        EXPECT_NEAR(ly[static_cast<size_t>(2 * cols + k)], -std::log(static_cast<double>(cols)), 1e-5);
      }
    }
  }
  // -inf entries get probability 0; the rest renormalise.
  std::vector<float> y = values<float>(tensor({-static_cast<double>(kInf), 0.0, 0.0}).softmax(0));
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_NEAR(y[1], 0.5f, 1e-7);
}

TEST(Softmax, Errors) {
  EXPECT_HPML_ERROR(tensor({1, 2}).softmax(0), "softmax");
  EXPECT_HPML_ERROR(ones({2, 3}).softmax(2), "softmax", "2");
  EXPECT_EQ(values<float>(ones({3, 1}).softmax(1)), (std::vector<float>{1, 1, 1}));
}

}  // namespace
}  // namespace hpml
