// `hpml predict`'s pieces, in-process: the PGM / PPM / PNG readers on good, truncated,
// huge-header and wrong-kind files, the area resize, the CSV row, and predict_report() on
// checkpoints (an mlp trained on blobs by the command, a linreg, a Fashion-MNIST logreg written
// here), including the refusals of an input that does not fit the model. And `hpml list`: its
// groups, and that its table holds exactly the names the options offer, each one buildable.
#include <gtest/gtest.h>
#include <png.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "catalog.h"
#include "experiment.h"
#include "hpml/hpml.h"
#include "predict.h"
#include "temp_dir.h"
#include "tokenizer.h"
#include "tools/cli_util.h"
#include "train.h"

namespace {

using namespace hpml::cli;
using Bytes = std::vector<uint8_t>;

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The message of the hpml::Error `f` throws ("no error" when it returns).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const hpml::Error& e) {
    return e.what();
  }
  return "no error";
}

#define EXPECT_HAS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "no \"" << (part) << "\" in:\n" << (text)

// A PNG of `pixels` (8-bit gray, RGB or RGBA by `format`), written with libpng.
Bytes png_of(int w, int h, uint32_t format, const Bytes& pixels) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<uint32_t>(w);
  img.height = static_cast<uint32_t>(h);
  img.format = format;
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_to_memory(&img, nullptr, &size, 0, pixels.data(), 0, nullptr)) << img.message;
  Bytes out(size);
  EXPECT_TRUE(png_image_write_to_memory(&img, out.data(), &size, 0, pixels.data(), 0, nullptr)) << img.message;
  out.resize(size);
  return out;
}

// A binary PGM of 8-bit pixels.
Bytes pgm_of(int w, int h, const Bytes& pixels) {
  Bytes out = bytes("P5\n# a comment\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n");
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

}  // namespace

TEST(PredictImage, PnmFormatsGiveValueOverMaxval) {
  const GrayImage g = read_pnm(pgm_of(2, 2, {0, 51, 255, 128}), "a.pgm");
  ASSERT_EQ(g.width, 2);
  ASSERT_EQ(g.height, 2);
  EXPECT_EQ(g.pixels, (std::vector<float>{0.0f, 51 / 255.0f, 1.0f, 128 / 255.0f}));
  EXPECT_EQ(g.format, "binary PGM");
  const GrayImage a = read_pnm(bytes("P2 # plain\n3 1\n# maxval next\n10\n0 5\n10\n"), "a.pgm");
  EXPECT_EQ(a.pixels, (std::vector<float>{0.0f, 0.5f, 1.0f}));
  const GrayImage c = read_pnm(bytes("P3 2 1 255  255 0 0  0 0 255"), "c.ppm");  // red, blue: luma
  EXPECT_NEAR(c.pixels[0], 0.299, 1e-6);
  EXPECT_NEAR(c.pixels[1], 0.114, 1e-6);
  Bytes p6 = bytes("P6 1 1 65535\n");
  for (uint8_t v : {0xff, 0xff, 0x80, 0x00, 0x00, 0x00}) p6.push_back(v);  // 16-bit: white R, half G, no B
  EXPECT_NEAR(read_pnm(p6, "d.ppm").pixels[0], 0.299 + 0.587 * 32768 / 65535.0, 1e-6);
}

