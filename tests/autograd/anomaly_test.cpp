// Anomaly mode: NaN/Inf in forward or backward names the op; the guard; HPML_DETECT_ANOMALY=1 at start-up.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "autograd/autograd_test_util.h"
#include "child_process.h"

namespace hpml {
namespace {

using autograd::AnomalyMode;
using autograd::DetectAnomalyGuard;
using testing::error_of;
using testing::leaf;
using testing::values;

TEST(AnomalyGuard, SetsAndRestoresTheMode) {
  DetectAnomalyGuard off(false);  // independent of HPML_DETECT_ANOMALY in the environment
  EXPECT_FALSE(AnomalyMode::is_enabled());
  {
    DetectAnomalyGuard on;
    EXPECT_TRUE(AnomalyMode::is_enabled());
    {
      DetectAnomalyGuard inner(false);
      EXPECT_FALSE(AnomalyMode::is_enabled());
    }
    EXPECT_TRUE(AnomalyMode::is_enabled());
  }
  EXPECT_FALSE(AnomalyMode::is_enabled());
}

TEST(AnomalyForward, LogOfZeroNamesLog) {
  Tensor x = leaf({1.0, 0.0});
  DetectAnomalyGuard on;
  std::string msg = error_of([&] { (void)x.log(); });
  EXPECT_CONTAINS(msg, "anomaly");
  EXPECT_CONTAINS(msg, "log");
  EXPECT_CONTAINS(msg, "inf");
  EXPECT_CONTAINS(msg, "forward");
}

TEST(AnomalyForward, ChecksTensorsThatDoNotRequireGrad) {
  Tensor c = leaf({-1.0, 4.0}, false);
  DetectAnomalyGuard on;
  std::string msg = error_of([&] { (void)c.sqrt(); });
  EXPECT_CONTAINS(msg, "sqrt");
  EXPECT_CONTAINS(msg, "nan");
}

TEST(AnomalyForward, FiniteResultsPassAndRecordNothingExtra) {
  DetectAnomalyGuard on;
  Tensor c = leaf({1.0, 2.0}, false);
  Tensor y = c.exp().log();
  EXPECT_FALSE(y.requires_grad());  // anomaly mode checks values but must not build a graph
  EXPECT_EQ(y.grad_fn(), nullptr);
  testing::expect_values(y, {1, 2}, 1e-15);
  Tensor x = leaf({0.5});
  (x * x).sum().backward();
  testing::expect_values(x.grad(), {1.0});
}

TEST(AnomalyForward, WithoutAnomalyModeNothingThrows) {
  DetectAnomalyGuard off(false);
  Tensor x = leaf({1.0, 0.0});
  Tensor y;
  EXPECT_NO_THROW(y = x.log());
  std::vector<double> v = values(y);
  EXPECT_EQ(v[0], 0.0);
  EXPECT_TRUE(std::isinf(v[1]) && v[1] < 0);
}

TEST(AnomalyBackward, InfInBackwardNamesTheBackwardOp) {
  Tensor x = leaf({0.0, 4.0});
  Tensor y = x.sqrt().sum();  // forward is finite; d sqrt(x)/dx = 1 / (2 sqrt(x)) is inf at 0
  DetectAnomalyGuard on;
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_CONTAINS(msg, "anomaly");
  EXPECT_CONTAINS(msg, "backward of sqrt");
  EXPECT_CONTAINS(msg, "inf");
}

TEST(AnomalyBackward, NanInBackwardNamesTheBackwardOp) {
  Tensor x = leaf({0.0});
  Tensor y = (x.sqrt() * 0.0).sum();  // gradient into sqrt is 0, and 0 / (2 sqrt(0)) is nan
  DetectAnomalyGuard on;
  std::string msg = error_of([&] { y.backward(); });
  EXPECT_CONTAINS(msg, "backward of sqrt");
  EXPECT_CONTAINS(msg, "nan");
}

TEST(AnomalyBackward, NanFromMulBackwardNamesMul) {
  // d(x * y)/dx = y; with y = inf and an incoming gradient of 0, 0 * inf = nan in mul's backward.
  Tensor x = leaf({1.0});
  Tensor w = leaf({std::numeric_limits<double>::infinity()}, false);
  Tensor z;
  {
    DetectAnomalyGuard off(false);  // the forward itself has inf and nan
    z = ((x * w) * 0.0).sum();
  }
  DetectAnomalyGuard on;
  std::string msg = error_of([&] { z.backward(Tensor(), true); });
  EXPECT_CONTAINS(msg, "backward of mul");
  EXPECT_CONTAINS(msg, "nan");
}

TEST(AnomalyBackward, WithoutAnomalyModeTheSameBackwardSucceeds) {
  DetectAnomalyGuard off(false);
  Tensor x = leaf({0.0, 4.0});
  EXPECT_NO_THROW(x.sqrt().sum().backward());
  std::vector<double> g = values(x.grad());
  EXPECT_TRUE(std::isinf(g[0]) && g[0] > 0);
  EXPECT_DOUBLE_EQ(g[1], 0.25);

  Tensor x2 = leaf({0.0});
  EXPECT_NO_THROW((x2.sqrt() * 0.0).sum().backward());
  EXPECT_TRUE(std::isnan(values(x2.grad())[0]));
}

TEST(AnomalyBackward, FailedBackwardLeavesModesRestored) {
  Tensor x = leaf({0.0});
  Tensor y = x.sqrt().sum();
  {
    DetectAnomalyGuard on;
    EXPECT_THROW(y.backward(), Error);
    EXPECT_TRUE(AnomalyMode::is_enabled());
  }
  EXPECT_TRUE(autograd::GradMode::is_enabled());
}

// ---- HPML_DETECT_ANOMALY: read once at start-up; checked by re-running this binary --------------------

// Runs only as the child of the test below (DISABLED_: the parent asks for it explicitly), and
// reports what it sees.
TEST(AnomalyEnvChild, DISABLED_Report) {
  ASSERT_NE(std::getenv("HPML_ANOMALY_TEST_CHILD"), nullptr) << "run by AnomalyEnv as a child process";
  bool log_throws = false;
  try {
    (void)leaf({0.0}, false).log();
  } catch (const Error&) {
    log_throws = true;
  }
  std::printf("\n[child] anomaly_enabled=%d log_throws=%d\n", AnomalyMode::is_enabled() ? 1 : 0, log_throws ? 1 : 0);
}

// Runs the child test with `env_prefix` and returns its output.
std::string run_child(const std::string& env_prefix) {
  return testing::run_test_in_child("-u HPML_DETECT_ANOMALY " + env_prefix + " HPML_ANOMALY_TEST_CHILD=1",
                                    "AnomalyEnvChild.DISABLED_Report");
}

TEST(AnomalyEnv, VariableTurnsAnomalyModeOnAtStartup) {
  ASSERT_FALSE(testing::self_exe().empty());
  std::string on = run_child("HPML_DETECT_ANOMALY=1");
  EXPECT_CONTAINS(on, "[child] anomaly_enabled=1 log_throws=1");
  std::string unset = run_child("");
  EXPECT_CONTAINS(unset, "[child] anomaly_enabled=0 log_throws=0");
  std::string zero = run_child("HPML_DETECT_ANOMALY=0");
  EXPECT_CONTAINS(zero, "[child] anomaly_enabled=0 log_throws=0");
}

}  // namespace
}  // namespace hpml
