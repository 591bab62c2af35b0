// What a CUDA thread computes for each pointwise op (src/kernels/cuda/element_ops.h, compiled
// here as plain C++) against the cpu kernels, element by element: every UnaryOp and BinaryOp on
// f32 and f64, the integer and bool forms, and the strided offsets the kernels index with. Runs in
// every build, with or without CUDA or a GPU: it is the part of the CUDA kernels that can be
// tested on a machine without one (the launches around it are not).
#include <gtest/gtest.h>

#include <cmath>
#include <array>
#include <limits>
#include <string>
#include <vector>

#include "hpml/hpml.h"
#include "kernels/backend.h"
#include "core/philox.h"
#include "kernels/cuda/element_ops.h"
#include "kernels/cuda/optim_ops.h"
#include "kernels/random_values.h"

namespace hpml {
namespace {

namespace kc = kernels::cuda;
using kernels::BinaryOp;
using kernels::UnaryOp;

constexpr double kInf = std::numeric_limits<double>::infinity();
const std::vector<double> kSamples = {-20, -3.5, -1, -0.5, -0.0, 0, 0.25, 0.5, 1, 2, 7.3, 20, 88,
                                      std::nan(""), kInf, -kInf};

// Whether the GPU's value g and the cpu's c agree (NaN with NaN, infinities exactly).
template <typename T>
bool agree(T g, T c) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(g) || std::isnan(c)) return std::isnan(g) && std::isnan(c);
    if (std::isinf(g) || std::isinf(c)) return g == c;
    const double tol = std::is_same_v<T, float> ? 4e-6 : 1e-13;  // the cpu's SIMD exp/log/tanh/erf
    return std::fabs(double(g) - double(c)) <= tol * std::max(1.0, std::fabs(double(c)));
  } else {
    return g == c;
  }
}

template <typename T>
DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return kFloat32;
  else if constexpr (std::is_same_v<T, double>) return kFloat64;
  else if constexpr (std::is_same_v<T, int64_t>) return kInt64;
  else if constexpr (std::is_same_v<T, int32_t>) return kInt32;
  else if constexpr (std::is_same_v<T, uint8_t>) return kUInt8;
  else return kBool;
}

template <typename T>
Tensor tensor_of(const std::vector<T>& v) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, TensorOptions(dtype_of<T>()));
  std::copy(v.begin(), v.end(), static_cast<T*>(t.data_ptr()));
  return t;
}

template <typename T>
std::vector<T> cast_samples(const std::vector<double>& v) {
  std::vector<T> out;
  for (double x : v) out.push_back(static_cast<T>(x));
  return out;
}

// The cpu kernel's unary(op) of xs, next to element_ops' value of each.
template <typename T>
void check_unary(UnaryOp op, const std::vector<T>& xs, kernels::UnaryParams p) {
  const Tensor in = tensor_of(xs), out = empty_like(in);
  kernels::backend(kCPU, "test").unary(op, kernels::view_of(out), kernels::view_of(in), p);
  for (size_t i = 0; i < xs.size(); ++i) {
    const T g = kc::unary_value<T>(static_cast<kc::UOp>(op), xs[i], p.a, p.b);
    const T c = static_cast<const T*>(out.data_ptr())[i];
    EXPECT_TRUE(agree(g, c)) << "unary op " << static_cast<int>(op) << " (a=" << p.a << ", b=" << p.b << ") of "
                             << double(xs[i]) << ": element_ops " << double(g) << ", cpu " << double(c);
  }
}

template <typename T>
void check_binary(BinaryOp op, const std::vector<T>& xs, const std::vector<T>& ys, kernels::BinaryParams p) {
  std::vector<T> a, b;
  for (T x : xs)
    for (T y : ys) a.push_back(x), b.push_back(y);
  const Tensor ta = tensor_of(a), tb = tensor_of(b);
  const bool cmp = kc::is_compare(static_cast<kc::BOp>(op));
  const Tensor out = empty({static_cast<int64_t>(a.size())}, TensorOptions(cmp ? kBool : dtype_of<T>()));
  kernels::backend(kCPU, "test").binary(op, kernels::view_of(out), kernels::view_of(ta), kernels::view_of(tb), p);
  for (size_t i = 0; i < a.size(); ++i) {
    const auto op_c = static_cast<kc::BOp>(op);
    if (cmp) {
      const bool g = kc::compare_value<T>(op_c, a[i], b[i]), c = static_cast<const bool*>(out.data_ptr())[i];
      EXPECT_EQ(g, c) << "compare op " << static_cast<int>(op) << " of " << double(a[i]) << ", " << double(b[i]);
    } else {
      const T g = kc::binary_value<T>(op_c, a[i], b[i], p.alpha, p.a, p.b);
      const T c = static_cast<const T*>(out.data_ptr())[i];
      EXPECT_TRUE(agree(g, c)) << "binary op " << static_cast<int>(op) << " (alpha=" << p.alpha << ", a=" << p.a
                               << ", b=" << p.b << ") of " << double(a[i]) << ", " << double(b[i])
                               << ": element_ops " << double(g) << ", cpu " << double(c);
    }
  }
}

