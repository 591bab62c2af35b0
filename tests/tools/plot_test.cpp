// hpml::plot::save: PNG and SVG charts with PLplot, and its errors.
#include "plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "hpml/core/error.h"
#include "temp_dir.h"

namespace {

using hpml::plot::Chart;
using hpml::plot::Series;

std::string read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The SVG device writes text as <text> elements with each character as &#xHH;: decode them.
std::string decode_entities(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t end = s.find(';', i);
    if (s.compare(i, 3, "&#x") == 0 && end != std::string::npos && end - i <= 9) {
      const unsigned long c = std::stoul(s.substr(i + 3, end - i - 3), nullptr, 16);
      out += c < 128 ? static_cast<char>(c) : '?';
      i = end;
    } else {
      out += s[i];
    }
  }
  return out;
}

uint32_t be32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Checks path.png (a width x height PNG) and path.svg; returns the SVG's decoded text.
std::string expect_files(const std::string& path, uint32_t width, uint32_t height) {
  const std::string png = read(path + ".png");
  EXPECT_GT(png.size(), 1024u) << path;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  if (png.size() < 24) return {};
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), width);
  EXPECT_EQ(be32(png, 20), height);
  const std::string svg = read(path + ".svg");
  EXPECT_TRUE(svg.rfind("<?xml", 0) == 0 || svg.rfind("<svg", 0) == 0) << svg.substr(0, 80);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  return decode_entities(svg);
}

Chart loss_chart() {
  Series train{"train loss", {}, {}, {}, {}}, val{"validation loss", {}, {}, {}, {}};
  for (int e = 1; e <= 20; ++e) {
    const double t = 2.0 * std::exp(-e / 6.0) + 0.1;
    train.x.push_back(e), train.y.push_back(t), train.lo.push_back(0.9 * t), train.hi.push_back(1.1 * t);
    val.x.push_back(e), val.y.push_back(1.2 * t);
  }
  val.y[5] = std::numeric_limits<double>::quiet_NaN();  // skipped: the line has a gap
  val.y[6] = std::numeric_limits<double>::infinity();
  return Chart{"Loss per epoch", "epoch", "mean loss", {train, val}, false, false};
}

TEST(Plot, WritesPngAndSvgWithLegend) {
  hpml::testing::TempDir dir("hpml_plot");
  hpml::plot::save(loss_chart(), dir.file("loss"), 640, 400);
  const std::string text = expect_files(dir.file("loss"), 640, 400);
  for (const char* want : {"train loss", "validation loss", "Loss per epoch", "epoch", "mean loss"})
    EXPECT_NE(text.find(want), std::string::npos) << want;
}

TEST(Plot, SavesRepeatedlyAndTheDefaultSize) {
  hpml::testing::TempDir dir("hpml_plot");
  Chart c = loss_chart();
  c.log_y = true;
  hpml::plot::save(c, dir.file("a"));
  hpml::plot::save(c, dir.file("a"));  // overwrites
  hpml::plot::save(c, dir.file("b"));
  expect_files(dir.file("a"), 800, 500);
  expect_files(dir.file("b"), 800, 500);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"a.png", "a.svg", "b.png", "b.svg"}));
}

TEST(Plot, AnEmptyChartStillWritesFilesWithANote) {
  hpml::testing::TempDir dir("hpml_plot");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Chart& c : {Chart{"empty", "x", "y", {}, false, false},
                         Chart{"all NaN", "x", "y", {Series{"s", {1, 2}, {nan, nan}, {}, {}}}, true, false}}) {
    hpml::plot::save(c, dir.file("e"), 320, 200);
    EXPECT_NE(expect_files(dir.file("e"), 320, 200).find("no data"), std::string::npos) << c.title;
  }
}

TEST(Plot, ALogAxisRejectsNonPositiveValuesNamingTheSeries) {
  hpml::testing::TempDir dir("hpml_plot");
  Chart c = loss_chart();
  c.log_y = true;
  c.series[1].y[3] = 0;
  try {
    hpml::plot::save(c, dir.file("log"));
    FAIL() << "no error";
  } catch (const hpml::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'validation loss'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("log"), std::string::npos) << e.what();
  }
  c = loss_chart();
  c.log_x = true;
  c.series[0].x[0] = -1;
  EXPECT_THROW(hpml::plot::save(c, dir.file("log")), hpml::Error);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Plot, MismatchedLengthsThrow) {
  hpml::testing::TempDir dir("hpml_plot_test");
  Chart c = loss_chart();
  c.series[0].hi.pop_back();
  EXPECT_THROW(hpml::plot::save(c, dir.file("bad_band")), hpml::Error);
  c = loss_chart();
  c.series[1].x.push_back(21);
  EXPECT_THROW(hpml::plot::save(c, dir.file("bad_x")), hpml::Error);
}

TEST(Plot, AnUnwritablePathThrowsNamingThePath) {
  hpml::testing::TempDir dir("hpml_plot");
  const std::string path = dir.file("no/such/dir/chart");
  try {
    hpml::plot::save(loss_chart(), path);
    FAIL() << "no error";
  } catch (const hpml::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ".png"), std::string::npos) << e.what();
  }
  hpml::plot::save(loss_chart(), dir.file("after"));  // PLplot is still usable
  expect_files(dir.file("after"), 800, 500);
}

}  // namespace
