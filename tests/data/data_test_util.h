// Helpers for the dataset and reader tests: a temporary folder, IDX bytes built by hand, gzip (zlib)
// and element access.
#pragma once

#include <gtest/gtest.h>

#include "temp_dir.h"
#include <hpml/hpml.h>
#include <stdlib.h>
#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace hpml::datatest {

using Bytes = std::vector<uint8_t>;

// The shared TempDir, its folders named after this layer.
struct TempDir : hpml::testing::TempDir {
  TempDir() : hpml::testing::TempDir("hpml_data_test") {}
};

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}
inline void write_text(const std::string& path, const std::string& text) {
  write_file(path, Bytes(text.begin(), text.end()));
}

inline void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// An IDX header: 0, 0, type, ndims, then the dims big-endian.
inline Bytes idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  Bytes b{0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  return b;
}

// A whole u8 IDX file.
inline Bytes idx_u8(const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b = idx_header(0x08, dims);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// The bytes gzip'd (zlib's deflate with a gzip wrapper).
inline Bytes gzip(const Bytes& raw, int level = 6) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, static_cast<uLong>(raw.size())) + 64);
  zs.next_in = const_cast<uint8_t*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// All elements of a tensor as doubles, row-major.
inline std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

inline std::vector<int64_t> shape(const Tensor& t) { return t.sizes().vec(); }

}  // namespace hpml::datatest
