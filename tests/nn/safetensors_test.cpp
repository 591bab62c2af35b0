// safetensors I/O: dtype round trips, the on-disk layout parsed by hand, atomic writes, and every malformed-file error.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/nn_test_util.h"

namespace hpml {
namespace {

using nntest::error_of;
using nntest::read_bytes;
using nntest::TempDir;
using nntest::vals;
using nntest::write_bytes;

// Loaded tensors by name. safetensors gives names no order (the reference reader lists them
// sorted), so the tests look tensors up by name.
std::map<std::string, Tensor> by_name(const io::NamedTensors& ts) {
  std::map<std::string, Tensor> out;
  for (const auto& [n, t] : ts) EXPECT_TRUE(out.emplace(n, t).second) << "name listed twice: " << n;
  return out;
}

// ---- round trips ------------------------------------------------------------------------------

TEST(Safetensors, RoundTripsEveryDtype) {
  TempDir dir;
  const std::string path = dir.file("all.safetensors");
  io::NamedTensors in{
      {"f32", tensor({{1.5, -2.25, 3.0}, {0.0, 1e-30, -7.0}}, kFloat32)},
      {"f64", tensor({3.141592653589793, -1e300, 0.1}, kFloat64)},
      {"i64", tensor({int64_t{-9000000000000000000}, int64_t{0}, int64_t{42}}, kInt64)},
      {"i32", tensor({-2147483647, 7, 0, 12}, kInt32)},
      {"u8", tensor({0, 1, 200, 255}, kUInt8)},
      {"bool", tensor({true, false, false, true, true}, kBool)},
  };
  io::save_safetensors(path, in);
  auto out = by_name(io::load_safetensors(path));
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, t] : in) {
    SCOPED_TRACE(name);
    ASSERT_EQ(out.count(name), 1u);
    EXPECT_EQ(out[name].dtype(), t.dtype());
    EXPECT_EQ(out[name].sizes(), t.sizes());
    EXPECT_EQ(vals(out[name]), vals(t));
  }
  // The int64 extreme survives bit-exactly (vals() goes through double).
  EXPECT_EQ(out["i64"].data_ptr<int64_t>()[0], int64_t{-9000000000000000000});
}

TEST(Safetensors, ZeroDimEmptyAndNonContiguous) {
  TempDir dir;
  const std::string path = dir.file("shapes.safetensors");
  Tensor base = arange(0, 12, 1, kFloat32).reshape({3, 4});
  io::NamedTensors in{{"scalar", scalar_tensor(2.5, kFloat64)},
                      {"empty", zeros({0, 3}, kFloat32)},
                      {"empty_i64", zeros({0}, kInt64)},
                      {"transposed", base.t()}};
  io::save_safetensors(path, in);
  auto out = by_name(io::load_safetensors(path));
  ASSERT_EQ(out.size(), 4u);
  ASSERT_EQ(out.count("scalar"), 1u);
  EXPECT_EQ(out["scalar"].dim(), 0);
  EXPECT_EQ(out["scalar"].dtype(), kFloat64);
  EXPECT_EQ(out["scalar"].item<double>(), 2.5);
  EXPECT_EQ(out["empty"].sizes().vec(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(out["empty"].dtype(), kFloat32);
  EXPECT_EQ(out["empty_i64"].sizes().vec(), (std::vector<int64_t>{0}));
  EXPECT_EQ(out["empty_i64"].dtype(), kInt64);
  EXPECT_EQ(out["transposed"].sizes().vec(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(vals(out["transposed"]), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
}

TEST(Safetensors, Metadata) {
  TempDir dir;
  const std::string path = dir.file("meta.safetensors");
  io::Metadata meta{{"format", "pt"}, {"epoch", "3"}, {"note", "quotes \" and \\ and \xc3\xa9"}};
  io::save_safetensors(path, {{"x", ones({2})}}, meta);
  io::Metadata got;
  io::NamedTensors out = io::load_safetensors(path, &got);
  EXPECT_EQ(got, meta);
  ASSERT_EQ(out.size(), 1u);  // __metadata__ is not a tensor
  EXPECT_EQ(out[0].first, "x");
}

TEST(Safetensors, SaveAndLoadAModule) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  manual_seed(5);
  nn::Sequential a(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Flatten(), nn::Linear(2 * 4 * 4, 3));
  a(randn({3, 1, 6, 6}));
  io::save(a, path, {{"model", "tiny"}});
  nn::Sequential b(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::Flatten(), nn::Linear(2 * 4 * 4, 3));
  io::load(b, path);
  auto sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sb[i].first, sa[i].first);
    EXPECT_EQ(sb[i].second.dtype(), sa[i].second.dtype()) << sa[i].first;
    EXPECT_EQ(vals(sb[i].second), vals(sa[i].second)) << sa[i].first;
  }
  // The file holds PyTorch's names.
  io::NamedTensors raw = io::load_safetensors(path);
  std::vector<std::string> names;
  for (auto& [n, t] : raw) names.push_back(n);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean",
                                             "1.running_var", "1.weight", "3.bias", "3.weight"}));
  // Strict loading into a different model names the problem keys.
  nn::Sequential c(nn::Conv2d(1, 2, 3), nn::Flatten(), nn::Linear(2 * 4 * 4, 3));
  const std::string e = error_of([&] { io::load(c, path); });
  EXPECT_NE(e.find("1.running_mean"), std::string::npos) << e;
}

