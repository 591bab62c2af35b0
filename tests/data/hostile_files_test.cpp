// Hostile IDX and CSV files: i8 / i16 data that widens past the size limit, a line of millions of
// delimiters, raw bytes echoed in messages, and FIFOs, which once blocked the reader's open forever.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "data/data_test_util.h"

namespace hpml {
namespace {

using datatest::Bytes;

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}
#define EXPECT_HAS(text, sub) EXPECT_NE((text).find(sub), std::string::npos) << "message: " << (text)

TEST(HostileIdx, WideningI8PastTheLimitIsRefusedBeforeAllocating) {
  // i8 [2^33]: 8 GiB in the file (under the 16 GiB limit), 32 GiB as i32. A gzip'd header followed
  // by 8 MiB of padding is enough for the gzip bound (1032 x) to allow 8 GiB.
  Bytes file = datatest::gzip(datatest::idx_header(0x09, {1u << 16, 1u << 17}));
  file.resize(file.size() + (size_t{8} << 20), 0);
  const std::string e = error_of([&] { data::parse_idx(file.data(), file.size(), "big.gz"); });
  EXPECT_HAS(e, "big.gz: byte 4 (of the decompressed data): the dims [65536, 131072] of i8 widen to 4-byte elements: "
                "more than the limit of 17179869184 bytes");
}

TEST(HostileCsv, ALineOfManyDelimitersIsCountedNotSplit) {
  std::string text = "a,b,label\n1,2,0\n";
  text += std::string(3'000'000, ',') + "\n";
  const std::string e = error_of([&] { data::parse_csv(text, "wide.csv"); });
  EXPECT_HAS(e, "wide.csv: line 3: 3000001 fields, but the header has 3");
  const std::string header(2'000'000, ',');
  EXPECT_HAS(error_of([&] { data::parse_csv(header + "\n", "h.csv"); }),
             "h.csv: line 1: the header has 2000001 columns, more than the limit of 1000000");
}

TEST(HostileCsv, RawBytesInFieldsAreEscaped) {
  const std::string e = error_of([] { data::parse_csv("a,\xff\x1b[31m\n1,\xc3\n", "bad.csv"); });
  EXPECT_HAS(e, "column 2 ('\\xff\\x1b[31m'): the label '\\xc3' is not an integer");
  for (char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << static_cast<int>(static_cast<unsigned char>(c));
}

// Runs f in a thread; fails (and unblocks the FIFO by opening its writing end) if it is still
// running after 5 s.
void expect_returns_quickly(const std::string& fifo, const std::function<std::string()>& f, const std::string& want) {
  std::atomic<bool> done{false};
  std::string e;
  std::thread t([&] {
    e = f();
    done = true;
  });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!done) {
    ADD_FAILURE() << "reading the FIFO " << fifo << " blocked for 5 s";
    const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // lets the reader's open return
    t.join();
    if (w >= 0) ::close(w);
    return;
  }
  t.join();
  EXPECT_HAS(e, want);
}

TEST(HostileFiles, FifosAreRefusedWithoutBlocking) {
  datatest::TempDir dir;
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_returns_quickly(fifo, [&] { return error_of([&] { data::read_idx(fifo); }); },
                         "read_idx: " + fifo + " is a FIFO (named pipe), not a regular file");
  expect_returns_quickly(fifo, [&] { return error_of([&] { data::read_csv(fifo); }); },
                         "read_csv: " + fifo + " is a FIFO (named pipe), not a regular file");
  EXPECT_HAS(error_of([] { data::read_csv("/dev/null/x"); }), "read_csv: cannot open /dev/null/x");
  EXPECT_HAS(error_of([] { data::read_idx("/dev/zero"); }), "read_idx: /dev/zero is a character device");
}

}  // namespace
}  // namespace hpml