TEST(PredictImage, PnmRefusesTruncatedHugeAndMalformedFiles) {
  std::string e = error_of([] { read_pnm(bytes("P5 4 4 255\n0123456789"), "t.pgm"); });
  EXPECT_HAS(e, "t.pgm: truncated at byte offset 21");
  EXPECT_HAS(e, "needs 16 bytes of pixels from offset 11, 10 remain");
  e = error_of([] { read_pnm(bytes("P2 2 2 255\n1 2 3"), "t.pgm"); });
  EXPECT_HAS(e, "truncated at byte offset 16");
  EXPECT_HAS(e, "needs 4 samples, the file has 3");
  e = error_of([] { read_pnm(bytes("P5 28"), "t.pgm"); });
  EXPECT_HAS(e, "truncated at byte offset 5: the PGM header ends before its height");
  // A header claiming 10^9 x 10^9, or more digits than any integer holds, is refused before
  // anything is allocated (the file is 30 bytes).
  e = error_of([] { read_pnm(bytes("P5 1000000000 1000000000 255\n"), "big.pgm"); });
  EXPECT_HAS(e, "big.pgm: byte offset 3: the width 1000000000 is not in [1, 16384]");
  EXPECT_HAS(e, "is not in [1, 16384]");
  e = error_of([] { read_pnm(bytes("P5 99999999999999999999999999 1 255\n"), "big.pgm"); });
  EXPECT_HAS(e, "the width 999999999999999999999999... is not in [1, 16384]");
  e = error_of([] { read_pnm(bytes("P6 16384 16384 255\n"), "big.ppm"); });
  EXPECT_HAS(e, "16384x16384 = 268435456 pixels; hpml predict reads at most 16777216");
  e = error_of([] { read_pnm(bytes("P5 0 1 255\n"), "z.pgm"); });
  EXPECT_HAS(e, "the width 0 is not in [1, 16384]");
  e = error_of([] { read_pnm(bytes("P2 2 1 10\n5 11\n"), "m.pgm"); });
  EXPECT_HAS(e, "m.pgm: byte offset 12: the sample 11 is not in [0, 10]");
  e = error_of([] { read_pnm(bytes("P5 1 1 15\n\x10"), "m.pgm"); });
  EXPECT_HAS(e, "m.pgm: byte offset 10: the sample 16 is above the maxval 15");
  e = error_of([] { read_pnm(bytes("P5 2x2 255\n"), "x.pgm"); });
  EXPECT_HAS(e, "x.pgm: byte offset 4: the width 2 is followed by 'x', not whitespace");
  e = error_of([] { read_pnm(bytes("P2 w 1 255\n"), "x.pgm"); });
  EXPECT_HAS(e, "x.pgm: byte offset 3: the width is 'w 1 255\\x0a', not a decimal number");
  EXPECT_HAS(error_of([] { read_pnm(bytes("P4 1 1\n\x80"), "b.pbm"); }), "b.pbm is not a PGM or PPM image");
  EXPECT_HAS(error_of([] { read_pnm(bytes("1,2,3\n"), "r.csv"); }), "r.csv is not a PGM or PPM image");
}

