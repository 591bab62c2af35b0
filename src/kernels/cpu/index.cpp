// CPU indexing kernels: index_select, gather, scatter(_add), index_add, masked_select.
// Index values are already bounds-checked by the op; kernels only move data.
// gather and scatter reuse the elementwise loop: `in` is viewed with the index's shape and a zero
// stride along `dim`, so each element's base pointer comes from the loop and the index value
// adds the offset along `dim`.
#include <algorithm>
#include <cstring>
#include <limits>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/inner_loops-inl.h"
#include "kernels/cpu/loops.h"
#include "kernels/wrapping.h"

namespace hpml::kernels::cpu {

using HWY_NAMESPACE::at;  // the static (baseline) target's helpers: these loops are memory-bound

namespace {
// `t` with the sizes of `shape_of` and dimension `dim` pinned (stride 0).
TensorView pinned(const TensorView& t, const TensorView& shape_of, int64_t dim) {
  TensorView v = t;
  v.sizes = shape_of.sizes;
  v.strides[dim] = 0;
  return v;
}
TensorView select_view(const TensorView& t, int64_t dim, int64_t i) {
  TensorView v = t;
  v.data += i * t.strides[dim] * static_cast<int64_t>(itemsize(t.dtype));
  v.sizes.erase(dim);
  v.strides.erase(dim);
  return v;
}
constexpr int64_t kSerial = std::numeric_limits<int64_t>::max();

// Bytes of one row of t along dim 0 when every row is one contiguous block (0 if not).
int64_t contiguous_row_bytes(const TensorView& t) {
  int64_t expected = 1;
  for (int64_t d = t.dim() - 1; d >= 1; --d) {
    if (t.sizes[d] != 1 && t.strides[d] != expected) return 0;
    expected *= t.sizes[d];
  }
  return expected * static_cast<int64_t>(itemsize(t.dtype));
}
}  // namespace

// out = in.index_select(dim, index)
void index_select(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index) {
  const int64_t n = index.numel(), ist = index.strides.empty() ? 1 : index.strides[0];
  const int64_t* idx = index.ptr<int64_t>();
  // Rows of dim 0 that are contiguous blocks on both sides (a batch of samples): one memcpy each,
  // not a strided copy set up per row (most of the time of a 32-row batch of 2 features).
  const int64_t row = dim == 0 ? contiguous_row_bytes(in) : 0;
  if (row > 0 && contiguous_row_bytes(out) == row) {
    const int64_t in_stride = in.strides[0] * static_cast<int64_t>(itemsize(in.dtype));
    const int64_t out_stride = out.strides[0] * static_cast<int64_t>(itemsize(out.dtype));
    parallel_for(0, n, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, row)), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        std::memcpy(out.data + i * out_stride, in.data + idx[i * ist] * in_stride, static_cast<size_t>(row));
    });
    return;
  }
  parallel_for(0, n, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) copy(select_view(out, dim, i), select_view(in, dim, idx[i * ist]));
  });
}

// out[..i..] = in[..index[..i..] at dim..]
void gather(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index) {
  const TensorView src = pinned(in, index, dim);
  const int64_t dstride = in.strides[dim] * static_cast<int64_t>(itemsize(in.dtype));
  dispatch_with_half(out.dtype, "gather", [&]<typename T>() {
    for_each<3>({&out, &index, &src}, [dstride](char** d, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        at<T>(d[0], s[0], i) = *reinterpret_cast<const T*>(d[2] + i * s[2] + at<int64_t>(d[1], s[1], i) * dstride);
    });
  });
}

// out[..index[..i..] at dim..] (+)= src[..i..], serially (indices may repeat).
void scatter(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, bool add) {
  const TensorView dst = pinned(out, index, dim);
  const TensorView srcv = [&] {  // src may be larger than index: read the index-shaped corner
    TensorView v = src;
    v.sizes = index.sizes;
    return v;
  }();
  const int64_t dstride = out.strides[dim] * static_cast<int64_t>(itemsize(out.dtype));
  dispatch_all(out.dtype, "scatter", [&]<typename T>() {
    for_each<3>({&dst, &index, &srcv}, [dstride, add](char** d, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        T* p = reinterpret_cast<T*>(d[0] + i * s[0] + at<int64_t>(d[1], s[1], i) * dstride);
        T v = at<T>(d[2], s[2], i);
        if constexpr (std::is_same_v<T, bool>) *p = add ? (*p || v) : v;
        else *p = add ? wadd(*p, v) : v;
      }
    }, kSerial);
  });
}

// out.select(dim, index[i]) += alpha * src.select(dim, i), serially (indices may repeat).
void index_add(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, double alpha) {
  const int64_t n = index.numel(), ist = index.strides.empty() ? 1 : index.strides[0];
  const int64_t* idx = index.ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    TensorView o = select_view(out, dim, idx[i * ist]);
    binary(BinaryOp::add, o, o, select_view(src, dim, i), BinaryParams{alpha, 0, 0});
  }
}

// out (1-d) = the elements of in where mask, in row-major order.
void masked_select(const TensorView& out, const TensorView& in, const TensorView& mask) {
  dispatch_with_half(in.dtype, "masked_select", [&]<typename T>() {
    T* dst = out.ptr<T>();
    const int64_t ost = out.strides.empty() ? 1 : out.strides[0];
    int64_t k = 0;
    for_each<2>({&in, &mask}, [&](char** d, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        if (at<bool>(d[1], s[1], i)) dst[(k++) * ost] = at<T>(d[0], s[0], i);
    }, kSerial);
  });
}

}  // namespace hpml::kernels::cpu
