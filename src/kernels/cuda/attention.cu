// Fused attention on CUDA, the plain way (the cpu's Note [Fused attention] is the contract): one
// block per query row (b, h, i) holds the row's scores in shared memory, takes the softmax with
// its log-sum-exp, and writes out = P V; the backward recomputes P from lse and adds each
// query's share into dk and dv with atomics (they are zeroed first). Memory is O(S) per row, not
// O(L S); a tiled (flash) kernel for long rows and tensor cores is the next step.
// Status: compiled, not yet run on a GPU.
#include <cmath>

#include "kernels/cuda/grid.cuh"

namespace hpml::kernels::cuda {

namespace {

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct MaxOf {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};

// Element (b, h, r, e) of a 4-d view whose last stride is 1.
template <typename T>
__device__ T* at4(const Strided& v, int64_t b, int64_t h, int64_t r) {
  return reinterpret_cast<T*>(v.data) + b * v.strides[0] + h * v.strides[1] + r * v.strides[2];
}

// The key count query i sees: all S, or (causal) keys j <= i.
__device__ int64_t keys_seen(bool causal, int64_t i, int64_t S) { return causal ? (i + 1 < S ? i + 1 : S) : S; }

// Block (b, h, i); scores: dynamic shared memory of S doubles.
template <typename T>
__global__ void attention_kernel(Strided out, T* lse, Strided q, Strided k, Strided v, double scale, bool causal) {
  extern __shared__ double scores[];
  __shared__ double scratch[kThreads / 32];
  const int64_t H = q.sizes[1], L = q.sizes[2], S = k.sizes[2], E = q.sizes[3], Ev = v.sizes[3];
  const int64_t i = blockIdx.x % L, h = blockIdx.x / L % H, b = blockIdx.x / (L * H), n = keys_seen(causal, i, S);
  const T* qi = at4<T>(q, b, h, i);
  double m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const T* kj = at4<T>(k, b, h, j);
    double s = 0;
    for (int64_t e = 0; e < E; ++e) s += static_cast<double>(qi[e]) * static_cast<double>(kj[e]);
    scores[j] = s * scale;
    m = MaxOf{}(m, scores[j]);
  }
  m = block_reduce(m, MaxOf{}, scratch);
  double z = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) z += ::exp(scores[j] - m);
  z = block_reduce(z, Add{}, scratch);  // its __syncthreads also makes every score visible
  if (threadIdx.x == 0) lse[(b * H + h) * L + i] = static_cast<T>(m + ::log(z));
  T* oi = at4<T>(out, b, h, i);
  for (int64_t e = threadIdx.x; e < Ev; e += blockDim.x) {
    double acc = 0;
    for (int64_t j = 0; j < n; ++j) acc += ::exp(scores[j] - m) * static_cast<double>(at4<T>(v, b, h, j)[e]);
    oi[e] = static_cast<T>(acc / z);
  }
}

// Block (b, h, i): P = exp(s - lse); dv_j += P_j dout_i; dS_j = P_j (dout_i . v_j - dout_i . out_i);
// dq_i = scale sum_j dS_j k_j; dk_j += scale dS_j q_i.
template <typename T>
__global__ void attention_backward_kernel(Strided dq, Strided dk, Strided dv, Strided dout, Strided q, Strided k,
                                          Strided v, Strided out, const T* lse, double scale, bool causal) {
  extern __shared__ double ds[];
  __shared__ double scratch[kThreads / 32];
  const int64_t H = q.sizes[1], L = q.sizes[2], S = k.sizes[2], E = q.sizes[3], Ev = v.sizes[3];
  const int64_t i = blockIdx.x % L, h = blockIdx.x / L % H, b = blockIdx.x / (L * H), n = keys_seen(causal, i, S);
  const T *qi = at4<T>(q, b, h, i), *doi = at4<T>(dout, b, h, i), *oi = at4<T>(out, b, h, i);
  const double l = static_cast<double>(lse[(b * H + h) * L + i]);
  double d = 0;  // dout_i . out_i
  for (int64_t e = threadIdx.x; e < Ev; e += blockDim.x) d += static_cast<double>(doi[e]) * static_cast<double>(oi[e]);
  d = block_reduce(d, Add{}, scratch);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const T *kj = at4<T>(k, b, h, j), *vj = at4<T>(v, b, h, j);
    double s = 0, dp = 0;
    for (int64_t e = 0; e < E; ++e) s += static_cast<double>(qi[e]) * static_cast<double>(kj[e]);
    const double p = ::exp(s * scale - l);
    T* dvj = at4<T>(dv, b, h, j);
    for (int64_t e = 0; e < Ev; ++e) {
      dp += static_cast<double>(doi[e]) * static_cast<double>(vj[e]);
      atomicAdd(dvj + e, static_cast<T>(p * static_cast<double>(doi[e])));
    }
    ds[j] = p * (dp - d);
    T* dkj = at4<T>(dk, b, h, j);
    for (int64_t e = 0; e < E; ++e) atomicAdd(dkj + e, static_cast<T>(scale * ds[j] * static_cast<double>(qi[e])));
  }
  __syncthreads();
  T* dqi = at4<T>(dq, b, h, i);
  for (int64_t e = threadIdx.x; e < E; e += blockDim.x) {
    double acc = 0;
    for (int64_t j = 0; j < n; ++j) acc += ds[j] * static_cast<double>(at4<T>(k, b, h, j)[e]);
    dqi[e] = static_cast<T>(scale * acc);
  }
}

