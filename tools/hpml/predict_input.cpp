// The inputs of `hpml predict`, read from untrusted files: PGM / PPM (P2, P3, P5, P6) by hand,
// PNG through libpng's simplified API, one row of a CSV text; and the fit of any image to the
// 28x28 a Fashion-MNIST model takes (centred on a black square, area averaging). Every size a
// file claims is bounded before anything is allocated.
#include <png.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "predict.h"

namespace hpml::cli {

namespace {

bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Rec. 601 luma, as Pillow's convert("L") and torchvision's Grayscale weigh the channels.
float luma(double r, double g, double b) { return static_cast<float>(0.299 * r + 0.587 * g + 0.114 * b); }

void check_size(int64_t w, int64_t h, const std::string& source, const char* format) {
  HPML_CHECK(w >= 1 && h >= 1 && w <= kMaxImageSide && h <= kMaxImageSide, source, ": the ", format, " header gives ",
             w, "x", h, " pixels; hpml predict reads images of 1 to ", kMaxImageSide, " pixels a side");
  HPML_CHECK(w * h <= kMaxImagePixels, source, ": the ", format, " header gives ", w, "x", h, " = ", w * h,
             " pixels; hpml predict reads at most ", kMaxImagePixels, " (hint: shrink the image first)");
}

// A cursor over a PNM file: whitespace and `#` comments are skipped between numbers, and every
// number is bounded while it is read (no overflow, whatever its digits).
struct PnmCursor {
  const std::vector<uint8_t>& b;
  const std::string& source;
  size_t pos = 0;

  void skip() {
    while (pos < b.size()) {
      if (is_space(b[pos])) {
        ++pos;
      } else if (b[pos] == '#') {
        while (pos < b.size() && b[pos] != '\n' && b[pos] != '\r') ++pos;
      } else {
        break;
      }
    }
  }
  // The next decimal number, in [lo, hi]; `what` ("the width") names it. `truncated` says what
  // the file would have needed, should it end first.
  int64_t number(const char* what, int64_t lo, int64_t hi, const std::string& truncated) {
    skip();
    HPML_CHECK(pos < b.size(), source, ": truncated at byte offset ", b.size(), ": ", truncated);
    const size_t start = pos;
    HPML_CHECK(b[pos] >= '0' && b[pos] <= '9', source, ": byte offset ", start, ": ", what, " is ",
               printable(std::string_view(reinterpret_cast<const char*>(b.data()) + start,
                                          std::min<size_t>(b.size() - start, 12))),
               ", not a decimal number");
    while (pos < b.size() && b[pos] >= '0' && b[pos] <= '9') ++pos;
    const std::string digits(reinterpret_cast<const char*>(b.data()) + start, std::min<size_t>(pos - start, 24));
    int64_t v = 0;
    const bool fits = pos - start <= 18;  // below 10^18: no overflow
    if (fits)
      for (char d : digits) v = v * 10 + (d - '0');
    HPML_CHECK(fits && v >= lo && v <= hi, source, ": byte offset ", start, ": ", what, " ", digits,
               pos - start > 24 ? "..." : "", " is not in [", lo, ", ", hi, "]");
    HPML_CHECK(pos == b.size() || is_space(b[pos]) || b[pos] == '#', source, ": byte offset ", pos, ": ", what, " ", v,
               " is followed by ", printable(std::string_view(reinterpret_cast<const char*>(b.data()) + pos, 1)),
               ", not whitespace");
    return v;
  }
};

// The 32-bit big-endian number at b[at] (at + 4 <= size).
uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | uint32_t{b[at + 3]};
}

// Walks the chunks of a PNG file before libpng sees it: a chunk that runs past the end, or a
// missing IEND, is a truncated file named with its offset (libpng would only say "read error"),
// and IHDR's size is bounded before libpng allocates anything.
void check_png_chunks(const std::vector<uint8_t>& b, const std::string& source) {
  size_t pos = 8;
  bool first = true;
  for (;;) {
    HPML_CHECK(pos + 8 <= b.size(), source, ": truncated at byte offset ", b.size(),
               ": the PNG file ends before its "
               "IEND chunk (a chunk header needs 8 bytes at offset ",
               pos, ")");
    const uint32_t len = be32(b, pos);
    const std::string type(reinterpret_cast<const char*>(b.data()) + pos + 4, 4);
    HPML_CHECK(len <= 0x7fffffffu, source, ": byte offset ", pos, ": the PNG chunk ", printable(type), " claims ", len,
               " bytes, more than PNG allows (2^31 - 1)");
    HPML_CHECK(len + size_t{12} <= b.size() - pos, source, ": truncated at byte offset ", b.size(), ": the PNG chunk ",
               printable(type), " at offset ", pos, " needs ", len + size_t{12}, " bytes, ", b.size() - pos, " remain");
    if (first) {
      HPML_CHECK(type == "IHDR" && len == 13, source, ": byte offset 8: the first PNG chunk is ", printable(type),
                 " of ", len, " bytes, not IHDR of 13");
      check_size(be32(b, pos + 8), be32(b, pos + 12), source, "PNG");
      first = false;
    }
    pos += len + size_t{12};
    if (type == "IEND") return;
  }
}

// Note [Fitting an image to 28x28]
// A Fashion-MNIST model has only seen 28x28 images with the object centred and the background
// black. A photo of another size is centred on a black square whose side is its longer side
// (stretching it to a square would squash a trouser into a pullover) and the square is
// area-averaged down (or up) to 28x28: each output pixel is the mean of the part of the square
// it covers, edge pixels weighted by the share they overlap. Bilinear sampling would read 4 of
// the hundreds of pixels a 28x28 cell of a large photo covers and alias; area averaging is what
// OpenCV's INTER_AREA and Pillow's BOX filter do. The black border is never allocated: pixels
// outside the image simply add nothing.

// For each of `n` outputs over a canvas of `canvas` cells, the (image cell, weight) pairs of the
// image cells [offset, offset + len) it covers; weights of an output sum to 1 over the canvas.
std::vector<std::vector<std::pair<int64_t, double>>> area_weights(int64_t canvas, int64_t offset, int64_t len,
                                                                  int64_t n) {
  std::vector<std::vector<std::pair<int64_t, double>>> out(static_cast<size_t>(n));
  const double step = static_cast<double>(canvas) / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const double lo = static_cast<double>(i) * step, hi = static_cast<double>(i + 1) * step;
    const auto first = std::max(static_cast<int64_t>(std::floor(lo)), offset);
    const auto last = std::min(static_cast<int64_t>(std::ceil(hi)), offset + len);
    for (int64_t j = first; j < last; ++j) {
      const double overlap = std::min(hi, static_cast<double>(j + 1)) - std::max(lo, static_cast<double>(j));
      if (overlap > 0) out[static_cast<size_t>(i)].emplace_back(j - offset, overlap / step);
    }
  }
  return out;
}

