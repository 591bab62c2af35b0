// Inner loops over one dimension (byte strides), with the contiguous and scalar-broadcast cases
// written out so the compiler vectorizes them. Used by the elementwise kernels with for_each.
// A Highway "-inl.h" header: it is compiled once per SIMD target, inside that target's namespace,
// so the loops vectorize for AVX2 or AVX-512 in the kernel files that include it (see
// Note [SIMD targets] in src/kernels/cpu/binary.cpp).
#if defined(HPML_KERNELS_CPU_INNER_LOOPS_INL_H_) == defined(HWY_TARGET_TOGGLE)  // NOLINT
#ifdef HPML_KERNELS_CPU_INNER_LOOPS_INL_H_
#undef HPML_KERNELS_CPU_INNER_LOOPS_INL_H_
#else
#define HPML_KERNELS_CPU_INNER_LOOPS_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>
#include <type_traits>

HWY_BEFORE_NAMESPACE();
namespace hpml::kernels::cpu::HWY_NAMESPACE {

template <typename To, typename From>
inline To cast_value(From v) {
  if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else return static_cast<To>(v);
}

template <typename T>
inline T& at(char* base, int64_t stride, int64_t i) {
  return *reinterpret_cast<T*>(base + i * stride);
}

// out[i] = f(a[i])
template <typename Out, typename In, typename F>
inline void unary_loop(char** d, const int64_t* s, int64_t n, const F& f) {
  if (s[0] == sizeof(Out) && s[1] == sizeof(In)) {
    Out* o = reinterpret_cast<Out*>(d[0]);
    const In* a = reinterpret_cast<const In*>(d[1]);
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) at<Out>(d[0], s[0], i) = f(at<In>(d[1], s[1], i));
  }
}

// out[i] = f(a[i], b[i]); either input may be a broadcast scalar (stride 0).
template <typename Out, typename In, typename F>
inline void binary_loop(char** d, const int64_t* s, int64_t n, const F& f) {
  constexpr int64_t so = sizeof(Out), si = sizeof(In);
  Out* o = reinterpret_cast<Out*>(d[0]);
  const In* a = reinterpret_cast<const In*>(d[1]);
  const In* b = reinterpret_cast<const In*>(d[2]);
  if (s[0] == so && s[1] == si && s[2] == si) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (s[0] == so && s[1] == si && s[2] == 0) {
    const In bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (s[0] == so && s[1] == 0 && s[2] == si) {
    const In av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) at<Out>(d[0], s[0], i) = f(at<In>(d[1], s[1], i), at<In>(d[2], s[2], i));
  }
}

}  // namespace hpml::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
