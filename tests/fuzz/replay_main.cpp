// The main() of a fuzzer built without libFuzzer (the ordinary gcc build): replays every file of
// the corpus folders given on the command line through LLVMFuzzerTestOneInput, so that the
// checked-in corpus (tests/fuzz/corpus/<name>/) runs as an ordinary ctest test. A crash, a
// sanitizer report or an exception other than hpml::Error fails it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(argv[i]))
      if (e.is_regular_file()) files.push_back(e.path());
    for (const auto& p : files) {
      std::ifstream f(p, std::ios::binary);
      const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++n;
    }
  }
  std::printf("replayed %zu inputs\n", n);
  return n > 0 ? 0 : 1;  // an empty corpus is a mistake, not a pass
}