TEST(PredictImage, PngGrayIsExactColourIsLumaAlphaIsComposited) {
  Bytes gray(28 * 28);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(i * 7);
  const GrayImage g = read_png(png_of(28, 28, PNG_FORMAT_GRAY, gray), "g.png");
  ASSERT_EQ(g.pixels.size(), gray.size());
  for (size_t i = 0; i < gray.size(); ++i) ASSERT_EQ(g.pixels[i], static_cast<float>(gray[i]) / 255.0f) << i;
  const GrayImage c = read_png(png_of(2, 1, PNG_FORMAT_RGB, {0, 255, 0, 10, 20, 30}), "c.png");
  EXPECT_NEAR(c.pixels[0], 0.587, 1e-6);
  EXPECT_NEAR(c.pixels[1], (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255, 1e-6);
  const Bytes rgba = png_of(2, 1, PNG_FORMAT_RGBA, {255, 255, 255, 0, 255, 255, 255, 255});  // clear, opaque white
  EXPECT_EQ(read_png(rgba, "a.png", 0.0f).pixels, (std::vector<float>{0.0f, 1.0f}));
  EXPECT_EQ(read_png(rgba, "a.png", 1.0f).pixels, (std::vector<float>{1.0f, 1.0f}));
}

TEST(PredictImage, PngRefusesTruncatedHugeAndCorruptFiles) {
  const Bytes good = png_of(28, 28, PNG_FORMAT_GRAY, Bytes(28 * 28, 200));
  Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
  std::string e = error_of([&] { read_png(cut, "cut.png"); });
  EXPECT_HAS(e, "cut.png: truncated at byte offset " + std::to_string(cut.size()));
  Bytes no_end(good.begin(), good.end() - 12);  // without IEND
  EXPECT_HAS(error_of([&] { read_png(no_end, "e.png"); }), "before its IEND chunk");
  Bytes huge = good;  // IHDR's width (offset 16) and height (20) set to 10^9: refused before libpng
  for (size_t at : {16u, 20u}) {
    huge[at] = 0x3b, huge[at + 1] = 0x9a, huge[at + 2] = 0xca, huge[at + 3] = 0x00;
  }
  e = error_of([&] { read_png(huge, "huge.png"); });
  EXPECT_HAS(e, "huge.png: the PNG header gives 1000000000x1000000000 pixels");
  Bytes corrupt = good;
  corrupt[good.size() - 20] ^= 0xff;  // inside IDAT: its CRC no longer matches
  EXPECT_HAS(error_of([&] { read_png(corrupt, "bad.png"); }), "bad.png: not a readable PNG image (libpng: ");
  EXPECT_HAS(error_of([] { read_png(bytes("P5 1 1 255\n\x01"), "p.pgm"); }), "p.pgm is not a PNG image");
}

TEST(PredictImage, FileKindsByTheirFirstBytes) {
  EXPECT_EQ(file_kind("\x89PNG\r\n\x1a\n...."), "PNG image");
  EXPECT_EQ(file_kind("P5\n28 28"), "PGM image");
  EXPECT_EQ(file_kind("P6 1 1"), "PPM image");
  EXPECT_EQ(file_kind("\xff\xd8\xff\xe0"), "JPEG image");
  EXPECT_EQ(file_kind(std::string("\x10\0\0\0\0\0\0\0{\"a\"", 12)), "safetensors file");
  EXPECT_EQ(file_kind("x,y,label\n"), "");
  EXPECT_EQ(file_kind("P5,3.2\n"), "");  // a CSV row that starts like a PGM
}

TEST(PredictImage, AreaResizeAveragesWhatEachPixelCovers) {
  GrayImage in{56, 56, std::vector<float>(56 * 56), "test"};
  for (int y = 0; y < 56; ++y)
    for (int x = 0; x < 56; ++x) in.pixels[static_cast<size_t>(y * 56 + x)] = static_cast<float>((x + y) % 4) / 4;
  const GrayImage out = resize_area(in, 28, 28);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      float mean = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) mean += in.pixels[static_cast<size_t>((2 * y + dy) * 56 + 2 * x + dx)] / 4;
      ASSERT_NEAR(out.pixels[static_cast<size_t>(y * 28 + x)], mean, 1e-6) << x << "," << y;
    }
  const GrayImage thirds = resize_area(GrayImage{3, 1, {0.3f, 0.6f, 0.9f}, "t"}, 2, 1);  // 1.5 pixels each
  EXPECT_NEAR(thirds.pixels[0], (0.3 + 0.6 / 2) / 1.5, 1e-6);
  EXPECT_NEAR(thirds.pixels[1], (0.6 / 2 + 0.9) / 1.5, 1e-6);
  // 56x28 white: centred on a black 56x56 square, so rows 7 to 20 of the 28 are white.
  const GrayImage wide = fit_square(GrayImage{56, 28, std::vector<float>(56 * 28, 1.0f), "w"}, 28);
  for (int y = 0; y < 28; ++y)
    EXPECT_EQ(wide.pixels[static_cast<size_t>(y * 28 + 13)], y >= 7 && y < 21 ? 1.0f : 0.0f) << "row " << y;
  const GrayImage tiny = fit_square(GrayImage{1, 1, {0.5f}, "t"}, 28);  // up: every pixel covers the one
  ASSERT_EQ(tiny.pixels.size(), 28u * 28u);
  for (float p : tiny.pixels) ASSERT_NEAR(p, 0.5f, 1e-6);
}