// The parameters each op is tried with (UnaryParams a, b as kernels/backend.h defines them).
std::vector<kernels::UnaryParams> unary_params(UnaryOp op) {
  switch (op) {
    case UnaryOp::leaky_relu: return {{0.01, 0}, {0.2, 0}};
    case UnaryOp::hardtanh: return {{-1, 1}, {0, 6}};
    case UnaryOp::softplus: return {{1, 20}, {2, 5}};
    case UnaryOp::elu: return {{1, 0}, {0.5, 0}};
    case UnaryOp::clamp: return {{-1, 2}, {-kInf, 0.5}, {0.25, kInf}, {3, 1}};
    case UnaryOp::pow: return {{2, 0}, {0.5, 0}, {1, 0}, {-1, 0}, {3, 0}, {1.7, 0}};
    case UnaryOp::gelu: return {{0, 0}, {1, 0}};
    default: return {{0, 0}};
  }
}

template <typename T>
void check_every_float_unary() {
  for (int i = 0; i < static_cast<int>(UnaryOp::kCount); ++i) {
    const auto op = static_cast<UnaryOp>(i);
    if (op == UnaryOp::logical_not) continue;  // bool out: tested below
    for (const kernels::UnaryParams& p : unary_params(op)) check_unary<T>(op, cast_samples<T>(kSamples), p);
  }
}

TEST(CudaElementOps, EveryUnaryOpMatchesTheCpuInFloat32) { check_every_float_unary<float>(); }
TEST(CudaElementOps, EveryUnaryOpMatchesTheCpuInFloat64) { check_every_float_unary<double>(); }

template <typename T>
void check_integer_unary(const std::vector<T>& xs) {
  for (UnaryOp op : {UnaryOp::neg, UnaryOp::abs, UnaryOp::sign, UnaryOp::square, UnaryOp::relu, UnaryOp::floor,
                     UnaryOp::ceil, UnaryOp::round, UnaryOp::trunc})
    check_unary<T>(op, xs, {});
  for (const kernels::UnaryParams& p : unary_params(UnaryOp::clamp)) check_unary<T>(UnaryOp::clamp, xs, p);
  for (double e : {0.0, 1.0, 2.0, 3.0, 7.0, -1.0, -2.0}) check_unary<T>(UnaryOp::pow, xs, {e, 0});
}

TEST(CudaElementOps, IntegerUnaryOpsMatchTheCpuAndWrap) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  check_integer_unary<int64_t>({kMin, -5, -1, 0, 1, 2, 3, 1 << 20, kMax});
  check_integer_unary<int32_t>({std::numeric_limits<int32_t>::min(), -7, -1, 0, 1, 5, 46341, 2147483647});
  check_integer_unary<uint8_t>({0, 1, 2, 15, 16, 200, 255});
}

TEST(CudaElementOps, LogicalNotOfEveryTypeMatchesTheCpu) {
  const Tensor in = tensor_of(std::vector<float>{0, -0.0f, 1, std::nanf(""), -2}), out = empty({5}, TensorOptions(kBool));
  kernels::backend(kCPU, "test").unary(UnaryOp::logical_not, kernels::view_of(out), kernels::view_of(in), {});
  const float* x = static_cast<const float*>(in.data_ptr());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(x[i] == 0.0f, static_cast<const bool*>(out.data_ptr())[i]) << i;
}

