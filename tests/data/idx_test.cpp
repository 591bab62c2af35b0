// IDX reading (include/hpml/data/idx.h): round trips of every element type, raw and gzip'd files,
// and each malformed-file error naming the file and the byte offset.
#include <gtest/gtest.h>

#include <cstring>

#include "core/test_helpers.h"
#include "data/data_test_util.h"

namespace hpml::data {
namespace {

using datatest::Bytes;
using datatest::gzip;
using datatest::idx_header;
using datatest::idx_u8;
using datatest::shape;
using datatest::TempDir;
using datatest::values;
using datatest::write_file;

Tensor parse(const Bytes& b, const std::string& src = "mem.idx") { return parse_idx(b.data(), b.size(), src); }

template <typename T>
void put_be(Bytes& b, T v) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));
  for (size_t k = sizeof(T); k-- > 0;) b.push_back(raw[k]);  // little-endian host: most significant byte last
}

TEST(IdxTest, U8FileRoundTripsRawAndGzipped) {
  TempDir dir;
  Bytes data;
  for (int i = 0; i < 2 * 3 * 4; ++i) data.push_back(static_cast<uint8_t>(i * 10));
  const Bytes file = idx_u8({2, 3, 4}, data);
  write_file(dir.file("x-idx3-ubyte"), file);
  write_file(dir.file("x-idx3-ubyte.gz"), gzip(file));
  for (const std::string name : {"x-idx3-ubyte", "x-idx3-ubyte.gz"}) {
    SCOPED_TRACE(name);
    Tensor t = read_idx(dir.file(name));
    EXPECT_EQ(t.dtype(), kUInt8);
    EXPECT_EQ(shape(t), (std::vector<int64_t>{2, 3, 4}));
    std::vector<double> expect(data.begin(), data.end());
    EXPECT_EQ(values(t), expect);
  }
}

TEST(IdxTest, EveryElementTypeIsBigEndianAndWidened) {
  {  // 0x09 i8 -> i32
    Bytes b = idx_header(0x09, {3});
    b.insert(b.end(), {0x80, 0xFF, 0x7F});
    Tensor t = parse(b);
    EXPECT_EQ(t.dtype(), kInt32);
    EXPECT_EQ(values(t), (std::vector<double>{-128, -1, 127}));
  }
  {  // 0x0B i16 -> i32
    Bytes b = idx_header(0x0B, {2, 2});
    for (int16_t v : {int16_t{-300}, int16_t{1234}, int16_t{-32768}, int16_t{32767}}) put_be(b, v);
    Tensor t = parse(b);
    EXPECT_EQ(t.dtype(), kInt32);
    EXPECT_EQ(shape(t), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(values(t), (std::vector<double>{-300, 1234, -32768, 32767}));
  }
  {  // 0x0C i32
    Bytes b = idx_header(0x0C, {3});
    for (int32_t v : {-2147483647 - 1, 0, 123456789}) put_be(b, v);
    Tensor t = parse(b);
    EXPECT_EQ(t.dtype(), kInt32);
    EXPECT_EQ(values(t), (std::vector<double>{-2147483648.0, 0, 123456789}));
  }
  {  // 0x0D f32
    Bytes b = idx_header(0x0D, {1, 3});
    for (float v : {1.5f, -0.25f, 3e38f}) put_be(b, v);
    Tensor t = parse(b);
    EXPECT_EQ(t.dtype(), kFloat32);
    EXPECT_EQ(values(t), (std::vector<double>{1.5, -0.25, static_cast<double>(3e38f)}));
  }
  {  // 0x0E f64, gzip'd in memory
    Bytes b = idx_header(0x0E, {2});
    for (double v : {3.141592653589793, -1e300}) put_be(b, v);
    Tensor t = parse(gzip(b));
    EXPECT_EQ(t.dtype(), kFloat64);
    EXPECT_EQ(values(t), (std::vector<double>{3.141592653589793, -1e300}));
  }
  {  // a zero dim: an empty tensor of that shape
    Tensor t = parse(idx_header(0x08, {0, 5}));
    EXPECT_EQ(shape(t), (std::vector<int64_t>{0, 5}));
  }
}

TEST(IdxTest, HeaderErrorsNameTheFileAndOffset) {
  EXPECT_HPML_ERROR(parse(Bytes{0, 0, 8}, "short.idx"), "short.idx", "byte 3", "magic");
  EXPECT_HPML_ERROR(parse(Bytes{}, "empty.idx"), "empty.idx", "byte 0", "magic");
  EXPECT_HPML_ERROR(parse(Bytes{0, 1, 8, 1, 0, 0, 0, 0}, "magic.idx"), "magic.idx", "byte 0", "not an IDX file");
  EXPECT_HPML_ERROR(parse(Bytes{0, 0, 0x0A, 1, 0, 0, 0, 0}, "type.idx"), "type.idx", "byte 2",
                    "unknown IDX element type 0x0A");
  EXPECT_HPML_ERROR(parse(Bytes{0, 0, 8, 0}, "zero.idx"), "zero.idx", "byte 3", "number of dims is 0");
  EXPECT_HPML_ERROR(parse(idx_header(8, {1, 1, 1, 1, 1, 1, 1, 1, 1}), "many.idx"), "many.idx", "byte 3",
                    "number of dims is 9");
  // Three dims announced, two given: the third size would start at byte 12.
  Bytes cut = idx_header(8, {2, 2, 2});
  cut.resize(12 + 2);
  EXPECT_HPML_ERROR(parse(cut, "dims.idx"), "dims.idx", "byte 14", "dim 2");
  // Sizes whose byte count is over the limit (dim 1 at byte 8; dim 0 of f64), or would overflow 64 bits.
  EXPECT_HPML_ERROR(parse(idx_header(8, {5, 0xFFFFFFFF, 4}), "big.idx"), "big.idx", "byte 8", "limit");
  EXPECT_HPML_ERROR(parse(idx_header(0x0E, {0xFFFFFFFF, 0xFFFFFFFF}), "ovf.idx"), "ovf.idx", "byte 4", "limit");
  EXPECT_HPML_ERROR(parse(idx_header(8, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}), "ovf.idx"), "ovf.idx", "byte 8",
                    "limit");
  // An empty tensor too: its other dims would overflow the strides (found by the fuzzer).
  EXPECT_HPML_ERROR(parse(idx_header(8, {0, 0xFFFF0000, 0xFFFF0000}), "empty.idx"), "empty.idx", "byte 12", "limit");
}

