// CPU matrix multiply: oneDNN's sgemm for f32, OpenBLAS dgemm for f64, a plain loop for
// integers. See Note [Which GEMM].
// bmm accepts any strides: a matrix BLAS can read as it is (unit stride along rows or columns)
// is passed with the matching transpose flag; any other is first copied into scratch memory.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/backend.h"
#include "kernels/blas_layout.h"
#include <oneapi/dnnl/dnnl.h>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"
#include "kernels/wrapping.h"

namespace hpml::kernels::cpu {

// Note [Which GEMM]
// f32 products go to oneDNN's dnnl_sgemm: its JIT kernels use AVX-512 where the CPU has it. On
// the AMD Zen 4 machines of the first sessions it measured 2x OpenBLAS's sgemm (then on its
// Haswell kernels); on the Intel Xeon of 2026-12-02, with OpenBLAS on its Cooperlake (AVX-512)
// kernels (Note [Loading OpenBLAS]), it is 1.0-1.4x OpenBLAS at 128 to 2048 and 1.05-1.3x on the
// Linear layers' shapes, though OpenBLAS wins at n=64 (scripts/bench matmul prints both). oneDNN
// uses the same OpenMP pool as hpml and runs single-threaded inside a parallel region. oneDNN
// has no f64 GEMM, so f64 (gradcheck, tests) stays on OpenBLAS.
// Small products (m n k <= 64^3) go to OpenBLAS's sgemm instead: dnnl_sgemm spends 0.4-0.8 µs
// choosing its kernel on every call, OpenBLAS 0.14-0.28 µs, and the small model of the blobs
// benchmark makes five such products a step (32x50x2, 32x3x50, ...). At 64^3 the two are even.
namespace {

constexpr int64_t kSmallGemm = int64_t{64} * 64 * 64;  // at most this m n k: OpenBLAS (Note [Which GEMM])

template <typename T>
void naive_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, T beta, T* c, int64_t ldc) {
  parallel_for(0, m, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, n * k)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      for (int64_t j = 0; j < n; ++j) {
        T acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc = wadd(acc, wmul<T>(ta ? a[p * lda + i] : a[i * lda + p], tb ? b[j * ldb + p] : b[p * ldb + j]));
        c[i * ldc + j] = wadd(wmul(alpha, acc), beta == T(0) ? T(0) : wmul(beta, c[i * ldc + j]));
      }
  });
}

}  // namespace

void gemm(DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
          const void* b, int64_t ldb, double beta, void* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const auto TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  switch (dtype) {
    case DType::f32: {
      if (k == 0) break;  // oneDNN wants K > 0; the integer path below handles C = beta * C
      if (m * n * k <= kSmallGemm && std::max({lda, ldb, ldc}) <= INT32_MAX) {
        blas::api().sgemm(CblasRowMajor, TA, TB, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                          static_cast<float>(alpha), static_cast<const float*>(a), static_cast<int>(lda),
                          static_cast<const float*>(b), static_cast<int>(ldb), static_cast<float>(beta),
                          static_cast<float*>(c), static_cast<int>(ldc));
        return;
      }
      dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, static_cast<float>(alpha),
                                    static_cast<const float*>(a), lda, static_cast<const float*>(b), ldb,
                                    static_cast<float>(beta), static_cast<float*>(c), ldc);
      HPML_ASSERT(st == dnnl_success, "dnnl_sgemm failed with status ", static_cast<int>(st), " for m=", m, " n=", n,
                  " k=", k, " lda=", lda, " ldb=", ldb, " ldc=", ldc);
      return;
    }
    case DType::f64:
      blas::api().dgemm(CblasRowMajor, TA, TB, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
                  static_cast<const double*>(a), static_cast<int>(lda), static_cast<const double*>(b),
                  static_cast<int>(ldb), beta, static_cast<double*>(c), static_cast<int>(ldc));
      return;
    default:
      break;
  }
  dispatch_numeric(dtype, "gemm", [&]<typename T>() {
    naive_gemm<T>(ta, tb, m, n, k, static_cast<T>(alpha), static_cast<const T*>(a), lda, static_cast<const T*>(b), ldb,
                  static_cast<T>(beta), static_cast<T*>(c), ldc);
  });
}

// out [B, M, N] (contiguous) = alpha * a [B, M, K] @ b [B, K, N] + beta * out
void bmm(const TensorView& out, const TensorView& a, const TensorView& b, double alpha, double beta) {
  const int64_t B = out.sizes[0], M = out.sizes[1], N = out.sizes[2], K = a.sizes[2];
  const size_t isz = itemsize(out.dtype);
  if (K == 0) {  // out = beta * out
    if (beta == 0) fill(out, Scalar(0));
    else if (beta != 1) {
      dispatch_numeric(out.dtype, "bmm", [&]<typename T>() {
        T* p = out.ptr<T>();
        for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<T>(p[i] * beta);
      });
    }
    return;
  }
  // Makes one operand BLAS-readable, copying into `scratch` when needed.
  auto prepare = [&](const TensorView& t, int64_t rows, int64_t cols, std::vector<char>& scratch, bool* trans,
                     int64_t* ld, int64_t* bstride) -> const char* {
    if (blas_layout(rows, cols, t.strides[1], t.strides[2], trans, ld)) {
      *bstride = t.strides[0] * static_cast<int64_t>(isz);
      return t.data;
    }
    scratch.resize(static_cast<size_t>(B * rows * cols) * isz);
    TensorView dst{scratch.data(), DimVector{B, rows, cols}, DimVector{rows * cols, cols, 1}, t.dtype};
    copy(dst, t);
    *trans = false;
    *ld = cols;
    *bstride = rows * cols * static_cast<int64_t>(isz);
    return scratch.data();
  };
  std::vector<char> sa, sb;
  bool ta = false, tb = false;
  int64_t lda = 0, ldb = 0, bsa = 0, bsb = 0;
  const char* pa = prepare(a, M, K, sa, &ta, &lda, &bsa);
  const char* pb = prepare(b, K, N, sb, &tb, &ldb, &bsb);
  const int64_t bso = M * N * static_cast<int64_t>(isz);
  auto one = [&](int64_t i) {
    gemm(out.dtype, ta, tb, M, N, K, alpha, pa + i * bsa, lda, pb + i * bsb, ldb, beta, out.data + i * bso, N);
  };
  // Many small matrices: one per thread (BLAS runs single-threaded inside the region).
  // Few large ones: one after another, each using every thread.
  if (B > 1 && M * N * K < (int64_t{1} << 18)) {
    parallel_for(0, B, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) one(i);
    });
  } else {
    for (int64_t i = 0; i < B; ++i) one(i);
  }
}

}  // namespace hpml::kernels::cpu
