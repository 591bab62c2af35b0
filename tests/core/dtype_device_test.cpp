// DType names/sizes and PyTorch's promote_types table; Device parsing and the "not built with CUDA" errors.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "core/test_helpers.h"

namespace hpml {
namespace {

const DType kAll[] = {kFloat32, kFloat64, kInt64, kInt32, kUInt8, kBool};

TEST(DType, NamesAndSizes) {
  EXPECT_STREQ(dtype_name(kFloat32), "f32");
  EXPECT_STREQ(dtype_name(kFloat64), "f64");
  EXPECT_STREQ(dtype_name(kInt64), "i64");
  EXPECT_STREQ(dtype_name(kInt32), "i32");
  EXPECT_STREQ(dtype_name(kUInt8), "u8");
  EXPECT_STREQ(dtype_name(kBool), "bool");
  std::ostringstream os;
  os << kFloat64 << ',' << kBool;
  EXPECT_EQ(os.str(), "f64,bool");
  EXPECT_EQ(itemsize(kFloat32), 4u);
  EXPECT_EQ(itemsize(kFloat64), 8u);
  EXPECT_EQ(itemsize(kInt64), 8u);
  EXPECT_EQ(itemsize(kInt32), 4u);
  EXPECT_EQ(itemsize(kUInt8), 1u);
  EXPECT_EQ(itemsize(kBool), 1u);
}

TEST(DType, Categories) {
  EXPECT_TRUE(is_floating(kFloat32) && is_floating(kFloat64));
  EXPECT_FALSE(is_floating(kInt64) || is_floating(kBool));
  EXPECT_TRUE(is_integral(kInt64) && is_integral(kInt32) && is_integral(kUInt8));
  EXPECT_FALSE(is_integral(kBool));
  EXPECT_TRUE(is_integral(kBool, /*include_bool=*/true));
  EXPECT_FALSE(is_integral(kFloat32, true));
}

// torch.promote_types for (row, column) in the order f32, f64, i64, i32, u8, bool, written out by hand.
TEST(DType, PromoteTypesMatchesPyTorchTable) {
  const DType F = kFloat32, D = kFloat64, L = kInt64, I = kInt32, B = kUInt8, O = kBool;
  const DType expected[6][6] = {
      /* f32  */ {F, D, F, F, F, F},
      /* f64  */ {D, D, D, D, D, D},
      /* i64  */ {F, D, L, L, L, L},
      /* i32  */ {F, D, L, I, I, I},
      /* u8   */ {F, D, L, I, B, B},
      /* bool */ {F, D, L, I, B, O},
  };
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c)
      EXPECT_EQ(promote_types(kAll[r], kAll[c]), expected[r][c]) << kAll[r] << " x " << kAll[c];
}

TEST(DType, DtypeOfMapsCxxTypes) {
  EXPECT_EQ(dtype_of_v<float>, kFloat32);
  EXPECT_EQ(dtype_of_v<double>, kFloat64);
  EXPECT_EQ(dtype_of_v<int64_t>, kInt64);
  EXPECT_EQ(dtype_of_v<int32_t>, kInt32);
  EXPECT_EQ(dtype_of_v<uint8_t>, kUInt8);
  EXPECT_EQ(dtype_of_v<bool>, kBool);
}

TEST(Device, ParsesValidStrings) {
  Device cpu("cpu");
  EXPECT_TRUE(cpu.is_cpu());
  EXPECT_FALSE(cpu.is_cuda());
  EXPECT_EQ(cpu.str(), "cpu");
  EXPECT_EQ(cpu, kCPU);

  Device cuda("cuda");
  EXPECT_TRUE(cuda.is_cuda());
  EXPECT_EQ(cuda.index(), 0);
  EXPECT_EQ(cuda.str(), "cuda:0");

  Device cuda1("cuda:1");
  EXPECT_TRUE(cuda1.is_cuda());
  EXPECT_EQ(cuda1.index(), 1);
  EXPECT_EQ(cuda1.str(), "cuda:1");
  EXPECT_FALSE(cuda1 == cuda);
  EXPECT_EQ(Device("cuda:12").index(), 12);

  std::ostringstream os;
  os << cuda1;
  EXPECT_EQ(os.str(), "cuda:1");
}

TEST(Device, RejectsBadStrings) {
  for (const char* bad :
       {"", "gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cuda:1a", "cuda 1", "cpux", " cpu", "cuda:1:2"}) {
    SCOPED_TRACE(bad);
    EXPECT_HPML_ERROR(Device(bad), "Device", "invalid device string");
  }
}

// Without a usable GPU, a cuda tensor is refused with the reason: the build has no CUDA, or (a
// CUDA build on a machine without a GPU) the CUDA runtime's own words. tests/cuda/ has the GPU's tests.
TEST(Device, CudaTensorsWithoutAGpuRaiseWhy) {
  if (cuda::is_available()) GTEST_SKIP() << "SKIPPED: this machine has a GPU; tests/cuda/ tests it";
  const char* why = cuda::is_built() ? "has no cuda device" : "not built with CUDA";
  EXPECT_HPML_ERROR(zeros({2}, Device("cuda:0")), why);
  EXPECT_HPML_ERROR((ones({2, 3}, TensorOptions(kFloat64).device(Device("cuda")))), why);
  EXPECT_HPML_ERROR(empty({4}, Device("cuda:1")), why, "cuda:1");
  Tensor x = ones({3});
  EXPECT_HPML_ERROR(x.to(Device("cuda")), why);
  if (cuda::is_built()) {
    EXPECT_HPML_ERROR(zeros({2}, Device("cuda:0")), cuda::unavailable_reason());
  }
  // The cpu device keeps working.
  EXPECT_TRUE(zeros({2}, Device("cpu")).device().is_cpu());
  EXPECT_TRUE(x.to(Device("cpu")).is_same(x));
}

}  // namespace
}  // namespace hpml
