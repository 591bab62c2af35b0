// Thread budget: set/get_num_threads, parallel_for semantics, and busy-thread counts proving that a GEMM inside
// an hpml parallel region does not oversubscribe (see Note [One thread budget] in src/core/threads.cpp).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/test_helpers.h"
#include "hpml/core/threads.h"

namespace hpml {
namespace {

struct ThreadGuard {
  int saved = get_num_threads();
  ~ThreadGuard() { set_num_threads(saved); }
};

// CPU time (utime + stime, in clock ticks) of every thread of this process, by tid.
std::map<int, long long> thread_cpu_ticks() {
  std::map<int, long long> out;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;  // the thread exited meanwhile
    // Fields after the command name (which may hold spaces) start with field 3, the state.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::vector<std::string> fields;
    for (std::string tok; rest >> tok;) fields.push_back(tok);
    if (fields.size() < 13) continue;
    out[std::stoi(e->d_name)] = std::stoll(fields[11]) + std::stoll(fields[12]);  // fields 14 and 15
  }
  closedir(dir);
  return out;
}

// Runs `work` and returns how many threads of this process used more than 20% of the wall time in CPU.
template <typename F>
int count_busy_threads(F&& work, double* wall_out = nullptr) {
  const auto before = thread_cpu_ticks();
  const auto t0 = std::chrono::steady_clock::now();
  work();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto after = thread_cpu_ticks();
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  int busy = 0;
  for (const auto& [tid, ticks] : after) {
    auto it = before.find(tid);
    const long long used = ticks - (it == before.end() ? 0 : it->second);
    if (static_cast<double>(used) / hz > 0.2 * wall) ++busy;
  }
  if (wall_out) *wall_out = wall;
  return busy;
}

// Repeats mm(a, b) for about `seconds`; returns a value derived from the results so nothing is optimised away.
double mm_for(const Tensor& a, const Tensor& b, double seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  double sink = 0;
  int reps = 0;
  while (reps == 0 || std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
    Tensor c = mm(a, b);
    sink += static_cast<double>(c.data_ptr<float>()[reps % c.numel()]);
    ++reps;
  }
  return sink;
}

TEST(Threads, SetAndGet) {
  ThreadGuard guard;
  EXPECT_GE(default_num_threads(), 1);
  EXPECT_GE(get_num_threads(), 1);
  set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  EXPECT_HPML_ERROR(set_num_threads(0), "set_num_threads", "0");
  EXPECT_HPML_ERROR(set_num_threads(-2), "set_num_threads");
  EXPECT_EQ(get_num_threads(), 1) << "a rejected value must not change the setting";
  EXPECT_FALSE(in_parallel_region());
}

TEST(Threads, ParallelForCoversRangeExactlyOnce) {
  ThreadGuard guard;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    const int64_t begin = 5, end = 1005;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(end));
    std::atomic<int> calls{0};
    parallel_for(begin, end, 10, [&](int64_t lo, int64_t hi) {
      ++calls;
      for (int64_t i = lo; i < hi; ++i) ++hits[static_cast<size_t>(i)];
    });
    for (int64_t i = 0; i < end; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), i >= begin ? 1 : 0) << i;
    if (threads == 1) {
      EXPECT_EQ(calls.load(), 1);
    } else {
      EXPECT_GE(calls.load(), 2) << "with " << threads << " threads the range should be split";
    }
  }
  std::atomic<int> calls{0};
  parallel_for(3, 3, 1, [&](int64_t, int64_t) { ++calls; });
  parallel_for(0, 50, 100, [&](int64_t lo, int64_t hi) {  // range within one grain: a single call
    ++calls;
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 50);
  });
  EXPECT_EQ(calls.load(), 1);
}

TEST(Threads, ParallelForDoesNotNestAndRethrows) {
  ThreadGuard guard;
  set_num_threads(2);
  std::mutex mu;
  std::set<long> tids;
  std::atomic<int> inner_calls{0}, in_region{0};
  parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    if (in_parallel_region()) ++in_region;
    {
      std::lock_guard<std::mutex> g(mu);
      tids.insert(static_cast<long>(syscall(SYS_gettid)));
    }
    parallel_for(0, 100, 1, [&](int64_t lo, int64_t hi) {
      if (lo == 0 && hi == 100) ++inner_calls;  // run whole, on this thread
    });
  });
  EXPECT_EQ(tids.size(), 2u) << "two chunks with two threads should run on two threads";
  EXPECT_EQ(in_region.load(), 2);
  EXPECT_EQ(inner_calls.load(), 2);
  EXPECT_FALSE(in_parallel_region());

  EXPECT_HPML_ERROR(parallel_for(0, 100, 1, [](int64_t lo, int64_t) { HPML_CHECK(lo != 0, "boom from chunk ", lo); }),
                    "boom from chunk 0");
}

// The thread budget: with 2 threads, a matmul issued inside an hpml parallel region does not run more
// than 2 busy threads (OpenBLAS must run single-threaded there instead of starting its own team per call).
TEST(Threads, MatmulInsideParallelRegionUsesAtMostTheBudget) {
  ThreadGuard guard;
  set_num_threads(2);
  Generator g(1);
  Tensor a = randn({512, 512}, &g), b = randn({512, 512}, &g);
  (void)mm(a, b);  // let OpenBLAS start whatever threads it starts before measuring
  std::mutex mu;
  std::set<long> tids;
  std::atomic<int> in_region{0};
  double wall = 0;
  const int busy = count_busy_threads(
      [&] {
        parallel_for(0, 2, 1, [&](int64_t, int64_t) {
          {
            std::lock_guard<std::mutex> lk(mu);
            tids.insert(static_cast<long>(syscall(SYS_gettid)));
          }
          if (in_parallel_region()) ++in_region;
          (void)mm_for(a, b, 0.5);
        });
      },
      &wall);
  EXPECT_EQ(tids.size(), 2u) << "the region itself should use both threads";
  EXPECT_EQ(in_region.load(), 2);
  EXPECT_GE(wall, 0.45);
  EXPECT_LE(busy, 2) << "a GEMM inside a parallel region oversubscribed the 2-thread budget";
  EXPECT_GE(busy, 1) << "measurement found no busy thread at all";
}

// Positive control for the measurement: a large GEMM outside any region does use both threads.
TEST(Threads, PlainMatmulUsesBothThreads) {
  if (default_num_threads() < 2)
    GTEST_SKIP() << "only " << default_num_threads() << " core available: two busy threads cannot be observed";
  ThreadGuard guard;
  set_num_threads(2);
  Generator g(2);
  Tensor a = randn({1024, 1024}, &g), b = randn({1024, 1024}, &g);
  (void)mm(a, b);
  const int busy = count_busy_threads([&] { (void)mm_for(a, b, 0.5); });
  EXPECT_GE(busy, 2) << "a 1024x1024 GEMM with 2 threads should keep 2 threads busy";
  EXPECT_LE(busy, 2) << "a GEMM outside a region must also stay within the 2-thread budget";
}

}  // namespace
}  // namespace hpml