TEST(IdxTest, DataLengthErrorsRaw) {
  // [2, 3] u8 needs 6 bytes from byte 12.
  EXPECT_HPML_ERROR(parse(idx_u8({2, 3}, Bytes(5, 1)), "trunc.idx"), "trunc.idx", "byte 12", "need 6 bytes", "only 5");
  EXPECT_HPML_ERROR(parse(idx_u8({2, 3}, Bytes(8, 1)), "trail.idx"), "trail.idx", "byte 18", "2 trailing bytes");
  // f32 data cut inside an element.
  Bytes f = idx_header(0x0D, {2});
  f.insert(f.end(), {0x3f, 0x80, 0, 0, 0x3f});
  EXPECT_HPML_ERROR(parse(f, "f32.idx"), "f32.idx", "byte 8", "need 8 bytes", "only 5");
}

TEST(IdxTest, DataLengthErrorsGzipped) {
  EXPECT_HPML_ERROR(parse(gzip(idx_u8({2, 3}, Bytes(5, 1))), "trunc.gz"), "trunc.gz",
                    "byte 17 (of the decompressed data)", "ends early", "1 are missing");
  EXPECT_HPML_ERROR(parse(gzip(idx_u8({2, 3}, Bytes(7, 1))), "trail.gz"), "trail.gz",
                    "byte 18 (of the decompressed data)", "trailing data");
  // A tiny file claiming a billion bytes is refused before anything is allocated (Note [Gzip bombs]).
  EXPECT_HPML_ERROR(parse(gzip(idx_header(8, {1000000000})), "bomb.gz"), "bomb.gz", "byte 8 (of the decompressed data)",
                    "1000000000 bytes", "at most");
}

