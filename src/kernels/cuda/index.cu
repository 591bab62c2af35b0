// CUDA indexing kernels: index_select, gather, scatter (and scatter_add), index_add and
// masked_select. Index values are bounds-checked by the op before a kernel runs (on the device,
// by an amin/amax read back once); the kernels only move data. Repeated indices of the adding
// kernels meet in atomics; scatter without add, like PyTorch's, keeps one of the writes.
// Status: compiled, not yet run on a GPU.
#include <cub/device/device_scan.cuh>

#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

// The coordinates of element e of a view of `shape`, folded into offsets of two views at once:
// a's with its strides, b's with its strides except along `dim`, where b's coordinate is
// *b_coord_at_dim (the caller fills it in from the index). Returns a's offset; b's offset
// without `dim` goes to *b_off and the coordinate along `dim` to *at_dim.
__device__ int64_t split_offsets(const Strided& shape_a, const int64_t* b_strides, int dim, int64_t e, int64_t* b_off,
                                 int64_t* at_dim) {
  int64_t oa = 0, ob = 0;
  for (int d = shape_a.ndim - 1; d >= 0; --d) {
    const int64_t c = e % shape_a.sizes[d];
    e /= shape_a.sizes[d];
    oa += c * shape_a.strides[d];
    if (d == dim) *at_dim = c;
    else ob += c * b_strides[d];
  }
  *b_off = ob;
  return oa;
}

// x += v without a lost update when threads collide: the hardware's atomicAdd where it has one,
// a compare-and-swap on the enclosing 32-bit word for 1-byte types.
template <typename T>
__device__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t>) {
    atomicAdd(p, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));  // wraps like int64
  } else {  // uint8_t, bool
    auto* word = reinterpret_cast<unsigned int*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t{3});
    const unsigned shift = (reinterpret_cast<uintptr_t>(p) & 3) * 8;
    unsigned int old = *word, assumed = 0;
    do {
      assumed = old;
      const T cur = static_cast<T>((assumed >> shift) & 0xffu);
      const T next = std::is_same_v<T, bool> ? static_cast<T>(cur || v) : static_cast<T>(cur + v);
      const unsigned int repl = (assumed & ~(0xffu << shift)) | (static_cast<unsigned int>(next) << shift);
      old = atomicCAS(word, assumed, repl);
    } while (old != assumed);
  }
}

// out[..i at dim..] = in[..index[i] at dim..]; e over out's elements.
template <typename T>
__global__ void index_select_kernel(Strided out, Strided in, int dim, const int64_t* index, int64_t ist, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    int64_t in_off = 0, i = 0;
    const int64_t o = split_offsets(out, in.strides, dim, e, &in_off, &i);
    in_off += index[i * ist] * in.strides[dim];
    reinterpret_cast<T*>(out.data)[o] = reinterpret_cast<const T*>(in.data)[in_off];
  }
}

// out[..c..] = in[..index[..c..] at dim..]; e over the index's (= out's) elements.
template <typename T>
__global__ void gather_kernel(Strided out, Strided in, Strided index, int dim, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t o = offset_of(out, e), k = reinterpret_cast<const int64_t*>(index.data)[offset_of(index, e)];
    int64_t in_off = 0, c = 0;
    split_offsets(index, in.strides, dim, e, &in_off, &c);
    reinterpret_cast<T*>(out.data)[o] = reinterpret_cast<const T*>(in.data)[in_off + k * in.strides[dim]];
  }
}

// out[..index[..c..] at dim..] (+)= src[..c..]; e over the index's elements.
template <typename T>
__global__ void scatter_kernel(Strided out, Strided index, Strided src, int dim, bool add, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    const int64_t k = reinterpret_cast<const int64_t*>(index.data)[offset_of(index, e)];
    const T v = reinterpret_cast<const T*>(src.data)[offset_of(src, e)];
    int64_t out_off = 0, c = 0;
    split_offsets(index, out.strides, dim, e, &out_off, &c);
    T* p = reinterpret_cast<T*>(out.data) + out_off + k * out.strides[dim];
    if (add) atomic_add(p, v);
    else *p = v;
  }
}

