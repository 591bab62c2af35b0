// CPU kernels: copy (with dtype cast), fill, where, arange, tril/triu; every dtype, bf16 and f16
// included (Note [Half-precision dtypes] in core/half.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/elementwise.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cstring>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"

#include "kernels/cpu/inner_loops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu {
namespace HWY_NAMESPACE {

namespace {
bool dense(const TensorView& v) {
  int64_t expected = 1;
  for (int64_t d = v.dim() - 1; d >= 0; --d) {
    if (v.sizes[d] == 1) continue;
    if (v.strides[d] != expected) return false;
    expected *= v.sizes[d];
  }
  return true;
}
}  // namespace

void CopyImpl(const TensorView& dst, const TensorView& src) {
  if (dst.dtype == src.dtype && dense(dst) && dense(src)) {
    // dst = src byte for byte, split across threads for large tensors.
    const size_t isz = itemsize(dst.dtype);
    parallel_for(0, dst.numel(), kGrain * 4, [&](int64_t lo, int64_t hi) {
      std::memcpy(dst.data + lo * isz, src.data + lo * isz, static_cast<size_t>(hi - lo) * isz);
    });
    return;
  }
  dispatch_with_half(dst.dtype, "copy", [&]<typename D>() {
    dispatch_with_half(src.dtype, "copy", [&]<typename S>() {
      for_each<2>({&dst, &src}, [](char** d, const int64_t* s, int64_t n) {
        unary_loop<D, S>(d, s, n, [](S v) { return cast_value<D>(v); });
      });
    });
  });
}

void FillImpl(const TensorView& dst, const Scalar& value) {
  dispatch_with_half(dst.dtype, "fill", [&]<typename T>() {
    const T v = value.to<T>();
    for_each<1>({&dst}, [v](char** d, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(T)) {
        T* o = reinterpret_cast<T*>(d[0]);
        for (int64_t i = 0; i < n; ++i) o[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) at<T>(d[0], s[0], i) = v;
      }
    });
  });
}

void WhereImpl(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b) {
  dispatch_with_half(out.dtype, "where", [&]<typename T>() {
    for_each<4>({&out, &cond, &a, &b}, [](char** d, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        at<T>(d[0], s[0], i) = at<bool>(d[1], s[1], i) ? at<T>(d[2], s[2], i) : at<T>(d[3], s[3], i);
    });
  });
}

void ArangeImpl(const TensorView& out, double start, double step) {
  dispatch_with_half(out.dtype, "arange", [&]<typename T>() {
    T* o = out.ptr<T>();
    const int64_t st = out.strides.empty() ? 1 : out.strides[0];
    parallel_for(0, out.numel(), kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i * st] = static_cast<T>(start + static_cast<double>(i) * step);
    });
  });
}

// out[..., i, j] = keep(i, j) ? in[..., i, j] : 0 with keep = j - i <= diagonal (lower) or >= (upper).
void TriImpl(const TensorView& out, const TensorView& in, int64_t diagonal, bool lower) {
  const int64_t nd = out.dim(), rows = out.sizes[nd - 2], cols = out.sizes[nd - 1];
  const int64_t batch = rows * cols == 0 ? 0 : out.numel() / (rows * cols);
  dispatch_with_half(out.dtype, "tri", [&]<typename T>() {
    // out and in are contiguous here (the op makes them so).
    const T* src = in.ptr<T>();
    T* dst = out.ptr<T>();
    parallel_for(0, batch * rows, 256, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        int64_t i = r % rows;
        for (int64_t j = 0; j < cols; ++j) {
          bool keep = lower ? (j - i <= diagonal) : (j - i >= diagonal);
          dst[r * cols + j] = keep ? src[r * cols + j] : T(0);
        }
      }
    });
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace hpml::kernels::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hpml::kernels::cpu {

HWY_EXPORT(CopyImpl);
HWY_EXPORT(FillImpl);
HWY_EXPORT(WhereImpl);
HWY_EXPORT(ArangeImpl);
HWY_EXPORT(TriImpl);

void copy(const TensorView& dst, const TensorView& src) { HWY_DYNAMIC_DISPATCH(CopyImpl)(dst, src); }
void fill(const TensorView& dst, const Scalar& value) { HWY_DYNAMIC_DISPATCH(FillImpl)(dst, value); }
void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b) { HWY_DYNAMIC_DISPATCH(WhereImpl)(out, cond, a, b); }
void arange(const TensorView& out, double start, double step) { HWY_DYNAMIC_DISPATCH(ArangeImpl)(out, start, step); }
void tri(const TensorView& out, const TensorView& in, int64_t diagonal, bool lower) { HWY_DYNAMIC_DISPATCH(TriImpl)(out, in, diagonal, lower); }

}  // namespace hpml::kernels::cpu
#endif  // HWY_ONCE