// ---- the layout on disk ---------------------------------------------------------------------

uint64_t le64(const std::string& b, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  return v;
}

TEST(Safetensors, WrittenFileFollowsTheFormat) {
  TempDir dir;
  const std::string path = dir.file("layout.safetensors");
  Tensor a = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat32);
  Tensor b = tensor({int64_t{-1}, int64_t{1} << 40}, kInt64);
  Tensor c = tensor({true, false, true}, kBool);
  io::save_safetensors(path, {{"a", a}, {"b", b}, {"c", c}}, {{"k", "v"}});
  const std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  const uint64_t n = le64(bytes, 0);
  ASSERT_LE(8 + n, bytes.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "the data section must start 8-byte aligned";
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  // Padding, if any, is trailing spaces.
  const size_t close = header.find_last_of('}');
  for (size_t i = close + 1; i < header.size(); ++i) EXPECT_EQ(header[i], ' ');
  nlohmann::json j = nlohmann::json::parse(header);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["__metadata__"], (nlohmann::json{{"k", "v"}}));
  EXPECT_EQ(j["a"]["dtype"], "F32");
  EXPECT_EQ(j["a"]["shape"], (nlohmann::json{2, 3}));
  EXPECT_EQ(j["b"]["dtype"], "I64");
  EXPECT_EQ(j["b"]["shape"], (nlohmann::json{2}));
  EXPECT_EQ(j["c"]["dtype"], "BOOL");
  const size_t data = 8 + n;
  EXPECT_EQ(bytes.size() - data, 24u + 16u + 3u) << "no bytes beyond the tensors";
  // Each tensor's bytes sit at its data offsets, little-endian, row-major.
  auto span = [&](const char* name) {
    auto off = j[name]["data_offsets"];
    EXPECT_TRUE(off.is_array() && off.size() == 2);
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    EXPECT_LE(end, bytes.size() - data);
    return bytes.substr(data + begin, end - begin);
  };
  const std::string sa = span("a"), sb = span("b"), sc = span("c");
  ASSERT_EQ(sa.size(), 24u);
  const float want_a[] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(std::memcmp(sa.data(), want_a, 24), 0);
  ASSERT_EQ(sb.size(), 16u);
  EXPECT_EQ(le64(sb, 0), static_cast<uint64_t>(int64_t{-1}));
  EXPECT_EQ(le64(sb, 8), uint64_t{1} << 40);
  EXPECT_EQ(sc, std::string("\x01\x00\x01", 3));
  // The spans tile the data section without overlap.
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const char* name : {"a", "b", "c"})
    spans.emplace_back(j[name]["data_offsets"][0].get<uint64_t>(), j[name]["data_offsets"][1].get<uint64_t>());
  std::sort(spans.begin(), spans.end());
  EXPECT_EQ(spans.front().first, 0u);
  for (size_t i = 1; i < spans.size(); ++i) EXPECT_EQ(spans[i].first, spans[i - 1].second);
  EXPECT_EQ(spans.back().second, 43u);
}

// ---- atomic writes --------------------------------------------------------------------------

TEST(Safetensors, AtomicWriteLeavesNoTempFileAndReplacesTheInode) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"x", ones({4})}});
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"});
  // A reader holding the old file keeps seeing a complete old file: the new one is renamed over it,
  // not written into it.
  const std::string old_bytes = read_bytes(path);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_EQ(::link(path.c_str(), dir.file("old_link").c_str()), 0);
  io::save_safetensors(path, {{"y", zeros({1000})}});
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(read_bytes(dir.file("old_link")), old_bytes);
  EXPECT_EQ(io::load_safetensors(path)[0].first, "y");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"model.safetensors", "old_link"}));
}

