// IDX reading (MNIST's format), raw or gzip'd, from untrusted bytes.
#include "hpml/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "hpml/ops/factories.h"

namespace hpml::data {

namespace {

struct IdxType {
  uint8_t code;
  const char* name;
  uint32_t size;  // bytes per element in the file
  DType dtype;    // what hpml holds it as
};
constexpr IdxType kTypes[] = {{0x08, "u8", 1, DType::u8},   {0x09, "i8", 1, DType::i32},  {0x0B, "i16", 2, DType::i32},
                              {0x0C, "i32", 4, DType::i32}, {0x0D, "f32", 4, DType::f32}, {0x0E, "f64", 8, DType::f64}};

// Note [Gzip bombs]
// Deflate codes at best 258 repeated bytes in 2 bits, so a stream of n compressed bytes inflates to
// at most 1032 n bytes (plus a few for the gzip framing). A header whose dims need more data than
// that is rejected before anything is allocated: a small file cannot make the reader reserve
// gigabytes for data that is not there. Output is only ever written into the tensor the header
// sized, so nothing grows past the dims either.
constexpr uint64_t kMaxDeflateRatio = 1032;

// The bytes of an IDX file in order, inflating a gzip'd file as they are asked for.
class ByteStream {
 public:
  ByteStream(const uint8_t* data, size_t size, const std::string& src) : data_(data), size_(size), src_(src) {
    gzip_ = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (gzip_) {
      HPML_CHECK(inflateInit2(&zs_, 16 + MAX_WBITS) == Z_OK, src_, ": cannot start zlib's inflate");
      inflating_ = true;
    }
  }
  ~ByteStream() {
    if (inflating_) inflateEnd(&zs_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  bool gzip() const { return gzip_; }
  uint64_t pos() const { return pos_; }
  // A bound on the bytes the rest of the stream can hold (for a gzip'd file: the whole stream's,
  // since zlib may have taken in input whose output it still holds).
  uint64_t max_remaining() const {
    return gzip_ ? static_cast<uint64_t>(size_) * kMaxDeflateRatio + 4096 : size_ - pos_;
  }
  // Where an error lies, as the start of a message: "train.gz: byte 12 (decompressed): ".
  std::string at(uint64_t offset) const {
    return hpml::detail::str_cat(src_, ": byte ", offset, gzip_ ? " (of the decompressed data)" : "", ": ");
  }

  // Up to n bytes into dst; fewer only at the end of the data.
  size_t read(uint8_t* dst, size_t n) {
    if (!gzip_) {
      const size_t k = std::min(n, size_ - static_cast<size_t>(pos_));
      if (k) std::memcpy(dst, data_ + pos_, k);
      pos_ += k;
      return k;
    }
    size_t got = 0;
    while (got < n && !ended_) {
      if (zs_.avail_in == 0 && fed_ < size_) {  // avail_in is 32-bit: feed at most 1 GiB at a time
        const size_t k = std::min<size_t>(size_ - fed_, size_t{1} << 30);
        zs_.next_in = const_cast<uint8_t*>(data_ + fed_);  // zlib does not write through it
        zs_.avail_in = static_cast<uInt>(k);
        fed_ += k;
      }
      const size_t want = std::min<size_t>(n - got, size_t{1} << 30);
      zs_.next_out = dst + got;
      zs_.avail_out = static_cast<uInt>(want);
      const int r = inflate(&zs_, Z_NO_FLUSH);
      got += want - zs_.avail_out;
      if (r == Z_STREAM_END) {
        ended_ = true;
      } else if (r == Z_BUF_ERROR && zs_.avail_in == 0 && fed_ == size_) {
        HPML_FAIL(src_, ": byte ", size_, ": the gzip stream is truncated (it ends before its end marker, after ",
                  pos_ + got, " decompressed bytes)");
      } else if (r != Z_OK) {
        HPML_FAIL(src_, ": byte ", consumed(), ": corrupted gzip data (zlib: ", zs_.msg ? zs_.msg : "error", ")");
      }
    }
    pos_ += got;
    return got;
  }

  // Fails unless the data ends here: no more decompressed bytes, and nothing after the gzip stream.
  void expect_end() {
    if (!gzip_) {
      HPML_CHECK(pos_ == size_, at(pos_), size_ - pos_, " trailing bytes after the data");
      return;
    }
    uint8_t extra = 0;
    HPML_CHECK(read(&extra, 1) == 0, at(pos_ - 1), "trailing data after the end of the IDX data");
    HPML_CHECK(consumed() == size_, src_, ": byte ", consumed(), ": ", size_ - consumed(),
               " trailing bytes after the end of the gzip stream");
  }

 private:
  size_t consumed() const { return fed_ - zs_.avail_in; }

  const uint8_t* data_;
  size_t size_;
  const std::string& src_;
  bool gzip_ = false, inflating_ = false, ended_ = false;
  z_stream zs_{};
  size_t fed_ = 0;    // compressed bytes handed to zlib
  uint64_t pos_ = 0;  // bytes of (decompressed) data delivered
};

struct ParsedIdx {
  Tensor tensor;
  const IdxType* type;
  uint64_t data_offset;  // where the elements begin (in the decompressed data)
  bool gzip;
};

// Note [Reading IDX safely]
// Nothing in the bytes is trusted. The magic, the type and the number of dims are checked first;
// the dims' element count and byte size are computed with overflow checks and capped at
// kMaxIdxDataBytes (zero dims counted as 1, so that the strides of an empty tensor fit too); the data must be exactly as long as the dims say — checked against the file
// size before allocating for a raw file, and against Note [Gzip bombs]'s bound, while inflating
// and at the end of the stream (where zlib checks the CRC) for a gzip'd one. Each error names the
// source and the byte offset. The libFuzzer target tests/fuzz/idx_fuzzer.cpp exercises this code.
ParsedIdx parse(const uint8_t* data, size_t size, const std::string& src) {
  ByteStream in(data, size, src);
  uint8_t head[4];
  const size_t got = in.read(head, 4);
  HPML_CHECK(got == 4, in.at(got), "not an IDX file: it ends within the 4-byte magic (", got, " bytes)");
  HPML_CHECK(head[0] == 0 && head[1] == 0, in.at(0), "not an IDX file: the magic starts with bytes ",
             static_cast<int>(head[0]), ", ", static_cast<int>(head[1]), ", not 0, 0");
  const IdxType* type =
      std::find_if(std::begin(kTypes), std::end(kTypes), [&](const IdxType& t) { return t.code == head[2]; });
  HPML_CHECK(type != std::end(kTypes), in.at(2), "unknown IDX element type 0x", "0123456789ABCDEF"[head[2] >> 4],
             "0123456789ABCDEF"[head[2] & 15], " (known: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)");
  const int ndims = head[3];
  HPML_CHECK(ndims >= 1 && ndims <= kMaxIdxDims, in.at(3), "the number of dims is ", ndims, "; hpml reads 1 to ",
             kMaxIdxDims);

  std::vector<int64_t> dims;
  // `bytes` is the data's size; `span` the same with zero dims counted as 1, which bounds the
  // strides too (an empty [0, 2^32 - 1, 2^32 - 1] tensor would still overflow them).
  uint64_t bytes = type->size, span = type->size;
  for (int k = 0; k < ndims; ++k) {
    uint8_t b[4];
    const uint64_t off = in.pos();
    const size_t n = in.read(b, 4);
    HPML_CHECK(n == 4, in.at(off + n), "the data ends within the size of dim ", k, " (", ndims, " dims expected)");
    const uint32_t d = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    HPML_CHECK(!__builtin_mul_overflow(span, uint64_t{std::max(d, 1u)}, &span) && span <= kMaxIdxDataBytes, in.at(off),
               "dim ", k, " = ", d, " makes the data larger than the limit of ", kMaxIdxDataBytes, " bytes");
    bytes *= d;  // <= span: cannot overflow
    dims.push_back(d);
  }
  // i8 and i16 widen to i32: the tensor, not the file's data, is what must fit the limit.
  const uint64_t held = span / type->size * itemsize(type->dtype);
  HPML_CHECK(held <= kMaxIdxDataBytes, in.at(4),
             "the dims ", IntArrayRef(dims), " of ", type->name, " widen to ", itemsize(type->dtype),
             "-byte elements: more than the limit of ", kMaxIdxDataBytes, " bytes");
  const uint64_t data_offset = in.pos();
  HPML_CHECK(bytes <= in.max_remaining(), in.at(data_offset), "the dims ", IntArrayRef(dims), " of ", type->name,
             " need ", bytes, " bytes of data but ",
             in.gzip() ? "the gzip stream can hold at most " : "the file has only ", in.max_remaining(),
             " (truncated file?)");

  // Read the elements into their final home when the file's layout is hpml's (u8, or a 4/8-byte
  // type swapped in place afterwards); i8 and i16 go through a buffer and widen to i32.
  Tensor t = empty(dims, type->dtype);
  const bool direct = itemsize(type->dtype) == type->size;
  std::vector<uint8_t> buf(direct ? 0 : static_cast<size_t>(bytes));
  uint8_t* dst = direct ? static_cast<uint8_t*>(t.data_ptr()) : buf.data();
  const size_t n = in.read(dst, static_cast<size_t>(bytes));
  HPML_CHECK(n == bytes, in.at(data_offset + n), "the data ends early: the dims ", IntArrayRef(dims), " of ",
             type->name, " need ", bytes, " bytes from byte ", data_offset, ", ", bytes - n, " are missing");
  in.expect_end();

  const int64_t count = t.numel();
  switch (type->code) {
    case 0x09: {
      int32_t* o = t.data_ptr<int32_t>();
      for (int64_t i = 0; i < count; ++i) o[i] = static_cast<int8_t>(buf[static_cast<size_t>(i)]);
      break;
    }
    case 0x0B: {
      int32_t* o = t.data_ptr<int32_t>();
      for (int64_t i = 0; i < count; ++i) {
        const uint8_t* p = buf.data() + 2 * i;
        o[i] = static_cast<int16_t>(static_cast<uint16_t>((p[0] << 8) | p[1]));
      }
      break;
    }
    case 0x0C:
    case 0x0D: {
      auto* w = static_cast<uint32_t*>(t.data_ptr());
      for (int64_t i = 0; i < count; ++i) w[i] = __builtin_bswap32(w[i]);
      break;
    }
    case 0x0E: {
      auto* w = static_cast<uint64_t*>(t.data_ptr());
      for (int64_t i = 0; i < count; ++i) w[i] = __builtin_bswap64(w[i]);
      break;
    }
    default:
      break;  // u8: as read
  }
  return {t, type, data_offset, in.gzip()};
}

}  // namespace

Tensor parse_idx(const uint8_t* data, size_t size, const std::string& source) {
  return parse(data, size, source).tensor;
}

Tensor read_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_regular_file(path, "read_idx");
  return parse_idx(bytes.data(), bytes.size(), path);
}

Tensor parse_idx_labels(const uint8_t* data, size_t size, const std::string& source, int64_t num_classes) {
  HPML_CHECK(num_classes > 0, "parse_idx_labels: num_classes must be positive, got ", num_classes);
  ParsedIdx p = parse(data, size, source);
  const std::string where = p.gzip ? " (of the decompressed data)" : "";
  HPML_CHECK(p.tensor.dim() == 1, source, ": byte 3", where, ": a label file has 1 dim, this one has ", p.tensor.dim(),
             " (shape ", p.tensor.sizes(), ")");
  HPML_CHECK(is_integral(p.tensor.dtype()), source, ": byte 2", where, ": labels must be integers, the file holds ",
             p.type->name);
  Tensor labels = p.tensor.to(kInt64);
  const int64_t* l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    HPML_CHECK(l[i] >= 0 && l[i] < num_classes, source, ": byte ",
               p.data_offset + static_cast<uint64_t>(i) * p.type->size, where, ": label ", l[i], " (sample ", i,
               ") is out of range [0, ", num_classes, ")");
  return labels;
}

Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  const std::vector<uint8_t> bytes = read_regular_file(path, "read_idx_labels");
  return parse_idx_labels(bytes.data(), bytes.size(), path, num_classes);
}

}  // namespace hpml::data