std::vector<kernels::BinaryParams> binary_params(BinaryOp op) {
  switch (op) {
    case BinaryOp::add:
    case BinaryOp::sub: return {{1, 0, 0}, {2.5, 0, 0}, {-1, 0, 0}};
    case BinaryOp::leaky_relu_backward: return {{0.01, 0, 0}};
    case BinaryOp::hardtanh_backward: return {{1, -1, 1}};
    case BinaryOp::gelu_backward: return {{1, 0, 0}, {1, 1, 0}};
    case BinaryOp::softplus_backward: return {{1, 1, 20}, {1, 2, 5}};
    case BinaryOp::elu_backward: return {{1, 0, 0}, {0.5, 0, 0}};
    default: return {{1, 0, 0}};
  }
}

template <typename T>
void check_every_float_binary() {
  const std::vector<T> xs = cast_samples<T>(kSamples);
  for (int i = 0; i < static_cast<int>(BinaryOp::kCount); ++i) {
    const auto op = static_cast<BinaryOp>(i);
    for (const kernels::BinaryParams& p : binary_params(op)) check_binary<T>(op, xs, xs, p);
  }
}

TEST(CudaElementOps, EveryBinaryOpMatchesTheCpuInFloat32) { check_every_float_binary<float>(); }
TEST(CudaElementOps, EveryBinaryOpMatchesTheCpuInFloat64) { check_every_float_binary<double>(); }

template <typename T>
void check_integer_binary(const std::vector<T>& xs, const std::vector<T>& nonzero) {
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::maximum, BinaryOp::minimum,
                      BinaryOp::eq, BinaryOp::ne, BinaryOp::lt, BinaryOp::le, BinaryOp::gt, BinaryOp::ge,
                      BinaryOp::logical_and, BinaryOp::logical_or})
    for (const kernels::BinaryParams& p : binary_params(op)) check_binary<T>(op, xs, xs, p);
  for (BinaryOp op : {BinaryOp::div_trunc, BinaryOp::div_floor, BinaryOp::fmod, BinaryOp::remainder})
    check_binary<T>(op, xs, nonzero, {});
  check_binary<T>(BinaryOp::pow, xs, std::vector<T>{0, 1, 2, 3}, {});
}

TEST(CudaElementOps, IntegerBinaryOpsMatchTheCpuAndWrap) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  check_integer_binary<int64_t>({kMin, -7, -1, 0, 1, 3, kMax}, {kMin, -7, -3, -1, 1, 2, 5, kMax});
  check_integer_binary<int32_t>({-2147483647 - 1, -9, -1, 0, 4, 2147483647}, {-4, -1, 1, 3, 2147483647});
  check_integer_binary<uint8_t>({0, 1, 7, 128, 255}, {1, 2, 3, 200, 255});
}

TEST(CudaElementOps, BoolBinaryOpsMatchTheCpu) {
  const std::vector<bool> v = {false, true};
  for (BinaryOp op : {BinaryOp::add, BinaryOp::mul, BinaryOp::eq, BinaryOp::ne, BinaryOp::lt, BinaryOp::ge,
                      BinaryOp::logical_and, BinaryOp::logical_or, BinaryOp::maximum, BinaryOp::minimum}) {
    std::vector<bool> a, b;
    for (bool x : v)
      for (bool y : v) a.push_back(x), b.push_back(y);
    Tensor ta = empty({4}, TensorOptions(kBool)), tb = empty({4}, TensorOptions(kBool));
    for (int i = 0; i < 4; ++i) {
      static_cast<bool*>(ta.data_ptr())[i] = a[static_cast<size_t>(i)];
      static_cast<bool*>(tb.data_ptr())[i] = b[static_cast<size_t>(i)];
    }
    const Tensor out = empty({4}, TensorOptions(kBool));
    kernels::backend(kCPU, "test").binary(op, kernels::view_of(out), kernels::view_of(ta), kernels::view_of(tb), {});
    for (int i = 0; i < 4; ++i) {
      const auto op_c = static_cast<kc::BOp>(op);
      const bool x = a[static_cast<size_t>(i)], y = b[static_cast<size_t>(i)];
      const bool g = kc::is_compare(op_c) ? kc::compare_value<bool>(op_c, x, y) : kc::binary_value<bool>(op_c, x, y, 1, 0, 0);
      EXPECT_EQ(g, static_cast<const bool*>(out.data_ptr())[i]) << "op " << static_cast<int>(op) << " of " << x << ", " << y;
    }
  }
}

// A Strided for a cpu tensor, as cuda_backend.cpp builds it for a GPU one.
kc::Strided strided_of(const Tensor& t) {
  kc::Strided s;
  s.data = static_cast<char*>(t.data_ptr());
  s.ndim = static_cast<int>(t.dim());
  for (int d = 0; d < s.ndim; ++d) s.sizes[d] = t.sizes()[d], s.strides[d] = t.strides()[d];
  return s;
}