TEST(PredictCsv, OneRowHeaderRowNumbersAndBadValues) {
  CsvRow r = read_csv_row("x, y,label\n\n 1.5 ,-2e-1, 3\n", "p.csv", 0, 3);
  EXPECT_EQ(r.values, (std::vector<double>{1.5, -0.2, 3}));
  EXPECT_TRUE(r.header);
  EXPECT_EQ(r.line, 3);
  EXPECT_EQ(r.rows, 1);
  r = read_csv_row("1,2\r\n3,4\r\n5,6\r\n", "p.csv", 2, 3);
  EXPECT_EQ(r.values, (std::vector<double>{3, 4}));
  EXPECT_FALSE(r.header);
  EXPECT_EQ(r.line, 2);
  EXPECT_HAS(error_of([] { read_csv_row("1,2\n3,4\n", "m.csv", 0, 3); }),
             "m.csv holds 2 data rows; pick one with --row N (1 to 2)");
  EXPECT_HAS(error_of([] { read_csv_row("1,2\n3,4\n", "m.csv", 3, 3); }),
             "m.csv holds 2 data rows; --row 3 is past its end");
  EXPECT_HAS(error_of([] { read_csv_row("a,b\n", "h.csv", 0, 3); }), "h.csv holds no data row (only a header)");
  EXPECT_HAS(error_of([] { read_csv_row("", "e.csv", 0, 3); }), "e.csv holds no data row");
  EXPECT_HAS(error_of([] { read_csv_row("a,b\n1,nan\n", "n.csv", 0, 3); }),
             "n.csv line 2, column 2: 'nan' is not a finite number");
  EXPECT_HAS(error_of([] { read_csv_row("a,b\n1,\n", "n.csv", 0, 3); }),
             "n.csv line 2, column 2: '' is not a finite number");
  EXPECT_HAS(error_of([] { read_csv_row("1,2,3,4\n", "w.csv", 0, 3); }), "w.csv line 1 has more than 3 values");
  EXPECT_HAS(error_of([] { read_csv_row(std::string("1,2\0", 4), "z.csv", 0, 3); }),
             "z.csv is not a CSV text file (a NUL byte at byte offset 3)");
}

// ---- predict_report on checkpoints ----------------------------------------------------------

namespace {

// A logistic regression on Fashion-MNIST whose weights are `weight` [10, 784] and `bias` [10],
// as a checkpoint hpml predict can rebuild (the arguments it records are those of hpml train).
void write_fashion_logreg(const std::string& path, const hpml::Tensor& weight, const hpml::Tensor& bias) {
  hpml::io::CheckpointState s;
  s.model = {{"1.weight", weight}, {"1.bias", bias}};  // plan_model: 0 flatten, 1 linear
  s.metadata["argv"] = record_arguments({"train", "--model", "logreg", "--dataset", "fashion-mnist"});
  hpml::io::save_checkpoint(path, s);
}

std::string top_lines(const std::string& report) { return report.substr(report.find("top ")); }

}  // namespace

TEST(PredictModel, BlobsMlpNamesItsClassesAndRefusesWhatDoesNotFit) {
  hpml::testing::TempDir dir("hpml_predict_test");
  const hpml::testing::CliRun t =
      hpml::testing::run_cli("train --model mlp --dataset blobs --hidden 16 --epochs 2 --quiet --out " + dir.path());
  ASSERT_EQ(t.status, 0) << t.out;
  const std::string ckpt = dir.file("last.safetensors");
  write_file(dir.file("one.csv"), bytes("x0,x1\n0.5,-1.25\n"));
  std::string r = predict_report({.checkpoint = ckpt, .input = dir.file("one.csv")});
  EXPECT_HAS(r, "model: mlp on blobs (" + ckpt + ")");
  EXPECT_HAS(r, "row 1 of 1 (line 2, after a header): 2 features");
  EXPECT_HAS(r, "top 3 of 4 classes (softmax probability):\n  1. class ");
  EXPECT_HAS(top_lines(predict_report({.checkpoint = ckpt, .input = dir.file("one.csv"), .top = 10})), "top 4 of 4");
  write_file(dir.file("many.csv"), bytes("0.5,-1.25,2\n3,4,1\n"));
  r = predict_report({.checkpoint = ckpt, .input = dir.file("many.csv"), .top = 1, .row = 2});
  EXPECT_HAS(r, "true label: class 1\ntop 1 of 4 classes");
  EXPECT_HAS(error_of([&] { predict_report({.checkpoint = ckpt, .input = dir.file("many.csv")}); }),
             "holds 2 data rows; pick one with --row N");
  write_file(dir.file("label.csv"), bytes("1,2,7\n"));
  EXPECT_HAS(error_of([&] { predict_report({.checkpoint = ckpt, .input = dir.file("label.csv")}); }),
             "the last value 7 of the row would be its true label, but it is not a class in [0, 4)");
  write_file(dir.file("wide.csv"), bytes("1,2,3,4\n"));
  EXPECT_HAS(
      error_of([&] { predict_report({.checkpoint = ckpt, .input = dir.file("wide.csv")}); }),
      "line 1 has 4 values; the checkpoint's model (mlp on blobs) takes 2 features (or 3 with the true label last)");
  write_file(dir.file("img.png"), png_of(28, 28, PNG_FORMAT_GRAY, Bytes(28 * 28, 9)));
  std::string e = error_of([&] { predict_report({.checkpoint = ckpt, .input = dir.file("img.png")}); });
  EXPECT_HAS(e, "is a PNG image; the checkpoint's model (mlp on blobs) takes a CSV row of 2 features, not an image");
  e = error_of([&] { predict_report({.checkpoint = dir.file("img.png"), .input = dir.file("one.csv")}); });
  EXPECT_HAS(e, "is not an hpml checkpoint");
  EXPECT_HAS(e, "PNG image");
  e = error_of([&] { predict_report({.checkpoint = ckpt, .input = ckpt}); });
  EXPECT_HAS(e, "is a safetensors file (a checkpoint?), not an input");
  e = error_of([&] { predict_report({.checkpoint = ckpt, .input = dir.file("one.csv"), .invert = true}); });
  EXPECT_HAS(e, "--invert applies to images");
}

