// What every elementwise .cu file shares: the launch shape (256 threads a block, a grid-stride
// loop over int64 indices), and the C++ type of each Elem. nvcc only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "hpml/core/half.h"  // BFloat16, Half: plain C++17, their conversions __host__ __device__

#include "kernels/cuda/launch.h"

namespace hpml::kernels::cuda {

inline constexpr int kThreads = 256;
inline constexpr int64_t kMaxBlocks = 65535;

inline unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks));
}

// Blocks for kernels that give each block whole rows (`for (row = blockIdx.x; row < rows; row +=
// gridDim.x)`): one per row, up to the grid's limit.
inline unsigned grid_for_rows(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(rows, 0x7fffffff)); }

// for (i over [0, n)) in a grid-stride loop: each thread takes every (threads in the grid)-th.
#define HPML_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < (n); i += int64_t{blockDim.x} * gridDim.x)

// Calls f(T{}) with the C++ type of `e`. The ops layer computes bf16 and f16 in f32, so a 2-byte
// float here is a bug in hpml: it throws rather than launch nothing.
template <typename F>
void with_type(Elem e, F&& f) {
  switch (e) {
    case Elem::f32: return f(float{});
    case Elem::f64: return f(double{});
    case Elem::i64: return f(int64_t{});
    case Elem::i32: return f(int32_t{});
    case Elem::u8: return f(uint8_t{});
    case Elem::b8: return f(bool{});
    case Elem::bf16:
    case Elem::f16: break;
  }
  throw std::logic_error("hpml internal error: a bf16/f16 tensor reached a CUDA kernel that computes");
}

// with_type plus BFloat16 and Half, for the kernels that only move (and cast) values.
template <typename F>
void with_type_or_half(Elem e, F&& f) {
  if (e == Elem::bf16) return f(BFloat16{});
  if (e == Elem::f16) return f(Half{});
  with_type(e, f);
}

// The sum (or max: op) of v over the block's threads, returned to every thread. scratch: one T
// per warp (kThreads / 32) in shared memory. Every thread of the block must call it.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T* scratch) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < warps; ++w) r = op(r, scratch[w]);
  return r;
}

// Calls f(T{}) for f32 and f64 and returns true; false for any other type.
template <typename F>
bool with_float(Elem e, F&& f) {
  if (e == Elem::f32) return f(float{}), true;
  if (e == Elem::f64) return f(double{}), true;
  return false;
}

// Writes v, converted, as an element of type `e` at p (the reductions write any output type).
template <typename A>
__device__ void store_as(Elem e, char* p, A v) {
  switch (e) {
    case Elem::f32: *reinterpret_cast<float*>(p) = static_cast<float>(v); return;
    case Elem::f64: *reinterpret_cast<double*>(p) = static_cast<double>(v); return;
    case Elem::i64: *reinterpret_cast<int64_t*>(p) = static_cast<int64_t>(v); return;
    case Elem::i32: *reinterpret_cast<int32_t*>(p) = static_cast<int32_t>(v); return;
    case Elem::u8: *reinterpret_cast<uint8_t*>(p) = static_cast<uint8_t>(v); return;
    case Elem::b8: *reinterpret_cast<bool*>(p) = v != A(0); return;
    case Elem::bf16: *reinterpret_cast<BFloat16*>(p) = BFloat16(static_cast<float>(v)); return;
    case Elem::f16: *reinterpret_cast<Half*>(p) = Half(static_cast<float>(v)); return;
  }
}

__host__ __device__ inline int elem_size(Elem e) {
  switch (e) {
    case Elem::f32: case Elem::i32: return 4;
    case Elem::f64: case Elem::i64: return 8;
    case Elem::bf16: case Elem::f16: return 2;
    default: return 1;
  }
}

// The first `nd` dims of v as a view of their own (the kept dims of a reduction), and the rest.
inline Strided leading_dims(const Strided& v, int nd) {
  Strided s = v;
  s.ndim = nd;
  return s;
}
inline Strided trailing_dims(const Strided& v, int nd) {
  Strided s;
  s.data = v.data;
  s.ndim = v.ndim - nd;
  for (int d = 0; d < s.ndim; ++d) s.sizes[d] = v.sizes[nd + d], s.strides[d] = v.strides[nd + d];
  return s;
}

}  // namespace hpml::kernels::cuda