TEST(CudaElementOps, StridedOffsetsWalkViewsInRowMajorOrder) {
  const Tensor base = arange(0, 2 * 3 * 4 * 5, 1, kFloat32).reshape({2, 3, 4, 5});
  const std::vector<Tensor> views = {base, base.permute({3, 1, 0, 2}), base.slice(2, 1, 4).transpose(0, 3),
                                     base.select(1, 2).flip({0}), base.slice(3, 0, 5, 2),
                                     base.select(0, 1).unsqueeze(1).expand({3, 2, 4, 5})};
  for (const Tensor& v : views) {
    const kc::Strided s = strided_of(v);
    const Tensor dense = v.contiguous();
    const float* want = static_cast<const float*>(dense.data_ptr());
    const float* data = static_cast<const float*>(v.data_ptr());
    for (int64_t i = 0; i < v.numel(); ++i) ASSERT_EQ(data[kc::offset_of(s, i)], want[i]) << "element " << i;
    EXPECT_EQ(kc::is_dense(s), v.is_contiguous()) << "sizes " << v.sizes();
  }
  EXPECT_TRUE(kc::is_dense(strided_of(ones({3, 1, 4}))));
  EXPECT_FALSE(kc::is_dense(strided_of(ones({3, 1}).expand({3, 4}))));  // a broadcast operand
}

// Three steps of every optimizer, each on a copy of the same parameter and state: the cpu's
// fused kernel against optim_ops' element function (what each CUDA thread runs).
template <typename T>
void check_optimizer(kernels::OptimKind kind, kernels::OptimParams p, int nstates) {
  const int64_t n = 37;
  std::vector<std::vector<T>> cpu(2 + 3), gpu;
  for (int64_t i = 0; i < n; ++i) {
    cpu[0].push_back(static_cast<T>(std::sin(0.3 * double(i)) * 2));        // param
    cpu[1].push_back(static_cast<T>(std::cos(0.7 * double(i)) - 0.2));      // grad
    for (int s = 0; s < 3; ++s) cpu[2 + s].push_back(static_cast<T>(0.1 * (s + 1) + 0.01 * double(i)));
  }
  gpu = cpu;
  for (int step = 0; step < 3; ++step) {
    p.first_step = step == 0;
    std::vector<Tensor> t;
    for (auto& v : cpu) t.push_back(tensor_of(v));
    std::vector<kernels::TensorView> views;
    for (const Tensor& x : t) views.push_back(kernels::view_of(x));
    kernels::backend(kCPU, "test").optim_step(kind, p, views[0], views[1], nstates > 0 ? &views[2] : nullptr,
                                              nstates > 1 ? &views[3] : nullptr, nstates > 2 ? &views[4] : nullptr);
    for (size_t k = 0; k < cpu.size(); ++k)
      std::copy_n(static_cast<const T*>(t[k].data_ptr()), n, cpu[k].begin());
    const kc::OptimArgs o{p.lr, p.weight_decay, p.maximize, p.momentum, p.dampening, p.nesterov, p.first_step, p.eps,
                          p.rho, p.centered, p.beta1, p.beta2, p.step_size, p.bias_correction2_sqrt, p.amsgrad,
                          p.decoupled_weight_decay};
    for (int64_t i = 0; i < n; ++i)
      kc::optim_element<T>(static_cast<kc::Optim>(kind), o, gpu[0].data(), gpu[1].data(),
                           nstates > 0 ? gpu[2].data() : nullptr, nstates > 1 ? gpu[3].data() : nullptr,
                           nstates > 2 ? gpu[4].data() : nullptr, i);
  }
  for (size_t k = 0; k < 2u + static_cast<size_t>(nstates); ++k)
    for (int64_t i = 0; i < n; ++i)
      EXPECT_TRUE(agree(gpu[k][static_cast<size_t>(i)], cpu[k][static_cast<size_t>(i)]))
          << "optimizer " << static_cast<int>(kind) << ", buffer " << k << ", element " << i << ": element_ops "
          << double(gpu[k][static_cast<size_t>(i)]) << ", cpu " << double(cpu[k][static_cast<size_t>(i)]);
}

