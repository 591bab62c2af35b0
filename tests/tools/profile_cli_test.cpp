// hpml train --profile and hpml experiment --profile: the three files, the breakdown they print,
// that the breakdown accounts for the steps the training loop timed, worker processes in the
// trace, and bad profile options.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

using hpml::testing::CliRun;
using hpml::testing::run_cli_within;

// blobs: 1,440 training points, 45 batches of 32 in an epoch.
const std::string kMlp = "train --model mlp --dataset blobs --hidden 64 --batch-size 32 --epochs 1 --quiet --profile";

bool has(const std::string& out, const std::string& s) { return out.find(s) != std::string::npos; }

std::string read(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct Breakdown {
  double step_ms = 0, measured_ms = 0;
  std::map<std::string, double> parts;  // ms per step
};

// The breakdown at the top of profile.txt (Note [What profile.txt says] in profile_run.cpp).
Breakdown parse(const std::string& text) {
  Breakdown b;
  std::smatch m;
  static const std::regex head(R"(([0-9.]+) ms per step \(the training loop measured ([0-9.]+) ms\))");
  EXPECT_TRUE(std::regex_search(text, m, head)) << text;
  if (m.size() == 3) {
    b.step_ms = std::stod(m[1]);
    b.measured_ms = std::stod(m[2]);
  }
  static const std::regex part(R"(\n  (data wait|forward|backward|optimizer|other) +([0-9.-]+) ms +([0-9.-]+)%)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), part); it != std::sregex_iterator(); ++it)
    b.parts[(*it)[1]] = std::stod((*it)[2]);
  return b;
}

TEST(ProfileCli, TrainWritesTraceTableAndPictureAndPrintsTheBreakdown) {
  hpml::testing::TempDir dir;
  CliRun r = run_cli_within(kMlp + " --out " + dir.path() + "/r", 120);
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* f : {"trace.json", "profile.txt", "profile.png", "profile.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/r/" + f)) << f;
  EXPECT_TRUE(has(r.out, "ms per step")) << r.out;
  EXPECT_TRUE(has(r.out, "  forward ")) << r.out;
  EXPECT_TRUE(has(r.out, "trace.json (open it in https://ui.perfetto.dev)")) << r.out;
  const std::string text = read(dir.path() + "/r/profile.txt");
  EXPECT_TRUE(has(text, "10 steps after 5 skipped and 2 of warm-up")) << text;
  EXPECT_TRUE(has(text, "top ops by self time")) << text;
  EXPECT_TRUE(has(text, "Self CPU time total:")) << text;
  // The trace: JSON with the ten profiled steps and the phases inside them.
  const nlohmann::json j = nlohmann::json::parse(read(dir.path() + "/r/trace.json"));
  std::set<std::string> steps;
  int forward = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const std::string name = e["name"];
    if (name.rfind("ProfilerStep#", 0) == 0) steps.insert(name);
    forward += name == "forward";
  }
  EXPECT_EQ(steps, (std::set<std::string>{"ProfilerStep#7", "ProfilerStep#8", "ProfilerStep#9", "ProfilerStep#10",
                                          "ProfilerStep#11", "ProfilerStep#12", "ProfilerStep#13", "ProfilerStep#14",
                                          "ProfilerStep#15", "ProfilerStep#16"}));
  EXPECT_EQ(forward, 10);
}

TEST(ProfileCli, TheBreakdownAddsUpToTheStepTimeTheLoopMeasured) {
  hpml::testing::TempDir dir;
  CliRun r = run_cli_within(kMlp + " --profile-steps 20 --out " + dir.path() + "/r", 120);
  ASSERT_EQ(r.status, 0) << r.out;
  const Breakdown b = parse(read(dir.path() + "/r/profile.txt"));
  ASSERT_EQ(b.parts.size(), 5u);
  double sum = 0;
  for (const auto& [name, ms] : b.parts) {
    EXPECT_GE(ms, 0) << name;
    sum += ms;
  }
  EXPECT_NEAR(sum, b.step_ms, 0.01 * b.step_ms + 0.005);  // the parts are the step, up to rounding
  EXPECT_GT(b.parts.at("forward") + b.parts.at("backward") + b.parts.at("optimizer"), 0);
  // The steps' events against the training loop's own clock around the same steps.
  EXPECT_NEAR(b.step_ms, b.measured_ms, 0.05 * b.measured_ms) << read(dir.path() + "/r/profile.txt");
}

TEST(ProfileCli, ProfilingChangesNoNumberOfTheRun) {
  hpml::testing::TempDir dir;
  const std::string opts =
      "train --model mlp --dataset blobs --hidden 64 --batch-size 32 --epochs 2 --quiet --workers 2";
  ASSERT_EQ(run_cli_within(opts + " --out " + dir.path() + "/plain", 120).status, 0);
  ASSERT_EQ(run_cli_within(opts + " --profile --out " + dir.path() + "/profiled", 120).status, 0);
  const auto plain = hpml::io::load_safetensors(dir.path() + "/plain/last.safetensors");
  const auto profiled = hpml::io::load_safetensors(dir.path() + "/profiled/last.safetensors");
  ASSERT_EQ(plain.size(), profiled.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_EQ(plain[i].first, profiled[i].first);
    const hpml::Tensor& a = plain[i].second;
    const hpml::Tensor& b = profiled[i].second;
    ASSERT_EQ(a.sizes(), b.sizes()) << plain[i].first;
    EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()), 0) << plain[i].first << " differs";
  }
}

TEST(ProfileCli, WorkerProcessesAppearUnderTheirPids) {
  hpml::testing::TempDir dir;
  CliRun r = run_cli_within(kMlp + " --workers 2 --worker-mode process --out " + dir.path() + "/r", 120);
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(read(dir.path() + "/r/trace.json"));
  std::set<int64_t> pids, fetch_pids;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "process_name") pids.insert(e["pid"].get<int64_t>());
    if (e["ph"] == "X" && e["name"] == "DataLoader.fetch") fetch_pids.insert(e["pid"].get<int64_t>());
  }
  EXPECT_EQ(pids.size(), 3u) << "the main process and two workers";
  EXPECT_EQ(fetch_pids.size(), 2u) << "fetches in both worker processes";
  for (int64_t p : fetch_pids) EXPECT_TRUE(pids.count(p)) << p;
}

TEST(ProfileCli, ExperimentProfilesItsFirstRun) {
  hpml::testing::TempDir dir;
  CliRun r = run_cli_within("experiment lr-decay --epochs 2 --profile --out " + dir.path(), 120);
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* f : {"trace.json", "profile.txt", "profile.png"})
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/lr-decay/" + f)) << f;
  EXPECT_TRUE(has(r.out, "ms per step")) << r.out;
  CliRun bad = run_cli_within("experiment activations --profile --out " + dir.path(), 60);
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(has(bad.out, "--profile needs training steps")) << bad.out;
}

TEST(ProfileCli, ShortRunsAndBadOptionsSayWhy) {
  hpml::testing::TempDir dir;
  // 60 steps to wait is past the epoch's 45.
  CliRun r = run_cli_within(kMlp + " --profile-wait 60 --out " + dir.path() + "/r", 60);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(has(r.out, "before the steps to profile (after --profile-wait 60")) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/r/trace.json"));
  EXPECT_EQ(run_cli_within(kMlp + " --profile-steps 0", 30).status, 2);
  EXPECT_EQ(run_cli_within(kMlp + " --profile-wait -1", 30).status, 2);
  EXPECT_EQ(run_cli_within(kMlp + " --profile-warmup 2000000", 30).status, 2);
}

}  // namespace
