// Thread budget shared by hpml's OpenMP kernels and OpenBLAS.
#include "hpml/core/threads.h"

#include <omp.h>
#include <sched.h>

#include <atomic>
#include <cstdlib>

#include "hpml/core/error.h"

namespace hpml {

// Note [One thread budget]
// PyTorch on this kind of machine defaults to 1 intra-op thread while its OpenBLAS (pthread
// flavour) starts its own pool sized to all cores: two pools that do not know about each other,
// and a GEMM called from inside a parallel loop runs cores x cores threads. hpml links the
// OpenMP flavour of OpenBLAS, so BLAS and hpml's kernels share one libgomp pool; OpenBLAS runs
// single-threaded when called inside a parallel region (it checks omp_in_parallel), and
// set_num_threads sizes both at once. tests/core/threads_test.cpp counts busy threads to prove it.

namespace {
std::atomic<int> g_threads{0};
std::atomic<void (*)(int)> g_blas_threads{nullptr};  // set once OpenBLAS is loaded

int initial_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return default_num_threads();
}
}  // namespace

int default_num_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

void set_num_threads(int n) {
  HPML_CHECK(n >= 1, "set_num_threads: expected a positive number of threads, got ", n);
  g_threads.store(n);
  omp_set_num_threads(n);
  if (auto blas = g_blas_threads.load()) blas(n);
}

int get_num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    static std::once_flag once;
    std::call_once(once, [] { set_num_threads(initial_threads()); });
    n = g_threads.load();
  }
  return n;
}

namespace {
thread_local bool t_serial = false;
}

bool in_parallel_region() { return t_serial || omp_in_parallel() != 0; }

namespace detail {

void set_thread_serial(bool serial) { t_serial = serial; }

void set_blas_threads_hook(void (*fn)(int)) {
  g_blas_threads.store(fn);
  fn(get_num_threads());
}

void parallel_run(int64_t begin, int64_t end, int64_t grain, void (*fn)(void*, int64_t, int64_t), void* ctx) {
  int64_t n = end - begin;
  int64_t max_chunks = grain > 0 ? (n + grain - 1) / grain : n;
  int nt = static_cast<int>(std::min<int64_t>(get_num_threads(), max_chunks));
  std::exception_ptr error;
  std::mutex error_mu;
#pragma omp parallel num_threads(nt)
  {
    int tid = omp_get_thread_num(), team = omp_get_num_threads();
    int64_t chunk = (n + team - 1) / team;
    int64_t lo = begin + tid * chunk, hi = std::min(end, lo + chunk);
    if (lo < hi) {
      try {
        fn(ctx, lo, hi);
      } catch (...) {
        std::lock_guard<std::mutex> g(error_mu);
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace detail
}  // namespace hpml
