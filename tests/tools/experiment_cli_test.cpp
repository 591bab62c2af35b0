// `hpml experiment --data sklearn --train-acc running`: scikit-learn's points and Keras's running
// train accuracy beside the end-of-epoch pass (results.csv's extra column, values in [0, 1]);
// a bad --data or --train-acc value exits 2 naming it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string f; std::getline(ss, f, ',');) out.push_back(f);
  return out;
}

TEST(ExperimentOptionsCli, SklearnDataWithRunningTrainAccuracy) {
  hpml::testing::TempDir dir("hpml_cli_test");
  auto r = hpml::testing::run_cli_within(
      "experiment lr-decay --data sklearn --epochs 2 --train-acc running --out " + dir.path(), 120);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("sklearn data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("running acc"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("lr-decay/accuracy.png")));
  std::ifstream csv(dir.file("lr-decay/results.csv"));
  std::string header;
  ASSERT_TRUE(std::getline(csv, header));
  EXPECT_EQ(header, "decay,seed,epoch,train_loss,train_acc,test_acc,train_acc_running");
  int rows = 0;
  double running_sum = 0;
  for (std::string line; std::getline(csv, line); ++rows) {
    const auto f = split(line);
    ASSERT_EQ(f.size(), 7u) << line;
    for (size_t c : {4u, 5u, 6u}) {
      const double v = std::stod(f[c]);
      EXPECT_GE(v, 0.0) << line;
      EXPECT_LE(v, 1.0) << line;
    }
    running_sum += std::stod(f[6]);
  }
  EXPECT_EQ(rows, 4 * 2) << "4 decays x 1 seed x 2 epochs";
  EXPECT_GT(running_sum, 0.0) << "the running accuracy column is all zeros";

  // Without --train-acc running the CSV keeps its six columns.
  auto p = hpml::testing::run_cli_within("experiment momentum --data sklearn --epochs 1 --out " + dir.path(), 120);
  ASSERT_EQ(p.status, 0) << p.out;
  std::ifstream pcsv(dir.file("momentum/results.csv"));
  ASSERT_TRUE(std::getline(pcsv, header));
  EXPECT_EQ(header, "momentum,seed,epoch,train_loss,train_acc,test_acc");
}

TEST(ExperimentOptionsCli, BadValuesExit2NamingThem) {
  hpml::testing::TempDir dir("hpml_cli_test");
  auto d = hpml::testing::run_cli("experiment lr-decay --data scikit --epochs 1 --out " + dir.path());
  EXPECT_EQ(d.status, 2) << d.out;
  EXPECT_NE(d.out.find("scikit"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("--data"), std::string::npos) << d.out;
  auto t = hpml::testing::run_cli("experiment lr-decay --train-acc keras --epochs 1 --out " + dir.path());
  EXPECT_EQ(t.status, 2) << t.out;
  EXPECT_NE(t.out.find("keras"), std::string::npos) << t.out;
  for (const char* bad : {"--seeds 0", "--seeds 1001", "--epochs 1e3", "--epochs 0"}) {
    auto b = hpml::testing::run_cli(std::string("experiment lr-decay ") + bad + " --out " + dir.path());
    EXPECT_EQ(b.status, 2) << bad << "\n" << b.out;
    EXPECT_NE(b.out.find("is not an integer in ["), std::string::npos) << bad << "\n" << b.out;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("lr-decay"))) << "a refused command wrote files";
}

}  // namespace
