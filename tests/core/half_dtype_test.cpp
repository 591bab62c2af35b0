// bf16 and f16 as tensor dtypes: names, sizes and the rules a PyTorch user expects; what the ops
// that compute do with them (f32 inside, one rounding at the end: Note [Half-precision dtypes]);
// the refusals of the ops that do not take them; and the 2-byte types on the simulated device and
// through safetensors. PyTorch parity (conversions bit for bit, every op) is in
// tests/parity/half_parity_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <hpml/hpml.h>

namespace hpml {
namespace {

const DType kHalves[] = {kBFloat16, kFloat16};

// Same shape and the same values (NaN nowhere), compared on the host.
bool same_values(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && eq(a.cpu(), b.cpu()).all().item<bool>();
}

TEST(HalfDType, NamesSizesAndKinds) {
  EXPECT_STREQ(dtype_name(kBFloat16), "bf16");
  EXPECT_STREQ(dtype_name(kFloat16), "f16");
  for (DType d : kHalves) {
    EXPECT_EQ(itemsize(d), 2u);
    EXPECT_TRUE(is_floating(d));
    EXPECT_TRUE(is_reduced_float(d));
    EXPECT_FALSE(is_integral(d, true));
  }
  EXPECT_FALSE(is_reduced_float(kFloat32));
  EXPECT_EQ(dtype_of_v<BFloat16>, kBFloat16);
  EXPECT_EQ(dtype_of_v<Half>, kFloat16);
  EXPECT_EQ(sizeof(BFloat16), 2u);
  EXPECT_EQ(sizeof(Half), 2u);
}

TEST(HalfDType, KnownBitPatterns) {
  // bf16: 1 = 0x3f80, the largest finite 0x7f7f, 1 + 2^-8 is a tie that rounds to even (1).
  EXPECT_EQ(BFloat16(1.0f).x, 0x3f80);
  EXPECT_EQ(BFloat16(-2.0f).x, 0xc000);
  EXPECT_EQ(BFloat16(1.0f + 0x1p-8f).x, 0x3f80);
  EXPECT_EQ(BFloat16(1.0f + 0x1p-8f + 0x1p-20f).x, 0x3f81);
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::infinity()).x, 0x7f80);
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(std::nanf("")))));
  // f16: 1 = 0x3c00, 65504 the largest finite, 65520 rounds to inf, 2^-24 the smallest subnormal.
  EXPECT_EQ(Half(1.0f).x, 0x3c00);
  EXPECT_EQ(Half(65504.0f).x, 0x7bff);
  EXPECT_EQ(Half(65519.0f).x, 0x7bff);
  EXPECT_EQ(Half(65520.0f).x, 0x7c00);
  EXPECT_EQ(Half(0x1p-24f).x, 0x0001);
  EXPECT_EQ(Half(0x1p-25f).x, 0x0000);  // the tie between 0 and 2^-24 goes to even
  EXPECT_EQ(Half(0x1.8p-25f).x, 0x0001);
  EXPECT_EQ(Half(-0.0f).x, 0x8000);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x0001)), 0x1p-24f);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x03ff)), 0x1.ff8p-15f);
}

TEST(HalfDType, FactoriesItemAndPrinting) {
  for (DType d : kHalves) {
    Tensor t = full({2, 3}, 1.5, TensorOptions(d));
    EXPECT_EQ(t.dtype(), d);
    EXPECT_EQ(t.element_size(), 2u);
    EXPECT_EQ(t.sum().item<double>(), 9.0);
    EXPECT_EQ(arange(0, 5, 1, TensorOptions(d)).sum().item<double>(), 10.0);
    EXPECT_EQ(zeros({4}, TensorOptions(d)).to(kFloat32).abs().sum().item<float>(), 0.0f);
    // 1/3 is stored rounded: bf16 keeps 8 significant bits, f16 11.
    const double third = full({1}, 1.0 / 3, TensorOptions(d)).item<double>();
    EXPECT_EQ(third, d == kBFloat16 ? 0x1.56p-2 : 0x1.554p-2);
    EXPECT_NE(to_string(t).find(std::string("dtype=") + dtype_name(d)), std::string::npos) << to_string(t);
    Tensor r = randn({1000}, TensorOptions(d));
    EXPECT_EQ(r.dtype(), d);
    EXPECT_NEAR(r.to(kFloat32).mean().item<float>(), 0.0f, 0.15f);
  }
}

TEST(HalfDType, ArithmeticPromotesAsPyTorch) {
  Tensor b = ones({3}, TensorOptions(kBFloat16)), h = ones({3}, TensorOptions(kFloat16));
  EXPECT_EQ((b + b).dtype(), kBFloat16);
  EXPECT_EQ((b * 2.5).dtype(), kBFloat16);                            // a float scalar keeps the tensor's dtype
  EXPECT_EQ((b + ones({3}, TensorOptions(kInt64))).dtype(), kBFloat16);  // integers take the float
  EXPECT_EQ((b + h).dtype(), kFloat32);                               // bf16 with f16 gives f32
  EXPECT_EQ((b + ones({3})).dtype(), kFloat32);
  EXPECT_EQ((h + ones({3}, TensorOptions(kFloat64))).dtype(), kFloat64);
  EXPECT_EQ(lt(b, h).dtype(), kBool);
  EXPECT_EQ(exp(ones({2}, TensorOptions(kInt32))).dtype(), kFloat32);
}