// The image placed at (ox, oy) on a black canvas_w x canvas_h canvas, area-averaged to w x h.
GrayImage resample(const GrayImage& in, int64_t w, int64_t h, int64_t canvas_w, int64_t canvas_h, int64_t ox,
                   int64_t oy) {
  HPML_CHECK(w >= 1 && h >= 1 && w <= kMaxImageSide && h <= kMaxImageSide && w * h <= kMaxImagePixels,
             "resize_area: ", w, "x", h, " is not a size hpml predict makes");
  const auto wx = area_weights(canvas_w, ox, in.width, w), wy = area_weights(canvas_h, oy, in.height, h);
  std::vector<double> rows(static_cast<size_t>(in.height * w), 0.0);  // every input row, resampled across
  for (int64_t y = 0; y < in.height; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (const auto& [j, wt] : wx[static_cast<size_t>(x)]) s += wt * in.pixels[static_cast<size_t>(y * in.width + j)];
      rows[static_cast<size_t>(y * w + x)] = s;
    }
  GrayImage out{w, h, std::vector<float>(static_cast<size_t>(w * h), 0.0f), in.format};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (const auto& [j, wt] : wy[static_cast<size_t>(y)]) s += wt * rows[static_cast<size_t>(j * w + x)];
      out.pixels[static_cast<size_t>(y * w + x)] = static_cast<float>(std::clamp(s, 0.0, 1.0));
    }
  return out;
}

}  // namespace

