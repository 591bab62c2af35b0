// The hpml command on the simulated device: `hpml info` lists the devices, `hpml train --device
// sim` trains to the same weights as the cpu (its kernels are the cpu's, run asynchronously), a
// run resumes on another device, `hpml eval --device sim` reports what the cpu reports, and a
// device this build lacks is refused with the reason.
#include <gtest/gtest.h>

#include <string>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

using hpml::testing::CliRun;
using hpml::testing::run_cli_within;

const std::string kMlp = "train --model mlp --dataset blobs --hidden 16 --quiet --seed 3 --epochs 2 --batch-size 32";

bool has(const std::string& out, const std::string& s) { return out.find(s) != std::string::npos; }

// The model's tensors of a checkpoint, by name, as bytes.
std::string model_bytes(const std::string& path) {
  std::string out;
  for (auto& [name, t] : hpml::io::load_safetensors(path))
    if (name.rfind("model.", 0) == 0) out += name + std::string(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

TEST(DeviceCli, InfoListsTheDevices) {
  CliRun r = run_cli_within("info", 30);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(has(r.out, "devices:     cpu")) << r.out;
  EXPECT_TRUE(has(r.out, "sim:0 (simulated")) << r.out;
  EXPECT_TRUE(has(r.out, "sim:1 (simulated")) << r.out;
}

TEST(DeviceCli, TrainOnTheSimDeviceGivesTheCpusWeights) {
  hpml::testing::TempDir dir("hpml_device_cli");
  CliRun cpu = run_cli_within(kMlp + " --out " + dir.file("cpu"), 120);
  ASSERT_EQ(cpu.status, 0) << cpu.out;
  CliRun sim = run_cli_within(kMlp + " --device sim --workers 2 --out " + dir.file("sim"), 120);
  ASSERT_EQ(sim.status, 0) << sim.out;
  EXPECT_EQ(model_bytes(dir.file("cpu/last.safetensors")), model_bytes(dir.file("sim/last.safetensors")));
  // The device is recorded, and a resumed run may move to another one.
  CliRun half = run_cli_within(kMlp + " --device sim:1 --stop-after 1 --out " + dir.file("moved"), 120);
  ASSERT_EQ(half.status, 0) << half.out;
  CliRun resumed = run_cli_within("train --resume " + dir.file("moved/last.safetensors") + " --device cpu", 120);
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_EQ(model_bytes(dir.file("cpu/last.safetensors")), model_bytes(dir.file("moved/last.safetensors")));
}

TEST(DeviceCli, EvalOnTheSimDeviceReportsWhatTheCpuReports) {
  hpml::testing::TempDir dir("hpml_device_cli");
  ASSERT_EQ(run_cli_within(kMlp + " --out " + dir.file("r"), 120).status, 0);
  CliRun cpu = run_cli_within("eval " + dir.file("r/last.safetensors") + " --out " + dir.file("e1"), 60);
  CliRun sim = run_cli_within("eval " + dir.file("r/last.safetensors") + " --device sim --out " + dir.file("e2"), 60);
  ASSERT_EQ(cpu.status, 0) << cpu.out;
  ASSERT_EQ(sim.status, 0) << sim.out;
  auto report = [](const std::string& out) {  // from the accuracy to the files written (their folders differ)
    const size_t from = out.find("accuracy");
    return from == std::string::npos ? out : out.substr(from, out.find("wrote") - from);
  };
  EXPECT_TRUE(has(cpu.out, "confusion matrix")) << cpu.out;
  EXPECT_EQ(report(cpu.out), report(sim.out));
}

TEST(DeviceCli, ADeviceThisBuildLacksIsRefusedWithTheReason) {
  hpml::testing::TempDir dir("hpml_device_cli");
  if (!hpml::cuda::is_available()) {  // a CPU build, or a CUDA build on a machine without a GPU
    CliRun r = run_cli_within(kMlp + " --device cuda --out " + dir.file("c"), 60);
    EXPECT_EQ(r.status, 2) << r.out;
    EXPECT_TRUE(has(r.out, hpml::cuda::is_built() ? "has no cuda device" : "not built with CUDA")) << r.out;
  }
  CliRun bad = run_cli_within(kMlp + " --device sim:7 --out " + dir.file("s"), 60);
  EXPECT_EQ(bad.status, 2) << bad.out;
  EXPECT_TRUE(has(bad.out, "sim:7")) << bad.out;
  CliRun junk = run_cli_within(kMlp + " --device tpu --out " + dir.file("t"), 60);
  EXPECT_EQ(junk.status, 2) << junk.out;
  EXPECT_TRUE(has(junk.out, "invalid device string 'tpu'")) << junk.out;
  CliRun mpi = run_cli_within(kMlp + " --device sim --nproc 2 --out " + dir.file("m"), 60);
  EXPECT_EQ(mpi.status, 2) << mpi.out;
  EXPECT_TRUE(has(mpi.out, "the mpi backend all-reduces cpu tensors")) << mpi.out;
}

}  // namespace
