// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): bytes 0x00 0x00,
// a type byte, the number of dims n; n big-endian u32 sizes; then the elements, big-endian, in
// row-major order. Files may be gzip'd (recognised by their 0x1f 0x8b magic) or raw.
//
//   type  element    hpml dtype          type  element   hpml dtype
//   0x08  u8         u8                  0x0C  i32       i32
//   0x09  i8         i32                 0x0D  f32       f32
//   0x0B  i16        i32                 0x0E  f64       f64
//
// Files are untrusted: a malformed one raises hpml::Error naming the file and the byte offset of
// the problem (an offset into the decompressed data for a gzip'd file, or into the compressed
// bytes for a broken gzip stream). See Note [Reading IDX safely] in src/data/idx.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hpml/core/tensor.h"

namespace hpml::data {

// Limits: at most 8 dims (IDX files in use have 1 to 4) and 16 GiB of element data.
inline constexpr int kMaxIdxDims = 8;
inline constexpr uint64_t kMaxIdxDataBytes = uint64_t{1} << 34;

// The tensor an IDX file holds, with the file's shape.
Tensor read_idx(const std::string& path);
// The same from bytes in memory (gzip'd or raw); `source` names them in errors.
Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source);

// A label file: a 1-d IDX file of integers (u8, i8, i16 or i32) whose values all lie in
// [0, num_classes); returns them as i64 [N]. A label out of range is an error naming its byte offset.
Tensor read_idx_labels(const std::string& path, int64_t num_classes);
Tensor parse_idx_labels(const uint8_t* data, size_t size, const std::string& source, int64_t num_classes);

}  // namespace hpml::data
