// libFuzzer target for checkpoint restore: the bytes are a safetensors file whose checksum the
// fuzzer recomputes (anyone forging a file can), so that they reach the restore logic of a tiny
// model, an SGD optimizer with momentum, a StepLR scheduler and a named generator. Restoring
// must either succeed - and then a training step must stay in bounds - or raise hpml::Error.
#include <hpml/hpml.h>
#include <hpml/io/checkpoint.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace {

std::string scratch_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/hpml_checkpoint_fuzz." + std::to_string(::getpid());
}

void restore_and_step(const std::string& path) {
  using namespace hpml;
  nn::Linear net(3, 2);
  optim::SGD opt(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  optim::StepLR sched(opt, 2);
  Generator data(7);
  io::TrainingObjects objects{.model = &net, .optimizer = &opt, .scheduler = &sched, .generators = {{"data", &data}}};
  io::load_checkpoint(path, objects);
  net.forward(ones({1, 3})).sum().backward();
  opt.step();
  sched.step();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = scratch_path();
  try {
    hpml::io::Metadata meta;
    const hpml::io::NamedTensors tensors = hpml::io::parse_safetensors(data, size, "fuzz-input", &meta);
    meta["hpml.checksum"] = hpml::io::checkpoint_checksum(tensors, meta);  // the forger's fix-up
    const std::string bytes = hpml::io::serialize_safetensors(tensors, meta);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    std::fclose(f);
    if (ok) restore_and_step(path);
  } catch (const hpml::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  std::remove(path.c_str());
  return 0;
}