TEST(Safetensors, FailedWriteKeepsTheExistingFile) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"x", ones({4})}});
  const std::string old_bytes = read_bytes(path);
  // A write cut short: the process may not grow files past 64 KiB; the new file needs 4 MB.
  const std::string e =
      nntest::error_with_file_size_limit(64 * 1024, [&] { io::save_safetensors(path, {{"big", zeros({1 << 20})}}); });
  EXPECT_NE(e, "<no error>");
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"}) << "a temporary file was left behind";
  // Bad input fails before touching the file.
  EXPECT_NE(error_of([&] { io::save_safetensors(path, {{"u", Tensor()}}); }), "<no error>");
  EXPECT_NE(error_of([&] { io::save_safetensors(path, {{"d", ones({1})}, {"d", ones({1})}}); }), "<no error>");
  EXPECT_EQ(read_bytes(path), old_bytes);
  // An unwritable place is named.
  const std::string nowhere = dir.file("no/such/dir/m.safetensors");
  EXPECT_NE(error_of([&] { io::save_safetensors(nowhere, {{"x", ones({1})}}); }).find("no/such/dir"), std::string::npos);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model.safetensors"});
}

// ---- malformed files ----------------------------------------------------------------------

std::string le64_bytes(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}
// 8-byte length, the header text as given, then the data bytes.
std::string file_of(const std::string& header, const std::string& data = "") {
  return le64_bytes(header.size()) + header + data;
}

class Malformed : public ::testing::Test {
 protected:
  // Writes bytes to a file, loads it, and returns the error text (which must name the file).
  std::string load_error(const std::string& bytes) {
    const std::string path = dir_.file("bad.safetensors");
    write_bytes(path, bytes);
    const std::string e = error_of([&] { io::load_safetensors(path); });
    EXPECT_NE(e, "<no error>");
    EXPECT_NE(e.find(path), std::string::npos) << "the error does not name the file: " << e;
    // The in-memory parser reports the same problem under the given source name.
    const std::string e2 = error_of([&] {
      io::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "<mem>");
    });
    EXPECT_NE(e2.find("<mem>"), std::string::npos) << e2;
    return e;
  }
  TempDir dir_;
};

#define EXPECT_MALFORMED(bytes, ...)                                                     \
  do {                                                                                   \
    const std::string err_ = load_error(bytes);                                          \
    for (const char* sub_ : {__VA_ARGS__}) EXPECT_CONTAINS(err_, sub_);                  \
  } while (0)

const std::string kF32x2 = std::string("\0\0\x80\x3f\0\0\0\x40", 8);  // 1.0f, 2.0f

TEST_F(Malformed, ShorterThanTheLengthField) {
  EXPECT_MALFORMED(std::string(""), "header length");
  EXPECT_MALFORMED(std::string("\x05\0\0", 3), "header length");
}

TEST_F(Malformed, HeaderLengthPastTheEnd) {
  EXPECT_MALFORMED(le64_bytes(100) + "{}", "header length", "100");
  EXPECT_MALFORMED(le64_bytes(UINT64_MAX) + "{}", "header length");
}

TEST_F(Malformed, HeaderLengthOverTheLimit) {
  EXPECT_MALFORMED(le64_bytes((uint64_t{100} << 20) + 1) + "{}", "header length", "104857601");
}

TEST_F(Malformed, InvalidJson) {
  EXPECT_MALFORMED(file_of("{\"a\": "), "JSON");
  EXPECT_MALFORMED(file_of("not json at all"), "JSON");
  EXPECT_MALFORMED(file_of(std::string("{\"a\"\0}", 6)), "JSON");
}

TEST_F(Malformed, HeaderNotAnObject) {
  EXPECT_MALFORMED(file_of("[1, 2]"), "object");
  EXPECT_MALFORMED(file_of("\"text\""), "object");
  EXPECT_MALFORMED(file_of("42"), "object");
}

TEST_F(Malformed, DuplicateTensorName) {
  EXPECT_MALFORMED(file_of(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           kF32x2),
                   "'w'", "twice");
}

