// What this build of hpml is and what it runs on: version, build options, threads, BLAS, SIMD
// target, CUDA (`hpml info` prints it).
#pragma once

#include <string>

namespace hpml {

struct BuildInfo {
  std::string version;      // "0.1.0"
  std::string build_type;   // CMake's build type
  std::string compiler;     // "GCC 12.2.0"
  int threads = 0;          // get_num_threads()
  std::string blas;         // the OpenBLAS library and the kernels it chose, or why it did not load
  std::string blas_choice;  // why those kernels: hpml's choice by CPU flags, the user's, or OpenBLAS's
  std::string simd_target;  // the best Highway target this CPU runs ("AVX3_ZEN4", "AVX2", ...)
  std::string cuda;         // "not built with CUDA" in a CPU build
};

BuildInfo build_info();

// The OpenBLAS kernels hpml asks for on this CPU when the user set no OPENBLAS_CORETYPE:
// "Cooperlake" or "SkylakeX" by the CPU's AVX-512 flags, "" where OpenBLAS's own choice stands
// (Note [Loading OpenBLAS]). scripts/bench gives PyTorch's OpenBLAS the same.
std::string openblas_coretype_for_cpu();

}  // namespace hpml