std::string file_kind(std::string_view h) {
  auto starts = [&](std::string_view magic) { return h.substr(0, magic.size()) == magic; };
  if (starts("\x89PNG\r\n\x1a\n")) return "PNG image";
  if (h.size() >= 3 && h[0] == 'P' && is_space(static_cast<uint8_t>(h[2]))) {
    if (h[1] == '2' || h[1] == '5') return "PGM image";
    if (h[1] == '3' || h[1] == '6') return "PPM image";
    if (h[1] == '1' || h[1] == '4') return "PBM image";
    if (h[1] == '7') return "PAM image";
  }
  if (starts("\xff\xd8\xff")) return "JPEG image";
  if (starts("GIF87a") || starts("GIF89a")) return "GIF image";
  if (starts("BM") && h.size() >= 10 && h.substr(6, 4) == std::string_view("\0\0\0\0", 4)) return "BMP image";
  if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) return "TIFF image";
  if (starts("RIFF") && h.size() >= 12 && h.substr(8, 4) == "WEBP") return "WebP image";
  if (h.size() >= 9 && h[8] == '{') {  // safetensors: a u64 little-endian header length, then JSON
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(h[static_cast<size_t>(i)]);
    if (n >= 2 && n < (uint64_t{1} << 32)) return "safetensors file";
  }
  return "";
}

GrayImage read_pnm(const std::vector<uint8_t>& b, const std::string& source) {
  const std::string kind =
      file_kind(std::string_view(reinterpret_cast<const char*>(b.data()), std::min<size_t>(b.size(), 16)));
  HPML_CHECK(kind == "PGM image" || kind == "PPM image", source, " is not a PGM or PPM image (P2, P3, P5, P6)");
  const char magic = static_cast<char>(b[1]);
  const bool binary = magic == '5' || magic == '6';
  const int64_t channels = magic == '3' || magic == '6' ? 3 : 1;
  const char* format = channels == 3 ? "PPM" : "PGM";
  PnmCursor c{b, source, 2};
  const std::string header_end = std::string("the ") + format + " header ends before its ";
  const int64_t w = c.number("the width", 1, kMaxImageSide, header_end + "width");
  const int64_t h = c.number("the height", 1, kMaxImageSide, header_end + "height");
  check_size(w, h, source, format);
  const int64_t maxval = c.number("the maxval", 1, 65535, header_end + "maxval");
  const int64_t samples = w * h * channels;
  const std::string header = std::to_string(w) + "x" + std::to_string(h) + ", maxval " + std::to_string(maxval);
  std::vector<int64_t> v(static_cast<size_t>(samples));
  if (binary) {
    HPML_CHECK(c.pos < b.size(), source, ": truncated at byte offset ", b.size(), ": the ", format,
               " header ends without the whitespace byte before the pixels");
    HPML_CHECK(is_space(b[c.pos]), source, ": byte offset ", c.pos,
               ": the maxval must be followed by one whitespace "
               "byte, then the pixels");
    ++c.pos;  // exactly one whitespace byte after the maxval
    const int64_t bytes_per = maxval > 255 ? 2 : 1;
    const auto need = static_cast<size_t>(samples * bytes_per);
    HPML_CHECK(b.size() - c.pos >= need, source, ": truncated at byte offset ", b.size(), ": the header (", header,
               ") needs ", need, " bytes of pixels from offset ", c.pos, ", ", b.size() - c.pos, " remain");
    for (size_t i = 0; i < v.size(); ++i) {
      const size_t at = c.pos + i * static_cast<size_t>(bytes_per);
      v[i] = bytes_per == 2 ? (int64_t{b[at]} << 8 | b[at + 1]) : int64_t{b[at]};
      HPML_CHECK(v[i] <= maxval, source, ": byte offset ", at, ": the sample ", v[i], " is above the maxval ", maxval);
    }
  } else {
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = c.number("the sample", 0, maxval,
                      "the header (" + header + ") needs " + std::to_string(samples) + " samples, the file has " +
                          std::to_string(i));
  }
  GrayImage img{w, h, std::vector<float>(static_cast<size_t>(w * h)),
                std::string(binary ? "binary " : "ASCII ") + format};
  const auto m = static_cast<double>(maxval);
  for (size_t p = 0; p < img.pixels.size(); ++p)
    img.pixels[p] = channels == 1 ? static_cast<float>(static_cast<double>(v[p]) / m)
                                  : luma(static_cast<double>(v[3 * p]) / m, static_cast<double>(v[3 * p + 1]) / m,
                                         static_cast<double>(v[3 * p + 2]) / m);
  return img;
}