TEST_F(Malformed, MissingFields) {
  EXPECT_MALFORMED(file_of(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", kF32x2), "'w'", "dtype");
  EXPECT_MALFORMED(file_of(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", kF32x2), "'w'", "shape");
  EXPECT_MALFORMED(file_of(R"({"w":{"dtype":"F32","shape":[2]}})", kF32x2), "'w'", "data_offsets");
  EXPECT_MALFORMED(file_of(R"({"w":[1,2]})", kF32x2), "'w'");
  EXPECT_MALFORMED(file_of(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", kF32x2), "'w'", "dtype");
}

TEST_F(Malformed, UnknownDtype) {
  // F8_E4M3 is a safetensors dtype hpml does not have (F16 and BF16 it has: tests/core/half_dtype_test.cpp).
  EXPECT_MALFORMED(file_of(R"({"h":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", kF32x2), "'h'", "F8_E4M3");
  // A 2-byte dtype counts 2 bytes an element: 3 of them do not fill the 8 bytes of the offsets.
  EXPECT_MALFORMED(file_of(R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})", kF32x2), "'h'");
  EXPECT_MALFORMED(file_of(R"({"h":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", kF32x2), "f32");
}

TEST_F(Malformed, BadShape) {
  EXPECT_MALFORMED(file_of(R"({"s":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kF32x2), "'s'", "shape");
  EXPECT_MALFORMED(file_of(R"({"s":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", kF32x2), "'s'", "shape");
  EXPECT_MALFORMED(file_of(R"({"s":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", kF32x2), "'s'", "shape");
  EXPECT_MALFORMED(file_of(R"({"s":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", kF32x2), "'s'", "shape");
}

TEST_F(Malformed, ShapeWhoseByteSizeOverflows) {
  // 2^32 * 2^32 elements: the element count alone wraps a uint64; 2^62 F32 elements need 2^64 bytes.
  EXPECT_MALFORMED(file_of(R"({"o":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"), "'o'",
                   "shape");
  EXPECT_MALFORMED(file_of(R"({"o":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})"), "'o'",
                   "shape");
  EXPECT_MALFORMED(file_of(R"({"o":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})"), "'o'",
                   "shape");
}

TEST_F(Malformed, DataOffsetsNotTwoIntegers) {
  for (const char* offs : {"[0]", "[0,8,8]", "[0,\"8\"]", "[0,8.0]", "[-1,8]", "8", "{}"}) {
    SCOPED_TRACE(offs);
    EXPECT_MALFORMED(file_of(std::string(R"({"d":{"dtype":"F32","shape":[2],"data_offsets":)") + offs + "}}", kF32x2),
                     "'d'", "data_offsets");
  }
}

TEST_F(Malformed, BeginAfterEnd) {
  EXPECT_MALFORMED(file_of(R"({"d":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", kF32x2), "'d'", "data_offsets");
}

TEST_F(Malformed, EndPastTheDataSection) {
  EXPECT_MALFORMED(file_of(R"({"d":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kF32x2), "'d'", "16");
  EXPECT_MALFORMED(file_of(R"({"d":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", kF32x2), "'d'", "12");
}

TEST_F(Malformed, SpanDiffersFromShapeTimesItemsize) {
  EXPECT_MALFORMED(file_of(R"({"d":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", kF32x2), "'d'", "8", "4");
  EXPECT_MALFORMED(file_of(R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", kF32x2), "'d'", "16");
}

TEST_F(Malformed, OverlappingTensors) {
  EXPECT_MALFORMED(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           kF32x2),
                   "'a'", "'b'", "overlap");
  EXPECT_MALFORMED(file_of(R"({"b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                           R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                           kF32x2),
                   "'a'", "'b'", "overlap");
}

TEST_F(Malformed, MetadataNotAnObjectOfStrings) {
  EXPECT_MALFORMED(file_of(R"({"__metadata__":"text"})"), "__metadata__");
  EXPECT_MALFORMED(file_of(R"({"__metadata__":["a"]})"), "__metadata__");
  EXPECT_MALFORMED(file_of(R"({"__metadata__":{"epoch":3}})"), "__metadata__", "epoch");
  EXPECT_MALFORMED(file_of(R"({"__metadata__":{"k":{"nested":"x"}}})"), "__metadata__", "'k'");
}

TEST_F(Malformed, BoolByteNotZeroOrOne) {
  EXPECT_MALFORMED(file_of(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x01\x02\x00", 3)),
                   "'m'", "BOOL", "2");
}

TEST_F(Malformed, WellFormedEdgeCasesStillLoad) {
  // The control group: the same builder makes files that do load.
  const std::string path = dir_.file("ok.safetensors");
  write_bytes(path, file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("e":{"dtype":"F32","shape":[0,5],"data_offsets":[8,8]}})",
                            kF32x2));
  auto t = by_name(io::load_safetensors(path));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(vals(t["a"]), (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(t["e"].sizes().vec(), (std::vector<int64_t>{0, 5}));
  write_bytes(path, file_of("{}"));
  EXPECT_TRUE(io::load_safetensors(path).empty());
  const std::string missing = dir_.file("missing.safetensors");
  EXPECT_NE(error_of([&] { io::load_safetensors(missing); }).find(missing), std::string::npos);
}

}  // namespace
}  // namespace hpml
