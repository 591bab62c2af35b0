// main() of the tests that run under mpirun (hpml_distributed_tests): every rank runs every test;
// the default process group is up for the whole run. A failure on any rank fails the run.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "hpml/distributed/distributed.h"
#include "hpml/ops/factories.h"

namespace {
struct FailuresOnly : ::testing::EmptyTestEventListener {
  explicit FailuresOnly(int rank) : rank(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", rank, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.message());
  }
  int rank;
};
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // A test that leaves the ranks out of step fails by this timeout, not by hanging.
  hpml::distributed::init_process_group({.backend = "mpi", .timeout = std::chrono::seconds(60)});
  if (const int rank = hpml::distributed::get_rank(); rank != 0) {  // the other ranks print failures only
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailuresOnly(rank));
  }
  const int rc = RUN_ALL_TESTS();
  // Every rank's result, so that a failure on rank 1 alone still fails mpirun.
  hpml::Tensor failed = hpml::full({1}, rc == 0 ? 0 : 1, hpml::TensorOptions(hpml::DType::i32));
  hpml::distributed::all_reduce(failed, hpml::distributed::ReduceOp::max);
  hpml::distributed::destroy_process_group();
  return failed.item().to<int>() == 0 ? 0 : 1;
}
