// `hpml predict`: one input through the model of a checkpoint (rebuilt as `hpml eval` does): the
// top classes with their softmax probabilities, or a regression model's value. The inputs are
// untrusted files: PGM / PPM (read by hand) and PNG (libpng) images for 28x28 image models, one
// CSV row for vector models (predict_input.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace hpml::cli {

struct PredictOptions {
  std::string checkpoint;  // last.safetensors or best.safetensors of an `hpml train` run
  std::string input;       // an image (PNG, PGM, PPM) or a CSV file
  int64_t top = 3;         // classes shown, at most the model's class count
  int64_t row = 0;         // the CSV data row, from 1; 0: the file must hold exactly one
  bool invert = false;     // dark object on a light background -> Fashion-MNIST's light on dark
};

void add_predict_options(CLI::App& app, PredictOptions& options);
// Prints predict_report(); returns the exit status (0). Bad input throws hpml::Error.
int predict(const PredictOptions& options);
// What `hpml predict` prints: the model, the input and the prediction, one item a line.
std::string predict_report(const PredictOptions& options);

// ---- the inputs (predict_input.cpp) ---------------------------------------------------------
// Bounds of what an input file may claim, checked before anything is allocated.
inline constexpr int64_t kMaxImageSide = 16384;
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 24;  // 4096 x 4096; 64 MiB as RGBA
inline constexpr uint64_t kMaxInputBytes = uint64_t{256} << 20;

// A grayscale image, row-major, each pixel in [0, 1] (white 1), as the MNIST data set stores
// its images (byte / 255).
struct GrayImage {
  int64_t width = 0, height = 0;
  std::vector<float> pixels;
  std::string format;  // "binary PGM", "ASCII PPM", "PNG", ...
};

// What the first bytes of a file say it is: "PNG image", "PGM image", "PPM image", "PBM image",
// "PAM image", "JPEG image", "GIF image", "BMP image", "TIFF image", "WebP image",
// "safetensors file"; "" for anything else (text, a CSV).
std::string file_kind(std::string_view head);
// A PGM or PPM file (P2, P3, P5, P6; maxval up to 65535; colour -> luma 0.299 R + 0.587 G +
// 0.114 B) or a PNG file (any colour type and depth, through libpng; a transparent pixel is
// composited onto `background`, 0 black or 1 white). `source` (the file) starts every error;
// a truncated file names the byte offset where it ends.
GrayImage read_pnm(const std::vector<uint8_t>& bytes, const std::string& source);
GrayImage read_png(const std::vector<uint8_t>& bytes, const std::string& source, float background = 0);
// Area averaging to width x height: each output pixel is the mean of the input area it covers
// (fractional edges weighted by their share), so shrinking a photo does not alias.
GrayImage resize_area(const GrayImage& image, int64_t width, int64_t height);
// The image centred on a black square (side the longer one), then area-averaged to side x side:
// the shape is kept, not stretched (Note [Fitting an image to 28x28] in predict_input.cpp).
GrayImage fit_square(const GrayImage& image, int64_t side);

// One data row of a CSV text: comma-separated finite numbers, spaces around a field allowed; a
// first line that is not all numbers is a header and skipped; blank lines are skipped. `row`
// counts data rows from 1; 0 requires the text to hold exactly one. At most `max_values` values.
struct CsvRow {
  std::vector<double> values;
  int64_t row = 0, line = 0;  // the data row (from 1) and its line in the file (from 1)
  int64_t rows = 0;           // data rows in the file
  bool header = false;
};
CsvRow read_csv_row(std::string_view text, const std::string& source, int64_t row, size_t max_values);

}  // namespace hpml::cli