// Each op computes in f32 and rounds once: the bf16 sum of [1, 2^-8, 2^-9] is the exact f32 sum
// 1 + 3 * 2^-9 rounded once, to 1 + 2^-7; two bf16 additions would give 1 (1 + 2^-8 ties to the
// even 1, then 1 + 2^-9 rounds down).
TEST(HalfDType, OpsRoundOnceFromF32) {
  Tensor x = tensor(std::vector<double>{1.0, 0x1p-8, 0x1p-9}, TensorOptions(kFloat32));
  EXPECT_EQ(x.to(kBFloat16).sum().item<double>(), 1 + 0x1p-7);
  EXPECT_EQ((x.to(kBFloat16).mean() * 3).item<double>(), 1 + 0x1p-7);
  // matmul: [1, 2^-8, 2^-9] . [1, 1, 1] accumulates in f32.
  Tensor row = x.to(kBFloat16).reshape({1, 3}), col = ones({3, 1}, TensorOptions(kBFloat16));
  EXPECT_EQ(mm(row, col).item<double>(), 1 + 0x1p-7);
  EXPECT_EQ(mm(row, col).dtype(), kBFloat16);
}

TEST(HalfDType, AutogradGivesGradientsOfTheTensorsDtype) {
  for (DType d : kHalves) {
    Tensor w = full({3, 2}, 0.5, TensorOptions(d).requires_grad(true));
    Tensor x = full({4, 3}, 2.0, TensorOptions(d));
    Tensor y = softmax(mm(x, w).tanh(), 1).sum();
    y.backward();
    ASSERT_TRUE(w.grad().defined());
    EXPECT_EQ(w.grad().dtype(), d);
    EXPECT_EQ(w.grad().sizes(), IntArrayRef({3, 2}));
  }
}

TEST(HalfDType, OpsWithoutATwoByteKernelRefuseByName) {
  for (DType d : kHalves) {
    const std::string name = dtype_name(d);
    Tensor x = ones({1, 1, 4, 4}, TensorOptions(d)), w = ones({1, 1, 3, 3}, TensorOptions(d));
    try {
      conv2d(x, w);
      ADD_FAILURE() << "conv2d took " << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("hint"), std::string::npos) << e.what();
    }
  }
}

// What an f16 square or sum would overflow (65504 is f16's largest value) is computed in f32.
TEST(HalfDType, NormsAndNormalizationComputeInF32) {
  Tensor ones16 = ones({65536}, TensorOptions(kFloat16));
  EXPECT_EQ(ones16.norm().item<double>(), 256.0);  // sum of squares 65536: inf in f16
  Tensor big = arange(0, 8, 1, TensorOptions(kFloat16)) * 1000;  // 0 .. 7000: squares overflow
  Tensor y = nn::functional::layer_norm(big.reshape({1, 8}), {8}, Tensor(), Tensor(), 1e-5);
  Tensor ref = nn::functional::layer_norm(big.to(kFloat32).reshape({1, 8}), {8}, Tensor(), Tensor(), 1e-5);
  EXPECT_EQ(y.dtype(), kFloat16);
  EXPECT_TRUE(same_values(y, ref.to(kFloat16))) << to_string(y) << " vs " << to_string(ref);
  // std rounds once: the f32 std of the same values, rounded.
  Tensor b = randn({1000}, TensorOptions(kBFloat16));
  EXPECT_EQ(b.std().item<double>(), b.to(kFloat32).std().to(kBFloat16).item<double>());
}

TEST(HalfDType, RandNeverRoundsUpToHigh) {
  for (DType d : kHalves) {
    Tensor u = rand({200000}, TensorOptions(d));
    EXPECT_LT(u.amax().item<double>(), 1.0) << d;
    EXPECT_GE(u.amin().item<double>(), 0.0) << d;
    // Multiples of 2^-8 (bf16) or 2^-11 (f16), as PyTorch draws them.
    const double scale = d == kBFloat16 ? 256 : 2048;
    Tensor k = u.to(kFloat64) * scale;
    EXPECT_TRUE(same_values(k, floor(k))) << d;
  }
}

TEST(HalfDType, OptimizersRefuseTwoByteParametersWhenMade) {
  Tensor w = zeros({3}, TensorOptions(kBFloat16).requires_grad(true));
  try {
    optim::SGD opt({w}, {.lr = 0.1});
    ADD_FAILURE() << "SGD took a bf16 parameter";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("master"), std::string::npos) << e.what();
  }
}

TEST(HalfDType, ModulesAndTheSimulatedDevice) {
  for (DType d : kHalves) {
    manual_seed(3);
    nn::Linear cpu_layer(5, 4);
    cpu_layer.to(d);
    EXPECT_EQ(cpu_layer.weight.dtype(), d);
    Tensor x = randn({6, 5}, TensorOptions(d));
    Tensor y = cpu_layer.forward(x);
    EXPECT_EQ(y.dtype(), d);
    // The same values on sim:0: the same kernels behind a queue, so the same bits.
    manual_seed(3);
    nn::Linear sim_layer(5, 4);
    sim_layer.to(d);
    sim_layer.to(Device("sim:0"));
    Tensor ys = sim_layer.forward(x.to(Device("sim:0")));
    EXPECT_TRUE(same_values(ys, y)) << to_string(ys.cpu()) << " vs " << to_string(y);
  }
}

TEST(HalfDType, SafetensorsKeepsTheBits) {
  Tensor b = tensor(std::vector<double>{1.0, -2.5, 1.0 / 3, 65504}, TensorOptions(kFloat32));
  io::NamedTensors in = {{"b", b.to(kBFloat16)}, {"h", b.to(kFloat16)}};
  const std::string bytes = io::serialize_safetensors(in);
  EXPECT_NE(bytes.find("\"BF16\""), std::string::npos);
  EXPECT_NE(bytes.find("\"F16\""), std::string::npos);
  io::NamedTensors out = io::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
  ASSERT_EQ(out.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(out[i].second.dtype(), in[i].second.dtype());
    EXPECT_TRUE(same_values(out[i].second, in[i].second));
  }
}

}  // namespace
}  // namespace hpml
