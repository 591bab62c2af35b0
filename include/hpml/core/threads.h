// Thread settings and parallel_for. One budget for everything: hpml's OpenMP pool and OpenBLAS.
// See Note [One thread budget] in src/core/threads.cpp.
#pragma once

#include <cstdint>
#include <exception>
#include <mutex>

namespace hpml {

// Sets the number of threads hpml's kernels and OpenBLAS may use (>= 1).
void set_num_threads(int n);
int get_num_threads();
// The cores this process may run on (sched_getaffinity), the default thread count.
int default_num_threads();
// True inside an hpml parallel region (work started there runs on the calling thread).
bool in_parallel_region();

namespace detail {
// Called by the BLAS loader (kernels/cpu/blas.cpp) so that set_num_threads also sizes OpenBLAS;
// it is applied to the current thread count at once.
void set_blas_threads_hook(void (*fn)(int));
// Makes the calling thread run every parallel_for on itself, as if inside a parallel region:
// DataLoader worker threads use it so that N workers do not each start a team of threads.
void set_thread_serial(bool serial);
void parallel_run(int64_t begin, int64_t end, int64_t grain, void (*fn)(void*, int64_t, int64_t), void* ctx);
}

// Calls f(lo, hi) on disjoint chunks covering [begin, end), in parallel when the range holds
// more than `grain` items and more than one thread is allowed. Never nests: inside a parallel
// region it runs f(begin, end) on the calling thread. Exceptions from f are rethrown here.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  if (end <= begin) return;
  if (end - begin <= grain || get_num_threads() == 1 || in_parallel_region()) {
    f(begin, end);
    return;
  }
  detail::parallel_run(
      begin, end, grain,
      [](void* ctx, int64_t lo, int64_t hi) { (*static_cast<const F*>(ctx))(lo, hi); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace hpml
