// OpenBLAS, loaded at first use. See Note [Loading OpenBLAS] in blas.cpp.
#pragma once

#include <cblas.h>

namespace hpml::kernels::cpu::blas {

struct Api {
  decltype(&cblas_sgemm) sgemm;
  decltype(&cblas_dgemm) dgemm;
  void (*set_num_threads)(int);
  char* (*get_corename)();
};

// The loaded library's functions; throws hpml::Error if OpenBLAS cannot be loaded.
const Api& api();

}  // namespace hpml::kernels::cpu::blas
