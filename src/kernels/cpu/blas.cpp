// Loads OpenBLAS (OpenMP flavour) with dlopen, choosing its kernels first.
#include "kernels/cpu/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "hpml/core/error.h"
#include "hpml/core/threads.h"

namespace hpml::kernels::cpu::blas {

// Note [Loading OpenBLAS]
// hpml does not link OpenBLAS; it loads it on the first matrix product, for two reasons.
// 1. Kernel choice. Debian builds OpenBLAS for every x86 core and picks kernels at load time
//    from the CPU model. OpenBLAS 0.3.21 does not know AMD Zen 4, so it falls back to its Haswell
//    (AVX2) kernels although the CPU has AVX-512: sgemm runs at ~125 GFLOP/s per core where its
//    SkylakeX (AVX-512) kernels reach ~230 (scripts/bench, matmul group). The choice can only be
//    made through the environment variable OPENBLAS_CORETYPE, read once when the library loads —
//    before any code of a program that links it could set it. So on an AMD CPU with AVX-512,
//    unless the user set OPENBLAS_CORETYPE, hpml sets it to SKYLAKEX for the load and removes it
//    afterwards.
// 2. Flavour. The OpenMP build shares hpml's thread pool (Note [One thread budget]); hpml loads it
//    by its full path (HPML_OPENBLAS_PATH), as Debian's default libopenblas.so.0 is the pthread build.
// If another library already loaded an OpenBLAS into the process (libtorch in the parity tests),
// dlopen returns that one, and its kernels stay as they were.
namespace {

bool amd_with_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_is("amd") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

template <typename F>
F symbol(void* handle, const char* name) {
  void* p = dlsym(handle, name);
  HPML_CHECK(p != nullptr, "OpenBLAS: symbol ", name, " not found: ", dlerror());
  return reinterpret_cast<F>(p);
}

Api load() {
  bool set_core = std::getenv("OPENBLAS_CORETYPE") == nullptr && amd_with_avx512();
  if (set_core) setenv("OPENBLAS_CORETYPE", "SKYLAKEX", 0);
  void* handle = dlopen(HPML_OPENBLAS_PATH, RTLD_NOW | RTLD_GLOBAL);
  if (!handle) handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (set_core) unsetenv("OPENBLAS_CORETYPE");
  HPML_CHECK(handle != nullptr, "cannot load OpenBLAS from ", HPML_OPENBLAS_PATH, ": ", dlerror(),
             "\nhint: install libopenblas0-openmp (scripts/setup does)");
  Api a{symbol<decltype(&cblas_sgemm)>(handle, "cblas_sgemm"), symbol<decltype(&cblas_dgemm)>(handle, "cblas_dgemm"),
        symbol<void (*)(int)>(handle, "openblas_set_num_threads"), symbol<char* (*)()>(handle, "openblas_get_corename")};
  return a;
}

}  // namespace

const Api& api() {
  static const Api a = [] {
    Api loaded = load();
    // From now on set_num_threads sizes OpenBLAS too; start it with the current budget.
    detail::set_blas_threads_hook(loaded.set_num_threads);
    return loaded;
  }();
  return a;
}

}  // namespace hpml::kernels::cpu::blas
