// libFuzzer target for the safetensors parser: any byte string must either parse or raise
// hpml::Error — never crash, hang, read out of bounds or trip a sanitizer. Run with scripts/fuzz.
#include <hpml/io/safetensors.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    hpml::io::Metadata meta;
    hpml::io::parse_safetensors(data, size, "fuzz-input", &meta);
  } catch (const hpml::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  return 0;
}
