// How hpml loads OpenBLAS for its f64 GEMM (Note [Loading OpenBLAS]): the OpenMP flavour, a user's OPENBLAS_CORETYPE
// respected, and on CPUs with AVX-512 the kernels its flags allow when the user set none. Each case
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

// The kernels by CPU flags, whatever the model number OpenBLAS reads: on an AVX-512 CPU the
// child must get Cooperlake (with avx512_bf16) or SkylakeX, not what OpenBLAS guessed.
TEST(BlasLoading, PicksKernelsByCpuFlagsWhenTheUserSetNone) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512cd");
  const std::string want = !avx512 ? "" : __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  EXPECT_EQ(openblas_coretype_for_cpu(), want);
  std::string out = run_child("-u OPENBLAS_CORETYPE");
  if (!want.empty()) {
    EXPECT_NE(out.find("[child] core=" + want + " "), std::string::npos) << out;
  } else {
    std::printf("no AVX-512 on this CPU: OpenBLAS's own choice stands, only the load is checked\n");
    EXPECT_NE(out.find("[child] core="), std::string::npos) << out;
  }
  EXPECT_NE(out.find("env=unset"), std::string::npos) << "hpml must not leave OPENBLAS_CORETYPE set: " << out;
}

}  // namespace
}  // namespace hpml