// out.select(dim, index[i]) += alpha * src.select(dim, i); e over src's elements.
template <typename T>
__global__ void index_add_kernel(Strided out, Strided src, int dim, const int64_t* index, int64_t ist, T alpha,
                                 int64_t n) {
  HPML_GRID_LOOP(e, n) {
    int64_t out_off = 0, i = 0;
    const int64_t s = split_offsets(src, out.strides, dim, e, &out_off, &i);
    T* p = reinterpret_cast<T*>(out.data) + out_off + index[i * ist] * out.strides[dim];
    const T v = reinterpret_cast<const T*>(src.data)[s];
    if constexpr (std::is_same_v<T, bool>) atomic_add(p, v);
    else atomic_add(p, static_cast<T>(alpha * v));
  }
}

// flags[e] = mask[e] (0 or 1), for the scan.
__global__ void mask_flags_kernel(int64_t* flags, Strided mask, int64_t n) {
  HPML_GRID_LOOP(e, n) flags[e] = reinterpret_cast<const bool*>(mask.data)[offset_of(mask, e)] ? 1 : 0;
}

// out[pos[e] - 1] = in[e] where mask[e]; pos: the inclusive scan of the flags.
template <typename T>
__global__ void masked_write_kernel(T* out, int64_t ost, Strided in, Strided mask, const int64_t* pos, int64_t n) {
  HPML_GRID_LOOP(e, n) {
    if (reinterpret_cast<const bool*>(mask.data)[offset_of(mask, e)])
      out[(pos[e] - 1) * ost] = reinterpret_cast<const T*>(in.data)[offset_of(in, e)];
  }
}

}  // namespace

cudaError_t launch_index_select(const Strided& out, const Strided& in, int dim, const int64_t* index, int64_t ist,
                                Elem type, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type_or_half(type, [&](auto zero) {
    index_select_kernel<decltype(zero)><<<blocks_for(n), kThreads, 0, stream>>>(out, in, dim, index, ist, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_gather(const Strided& out, const Strided& in, const Strided& index, int dim, Elem type, int64_t n,
                          cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type_or_half(type, [&](auto zero) {
    gather_kernel<decltype(zero)><<<blocks_for(n), kThreads, 0, stream>>>(out, in, index, dim, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_scatter(const Strided& out, const Strided& index, const Strided& src, int dim, bool add, Elem type,
                           int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  Strided corner = src;  // src may be larger than index: the kernel reads its index-shaped corner
  for (int d = 0; d < corner.ndim; ++d) corner.sizes[d] = index.sizes[d];
  with_type(type, [&](auto zero) {
    scatter_kernel<decltype(zero)><<<blocks_for(n), kThreads, 0, stream>>>(out, index, corner, dim, add, n);
  });
  return cudaGetLastError();
}

cudaError_t launch_index_add(const Strided& out, const Strided& src, int dim, const int64_t* index, int64_t ist,
                             double alpha, Elem type, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  with_type(type, [&](auto zero) {
    using T = decltype(zero);
    index_add_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(out, src, dim, index, ist, static_cast<T>(alpha), n);
  });
  return cudaGetLastError();
}

size_t masked_select_scratch_bytes(int64_t n) {
  size_t bytes = 0;
  cub::DeviceScan::InclusiveSum(nullptr, bytes, static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr),
                                n);
  return bytes;
}

cudaError_t launch_masked_select(const Strided& out, const Strided& in, const Strided& mask, Elem type, int64_t n,
                                 int64_t* flags, int64_t* positions, void* scratch, size_t scratch_bytes,
                                 cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  mask_flags_kernel<<<blocks_for(n), kThreads, 0, stream>>>(flags, mask, n);
  cudaError_t e = cub::DeviceScan::InclusiveSum(scratch, scratch_bytes, flags, positions, n, stream);
  if (e != cudaSuccess) return e;
  const int64_t ost = out.ndim == 0 ? 1 : out.strides[0];
  with_type_or_half(type, [&](auto zero) {
    using T = decltype(zero);
    masked_write_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(reinterpret_cast<T*>(out.data), ost, in, mask,
                                                                   positions, n);
  });
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
