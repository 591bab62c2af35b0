// hpml::build_info(): facts about this build, gathered from the places that know them.
#include "hpml/core/build_info.h"

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <cstdlib>
#include <exception>

#include "hpml/core/cuda.h"
#include "hpml/core/threads.h"
#include "kernels/cpu/blas.h"

#ifndef HPML_VERSION
#define HPML_VERSION "unknown"
#endif
#ifndef HPML_BUILD_TYPE
#define HPML_BUILD_TYPE "unknown"
#endif

namespace hpml {

std::string openblas_coretype_for_cpu() { return kernels::cpu::blas::openblas_coretype_for_cpu(); }

BuildInfo build_info() {
  BuildInfo b;
  b.version = HPML_VERSION;
  b.build_type = HPML_BUILD_TYPE;
#if defined(__clang__)
  b.compiler = std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  b.compiler = "GCC " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
               std::to_string(__GNUC_PATCHLEVEL__);
#else
  b.compiler = "unknown";
#endif
  b.threads = get_num_threads();
  try {
    const auto& api = kernels::cpu::blas::api();
    b.blas = std::string("OpenBLAS (OpenMP), ") + HPML_OPENBLAS_PATH + ", kernels " +
             (api.get_corename ? api.get_corename() : "unknown");
  } catch (const std::exception& e) {
    b.blas = std::string("not loaded: ") + e.what();
  }
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  const std::string mine = openblas_coretype_for_cpu();
  b.blas_choice = user ? std::string("OPENBLAS_CORETYPE=") + user + ", set by the user"
                  : mine.empty() ? std::string("OpenBLAS's own, by the CPU model (no AVX-512)")
                                 : "hpml's, by the CPU's AVX-512 flags: " + mine;
  // The best target compiled in that this CPU supports: the lowest set bit is the best.
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  b.simd_target = targets ? hwy::TargetName(targets & -targets) : "none";
  if (!cuda::is_built()) {
    b.cuda = "not built with CUDA";
  } else {
    const cuda::Versions v = cuda::versions();
    b.cuda = "built with CUDA " + v.toolkit + " (runtime " + v.runtime + ", driver " + v.driver + ")";
    if (!cuda::is_available()) b.cuda += "; no GPU usable: " + cuda::unavailable_reason();
  }
  return b;
}

}  // namespace hpml
