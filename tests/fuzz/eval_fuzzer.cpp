// libFuzzer target for the checkpoint path of `hpml eval` past the checksum (anyone can forge a
// valid one): the input is a safetensors file; its metadata "argv" is read as the recorded
// arguments, the model they describe is planned, checked against the file's model tensors and
// only then built and loaded. Any input must end there or in hpml::Error, never crash, and
// never allocate a model the file's tensors do not match.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hpml/hpml.h"
#include "train.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hpml::cli;
  try {
    hpml::io::Metadata meta;
    hpml::io::NamedTensors tensors = hpml::io::parse_safetensors(data, size, "fuzz-input", &meta);
    hpml::io::NamedTensors model;
    for (auto& [name, t] : tensors)
      if (name.rfind("model.", 0) == 0) model.emplace_back(name.substr(6), t);
    const TrainConfig c = recorded_config(meta, "fuzz-input");
    DataSplits d;  // blobs' shapes, without reading any data set
    d.input_shape = {2};
    d.classes = 4;
    rebuild_model(c, d, model, "fuzz-input");
  } catch (const hpml::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
