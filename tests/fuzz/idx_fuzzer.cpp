// libFuzzer target for the IDX reader (raw and gzip'd): any byte string must either parse or raise
// hpml::Error — never crash, hang, allocate without bound, read out of bounds or trip a sanitizer.
// Run with scripts/fuzz.
#include <hpml/data/idx.h>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    hpml::data::parse_idx(data, size, "fuzz-input");
  } catch (const hpml::Error&) {
    // Rejected with a message: the expected outcome for malformed input.
  }
  try {
    hpml::data::parse_idx_labels(data, size, "fuzz-input", 10);
  } catch (const hpml::Error&) {
  }
  return 0;
}
