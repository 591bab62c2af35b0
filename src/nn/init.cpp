// nn::init: the initializers, with PyTorch's formulas.
#include "hpml/nn/init.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/error.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"

namespace hpml::nn::init {

namespace {

void check_float(const char* op, const Tensor& t) {
  HPML_CHECK(t.defined(), "init.", op, ": tensor is undefined");
  HPML_CHECK(t.is_floating_point(), "init.", op, ": expected a floating tensor, got ", t.dtype());
}

// Writes `values` (same shape, any layout) into t without recording autograd.
Tensor& assign(Tensor& t, const Tensor& values) {
  NoGradGuard ng;
  t.copy_(values);
  return t;
}

double fan(const Tensor& t, FanMode mode) {
  auto [in, out] = calculate_fan_in_and_fan_out(t);
  return static_cast<double>(mode == FanMode::fan_in ? in : out);
}

// Inverse error function (Giles, "Approximating the erfinv function", 2010), refined by two
// Newton steps to double precision.
double erfinv(double y) {
  if (y <= -1) return -INFINITY;
  if (y >= 1) return INFINITY;
  double w = -std::log((1.0 - y) * (1.0 + y)), x;
  if (w < 6.25) {
    w -= 3.125;
    x = -3.6444120640178196996e-21;
    for (double c : {-1.685059138182016589e-19, 1.2858480715256400167e-18, 1.115787767802518096e-17,
                     -1.333171662854620906e-16, 2.0972767875968561637e-17, 6.6376381343583238325e-15,
                     -4.0545662729752068639e-14, -8.1519341976054721522e-14, 2.6335093153082322977e-12,
                     -1.2975133253453532498e-11, -5.4154120542946279317e-11, 1.051212273321532285e-09,
                     -4.1126339803469836976e-09, -2.9070369957882005086e-08, 4.2347877827932403518e-07,
                     -1.3654692000834678645e-06, -1.3882523362786468719e-05, 0.0001867342080340571352,
                     -0.00074070253416626697512, -0.0060336708714301490533, 0.24015818242558961693,
                     1.6536545626831027356})
      x = c + x * w;
  } else if (w < 16.0) {
    w = std::sqrt(w) - 3.25;
    x = 2.2137376921775787049e-09;
    for (double c : {9.0756561938885390979e-08, -2.7517406297064545428e-07, 1.8239629214389227755e-08,
                     1.5027403968909827627e-06, -4.013867526981545969e-06, 2.9234449089955446044e-06,
                     1.2475304481671778723e-05, -4.7318229009055733981e-05, 6.8284851459573175448e-05,
                     2.4031110387097893999e-05, -0.0003550375203628474796, 0.00095328937973738049703,
                     -0.0016882755560235047313, 0.0024914420961078508066, -0.0037512085075692412107,
                     0.005370914553590063617, 1.0052589676941592334, 3.0838856104922207635})
      x = c + x * w;
  } else {
    w = std::sqrt(w) - 5.0;
    x = -2.7109920616438573243e-11;
    for (double c : {-2.5556418169965252055e-10, 1.5076572693500548083e-09, -3.7894654401267369937e-09,
                     7.6157012080783393804e-09, -1.4960026627149240478e-08, 2.9147953450901080826e-08,
                     -6.7711997758452339498e-08, 2.2900482228026654717e-07, -9.9298272942317002539e-07,
                     4.5260625972231537039e-06, -1.9681778105531670567e-05, 7.5995277030017761139e-05,
                     -0.00021503011930044477347, -0.00013871931833623122026, 1.0103004648645343977,
                     4.8499064014085844221})
      x = c + x * w;
  }
  x *= y;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (2.0 / std::sqrt(M_PI) * std::exp(-x * x));
  return x;
}

}  // namespace

double calculate_gain(std::string_view nl, std::optional<double> param) {
  constexpr std::string_view kLinear[] = {"linear",           "identity",         "sigmoid",         "conv1d", "conv2d",
                                          "conv3d",           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"};
  for (std::string_view name : kLinear)
    if (nl == name) return 1.0;
  if (nl == "tanh") return 5.0 / 3.0;
  if (nl == "relu") return std::sqrt(2.0);
  if (nl == "leaky_relu") {
    double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  if (nl == "selu") return 3.0 / 4.0;
  HPML_FAIL("init.calculate_gain: unsupported nonlinearity '", nl, "'");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  HPML_CHECK(t.defined() && t.dim() >= 2, "init: fan in and fan out can not be computed for a tensor with fewer than "
             "2 dimensions (shape ", t.defined() ? t.sizes() : IntArrayRef(), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.sizes()[d];
  return {t.sizes()[1] * receptive, t.sizes()[0] * receptive};
}

Tensor& uniform_(Tensor& t, double a, double b, Generator* gen) {
  check_float("uniform_", t);
  return assign(t, uniform(t.sizes(), a, b, gen, t.dtype()));
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen) {
  check_float("normal_", t);
  return assign(t, normal(mean, std, t.sizes(), gen, t.dtype()));
}

Tensor& constant_(Tensor& t, const Scalar& value) {
  HPML_CHECK(t.defined(), "init.constant_: tensor is undefined");
  NoGradGuard ng;
  t.fill_(value);
  return t;
}
Tensor& zeros_(Tensor& t) { return constant_(t, 0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1); }

Tensor& eye_(Tensor& t) {
  HPML_CHECK(t.defined() && t.dim() == 2, "init.eye_: only 2-d tensors are supported, got shape ",
             t.defined() ? t.sizes() : IntArrayRef());
  return assign(t, eye(t.sizes()[0], t.sizes()[1], t.dtype()));
}

Tensor& xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  check_float("xavier_uniform_", t);
  auto [in, out] = calculate_fan_in_and_fan_out(t);
  const double a = std::sqrt(3.0) * gain * std::sqrt(2.0 / static_cast<double>(in + out));
  return init::uniform_(t, -a, a, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator* gen) {
  check_float("xavier_normal_", t);
  auto [in, out] = calculate_fan_in_and_fan_out(t);
  return init::normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), gen);
}

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, std::string_view nonlinearity, Generator* gen) {
  check_float("kaiming_uniform_", t);
  const double bound = std::sqrt(3.0) * calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode));
  return init::uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, std::string_view nonlinearity, Generator* gen) {
  check_float("kaiming_normal_", t);
  return init::normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode)), gen);
}

