// libFuzzer target for the CSV reader: any text must either parse or raise hpml::Error — never
// crash, hang, read out of bounds or trip a sanitizer. Run with scripts/fuzz.
#include <hpml/data/csv.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The default (label = last column), a label by name with a class range, and by index with ';'.
  const hpml::data::CsvOptions options[] = {
      {},
      {.label_column = "label", .num_classes = 3},
      {.label_index = 0, .delimiter = ';'},
  };
  for (const auto& o : options) {
    try {
      hpml::data::parse_csv(text, "fuzz-input", o);
    } catch (const hpml::Error&) {
      // Rejected with a message: the expected outcome for malformed input.
    }
  }
  return 0;
}
