// cuda::versions(): the CUDA runtime, driver and toolkit, and the cuDNN and NCCL libraries found
// on the loader's path, for `hpml info`. CUDA builds only.
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <cstddef>
#include <string>

#include "hpml/core/cuda.h"

namespace hpml::cuda {

namespace {

// CUDA's codes: 1000 * major + 10 * minor (13000 is 13.0).
std::string cuda_version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// cuDNN 9 and NCCL 2.9+: 10000 * major + 100 * minor + patch (91002 is 9.10.2).
std::string library_version(long v) {
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

// Note [cuDNN and NCCL versions by dlopen]
// hpml does not call cuDNN or NCCL yet, so it does not link them (NCCL alone maps 250 MB). `hpml
// info` still says which ones a program here would get: it opens each library by its soname,
// asks the version and leaves it loaded (closing a library that does not unload cleanly is the
// riskier choice, and `hpml info` exits next). A machine without it prints why.
template <typename Ask>
std::string ask_library(const char* soname, const char* symbol, Ask ask) {
  void* lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    return std::string("not found: ") + (why ? why : soname);
  }
  void* fn = dlsym(lib, symbol);
  return fn ? ask(fn) + " (" + soname + ")" : std::string("no ") + symbol + " in " + soname;
}

}  // namespace

Versions versions(bool libraries) {
  Versions v;
  int rt = 0, drv = 0;
  v.runtime = cudaRuntimeGetVersion(&rt) == cudaSuccess ? cuda_version(rt) : "unknown";
  v.driver = cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0 ? cuda_version(drv) : "none";
  v.toolkit = cuda_version(CUDART_VERSION);
  if (!libraries) return v;
  v.cudnn = ask_library("libcudnn.so.9", "cudnnGetVersion", [](void* fn) {
    return library_version(static_cast<long>(reinterpret_cast<size_t (*)()>(fn)()));
  });
  v.nccl = ask_library("libnccl.so.2", "ncclGetVersion", [](void* fn) {
    int code = 0;
    const int rc = reinterpret_cast<int (*)(int*)>(fn)(&code);  // ncclResult_t; 0 is ncclSuccess
    return rc == 0 ? library_version(code) : "ncclGetVersion failed with " + std::to_string(rc);
  });
  return v;
}

}  // namespace hpml::cuda