GrayImage read_png(const std::vector<uint8_t>& b, const std::string& source, float background) {
  HPML_CHECK(b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0, source, " is not a PNG image");
  check_png_chunks(b, source);
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, b.data(), b.size())) {
    const std::string msg = png.message;
    png_image_free(&png);
    HPML_FAIL(source, ": not a readable PNG image (libpng: ", msg, ")");
  }
  png.format = PNG_FORMAT_RGBA;  // 8-bit sRGB with straight alpha, whatever the file's type and depth
  const auto w = static_cast<int64_t>(png.width), h = static_cast<int64_t>(png.height);
  check_size(w, h, source, "PNG");  // as check_png_chunks found; libpng read the same IHDR
  std::vector<uint8_t> rgba(static_cast<size_t>(w * h * 4));
  if (!png_image_finish_read(&png, nullptr, rgba.data(), 0, nullptr)) {
    const std::string msg = png.message;
    png_image_free(&png);
    HPML_FAIL(source, ": not a readable PNG image (libpng: ", msg, ")");
  }
  GrayImage img{w, h, std::vector<float>(static_cast<size_t>(w * h)), "PNG"};
  for (size_t p = 0; p < img.pixels.size(); ++p) {
    const uint8_t* q = &rgba[4 * p];
    const double a = q[3] / 255.0;
    if (q[3] == 255 && q[0] == q[1] && q[1] == q[2])
      img.pixels[p] = static_cast<float>(q[0]) / 255.0f;  // gray: bit for bit the MNIST data set's byte / 255
    else
      img.pixels[p] = static_cast<float>(a * luma(q[0] / 255.0, q[1] / 255.0, q[2] / 255.0) + (1 - a) * background);
  }
  return img;
}

GrayImage resize_area(const GrayImage& image, int64_t width, int64_t height) {
  return resample(image, width, height, image.width, image.height, 0, 0);
}

GrayImage fit_square(const GrayImage& image, int64_t side) {
  if (image.width == side && image.height == side) return image;
  const int64_t s = std::max(image.width, image.height);
  return resample(image, side, side, s, s, (s - image.width) / 2, (s - image.height) / 2);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_number(std::string_view f, double& v) {
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  return !f.empty() && ec == std::errc() && end == f.data() + f.size() && std::isfinite(v);
}

// The fields of a line, or false at the first one that is not a finite number (*bad: its index).
bool numbers(std::string_view line, std::vector<double>* out, size_t* bad, size_t max_values) {
  size_t column = 0;
  for (size_t start = 0;; ++column) {
    const size_t comma = line.find(',', start);
    double v = 0;
    if (column >= max_values || !is_number(trim(line.substr(start, comma - start)), v)) {
      *bad = column;
      return false;
    }
    if (out) out->push_back(v);
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

}  // namespace

CsvRow read_csv_row(std::string_view text, const std::string& source, int64_t row, size_t max_values) {
  const size_t nul = text.find('\0');
  HPML_CHECK(nul == std::string_view::npos, source, " is not a CSV text file (a NUL byte at byte offset ", nul, ")");
  CsvRow out;
  std::string_view chosen;
  int64_t line_no = 0;
  bool first = true;
  for (size_t start = 0; start < text.size();) {
    const size_t nl = text.find('\n', start);
    const std::string_view line = trim(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    size_t bad = 0;
    if (first && !numbers(line, nullptr, &bad, SIZE_MAX)) {
      out.header = true;  // not all numbers: the header, skipped
    } else if (++out.rows == (row == 0 ? 1 : row)) {
      chosen = line;
      out.line = line_no;
    }
    first = false;
  }
  HPML_CHECK(out.rows > 0, source, " holds no data row (", out.header ? "only a header" : "no line", ")");
  HPML_CHECK(row != 0 || out.rows == 1, source, " holds ", out.rows, " data rows; pick one with --row N (1 to ",
             out.rows, ")");
  HPML_CHECK(row <= out.rows, source, " holds ", out.rows, " data rows; --row ", row, " is past its end");
  out.row = row == 0 ? 1 : row;
  size_t bad = 0;
  if (!numbers(chosen, &out.values, &bad, max_values)) {
    HPML_CHECK(bad < max_values, source, " line ", out.line, " has more than ", max_values, " values");
    size_t start = 0;
    for (size_t k = 0; k < bad; ++k) start = chosen.find(',', start) + 1;
    const std::string_view field = trim(chosen.substr(start, chosen.find(',', start) - start));
    HPML_FAIL(source, " line ", out.line, ", column ", bad + 1, ": ", printable(field), " is not a finite number");
  }
  return out;
}

}  // namespace hpml::cli
