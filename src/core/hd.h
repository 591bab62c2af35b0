// HPML_HD: a function both the host compiler and nvcc compile, for the few small headers whose
// code runs on the cpu and in CUDA kernels alike (core/philox.h, kernels/random_values.h,
// kernels/cuda/element_ops.h). Those headers are plain C++17 and include no other hpml header.
#pragma once

#ifdef __CUDACC__
#define HPML_HD __host__ __device__ __forceinline__
#else
#define HPML_HD inline
#endif