template <typename T>
__global__ void zero_kernel(Strided v, int64_t n) {
  HPML_GRID_LOOP(e, n) reinterpret_cast<T*>(v.data)[offset_of(v, e)] = T(0);
}

// The default limit of shared memory per block is 48 KiB, static (the reduction scratch) and
// dynamic (the scores) together.
constexpr int64_t kMaxSharedScores = ((48 << 10) - 64 * sizeof(double)) / sizeof(double);

}  // namespace

int64_t attention_max_keys() { return kMaxSharedScores; }

cudaError_t launch_attention(const Strided& out, void* lse, const Strided& q, const Strided& k, const Strided& v,
                             Elem type, double scale, bool causal, cudaStream_t stream) {
  const int64_t rows = q.sizes[0] * q.sizes[1] * q.sizes[2], S = k.sizes[2];
  if (rows == 0) return cudaSuccess;
  if (S > kMaxSharedScores || rows > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const size_t shared = static_cast<size_t>(S > 0 ? S : 1) * sizeof(double);
  if (type == Elem::f32) {
    attention_kernel<float><<<static_cast<unsigned>(rows), kThreads, shared, stream>>>(out, static_cast<float*>(lse), q, k, v, scale, causal);
  } else if (type == Elem::f64) {
    attention_kernel<double><<<static_cast<unsigned>(rows), kThreads, shared, stream>>>(out, static_cast<double*>(lse), q, k, v, scale, causal);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t launch_attention_backward(const Strided& dq, const Strided& dk, const Strided& dv, const Strided& dout,
                                      const Strided& q, const Strided& k, const Strided& v, const Strided& out,
                                      const void* lse, Elem type, double scale, bool causal, cudaStream_t stream) {
  const int64_t rows = q.sizes[0] * q.sizes[1] * q.sizes[2], S = k.sizes[2];
  if (S > kMaxSharedScores || rows > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const int64_t nk = k.sizes[0] * k.sizes[1] * S * k.sizes[3], nv = v.sizes[0] * v.sizes[1] * S * v.sizes[3];
  const size_t shared = static_cast<size_t>(S > 0 ? S : 1) * sizeof(double);
  auto run = [&](auto zero) {
    using T = decltype(zero);
    if (nk > 0) zero_kernel<T><<<blocks_for(nk), kThreads, 0, stream>>>(dk, nk);
    if (nv > 0) zero_kernel<T><<<blocks_for(nv), kThreads, 0, stream>>>(dv, nv);
    if (rows > 0)
      attention_backward_kernel<T><<<static_cast<unsigned>(rows), kThreads, shared, stream>>>(
          dq, dk, dv, dout, q, k, v, out, static_cast<const T*>(lse), scale, causal);
  };
  if (type == Elem::f32) run(float{});
  else if (type == Elem::f64) run(double{});
  else return cudaErrorInvalidValue;
  return cudaGetLastError();
}

}  // namespace hpml::kernels::cuda