TEST(PredictModel, RegressionPrintsTheValue) {
  hpml::testing::TempDir dir("hpml_predict_test");
  const hpml::testing::CliRun t =
      hpml::testing::run_cli("train --model linreg --dataset regression --epochs 1 --quiet --out " + dir.path());
  ASSERT_EQ(t.status, 0) << t.out;
  write_file(dir.file("r.csv"), bytes("0,0,0,0,0,0,0,0,0,1,12.5\n"));
  const std::string r = predict_report({.checkpoint = dir.file("last.safetensors"), .input = dir.file("r.csv")});
  EXPECT_HAS(r, "model: linreg on regression");
  EXPECT_HAS(r, "true label: 12.5\npredicted value: ");
}

// The pixels of a PGM or PNG file reach the model as the data set's own byte / 255: a
// Fashion-MNIST test image written to either gives the probabilities of the image tensor itself.
TEST(PredictModel, FashionImageFilesGiveTheDataSetsProbabilities) {
  hpml::testing::TempDir dir("hpml_predict_test");
  hpml::manual_seed(3);
  const hpml::Tensor w = hpml::randn({10, 784}) * 0.05, b = hpml::zeros({10});
  write_fashion_logreg(dir.file("m.safetensors"), w, b);
  hpml::data::datasets::FashionMNIST test(hpml::data::datasets::kFashionMNISTRoot, false);
  const hpml::Tensor x = test.images().slice(0, 0, 1).contiguous();  // [1, 1, 28, 28]
  const float* px = x.data_ptr<float>();
  Bytes pixels(784);
  for (size_t i = 0; i < 784; ++i) pixels[i] = static_cast<uint8_t>(std::lround(px[i] * 255));
  write_file(dir.file("x.pgm"), pgm_of(28, 28, pixels));
  write_file(dir.file("x.png"), png_of(28, 28, PNG_FORMAT_GRAY, pixels));
  const std::string pgm =
      predict_report({.checkpoint = dir.file("m.safetensors"), .input = dir.file("x.pgm"), .top = 10});
  const std::string png =
      predict_report({.checkpoint = dir.file("m.safetensors"), .input = dir.file("x.png"), .top = 10});
  EXPECT_HAS(pgm, "input: " + dir.file("x.pgm") + ": binary PGM, 28x28\n");
  EXPECT_EQ(top_lines(pgm), top_lines(png));
  const GrayImage g = read_pnm(pgm_of(28, 28, pixels), "x.pgm");  // bit for bit the data set's pixels
  EXPECT_EQ(g.pixels, std::vector<float>(px, px + 784));
  EXPECT_EQ(read_png(png_of(28, 28, PNG_FORMAT_GRAY, pixels), "x.png").pixels, g.pixels);
  const hpml::Tensor p = (x.reshape({1, 784}).matmul(w.t()) + b).softmax(1).contiguous();
  const auto k = p.argmax(1).item<int64_t>();
  const std::string first = "  1. " + test.classes()[static_cast<size_t>(k)] + " (class " + std::to_string(k) + ")";
  const size_t at = pgm.find(first);
  ASSERT_NE(at, std::string::npos) << "no \"" << first << "\" in:\n" << pgm;
  EXPECT_NEAR(std::stod(pgm.substr(at + 5 + 28)), p.data_ptr<float>()[k], 1e-4) << pgm;
}

