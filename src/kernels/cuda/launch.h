// The seam between the CUDA kernel table (cuda_backend.cpp, C++) and the kernels (*.cu, nvcc):
// plain structs and launch functions, so that nvcc never parses hpml's headers. CUDA builds only.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace hpml::kernels::cuda {

inline constexpr int kMaxDims = 8;

// A strided view on the GPU: sizes and strides in elements (a stride may be 0 or negative).
struct Strided {
  char* data = nullptr;
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

// Element types by the codes of hpml::DType: f32, f64, i64, i32, u8, b8 (bool).
enum class Elem : int { f32, f64, i64, i32, u8, b8 };

// Each queues its kernel on `stream` and returns the launch's error (cudaSuccess or why not).
// out[i] = value, for n elements. value_f is used for floating types, value_i for the others.
cudaError_t launch_fill(const Strided& out, Elem type, double value_f, int64_t value_i, int64_t n, cudaStream_t stream);
// dst[i] = static_cast<dst type>(src[i]) (bool: x != 0), for n elements of equal shapes.
cudaError_t launch_copy(const Strided& dst, Elem dst_type, const Strided& src, Elem src_type, int64_t n,
                        cudaStream_t stream);

}  // namespace hpml::kernels::cuda
