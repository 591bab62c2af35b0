// Loads OpenBLAS (OpenMP flavour) with dlopen, choosing its kernels first.
#include "kernels/cpu/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "hpml/core/error.h"
#include "hpml/core/threads.h"

namespace hpml::kernels::cpu::blas {

// Note [Loading OpenBLAS]
// hpml does not link OpenBLAS; it loads it on the first product it does (every f64 one, and f32
// ones up to 64^3: Note [Which GEMM]), for two reasons.
// 1. Kernel choice. Debian builds OpenBLAS for every x86 core and picks kernels at load time
//    from the CPU's model number, and OpenBLAS 0.3.21 misreads CPUs newer than itself: AMD Zen 4
//    gets its Haswell (AVX2) kernels, and some Intel Xeons under KVM get Prescott (SSE3), where
//    sgemm runs at a fifth of its AVX-512 speed. The flags say what the CPU can do whatever its
//    model number, so hpml chooses from them (openblas_coretype_for_cpu): Cooperlake where the CPU
//    has the AVX-512 base and avx512_bf16, SkylakeX where it has the base alone; on CPUs without
//    AVX-512 OpenBLAS's own choice stands (its AVX2 kernels know those models). The choice can only
//    be made through the environment variable OPENBLAS_CORETYPE, read once when the library loads
//    — before any code of a program that links it could set it. So unless the user set
//    OPENBLAS_CORETYPE, hpml sets it for the load and removes it afterwards. scripts/bench gives
//    PyTorch's OpenBLAS the same kernels the same way (Note [A fair PyTorch]).
// 2. Flavour. The OpenMP build shares hpml's thread pool (Note [One thread budget]); hpml loads it
//    by its full path (HPML_OPENBLAS_PATH), as Debian's default libopenblas.so.0 is the pthread build.
// If another library already loaded an OpenBLAS into the process (libtorch in the parity tests),
// dlopen returns that one, and its kernels stay as they were.
namespace {

template <typename F>
F symbol(void* handle, const char* name) {
  void* p = dlsym(handle, name);
  HPML_CHECK(p != nullptr, "OpenBLAS: symbol ", name, " not found: ", dlerror());
  return reinterpret_cast<F>(p);
}

Api load() {
  const std::string core = openblas_coretype_for_cpu();
  const bool set_core = std::getenv("OPENBLAS_CORETYPE") == nullptr && !core.empty();
  if (set_core) setenv("OPENBLAS_CORETYPE", core.c_str(), 0);
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

std::string openblas_coretype_for_cpu() {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512cd");
  if (!avx512) return "";
  return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
}

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
