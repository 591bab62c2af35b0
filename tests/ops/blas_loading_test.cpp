// How hpml loads OpenBLAS for its f64 GEMM (Note [Loading OpenBLAS]): the OpenMP flavour, a user's OPENBLAS_CORETYPE
// respected, and on AMD CPUs with AVX-512 the SkylakeX kernels when the user set none. Each case
// re-runs this binary as a child process, since the choice is made once, when OpenBLAS loads.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <hpml/hpml.h>

#include <array>
#include <cstdio>
#include <string>

#include "child_process.h"

namespace hpml {
namespace {

// Child: loads OpenBLAS through hpml and reports which library and kernels it got.
TEST(BlasLoadingChild, DISABLED_Report) {
  // f64: OpenBLAS does hpml's f64 GEMM (f32 goes to oneDNN, Note [Which GEMM]).
  Tensor c = matmul(ones({4, 4}, kFloat64), ones({4, 4}, kFloat64));
  ASSERT_EQ(c[0][0].item<double>(), 4.0);
  void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(h, nullptr);
  auto corename = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename"));
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(corename), &info), 0);
  std::printf("\n[child] core=%s file=%s env=%s\n", corename(), info.dli_fname,
              std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "unset");
}

std::string run_child(const std::string& env) {
  return testing::run_test_in_child(env, "BlasLoadingChild.DISABLED_Report");
}

TEST(BlasLoading, LoadsTheOpenMPFlavour) {
  std::string out = run_child("OPENBLAS_CORETYPE=Haswell");
  EXPECT_NE(out.find("file=/usr/lib/x86_64-linux-gnu/openblas-openmp/"), std::string::npos) << out;
}

TEST(BlasLoading, RespectsTheUsersCoreType) {
  std::string out = run_child("OPENBLAS_CORETYPE=Haswell");
  EXPECT_NE(out.find("[child] core=Haswell"), std::string::npos) << out;
}

TEST(BlasLoading, PicksAvx512KernelsOnAmdWhenTheUserSetNone) {
  __builtin_cpu_init();
  const bool amd_avx512 = __builtin_cpu_is("amd") && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl");
  std::string out = run_child("-u OPENBLAS_CORETYPE");
  if (amd_avx512) {
    EXPECT_NE(out.find("[child] core=SkylakeX"), std::string::npos) << out;
  } else {
    // Not an AMD CPU with AVX-512: OpenBLAS's own detection stands; nothing to check but the load.
    EXPECT_NE(out.find("[child] core="), std::string::npos) << out;
  }
  EXPECT_NE(out.find("env=unset"), std::string::npos) << "hpml must not leave OPENBLAS_CORETYPE set: " << out;
}

}  // namespace
}  // namespace hpml