// A Trouser detector (weights one for class 1): white wins it, black is uniform, and --invert of
// black, or a dark-on-light photo of another size, is white again.
TEST(PredictModel, InvertAndResizeReachTheModel) {
  hpml::testing::TempDir dir("hpml_predict_test");
  hpml::Tensor w = hpml::zeros({10, 784});
  w.select(0, 1).fill_(0.01);
  write_fashion_logreg(dir.file("m.safetensors"), w, hpml::zeros({10}));
  write_file(dir.file("black.png"), png_of(28, 28, PNG_FORMAT_GRAY, Bytes(784, 0)));
  write_file(dir.file("photo.ppm"), bytes("P3 3 2 1  0 0 0  0 0 0  0 0 0  0 0 0  0 0 0  0 0 0"));  // black, 3x2
  const std::string m = dir.file("m.safetensors");
  std::string r = predict_report({.checkpoint = m, .input = dir.file("black.png"), .top = 1});
  EXPECT_HAS(r, "top 1 of 10 classes (softmax probability):\n  1. T-shirt/top (class 0)");
  EXPECT_HAS(r, "0.1000");
  r = predict_report({.checkpoint = m, .input = dir.file("black.png"), .top = 1, .invert = true});
  EXPECT_HAS(r, "28x28, inverted\n");
  EXPECT_HAS(r, "1. Trouser (class 1)");
  r = predict_report({.checkpoint = m, .input = dir.file("photo.ppm"), .top = 1, .invert = true});
  EXPECT_HAS(r, "ASCII PPM, 3x2, inverted, centred on a black square and area-averaged to 28x28");
  EXPECT_HAS(r, "1. Trouser (class 1)");
  write_file(dir.file("p.csv"), bytes("1,2\n"));
  std::string e = error_of([&] { predict_report({.checkpoint = m, .input = dir.file("p.csv")}); });
  EXPECT_HAS(e, "is not an image (PNG, PGM or PPM); the checkpoint's model (logreg on fashion-mnist) takes a 28x28");
  write_file(dir.file("j.jpg"), bytes("\xff\xd8\xff\xe0 JFIF"));
  e = error_of([&] { predict_report({.checkpoint = m, .input = dir.file("j.jpg")}); });
  EXPECT_HAS(e, "is a JPEG image; hpml predict reads PNG, PGM and PPM images");
  write_file(dir.file("t.pgm"), bytes("P5 28 28 255\n\x01\x02"));
  e = error_of([&] { predict_report({.checkpoint = m, .input = dir.file("t.pgm")}); });
  EXPECT_HAS(e, dir.file("t.pgm") + ": truncated at byte offset 15");
  e = error_of([&] { predict_report({.checkpoint = m, .input = dir.file("black.png"), .row = 2}); });
  EXPECT_HAS(e, "--row picks a row of a CSV file");
}

// ---- hpml list ------------------------------------------------------------------------------

