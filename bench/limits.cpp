// The machine's physical limits, measured in the same run as the figures compared with them
// (group "limits"): the f32 FMA peak of one core and of all cores, and STREAM-like add
// bandwidth over the arrays of the bandwidth group. report.py divides each row by its limit
// ("% of limit"). See Note [Measuring the limits].
#include <immintrin.h>

#include <hpml/hpml.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "bench_util.h"

// Note [Measuring the limits]
// FMA peak: each thread runs 12 independent chains of vfmadd (AVX-512 where the CPU has it,
// AVX2 otherwise), enough to cover 2 FMA units x 4 cycles of latency, with no loads: the
// most f32 FLOP/s the cores can issue, which no real kernel exceeds. GFLOP/s = threads x
// iterations x 12 chains x lanes x 2 / seconds. Bandwidth: c[i] = a[i] + b[i], each thread over
// its own contiguous part, counting 12 bytes per element (the write-allocate read is not
// counted, as STREAM does not), the faster of ordinary and streaming stores; and a read-only
// sum. Each at the size of the rows compared with it: 16M f32 (192 MB, the bandwidth group), a
// [128, 32, 28, 28] activation (the nn layers' 12.8 MB, which the last-level cache may hold), and
// [4096, 1024] (the reductions). Threads are plain std::threads, so neither hpml's pool nor
// OpenMP is measured.
namespace {

constexpr int kChains = 12;

__attribute__((target("avx512f"))) float fma_chains_avx512(long iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], m, a);
  __m512 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm512_add_ps(s, acc[c]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float fma_chains_avx2(long iters) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], m, a);
  __m256 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm256_add_ps(s, acc[c]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

// c[lo, hi) = a + b with AVX-512, with ordinary or streaming (non-temporal) stores; the limit is
// the faster of the two, whichever the machine favours at the size.
__attribute__((target("avx512f"))) void add_range_avx512(const float* a, const float* b, float* c, int64_t lo,
                                                         int64_t hi, bool stream) {
  int64_t j = lo;
  for (; j < hi && (reinterpret_cast<uintptr_t>(c + j) & 63) != 0; ++j) c[j] = a[j] + b[j];
  if (stream)
    for (; j + 16 <= hi; j += 16) _mm512_stream_ps(c + j, _mm512_add_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j)));
  else
    for (; j + 16 <= hi; j += 16) _mm512_store_ps(c + j, _mm512_add_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j)));
  for (; j < hi; ++j) c[j] = a[j] + b[j];
  _mm_sfence();
}

__attribute__((target("avx2"))) void add_range_avx2(const float* a, const float* b, float* c, int64_t lo, int64_t hi,
                                                    bool) {
  for (int64_t j = lo; j < hi; ++j) c[j] = a[j] + b[j];
}

// sum of a[lo, hi) with AVX-512, four accumulators: the read-only limit of the reductions.
__attribute__((target("avx512f"))) float sum_range_avx512(const float* a, int64_t lo, int64_t hi) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t j = lo;
  for (; j + 64 <= hi; j += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + j));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + j + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + j + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + j + 48));
  }
  float r = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (; j < hi; ++j) r += a[j];
  return r;
}

__attribute__((target("avx2"))) float sum_range_avx2(const float* a, int64_t lo, int64_t hi) {
  float r = 0;
  for (int64_t j = lo; j < hi; ++j) r += a[j];
  return r;
}

bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

// Runs body(thread index) on `threads` std::threads at once; seconds from the first start to the last end.
template <typename Body>
double run_threads(int threads, Body&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([&, i] { body(i); });
  for (std::thread& t : pool) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<double> fma_peak(int threads) {
  const bool wide = has_avx512();
  const int lanes = wide ? 16 : 8;
  const long iters = 40'000'000;  // ~0.2 s per repetition at 2.5 GHz
  volatile float sink = 0;
  std::vector<double> gflops;
  for (int r = 0; r < 7; ++r) {
    double s = run_threads(threads, [&](int) { sink = wide ? fma_chains_avx512(iters) : fma_chains_avx2(iters); });
    gflops.push_back(static_cast<double>(threads) * static_cast<double>(iters) * kChains * lanes * 2 / s / 1e9);
  }
  (void)sink;
  return gflops;
}

// GB/s of c = a + b over n f32 (12 bytes per element), each thread over its own part.
std::vector<double> add_bandwidth(int threads, int64_t n) {
  std::vector<float> a(n, 1.0f), b(n, 2.0f), c(n, 0.0f);
  const int passes = static_cast<int>(std::max<int64_t>(4, (int64_t{160} << 20) / n));
  const bool wide = has_avx512();
  std::vector<double> best;
  for (bool stream : {false, true}) {
    auto part = [&](int i) {
      const int64_t lo = n * i / threads, hi = n * (i + 1) / threads;
      for (int p = 0; p < passes; ++p)
        (wide ? add_range_avx512 : add_range_avx2)(a.data(), b.data(), c.data(), lo, hi, stream);
    };
    run_threads(threads, part);  // warm-up: pages touched, caches in their steady state
    std::vector<double> gbs;
    for (int r = 0; r < 7; ++r) gbs.push_back(12.0 * static_cast<double>(n) * passes / run_threads(threads, part) / 1e9);
    if (best.empty() || bench::stats(gbs).median > bench::stats(best).median) best = gbs;
  }
  return best;
}

// GB/s of summing n f32 (4 bytes per element), each thread over its own part.
std::vector<double> read_bandwidth(int threads, int64_t n) {
  std::vector<float> a(n, 1.0f);
  const int passes = static_cast<int>(std::max<int64_t>(4, (int64_t{160} << 20) / n));
  const bool wide = has_avx512();
  volatile float sink = 0;
  auto part = [&](int i) {
    const int64_t lo = n * i / threads, hi = n * (i + 1) / threads;
    float s = 0;
    for (int p = 0; p < passes; ++p) s += (wide ? sum_range_avx512 : sum_range_avx2)(a.data(), lo, hi);
    sink = s;
  };
  run_threads(threads, part);
  std::vector<double> gbs;
  for (int r = 0; r < 7; ++r) gbs.push_back(4.0 * static_cast<double>(n) * passes / run_threads(threads, part) / 1e9);
  (void)sink;
  return gbs;
}

}  // namespace

void limits_bench() {
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  for (int t : {1, 2}) {
    if (t > all) break;
    bench::report("limits", has_avx512() ? "FMA peak (AVX-512)" : "FMA peak (AVX2)", t, "GFLOP/s", fma_peak(t));
    // The sizes of the rows compared with them (bench/report_work.py names which limit a row uses).
    bench::report("limits", "add bandwidth, 16M f32 (the bandwidth rows)", t, "GB/s", add_bandwidth(t, int64_t{16} << 20));
    bench::report("limits", "add bandwidth, 3.2M f32 (a [128, 32, 28, 28] activation)", t, "GB/s",
                  add_bandwidth(t, 128 * 32 * 28 * 28));
    bench::report("limits", "read bandwidth, 4M f32 (the reduce rows' [4096, 1024])", t, "GB/s",
                  read_bandwidth(t, 4096 * 1024));
  }
}