template <typename T>
void check_every_optimizer() {
  using K = kernels::OptimKind;
  check_optimizer<T>(K::sgd, {.lr = 0.1}, 0);
  check_optimizer<T>(K::sgd, {.lr = 0.1, .weight_decay = 0.01, .maximize = true, .momentum = 0.9, .dampening = 0.1}, 1);
  check_optimizer<T>(K::sgd, {.lr = 0.05, .momentum = 0.9, .nesterov = true}, 1);
  check_optimizer<T>(K::adagrad, {.lr = 0.1, .weight_decay = 0.1, .eps = 1e-10, .step_size = 0.09}, 1);
  check_optimizer<T>(K::adadelta, {.lr = 1.0, .weight_decay = 0.01, .eps = 1e-6, .rho = 0.9}, 2);
  check_optimizer<T>(K::rmsprop, {.lr = 0.01, .eps = 1e-8, .rho = 0.99}, 1);
  check_optimizer<T>(K::rmsprop, {.lr = 0.01, .momentum = 0.5, .eps = 1e-8, .rho = 0.9, .centered = true}, 3);
  check_optimizer<T>(K::adam, {.lr = 0.001, .eps = 1e-8, .beta1 = 0.9, .beta2 = 0.999, .step_size = 0.01,
                               .bias_correction2_sqrt = 0.0316},
                     2);
  check_optimizer<T>(K::adam, {.lr = 0.001, .weight_decay = 0.01, .eps = 1e-8, .beta1 = 0.9, .beta2 = 0.999,
                               .step_size = 0.01, .bias_correction2_sqrt = 0.0316, .amsgrad = true,
                               .decoupled_weight_decay = true},
                     3);
}

TEST(CudaElementOps, EveryOptimizerStepMatchesTheCpusFusedKernel) {
  check_every_optimizer<float>();
  check_every_optimizer<double>();
}

// The CUDA random fills' loop (random.cu: thread j takes counter base + j of the generator's seed,
// after the host reserved the fill's counters) run on the host, against the cpu's fills.
TEST(CudaElementOps, RandomFillsWalkTheCpusCounters) {
  namespace r = kernels::random;
  for (int64_t n : {1, 2, 3, 5, 1001}) {
    Generator cpu(1234), gpu(1234);
    (void)cpu.reserve(7), (void)gpu.reserve(7);  // a generator part-way through its stream
    const Tensor u32 = empty({n}), u64 = empty({n}, TensorOptions(kFloat64)), nrm = empty({n});
    const Tensor ri = empty({n}, TensorOptions(kInt64));
    const kernels::Backend& k = kernels::backend(kCPU, "test");
    k.uniform(kernels::view_of(u32), cpu, -2, 3);
    k.uniform(kernels::view_of(u64), cpu, -2, 3);
    k.normal(kernels::view_of(nrm), cpu, 1, 0.5);
    k.randint(kernels::view_of(ri), cpu, -5, 17);
    auto words = [&](uint64_t c) {
      std::array<uint32_t, 4> w{};
      hpml::detail::philox4x32_10(gpu.initial_seed(), c, w.data());
      return w;
    };
    uint64_t base = gpu.reserve(static_cast<uint64_t>((n + 3) / 4));
    for (int64_t j = 0; 4 * j < n; ++j)
      for (int k4 = 0; k4 < 4 && 4 * j + k4 < n; ++k4)
        ASSERT_EQ(r::uniform_f32(words(base + j).data(), k4, -2.0f, 5.0f), static_cast<const float*>(u32.data_ptr())[4 * j + k4]);
    base = gpu.reserve(static_cast<uint64_t>((n + 1) / 2));
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(r::uniform_f64(words(base + i / 2).data(), int(i % 2), -2, 3), static_cast<const double*>(u64.data_ptr())[i]);
    base = gpu.reserve(static_cast<uint64_t>((n + 1) / 2));
    for (int64_t i = 0; i < n; ++i) {
      double z0 = 0, z1 = 0;
      r::normal_pair(words(base + i / 2).data(), 1, 0.5, &z0, &z1);
      ASSERT_EQ(static_cast<float>(i % 2 ? z1 : z0), static_cast<const float*>(nrm.data_ptr())[i]);
    }
    base = gpu.reserve(static_cast<uint64_t>((n + 1) / 2));
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(r::randint_value(words(base + i / 2).data(), int(i % 2), -5, 22), static_cast<const int64_t*>(ri.data_ptr())[i]);
    EXPECT_EQ(gpu.offset(), cpu.offset());  // the same counters consumed
  }
}

}  // namespace
}  // namespace hpml