namespace {

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

TEST(ListCli, GroupsUnderHeadingsAndAnUnknownGroupIsNamed) {
  const std::string all = list_text("");
  ASSERT_EQ(catalog_groups(),
            (std::vector<std::string>{"models", "datasets", "optimizers", "schedules", "experiments"}));
  for (const std::string& g : catalog_groups()) {
    const std::string one = list_text(g);
    EXPECT_HAS(all, one);
    ASSERT_FALSE(names(g).empty()) << g;
    for (const std::string& n : names(g)) EXPECT_HAS(one, "\n  " + n + " ");
  }
  EXPECT_EQ(list_text("schedule"), list_text("schedules"));
  const std::string schedules = list_text("schedules");
  EXPECT_EQ(schedules.rfind("learning-rate schedules (hpml train --schedule NAME)\n", 0), 0u) << schedules;
  EXPECT_HAS(schedules, "  step             the lr times --gamma every --step-size epochs  [--step-size --gamma]\n");
  EXPECT_EQ(schedules.find("mlp"), std::string::npos) << schedules;
  EXPECT_HAS(error_of([] { list_text("schedulez"); }),
             "hpml list: unknown group 'schedulez' (models, datasets, optimizers, schedules, experiments");
  EXPECT_TRUE(names("schedulez").empty());
}

// The table holds exactly the names of --model, --dataset, --optimizer, --schedule and `hpml
// experiment`'s help, in their order, and only options that hpml train has.
TEST(ListCli, TheNamesAreThoseTheOptionsOffer) {
  CLI::App train;
  TrainConfig tc;
  add_train_options(train, tc);
  for (const auto& [option, group] : std::vector<std::pair<std::string, std::string>>{{"--model", "models"},
                                                                                      {"--dataset", "datasets"},
                                                                                      {"--optimizer", "optimizers"},
                                                                                      {"--schedule", "schedules"}})
    EXPECT_EQ(train.get_option(option)->get_description(), joined(names(group), " | ")) << option;
  CLI::App experiment;
  ExperimentOptions eo;
  add_experiment_options(experiment, eo);
  EXPECT_EQ(experiment.get_option("name")->get_description(), joined(names("experiments"), " | "));
  const std::vector<std::string> known = train_option_names();
  for (const CatalogEntry& e : catalog())
    for (const std::string& o : e.options)
      EXPECT_NE(std::find(known.begin(), known.end(), o), known.end()) << e.name << ": " << o;
}

// Every model is planned, every optimizer and schedule built, every dataset read (mnist:PATH
// from Fashion-MNIST's folder, which has MNIST's format; csv:PATH from a file written here).
TEST(ListCli, EveryNameIsBuilt) {
  hpml::testing::TempDir dir("hpml_list_test");
  for (const std::string& m : names("models")) {
    TrainConfig c;
    c.model = m;
    DataSplits d;
    d.input_shape = m == "linreg" ? std::vector<int64_t>{10} : std::vector<int64_t>{1, 28, 28};
    d.classes = m == "linreg" ? 0 : 10;
    if (m == "gpt") {  // characters of a text:PATH dataset
      d.input_shape = {c.block_size};
      d.tokenizer = hpml::cli::char_tokenizer("abcdefghij");
    }
    EXPECT_FALSE(plan_model(c, d).empty()) << m;
  }
  hpml::Tensor w = hpml::zeros({2, 2}).requires_grad_();
  for (const std::string& o : names("optimizers")) {
    TrainConfig c;
    c.optimizer = o;
    EXPECT_NE(make_optimizer(c, {w}), nullptr) << o;
  }
  for (const std::string& s : names("schedules")) {
    TrainConfig c;
    c.schedule = s, c.epochs = 4, c.milestones = {2};
    auto opt = make_optimizer(c, {w});
    const Schedule sched = make_schedule(c, *opt, 10);
    EXPECT_EQ(s == "none", !sched.scheduler && !sched.plateau) << s;
  }
  {
    std::ofstream csv(dir.file("d.csv"));
    csv << "a,b,label\n";
    for (int i = 0; i < 10; ++i) csv << i << "," << -i << "," << i % 2 << "\n";
  }
  {
    std::ofstream text(dir.file("d.txt"));
    for (int i = 0; i < 100; ++i) text << "a line of text\n";
  }
  for (const std::string& n : names("datasets")) {
    if (n == "fashion-mnist") continue;  // mnist:PATH reads the same files through the same class
    TrainConfig c;
    c.dataset = n == "mnist:PATH" ? std::string("mnist:") + hpml::data::datasets::kFashionMNISTRoot
                : n == "csv:PATH" ? "csv:" + dir.file("d.csv")
                : n == "text:PATH" ? "text:" + dir.file("d.txt")
                                  : n;
    EXPECT_GT(make_data(c).train->size(), 0) << n;
  }
}