TEST(IdxTest, CorruptedGzipErrors) {
  const Bytes good = gzip(idx_u8({4, 4}, Bytes(16, 7)));
  ASSERT_NO_THROW(parse(good));
  // The stream cut short.
  Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() - 6));
  EXPECT_HPML_ERROR(parse(cut, "cut.gz"), "cut.gz", "byte " + std::to_string(cut.size()), "truncated");
  // The CRC-32 in the trailer (8 bytes from the end) wrong: zlib's check fails at the end.
  Bytes crc = good;
  crc[crc.size() - 8] ^= 0xFF;
  EXPECT_HPML_ERROR(parse(crc, "crc.gz"), "crc.gz", "corrupted gzip data", "incorrect data check", "byte ");
  // The first deflate block (byte 10, after the 10-byte gzip header) of the reserved type 3.
  Bytes block = good;
  block[10] |= 0x06;
  EXPECT_HPML_ERROR(parse(block, "block.gz"), "block.gz", "corrupted gzip data", "invalid block type", "byte ");
  // Bytes after the gzip stream.
  Bytes extra = good;
  extra.insert(extra.end(), {'x', 'y', 'z'});
  EXPECT_HPML_ERROR(parse(extra, "extra.gz"), "extra.gz", "byte " + std::to_string(good.size()),
                    "3 trailing bytes after the end of the gzip stream");
  // Just the gzip magic.
  EXPECT_HPML_ERROR(parse(Bytes{0x1f, 0x8b}, "magic.gz"), "magic.gz", "byte 2", "truncated");
}

TEST(IdxTest, LabelsAreCheckedAgainstTheClassCount) {
  Tensor l = parse_idx_labels(idx_u8({4}, {0, 3, 9, 1}).data(), 12, "ok", 10);
  EXPECT_EQ(l.dtype(), kInt64);
  EXPECT_EQ(values(l), (std::vector<double>{0, 3, 9, 1}));
  const Bytes bad = idx_u8({4}, {0, 3, 12, 1});
  EXPECT_HPML_ERROR(parse_idx_labels(bad.data(), bad.size(), "labels.idx", 10), "labels.idx", "byte 10", "label 12",
                    "sample 2", "[0, 10)");
  const Bytes bad_gz = gzip(bad);
  EXPECT_HPML_ERROR(parse_idx_labels(bad_gz.data(), bad_gz.size(), "labels.gz", 10), "labels.gz",
                    "byte 10 (of the decompressed data)", "label 12");
  // i16 labels: element k at byte 8 + 2k; negative labels are out of range too.
  Bytes i16 = idx_header(0x0B, {3});
  for (int16_t v : {int16_t{1}, int16_t{2}, int16_t{-1}}) put_be(i16, v);
  EXPECT_HPML_ERROR(parse_idx_labels(i16.data(), i16.size(), "i16.idx", 3), "i16.idx", "byte 12", "label -1");
  const Bytes two_d = idx_u8({2, 2}, {0, 1, 1, 0});
  EXPECT_HPML_ERROR(parse_idx_labels(two_d.data(), two_d.size(), "2d.idx", 10), "2d.idx", "byte 3", "1 dim");
  Bytes f = idx_header(0x0D, {1});
  put_be(f, 1.0f);
  EXPECT_HPML_ERROR(parse_idx_labels(f.data(), f.size(), "float.idx", 10), "float.idx", "byte 2", "integers", "f32");
  EXPECT_HPML_ERROR(parse_idx_labels(f.data(), f.size(), "float.idx", 0), "num_classes");
}

TEST(IdxTest, FileErrorsNameThePath) {
  TempDir dir;
  EXPECT_HPML_ERROR(read_idx(dir.file("missing-idx1-ubyte")), "read_idx", "cannot open", "missing-idx1-ubyte");
  EXPECT_HPML_ERROR(read_idx(dir.path()), "read_idx", "not a regular file");
  write_file(dir.file("bad.gz"), gzip(Bytes{0, 0, 8, 1, 0, 0, 0, 9, 1, 2}));
  EXPECT_HPML_ERROR(read_idx(dir.file("bad.gz")), dir.file("bad.gz"), "byte 10 (of the decompressed data)");
  write_file(dir.file("labels"), idx_u8({2}, {1, 200}));
  EXPECT_HPML_ERROR(read_idx_labels(dir.file("labels"), 10), dir.file("labels"), "byte 9", "label 200");
}

}  // namespace
}  // namespace hpml::data
