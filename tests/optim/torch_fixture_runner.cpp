// run_torch_fixture: the one place the optimizer and scheduler tests start PyTorch.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "nn/nn_test_util.h"
#include "optim/optim_test_util.h"

namespace hpml::optimtest {

TorchFixture run_torch_fixture(const std::string& script, const std::string& spec_json) {
  constexpr const char* kPython = "/usr/bin/python3";
  TorchFixture out;
  if (!std::filesystem::exists(kPython)) {
    out.error = std::string(kPython) + " is missing (Debian: apt-get install python3-torch)";
    return out;
  }
  nntest::TempDir dir;
  std::ofstream(dir.file("spec.json")) << spec_json;
  const std::string path = (std::filesystem::path(HPML_TESTS_DIR) / "python" / script).string();
  const std::string cmd = std::string(kPython) + " '" + path + "' '" + dir.file("spec.json") + "' '" +
                          dir.file("out.safetensors") + "' 2>&1";
  std::string log;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 512> buf{};
  while (p && std::fgets(buf.data(), static_cast<int>(buf.size()), p)) log += buf.data();
  if ((p ? ::pclose(p) : -1) != 0) {
    out.error = "the PyTorch fixture script " + script + " failed (needs python3-torch):\n" + log;
    return out;
  }
  for (auto& [k, t] : io::load_safetensors(dir.file("out.safetensors"))) out.tensors[k] = t;
  return out;
}

}  // namespace hpml::optimtest
