// The CUDA table's matmul slots, gemm and bmm, through cuBLAS (f32, f64; bmm also bf16 and f16,
// accumulated in f32); the integer types and operands without a unit stride go to the strided
// kernel of matmul.cu.
// Status: compiled, not yet run on a GPU.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <array>
#include <map>
#include <cstdlib>
#include <mutex>
#include <string>

#include "hpml/core/device_runtime.h"
#include "kernels/blas_layout.h"
#include "kernels/cuda/slots.h"

namespace hpml::kernels::cuda_slots {

// Note [cuBLAS by dlopen]
// libcublas and libcublasLt are half a gigabyte. Linked, every hpml process (each of the test
// suite's thousands) would map and relocate them at start-up; loaded with dlopen at the first
// matmul on a GPU, only the processes that multiply matrices on a GPU pay, and a machine without
// cuBLAS still runs everything else. The library is libcublas.so.13 (the toolkit's, or the one
// PyTorch's wheel brings, on the loader's path), or the file HPML_CUBLAS names. One handle per
// thread and device, with a workspace of kWorkspace bytes from hpml's allocator for each stream
// it runs on, so cuBLAS allocates nothing itself (which CUDA graph capture needs) and the
// allocator's counts are whole.
namespace {

constexpr size_t kWorkspace = size_t{32} << 20;

using GemmStridedBatched = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                              const void*, const void*, cudaDataType, int, long long, const void*,
                                              cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                              long long, int, cublasComputeType_t, cublasGemmAlgo_t);

struct Cublas {
  cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t) = nullptr;
  cublasStatus_t (*set_workspace)(cublasHandle_t, void*, size_t) = nullptr;
  const char* (*status_string)(cublasStatus_t) = nullptr;
  GemmStridedBatched gemm = nullptr;
};

template <typename F>
void bind(void* lib, F* fn, const char* name) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  HPML_CHECK(*fn, "cuBLAS: the library has no ", name);
}

const Cublas& cublas() {
  static const Cublas api = [] {
    const char* env = std::getenv("HPML_CUBLAS");
    void* lib = dlopen(env && *env ? env : "libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!lib && !(env && *env)) lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    HPML_CHECK(lib, "matmul on cuda: cannot load cuBLAS (", env && *env ? env : "libcublas.so.13", "): ", dlerror(),
               "\nhint: put the CUDA toolkit's lib64 (or PyTorch's nvidia/cublas/lib) on LD_LIBRARY_PATH, or name "
               "the file in HPML_CUBLAS");
    Cublas c;
    bind(lib, &c.create, "cublasCreate_v2");
    bind(lib, &c.set_stream, "cublasSetStream_v2");
    bind(lib, &c.set_workspace, "cublasSetWorkspace_v2");
    bind(lib, &c.status_string, "cublasGetStatusString");
    bind(lib, &c.gemm, "cublasGemmStridedBatchedEx");
    return c;
  }();
  return api;
}

void check(cublasStatus_t s, const char* op, int dev) {
  HPML_CHECK(s == CUBLAS_STATUS_SUCCESS, op, " on cuda:", dev, " failed: ", cublas().status_string(s), " (cuBLAS status ",
             static_cast<int>(s), ")");
}

// This thread's handle on GPU `dev`, set to `stream` with that stream's workspace. cublasSetStream
// resets the workspace to cuBLAS's own pool, so the workspace is set after it, on every call; one
// per stream, since GEMMs on two streams may run at once. Handles and workspaces live as long as
// the process (as PyTorch's pools): freeing them at thread exit could run after the CUDA
// context is gone.
cublasHandle_t handle(int dev, cudaStream_t stream) {
  struct PerDevice {
    cublasHandle_t handle = nullptr;
    std::map<cudaStream_t, void*> workspaces;
  };
  thread_local std::array<PerDevice, 16> devices{};
  PerDevice& d = devices.at(static_cast<size_t>(dev));
  if (!d.handle) check(cublas().create(&d.handle), "cublasCreate", dev);
  check(cublas().set_stream(d.handle, stream), "cublasSetStream", dev);
  void*& ws = d.workspaces[stream];
  if (!ws) ws = allocator_for(Device(DeviceType::CUDA, dev))->allocate(kWorkspace);  // on `stream`, the current one
  check(cublas().set_workspace(d.handle, ws, kWorkspace), "cublasSetWorkspace", dev);
  return d.handle;
}