Tensor& trunc_normal_(Tensor& t, double mean, double std, double a, double b, Generator* gen) {
  check_float("trunc_normal_", t);
  HPML_CHECK(std > 0 && a < b, "init.trunc_normal_: expects std > 0 and a < b, got std=", std, ", a=", a, ", b=", b);
  auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double l = cdf((a - mean) / std), u = cdf((b - mean) / std);
  Tensor v = uniform(t.sizes(), 2 * l - 1, 2 * u - 1, gen, kFloat64);
  double* p = v.data_ptr<double>();
  for (int64_t i = 0; i < v.numel(); ++i) p[i] = std::clamp(erfinv(p[i]) * std * std::sqrt(2.0) + mean, a, b);
  return assign(t, v);
}

Tensor& orthogonal_(Tensor& t, double gain, Generator* gen) {
  check_float("orthogonal_", t);
  HPML_CHECK(t.dim() >= 2, "init.orthogonal_: only tensors with 2 or more dimensions are supported, got shape ", t.sizes());
  const int64_t rows = t.sizes()[0], cols = t.numel() / std::max<int64_t>(rows, 1);
  if (t.numel() == 0) return t;
  // QR of a normal matrix with at least as many rows as columns (transposed if needed): the Q of
  // a Householder QR, with signs fixed by R's diagonal so the result is uniformly distributed.
  const bool flip = rows < cols;
  const int64_t m = flip ? cols : rows, n = flip ? rows : cols;
  Tensor a = normal(0.0, 1.0, {m, n}, gen, kFloat64);
  std::vector<double> A(a.data_ptr<double>(), a.data_ptr<double>() + m * n);  // row-major m x n
  std::vector<double> Q(static_cast<size_t>(m * n), 0.0), d(static_cast<size_t>(n));
  std::vector<std::vector<double>> vs;
  for (int64_t k = 0; k < n; ++k) {
    double norm = 0;
    for (int64_t i = k; i < m; ++i) norm += A[i * n + k] * A[i * n + k];
    norm = std::sqrt(norm);
    const double alpha = A[k * n + k] > 0 ? -norm : norm;
    std::vector<double> v(static_cast<size_t>(m), 0.0);
    for (int64_t i = k; i < m; ++i) v[i] = A[i * n + k];
    v[k] -= alpha;
    double vn = 0;
    for (int64_t i = k; i < m; ++i) vn += v[i] * v[i];
    if (vn > 0)
      for (int64_t j = k; j < n; ++j) {  // A := (I - 2 v v^T / v^T v) A
        double s = 0;
        for (int64_t i = k; i < m; ++i) s += v[i] * A[i * n + j];
        s *= 2 / vn;
        for (int64_t i = k; i < m; ++i) A[i * n + j] -= s * v[i];
      }
    d[k] = A[k * n + k];
    vs.push_back(std::move(v));
  }
  // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity.
  for (int64_t j = 0; j < n; ++j) Q[j * n + j] = 1.0;
  for (int64_t k = n - 1; k >= 0; --k) {
    const auto& v = vs[k];
    double vn = 0;
    for (int64_t i = k; i < m; ++i) vn += v[i] * v[i];
    if (vn == 0) continue;
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t i = k; i < m; ++i) s += v[i] * Q[i * n + j];
      s *= 2 / vn;
      for (int64_t i = k; i < m; ++i) Q[i * n + j] -= s * v[i];
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    const double sgn = d[j] < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < m; ++i) Q[i * n + j] *= sgn * gain;
  }
  Tensor q = from_blob(Q.data(), {m, n}, kFloat64).clone();
  if (flip) q = q.t();
  return assign(t, q.reshape(t.sizes()));
}

}  // namespace hpml::nn::init
