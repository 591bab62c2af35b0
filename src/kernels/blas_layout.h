// How a BLAS (OpenBLAS, cuBLAS) can read a rows x cols matrix stored with strides (rs, cs), in
// elements: as it is (row-major, leading dimension rs) or transposed (row-major of the
// transpose, leading dimension cs). Shared by the cpu's and the CUDA backend's batched matmul.
#pragma once

#include <algorithm>
#include <cstdint>

namespace hpml::kernels {

// false if neither stride is 1 (the caller copies the matrix, or takes a strided path).
inline bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool* trans, int64_t* ld) {
  if ((cs == 1 || cols == 1) && (rows == 1 || rs >= std::max<int64_t>(cols, 1))) {
    *trans = false;
    *ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    return true;
  }
  if ((rs == 1 || rows == 1) && (cols == 1 || cs >= std::max<int64_t>(rows, 1))) {
    *trans = true;
    *ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    return true;
  }
  return false;
}

}  // namespace hpml::kernels