// A rows x cols matrix (transposed: stored as its transpose) as a one-matrix batch for matmul.cu.
cuda::Strided matrix_view(const void* p, int64_t rows, int64_t cols, bool trans, int64_t ld) {
  cuda::Strided s;
  s.data = static_cast<char*>(const_cast<void*>(p));
  s.ndim = 3;
  s.sizes[0] = 1, s.sizes[1] = rows, s.sizes[2] = cols;
  s.strides[0] = 0, s.strides[1] = trans ? 1 : ld, s.strides[2] = trans ? ld : 1;
  return s;
}

}  // namespace

// C[b] = alpha op(A[b]) op(B[b]) + beta C[b] for row-major matrices: cuBLAS is column-major, so it
// computes C^T = op(B)^T op(A)^T, reading each row-major matrix as its transpose.
void gemm_strided_batched(int dev, DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                  const void* a, int64_t lda, int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta, void* c,
                  int64_t ldc, int64_t sc, int64_t batch) {
  HPML_CHECK(m <= INT32_MAX && n <= INT32_MAX && k <= INT32_MAX && lda <= INT32_MAX && ldb <= INT32_MAX &&
                 ldc <= INT32_MAX && batch <= INT32_MAX,
             "matmul on cuda: sizes beyond 2^31 (m=", m, " n=", n, " k=", k, " batch=", batch, ")");
  const cublasHandle_t h = handle(dev, stream_of(dev));
  const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  // f32 (TF32 when allowed), f64, and bf16 / f16 operands with f32 accumulation (the tensor cores'
  // 2-byte GEMM, PyTorch's default); alpha and beta are of the compute type.
  const bool f64 = dtype == DType::f64, f32 = dtype == DType::f32;
  const float alpha_f = static_cast<float>(alpha), beta_f = static_cast<float>(beta);
  const void* pa = f64 ? static_cast<const void*>(&alpha) : &alpha_f;
  const void* pb = f64 ? static_cast<const void*>(&beta) : &beta_f;
  const cudaDataType t = f64 ? CUDA_R_64F : f32 ? CUDA_R_32F : dtype == DType::bf16 ? CUDA_R_16BF : CUDA_R_16F;
  const cublasComputeType_t compute = f64 ? CUBLAS_COMPUTE_64F
                                      : f32 && hpml::cuda::matmul_allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                               : CUBLAS_COMPUTE_32F;
  check(cublas().gemm(h, opb, opa, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), pa, b, t,
                      static_cast<int>(ldb), sb, a, t, static_cast<int>(lda), sa, pb, c, t, static_cast<int>(ldc), sc,
                      static_cast<int>(batch), compute, CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx", dev);
}

void gemm(DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
          const void* b, int64_t ldb, double beta, void* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const int dev = device_of(c, "gemm");
  hpml::cuda::DeviceGuard guard(dev);
  if (dtype == DType::f32 || dtype == DType::f64) {
    gemm_strided_batched(dev, dtype, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
    return;
  }
  hpml::cuda::check(cuda::launch_bmm_naive(matrix_view(c, m, n, false, ldc), matrix_view(a, m, k, ta, lda),
                                           matrix_view(b, k, n, tb, ldb), elem(dtype), alpha, beta, stream_of(dev)),
                    "gemm", dev);
}

void bmm(const TensorView& out, const TensorView& a, const TensorView& b, double alpha, double beta) {
  if (out.numel() == 0) return;
  Launch l("bmm", out, {&a, &b}, /*takes_2byte=*/true);
  const int64_t B = out.sizes[0], M = out.sizes[1], N = out.sizes[2], K = a.sizes[2];
  bool ta = false, tb = false;
  int64_t lda = 0, ldb = 0;
  const bool blas = (out.dtype == DType::f32 || out.dtype == DType::f64 || is_reduced_float(out.dtype)) &&
                    blas_layout(M, K, a.strides[1], a.strides[2], &ta, &lda) &&
                    blas_layout(K, N, b.strides[1], b.strides[2], &tb, &ldb);
  // The ops layer (ops/linalg.cpp, bmm_into) gives 2-byte operands a unit stride in a last dim.
  HPML_CHECK(blas || !is_reduced_float(out.dtype), "bmm on cuda: ", out.dtype,
             " operands need a unit stride in one of their last two dims");
  if (blas) {
    gemm_strided_batched(l.dev, out.dtype, ta, tb, M, N, K, alpha, a.data, lda, a.strides[0], b.data, ldb, b.strides[0], beta,
                 out.data, N, M * N, B);
    return;
  }
  hpml::cuda::check(cuda::launch_bmm_naive(strided(out, "bmm"), strided(a, "bmm"), strided(b, "bmm"), elem(out.dtype),
                                           alpha, beta, stream_of(l.dev)),
                    "bmm", l.dev);
}

}  // namespace hpml::kernels::cuda_slots
