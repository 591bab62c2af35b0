// io::SummaryWriter (src/io/tensorboard.cpp): event files that TensorBoard's own Python reader
// reads back (tests/python/tensorboard_read.py, run with PyPI tensorboard from the venv that
// scripts/setup makes in build/python-tensorboard), compared with what PyTorch's definitions say;
// CRC-32C check values; the record layout; refusals and write errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hpml/io/tensorboard.h"
#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using nlohmann::json;
using nntest::error_of;
using nntest::TempDir;

// The venv's python; HPML_TENSORBOARD_PYTHON overrides it.
std::string reader_python() {
  if (const char* p = std::getenv("HPML_TENSORBOARD_PYTHON"); p && *p) return p;
  return (std::filesystem::path(HPML_TESTS_DIR) / ".." / "build" / "python-tensorboard" / "bin" / "python3")
      .lexically_normal()
      .string();
}
std::string reader_script() {
  return (std::filesystem::path(HPML_TESTS_DIR) / "python" / "tensorboard_read.py").string();
}
std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs `cmd`, returning its exit status and stdout (stderr goes to `err_file`).
int run(const std::string& cmd, const std::string& err_file, std::string& out) {
  FILE* p = ::popen((cmd + " 2>" + quote(err_file)).c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// What TensorBoard read from `event_file`, or a failure saying how to install the reader.
::testing::AssertionResult read_with_tensorboard(const std::string& event_file, const TempDir& dir, json& got) {
  const std::string py = reader_python();
  const std::string how = "; run scripts/setup (it installs PyPI tensorboard into build/python-tensorboard)";
  if (!std::filesystem::exists(py))
    return ::testing::AssertionFailure() << "TensorBoard's Python reader is missing: no " << py << how;
  std::string out;
  const std::string err = dir.file("reader.stderr");
  const int rc = run(quote(py) + " " + quote(reader_script()) + " " + quote(event_file), err, out);
  if (rc == 2) return ::testing::AssertionFailure() << nntest::read_bytes(err) << how;
  if (rc != 0)
    return ::testing::AssertionFailure() << "TensorBoard's reader (tensorboard_read.py, exit " << rc << ") failed on "
                                         << event_file << ":\n"
                                         << nntest::read_bytes(err);
  got = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (got.is_discarded()) return ::testing::AssertionFailure() << "tensorboard_read.py printed no JSON:\n" << out;
  return ::testing::AssertionSuccess();
}

// PyTorch's default histogram edges (SummaryWriter.__init__, bins="tensorflow"), written out here.
std::vector<double> pytorch_default_edges() {
  std::vector<double> buckets, neg;
  for (double v = 1e-12; v < 1e20; v *= 1.1) {
    buckets.push_back(v);
    neg.push_back(-v);
  }
  std::vector<double> e(neg.rbegin(), neg.rend());
  e.push_back(0);
  e.insert(e.end(), buckets.begin(), buckets.end());
  return e;
}

// Checks one histogram TensorBoard read against make_histogram's definition for `values`.
void expect_histogram(const json& h, const std::vector<double>& values, int64_t step) {
  double mn = values[0], mx = values[0], sum = 0, sq = 0;
  for (double x : values) mn = std::min(mn, x), mx = std::max(mx, x), sum += x, sq += x * x;
  EXPECT_EQ(h.at("step").get<int64_t>(), step);
  EXPECT_EQ(h.at("min").get<double>(), mn);
  EXPECT_EQ(h.at("max").get<double>(), mx);
  EXPECT_EQ(h.at("num").get<double>(), static_cast<double>(values.size()));
  EXPECT_DOUBLE_EQ(h.at("sum").get<double>(), sum);
  EXPECT_DOUBLE_EQ(h.at("sum_squares").get<double>(), sq);
  const auto limits = h.at("bucket_limit").get<std::vector<double>>();
  const auto counts = h.at("bucket").get<std::vector<double>>();
  ASSERT_EQ(limits.size(), counts.size());
  ASSERT_GE(limits.size(), 2u);
  // The limits are consecutive default edges; the first bucket is the empty one on the left, the
  // second and the last are not empty (the support), and bucket i counts [limit[i-1], limit[i]).
  const std::vector<double> e = pytorch_default_edges();
  const auto at = std::find(e.begin(), e.end(), limits[0]);
  ASSERT_NE(at, e.end()) << "the first limit " << limits[0] << " is not a default edge";
  ASSERT_LE(static_cast<ptrdiff_t>(limits.size()), e.end() - at);
  for (size_t i = 0; i < limits.size(); ++i) ASSERT_EQ(limits[i], *(at + static_cast<ptrdiff_t>(i))) << "limit " << i;
  EXPECT_EQ(counts[0], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts.back(), 0);
  double in_range = 0;
  for (double x : values) in_range += (x >= e.front() && x <= e.back()) ? 1 : 0;
  double total = 0;
  for (size_t i = 1; i < limits.size(); ++i) {
    double want = 0;
    for (double x : values) want += (x >= limits[i - 1] && x < limits[i]) ? 1 : 0;
    EXPECT_EQ(counts[i], want) << "bucket " << i << " [" << limits[i - 1] << ", " << limits[i] << ")";
    total += counts[i];
  }
  EXPECT_EQ(total, in_range) << "every value within the edges is in exactly one bucket";
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(Tensorboard, ScalarsAndHistogramsReadBackByTensorBoardsOwnReader) {
  TempDir dir;
  const std::string log_dir = dir.file("runs/exp1");  // a folder that does not exist yet
  const std::vector<double> w = {-2.5, -1, 0, 0, 0.5, 1, 1, 3, 100};
  const std::vector<double> wide = {1e30, 5, -1e-13};  // 1e30 is beyond the last edge: in no bucket
  const double t0 = now_seconds();
  std::string path;
  {
    io::SummaryWriter writer(log_dir);
    path = writer.path();
    writer.add_scalar("loss/train", 2.5, 0);
    writer.add_scalar("loss/train", 1.25, 1);
    writer.add_scalar("loss/train", 0.1, 2);  // not a float: compared as float(0.1)
    writer.add_histogram("fc/weight", tensor({{-2.5f, -1.f, 0.f}, {0.f, 0.5f, 1.f}, {1.f, 3.f, 100.f}}), 2);
    Tensor wt = tensor({{-2.5, 0.0, 1.0}, {-1.0, 0.5, 3.0}, {0.0, 1.0, 100.0}}, kFloat64).t();  // same values, strided
    writer.add_histogram("fc/weight", wt, 3);
    writer.add_histogram("wide", tensor(wide, kFloat64), 3);
    writer.add_scalar("lr", 0.0, int64_t{1} << 40);                             // a zero still says "simple_value"
    writer.add_scalar("\xe7\xb2\xbe\xe5\xba\xa6/val", -7.0, int64_t{1} << 40);  // 精度/val: UTF-8 tags
  }                                                                             // the destructor writes what is pending
  const double t1 = now_seconds();
  json got;
  ASSERT_TRUE(read_with_tensorboard(path, dir, got));
  EXPECT_EQ(got.at("records"), 1 + 8) << "the file_version record and one per add_*";
  EXPECT_EQ(got.at("file_version"), "brain.Event:2");

  const json& s = got.at("scalars");
  ASSERT_EQ(s.size(), 3u) << s.dump();
  const json& loss = s.at("loss/train");
  ASSERT_EQ(loss.size(), 3u);
  const std::vector<float> want = {2.5f, 1.25f, 0.1f};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(loss[i].at("step").get<int64_t>(), static_cast<int64_t>(i));
    EXPECT_EQ(loss[i].at("value").get<double>(), static_cast<double>(want[i])) << "step " << i;
    EXPECT_GE(loss[i].at("wall_time").get<double>(), t0 - 1);
    EXPECT_LE(loss[i].at("wall_time").get<double>(), t1 + 1);
  }
  EXPECT_EQ(s.at("lr").at(0).at("step").get<int64_t>(), int64_t{1} << 40);
  EXPECT_EQ(s.at("lr").at(0).at("value").get<double>(), 0.0);
  EXPECT_EQ(s.at("\xe7\xb2\xbe\xe5\xba\xa6/val").at(0).at("value").get<double>(), -7.0);

  const json& hs = got.at("histograms");
  ASSERT_EQ(hs.size(), 2u) << hs.dump();
  ASSERT_EQ(hs.at("fc/weight").size(), 2u);
  expect_histogram(hs.at("fc/weight").at(0), w, 2);
  expect_histogram(hs.at("fc/weight").at(1), w, 3);
  // By hand: the two zeros are the bucket [0, 1e-12); 100 is the last one.
  const auto limits = hs.at("fc/weight").at(0).at("bucket_limit").get<std::vector<double>>();
  const auto counts = hs.at("fc/weight").at(0).at("bucket").get<std::vector<double>>();
  const size_t zero = static_cast<size_t>(std::find(limits.begin(), limits.end(), 1e-12) - limits.begin());
  ASSERT_LT(zero, limits.size());
  EXPECT_EQ(counts[zero], 2);
  EXPECT_LE(limits[limits.size() - 2], 100.0);
  EXPECT_GT(limits.back(), 100.0);
  expect_histogram(hs.at("wide").at(0), wide, 3);
  EXPECT_EQ(hs.at("wide").at(0).at("num").get<double>(), 3);
}

TEST(Tensorboard, Crc32cCheckValues) {
  EXPECT_EQ(io::crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
  // RFC 3720 (iSCSI), B.4: 32 bytes of 0x00, of 0xFF, 0x00..0x1F ascending and descending.
  std::string up, down;
  for (int i = 0; i < 32; ++i) up.push_back(static_cast<char>(i)), down.push_back(static_cast<char>(31 - i));
  EXPECT_EQ(io::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(io::crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(io::crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(io::crc32c(down), 0x113FDB5Cu);
  EXPECT_EQ(io::crc32c(""), 0u);
  // mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8, by hand for 0xE3069283.
  EXPECT_EQ(io::masked_crc32c("123456789"), 0xC78AB0E5u);
}

TEST(Tensorboard, TheFileIsNamedLikePyTorchsAndStartsWithTheVersionRecord) {
  TempDir dir;
  const auto before = static_cast<long long>(std::time(nullptr));
  io::SummaryWriter a(dir.path());
  io::SummaryWriter b(dir.path());  // same second, same folder: the counter tells them apart
  const auto after = static_cast<long long>(std::time(nullptr));
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  for (const io::SummaryWriter* wr : {&a, &b}) {
    const std::string name = std::filesystem::path(wr->path()).filename().string();
    const std::string prefix = "events.out.tfevents.";
    ASSERT_EQ(name.rfind(prefix, 0), 0u) << name;
    const long long secs = std::stoll(name.substr(prefix.size(), 10));
    EXPECT_GE(secs, before);
    EXPECT_LE(secs, after);
    const std::string rest = std::string(".") + host.data() + "." + std::to_string(::getpid()) + ".";
    EXPECT_EQ(name.substr(prefix.size() + 10, rest.size()), rest) << name;
  }
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(dir.entries().size(), 2u);
  // Record 1, by hand: length 24 (wall_time 9 bytes, file_version 2 + 13), its masked CRC, data.
  const std::string bytes = nntest::read_bytes(a.path());
  ASSERT_EQ(bytes.size(), 8u + 4 + 24 + 4);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x18\0\0\0\0\0\0\0", 8));
  const uint32_t c = io::crc32c(bytes.substr(0, 8));
  const uint32_t masked = ((c >> 15) | (c << 17)) + 0xa282ead8u;
  EXPECT_EQ(bytes.substr(8, 4), std::string(reinterpret_cast<const char*>(&masked), 4));  // little-endian host
  EXPECT_EQ(bytes[12], '\x09') << "field 1 (wall_time), fixed64";
  EXPECT_EQ(bytes.substr(21, 15), std::string("\x1a\x0d") + "brain.Event:2") << "field 3 (file_version)";
}

TEST(Tensorboard, EventsAreWrittenEveryMaxQueueEventsAndOnFlush) {
  TempDir dir;
  io::SummaryWriter w(dir.path(), {.max_queue = 3});
  const auto size = [&] { return std::filesystem::file_size(w.path()); };
  const auto first = size();
  w.add_scalar("a", 1, 0);
  w.add_scalar("a", 2, 1);
  EXPECT_EQ(size(), first) << "2 events pending, max_queue 3";
  w.add_scalar("a", 3, 2);
  const auto three = size();
  EXPECT_GT(three, first);
  w.add_scalar("a", 4, 3);
  EXPECT_EQ(size(), three);
  w.flush();
  EXPECT_GT(size(), three);
  w.close();
  w.close();  // a second close does nothing
  EXPECT_CONTAINS(error_of([&] { w.add_scalar("a", 5, 4); }), w.path() + " is closed");
  EXPECT_CONTAINS(error_of([&] { io::SummaryWriter(dir.path(), {.max_queue = 0}); }), "max_queue must be at least 1");
  io::SummaryWriter a(dir.path());
  io::SummaryWriter b = std::move(a);
  EXPECT_EQ(error_of([&] { b.add_scalar("a", 1, 0); }), "<no error>");
  EXPECT_CONTAINS(error_of([&] { a.add_scalar("a", 1, 0); }), "add_scalar: the writer was moved from");
}

TEST(Tensorboard, BadTagsAndValuesAreRefusedNamingTheTag) {
  TempDir dir;
  io::SummaryWriter w(dir.path());
  const auto size = std::filesystem::file_size(w.path());
  const auto scalar_error = [&](const std::string& tag) { return error_of([&] { w.add_scalar(tag, 1, 0); }); };
  EXPECT_CONTAINS(scalar_error(""), "add_scalar: the tag is empty");
  EXPECT_CONTAINS(scalar_error(std::string(1025, 'x')), "is 1025 bytes, more than the limit of 1024");
  EXPECT_CONTAINS(scalar_error("loss\xff"), "'loss\\xff' is not valid UTF-8 (at byte 4)");
  EXPECT_CONTAINS(scalar_error("a\xc0\xaf"), "is not valid UTF-8");      // overlong '/'
  EXPECT_CONTAINS(scalar_error("a\xed\xa0\x80"), "is not valid UTF-8");  // a surrogate
  EXPECT_CONTAINS(scalar_error("a\xe7\xb2"), "is not valid UTF-8");      // cut short
  EXPECT_CONTAINS(scalar_error("a\nb"), "'a\\x0ab' has a control character (at byte 1)");
  EXPECT_CONTAINS(scalar_error("a\xc2\x85"), "has a control character");  // U+0085
  const auto histogram_error = [&](const Tensor& t) { return error_of([&] { w.add_histogram("h/w", t, 0); }); };
  EXPECT_CONTAINS(histogram_error(tensor({1.0f, NAN, INFINITY})), "add_histogram('h/w'): 2 of 3 values are NaN or inf");
  EXPECT_CONTAINS(histogram_error(zeros({0, 3})), "add_histogram('h/w'): the tensor has no elements (shape [0, 3])");
  EXPECT_CONTAINS(histogram_error(Tensor()), "add_histogram('h/w'): the tensor is undefined");
  EXPECT_CONTAINS(histogram_error(tensor({1e30, -1e25}, kFloat64)), "all 2 values lie outside the histogram buckets");
  w.flush();
  EXPECT_EQ(std::filesystem::file_size(w.path()), size) << "a refused call writes nothing";
  EXPECT_EQ(scalar_error(std::string(1024, 'x')), "<no error>");
  w.flush();
  // By hand: Value = tag (1 + 2 + 1024) + simple_value (1 + 4) = 1032 bytes; Summary = 1 + 2 +
  // 1032; Event = wall_time 9 + step 2 + summary (1 + 2 + 1035) = 1049; the record adds 16.
  EXPECT_EQ(std::filesystem::file_size(w.path()), size + 1065);
  EXPECT_EQ(error_of([&] { w.add_histogram("ints", tensor(std::vector<int64_t>{1, 2, 3}), 0); }), "<no error>");
}

TEST(Tensorboard, AnUnwritableFolderIsAnErrorNamingIt) {
  TempDir dir;
  nntest::write_bytes(dir.file("file"), "x");
  EXPECT_CONTAINS(error_of([&] { io::SummaryWriter(dir.file("file/runs")); }),
                  "SummaryWriter: cannot create the log folder " + dir.file("file/runs"));
  EXPECT_CONTAINS(error_of([&] { io::SummaryWriter(dir.file("file")); }), dir.file("file"));
  EXPECT_CONTAINS(error_of([&] { io::SummaryWriter(""); }), "the log folder is empty");
}

TEST(Tensorboard, AFullDiskIsAnErrorNamingTheFile) {
  TempDir dir;
  // Too small for the first record: the writer is not made, and leaves no file.
  const std::string e0 = nntest::error_with_file_size_limit(10, [&] { io::SummaryWriter w(dir.path()); });
  EXPECT_CONTAINS(e0, "SummaryWriter: cannot write the event file " + dir.path() + "/events.out.tfevents.");
  EXPECT_CONTAINS(e0, "File too large");
  EXPECT_TRUE(dir.entries().empty());
  // Room for 2 more records: the add_* that writes the next 2 fails, and so does every later
  // call; the file is cut back to its whole records, which TensorBoard still reads.
  io::SummaryWriter w(dir.path(), {.max_queue = 2});
  const std::string e1 = nntest::error_with_file_size_limit(200, [&] {
    for (int i = 0; i < 100; ++i) w.add_scalar("loss/train", i, i);
  });
  EXPECT_CONTAINS(e1, "cannot write the event file " + w.path() + ": File too large (2 events lost; the file keeps");
  EXPECT_EQ(error_of([&] { w.flush(); }), e1);
  EXPECT_EQ(error_of([&] { w.add_scalar("x", 1, 1); }), e1);
  // By hand: the version record is 16 + 24 bytes; a "loss/train" scalar at step < 128 is 16 + 32.
  EXPECT_EQ(std::filesystem::file_size(w.path()), 40u + 2 * 48);
  json got;
  ASSERT_TRUE(read_with_tensorboard(w.path(), dir, got));
  EXPECT_EQ(got.at("records"), 3);
  EXPECT_EQ(got.at("scalars").at("loss/train").size(), 2u);
}

}  // namespace
}  // namespace hpml
