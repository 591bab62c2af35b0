// hpml::read_regular_file and hpml::printable: a path may name anything (a FIFO, a device, a
// folder, a /proc file whose size says 0), and bytes from a file may be anything.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>

#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "temp_dir.h"

namespace {

std::string error_of(const std::string& path, uint64_t max_bytes = hpml::kMaxFileBytes) {
  try {
    hpml::read_regular_file(path, "reader", max_bytes);
  } catch (const hpml::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(ReadRegularFile, NonRegularFilesAreRefusedByKindWithoutBlocking) {
  hpml::testing::TempDir dir("hpml_file");
  const std::string fifo = dir.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto t0 = std::chrono::steady_clock::now();
  // A plain open() of a FIFO with no writer blocks until one comes: this would hang.
  EXPECT_NE(error_of(fifo).find("reader: " + fifo + " is a FIFO (named pipe), not a regular file"), std::string::npos)
      << error_of(fifo);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(error_of("/dev/zero").find("/dev/zero is a character device"), std::string::npos) << error_of("/dev/zero");
  EXPECT_NE(error_of(dir.path()).find("is a directory"), std::string::npos) << error_of(dir.path());
  EXPECT_NE(error_of(dir.file("missing")).find("cannot open " + dir.file("missing")), std::string::npos);
}

TEST(ReadRegularFile, TheSizeLimitIsCheckedBeforeReading) {
  hpml::testing::TempDir dir("hpml_file");
  std::ofstream(dir.file("f")) << std::string(100, 'x');
  EXPECT_NE(error_of(dir.file("f"), 10).find("is 100 bytes, more than the limit of 10 bytes"), std::string::npos)
      << error_of(dir.file("f"), 10);
  EXPECT_EQ(hpml::read_regular_file(dir.file("f"), "reader", 100).size(), 100u);
}

TEST(ReadRegularFile, AFileWithMoreBytesThanItsSizeSaidIsAnError) {
  // /proc files report a size of 0 and then have content: exactly what a file that grows
  // between fstat and read looks like. The old reader returned 0 bytes without a word.
  EXPECT_NE(error_of("/proc/self/status").find("/proc/self/status grew while it was read: it had 0 bytes"),
            std::string::npos)
      << error_of("/proc/self/status");
}

TEST(Printable, EscapesWhatIsNotPrintableAsciiAndBoundsTheLength) {
  EXPECT_EQ(hpml::printable("a\nb\xff"), "'a\\x0ab\\xff'");
  EXPECT_EQ(hpml::printable("\x1b[31mred"), "'\\x1b[31mred'");  // no terminal escape code gets through
  EXPECT_EQ(hpml::printable("it's \\"), "'it\\'s \\\\'");
  EXPECT_EQ(hpml::printable(std::string(100, 'a'), 4), "'aaaa...'");
}
