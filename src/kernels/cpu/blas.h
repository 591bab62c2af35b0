// OpenBLAS, loaded at first use. See Note [Loading OpenBLAS] in blas.cpp.
#pragma once

#include <cblas.h>

#include <string>

namespace hpml::kernels::cpu::blas {

struct Api {
  decltype(&cblas_sgemm) sgemm;
  decltype(&cblas_dgemm) dgemm;
  void (*set_num_threads)(int);
  char* (*get_corename)();
};

// The OpenBLAS kernels hpml asks for on this CPU, by its flags ("Cooperlake", "SkylakeX"), or ""
// where OpenBLAS's own choice stands (Note [Loading OpenBLAS]).
std::string openblas_coretype_for_cpu();

// The loaded library's functions; throws hpml::Error if OpenBLAS cannot be loaded.
const Api& api();

}  // namespace hpml::kernels::cpu::blas
