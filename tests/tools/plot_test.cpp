// hpml::plot: PNG and SVG charts, grids, heatmaps and bar charts with PLplot, their errors, and
// the layout rules of plot_rules.h (ticks, tick labels, the legend's corner, a grid's shared y
// range, a heatmap's and a bar chart's layout).
#include "plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "plot_rules.h"
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

// The text of each <text> element of an SVG (its tspans joined), decoded.
std::vector<std::string> svg_texts(const std::string& svg) {
  std::vector<std::string> out;
  for (size_t at = svg.find("<text"); at != std::string::npos; at = svg.find("<text", at + 1)) {
    const size_t open = svg.find('>', at), close = svg.find("</text>", at);
    if (open == std::string::npos || close == std::string::npos) break;
    std::string inner;
    bool tag = false;
    for (char c : svg.substr(open + 1, close - open - 1)) {
      if (c == '<' || c == '>') tag = c == '<';
      else if (!tag) inner += c;
    }
    out.push_back(decode_entities(inner));
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

// ---- The layout rules ----

namespace detail = hpml::plot::detail;

std::vector<double> values(const std::vector<detail::Tick>& t) {
  std::vector<double> v;
  for (const auto& k : t) v.push_back(k.value);
  return v;
}
std::vector<std::string> labels(const std::vector<detail::Tick>& t) {
  std::vector<std::string> v;
  for (const auto& k : t) v.push_back(k.label);
  return v;
}

TEST(PlotRules, AnIntegerAxisHasWholeNumberTicksAtAStepForItsLength) {
  EXPECT_EQ(values(detail::linear_ticks(0, 2, 8, true)), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(labels(detail::linear_ticks(0, 2, 8, true)), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(values(detail::linear_ticks(0, 200, 8, true)), (std::vector<double>{0, 50, 100, 150, 200}));
  EXPECT_EQ(values(detail::linear_ticks(0.96, 3.04, 8, true)), (std::vector<double>{1, 2, 3}));  // 3 epochs, padded
  EXPECT_EQ(values(detail::linear_ticks(0.5, 1.5, 8, true)), (std::vector<double>{1}));          // 1 epoch
  EXPECT_EQ(values(detail::linear_ticks(0.62, 20.38, 6, true)), (std::vector<double>{5, 10, 15, 20}));
  // Without `integer` a short axis gets halves: what the option is there to prevent.
  EXPECT_EQ(values(detail::linear_ticks(0.96, 3.04, 8)), (std::vector<double>{1, 1.5, 2, 2.5, 3}));
  for (double hi : {2.0, 3.0, 7.0, 20.0, 55.0, 200.0, 1000.0, 12345.0})
    for (int max_ticks : {3, 5, 8, 10}) {
      const auto t = detail::linear_ticks(1, hi, max_ticks, true);
      EXPECT_GE(t.size(), 1u) << hi;
      EXPECT_LE(t.size(), static_cast<size_t>(max_ticks)) << hi;
      for (double v : values(t)) EXPECT_EQ(v, std::round(v)) << hi << " " << max_ticks;
      // plbox's minor ticks fall on whole numbers too.
      const auto a = detail::make_axis(1, hi, false, true, 5.0 * max_ticks, 5.0);
      EXPECT_GE(a.step, 1) << hi;
      EXPECT_GE(a.nsub, 1) << hi;
      const double minor = a.step / a.nsub;
      EXPECT_EQ(minor, std::round(minor)) << hi << ": step " << a.step << ", " << a.nsub << " minor intervals";
    }
}

TEST(PlotRules, ALinearAxisLabelsPlainNumbers) {
  // A narrow accuracy range: PLplot's own labels were "8.05 ... 8.25 (x10^-1)".
  EXPECT_EQ(labels(detail::linear_ticks(0.803, 0.829, 6)),
            (std::vector<std::string>{"0.805", "0.810", "0.815", "0.820", "0.825"}));
  EXPECT_EQ(labels(detail::linear_ticks(-0.1, 0.1, 3)), (std::vector<std::string>{"-0.1", "0", "0.1"}));
  EXPECT_EQ(labels(detail::linear_ticks(0, 0.0105, 6)),
            (std::vector<std::string>{"0", "0.002", "0.004", "0.006", "0.008", "0.010"}));
  EXPECT_EQ(detail::number_label(2e-5), "2\u00d710#u-5#d");
  EXPECT_EQ(detail::number_label(1e6), "10#u6#d");
  EXPECT_EQ(detail::number_label(-1e-7), "-10#u-7#d");
  EXPECT_EQ(detail::number_label(1.25e5, 5e3), "1.25\u00d710#u5#d");
  EXPECT_EQ(detail::number_label(0.30000000000000004, 0.1), "0.3");
  EXPECT_EQ(detail::number_label(500), "500");
  EXPECT_EQ(detail::number_label(0.02), "0.02");
  EXPECT_THROW(detail::number_label(std::nan("")), hpml::Error);
  EXPECT_THROW(detail::linear_ticks(1, 0, 5), hpml::Error);
}

TEST(PlotRules, ALogAxisUnderTwoDecadesStillHasThreeLabels) {
  EXPECT_EQ(labels(detail::log_ticks(0.3, 4, 8)), (std::vector<std::string>{"0.5", "1", "2"}));
  EXPECT_EQ(labels(detail::log_ticks(0.15, 9, 8)), (std::vector<std::string>{"0.2", "0.5", "1", "2", "5"}));
  // lr-decay's loss, 0.33 to 1.9: 1..9 x 10^k, every second one so that they do not crowd 1.
  EXPECT_EQ(labels(detail::log_ticks(0.33, 1.9, 10)), (std::vector<std::string>{"0.4", "0.6", "0.8", "1"}));
  EXPECT_EQ(labels(detail::log_ticks(0.81, 0.85, 8)).size(), 5u);  // linear ticks 0.81 .. 0.85
  // Many decades: powers of ten throughout, thinned to at most max_ticks, 10^0 kept.
  const auto wide = labels(detail::log_ticks(2e-5, 3e6, 8));
  EXPECT_EQ(wide, (std::vector<std::string>{"10#u-4#d", "10#u-2#d", "10#u0#d", "10#u2#d", "10#u4#d", "10#u6#d"}));
  for (double lo : {1e-9, 3e-4, 0.07, 0.9, 1.0, 42.0, 7e5})
    for (double f : {1.05, 1.3, 2.0, 3.3, 10.0, 31.0, 99.0, 1e3, 1e6, 1e12})
      for (int max_ticks : {3, 6, 10}) {
        const auto t = detail::log_ticks(lo, lo * f, max_ticks);
        EXPECT_GE(t.size(), 3u) << lo << " x " << f;
        EXPECT_LE(t.size(), static_cast<size_t>(std::max(max_ticks, 7))) << lo << " x " << f;  // 7: see log_ticks
        if (f >= 10 && max_ticks >= 6) {  // 3 on an axis of 1 decade: 1, 2, 5, 10 (not evenly spaced)
          EXPECT_LE(t.size(), static_cast<size_t>(max_ticks)) << lo << " x " << f;
        }
        for (double v : values(t)) EXPECT_TRUE(v >= lo * (1 - 1e-9) && v <= lo * f * (1 + 1e-9)) << v;
      }
  EXPECT_THROW(detail::log_ticks(0, 1, 5), hpml::Error);
}

// Curves in plot-area fractions: x from 0 to 1 with y = f(x).
detail::Curve curve(double (*f)(double)) {
  detail::Curve c;
  for (int i = 0; i <= 20; ++i) c.push_back({i / 20.0, f(i / 20.0)});
  return c;
}

TEST(PlotRules, TheLegendGoesWhereTheCurvesAreNot) {
  using P = detail::LegendPlace;
  // Accuracy curves: a quick rise, then flat near the top: the upper right is full.
  const std::vector<detail::Curve> rising{curve([](double x) { return 0.95 - 0.7 * std::exp(-8 * x); }),
                                          curve([](double x) { return 0.9 - 0.7 * std::exp(-8 * x); })};
  EXPECT_EQ(detail::legend_place(rising, 0.3, 0.2), P::bottom_right);
  // Loss curves: a fall, then flat near the bottom.
  const std::vector<detail::Curve> falling{curve([](double x) { return 0.05 + 0.9 * std::exp(-8 * x); })};
  EXPECT_EQ(detail::legend_place(falling, 0.3, 0.2), P::top_right);
  // Rising from the lower left to the upper right: the upper left.
  EXPECT_EQ(detail::legend_place({curve([](double x) { return x; })}, 0.3, 0.2), P::top_left);
  // Curves through every corner: outside, or for a wide legend the least covered corner.
  const std::vector<detail::Curve> everywhere{curve([](double x) { return x; }), curve([](double x) { return 1 - x; }),
                                              curve([](double) { return 0.97; }), curve([](double) { return 0.03; })};
  EXPECT_EQ(detail::legend_place(everywhere, 0.3, 0.2), P::outside_right);
  const std::vector<detail::Curve> mostly{curve([](double x) { return x; }), curve([](double x) { return 1 - x; }),
                                          curve([](double x) { return x < 0.5 ? 0.97 : 0.5; })};
  EXPECT_EQ(detail::legend_place(mostly, 0.6, 0.2), P::bottom_right);
  // A segment through the box counts though both its ends lie outside it.
  const detail::Curve across{{0.0, 0.9}, {1.0, 0.9}};
  EXPECT_GT(detail::points_under({across}, 0.6, 0.98, 0.7, 0.98), 0);
  EXPECT_EQ(detail::points_under({{{0.0, 0.9}, {std::nan(""), 0.5}, {1.0, 0.9}}}, 0.4, 0.6, 0.7, 0.98), 0);
}

hpml::plot::Chart panel(double lo, double hi, double band_lo = std::nan("")) {
  Series s{"train", {1, 2, 3, 4, 5}, {lo, (lo + hi) / 2, hi, std::nan(""), hi}, {}, {}};
  if (!std::isnan(band_lo)) s.lo = {band_lo, lo, lo, lo, lo}, s.hi = {hi, hi, hi, hi, hi};
  return Chart{.title = "panel", .xlabel = "epoch", .ylabel = "accuracy", .series = {s}, .integer_x = true};
}

TEST(PlotRules, TheSharedYRangeOfFourPanelsCoversThemAll) {
  const std::vector<Chart> four{panel(0.80, 0.83), panel(0.70, 0.84), panel(0.68, 0.86, 0.62), panel(0.75, 0.85)};
  EXPECT_EQ(detail::shared_y_range(four), (std::array<double, 2>{0.62, 0.86}));
  EXPECT_TRUE(std::isnan(detail::shared_y_range({Chart{}, Chart{}})[0]));
  std::vector<Chart> mixed = four;
  mixed[2].log_y = true;
  EXPECT_THROW(detail::shared_y_range(mixed), hpml::Error);
}

TEST(PlotRules, FashionMnistNamesFitAConfusionMatrixWithoutOverlapping) {
  const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  const double w = 246.9, ch = 4.2;  // a 700-pixel page in mm, and PLplot's character height on it
  const auto l = detail::heat_layout(names, w, w, ch);
  EXPECT_EQ(l.angle, 45);  // "T-shirt/top" is wider than a cell
  const double text = detail::kTextHeight * ch * l.label_scale;
  EXPECT_LE(text, l.cell * std::sqrt(0.5)) << "turned labels overlap their neighbours";
  EXPECT_LE(text, l.cell) << "row labels overlap";
  EXPECT_GE(l.gx0, l.widest + 2 * ch) << "row labels and the y title do not fit left of the grid";
  EXPECT_GE(l.gy0, l.below + 2 * ch) << "column labels and the x title do not fit under the grid";
  EXPECT_LE(l.gx0 + l.side, w);
  EXPECT_LE(l.gy0 + l.side, w);
  EXPECT_GT(l.value_scale, 0);
  // Short names stay level; 30 long ones stand upright, without the values that no longer fit.
  EXPECT_EQ(detail::heat_layout({"0", "1", "2", "3"}, w, w, ch).angle, 0);
  std::vector<std::string> many;
  for (int i = 0; i < 30; ++i) many.push_back("class number " + std::to_string(i));
  const auto m = detail::heat_layout(many, w, w, ch);
  EXPECT_EQ(m.angle, 90);
  EXPECT_LE(detail::kTextHeight * ch * m.label_scale, m.cell);
  EXPECT_EQ(m.value_scale, 0);
  EXPECT_EQ(detail::heat_label("#1"), "##1");  // PLplot's escape character, written as itself
  EXPECT_EQ(detail::heat_label(std::string(30, 'a')), std::string(24, 'a') + "..");
  // Cut on a character's boundary: 23 + 2 bytes keeps 23, 22 + 2 keeps all 24.
  EXPECT_EQ(detail::heat_label(std::string(23, 'a') + "\u00e9\u00e9"), std::string(23, 'a') + "..");
  EXPECT_EQ(detail::heat_label(std::string(22, 'a') + "\u00e9\u00e9"), std::string(22, 'a') + "\u00e9..");
}

// ---- The rules in the drawn files ----

size_t count(const std::vector<std::string>& texts, const std::string& want) {
  return static_cast<size_t>(std::count(texts.begin(), texts.end(), want));
}

TEST(Plot, AnIntegerXAxisIsLabelledInWholeEpochs) {
  hpml::testing::TempDir dir("hpml_plot");
  // y far from the x labels' numbers, so that the texts below can only be x labels.
  Chart c{.title = "loss", .xlabel = "epoch", .ylabel = "loss", .integer_x = true};
  c.series.push_back(Series{"train", {1, 2, 3}, {14, 12, 11}, {}, {}});
  hpml::plot::save(c, dir.file("int"), 640, 400);
  expect_files(dir.file("int"), 640, 400);
  const auto texts = svg_texts(read(dir.file("int.svg")));
  for (const char* want : {"1", "2", "3"}) EXPECT_EQ(count(texts, want), 1u) << want;
  for (const char* never : {"1.5", "2.5", "1.0"}) EXPECT_EQ(count(texts, never), 0u) << never;
}

TEST(Plot, ALogAxisOverLessThanADecadeShowsItsLabels) {
  hpml::testing::TempDir dir("hpml_plot");
  Chart c{.title = "loss", .xlabel = "epoch", .ylabel = "loss", .log_y = true, .integer_x = true};
  c.series.push_back(Series{"train", {10, 20, 30, 40}, {4, 2, 0.6, 0.3}, {}, {}});  // x labels 10, 20, ...
  hpml::plot::save(c, dir.file("log"), 640, 400);
  const auto texts = svg_texts(read(dir.file("log.svg")));
  for (const char* want : {"0.5", "1", "2"}) EXPECT_EQ(count(texts, want), 1u) << want;
}

TEST(Plot, AGridHasOnePageTitleAndWithSharedYTheSameYLabelsOnEveryPanel) {
  hpml::testing::TempDir dir("hpml_plot");
  const std::vector<Chart> four{panel(0.80, 0.83), panel(0.70, 0.84), panel(0.68, 0.86), panel(0.75, 0.85)};
  auto y_labels = [&](const std::string& file) {  // label -> how many panels show it
    std::vector<size_t> counts;
    for (const auto& t : svg_texts(read(file)))
      if (t.find('.') != std::string::npos) counts.push_back(count(svg_texts(read(file)), t));
    return counts;
  };
  hpml::plot::save_grid(four, {.title = "decay: accuracy per epoch", .shared_y = true}, dir.file("shared"));
  expect_files(dir.file("shared"), 1200, 900);
  EXPECT_EQ(count(svg_texts(read(dir.file("shared.svg"))), "decay: accuracy per epoch"), 1u);
  const auto shared = y_labels(dir.file("shared.svg"));
  ASSERT_FALSE(shared.empty());
  for (size_t n : shared) EXPECT_EQ(n, 4u) << "a y label missing from some panel";
  hpml::plot::save_grid(four, 2, dir.file("own"), 800, 600);  // the old call: each panel its own range
  expect_files(dir.file("own"), 800, 600);
  const auto own = y_labels(dir.file("own.svg"));
  EXPECT_TRUE(std::any_of(own.begin(), own.end(), [](size_t n) { return n != 4; }));
  std::vector<Chart> mixed = four;
  mixed[1].log_y = true;
  EXPECT_THROW(hpml::plot::save_grid(mixed, {.shared_y = true}, dir.file("mixed")), hpml::Error);
}

TEST(Plot, AHeatmapWritesEveryClassNameWhole) {
  hpml::testing::TempDir dir("hpml_plot");
  const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  std::vector<std::vector<double>> m(10, std::vector<double>(10, 0.01));
  for (size_t i = 0; i < 10; ++i) m[i][i] = 0.91;
  hpml::plot::save_heatmap(m, names, "confusion matrix", "predicted", "true", dir.file("confusion"));
  expect_files(dir.file("confusion"), 700, 700);
  const auto texts = svg_texts(read(dir.file("confusion.svg")));
  for (const auto& n : names) EXPECT_EQ(count(texts, n), 2u) << n << ": once per axis";
  EXPECT_EQ(count(texts, "0.91"), 10u);
  EXPECT_THROW(hpml::plot::save_heatmap({{1, 0}}, {"a"}, "t", "x", "y", dir.file("bad")), hpml::Error);
}


// ---- Bar charts ----

using hpml::plot::Bars;

// hpml train --profile's page: where a step's time goes, and the top ops (one name 100 long).
std::vector<Bars> profile_panels() {
  Bars step{"where one step's time goes", "ms per step", {"data wait", "forward", "backward", "optimizer", "other"},
            {1.8, 12.4, 25.1, 3.2, 0.9}, "%.2f ms"};
  Bars ops{"top ops by self time", "ms", {}, {}, "%.1f ms"};
  const std::vector<std::string> names{"conv2d", "max_pool2d_backward", "Optimizer.step#SGD.step", "ProfilerStep#7",
                                       "relu", "linear", "cross_entropy", "batch_norm", "add_",
                                       "a_very_long_op_name_" + std::string(80, 'x')};
  for (size_t i = 0; i < names.size(); ++i) ops.labels.push_back(names[i]), ops.values.push_back(800.0 / (i + 1));
  return {step, ops};
}

TEST(Plot, BarsWriteAPngAndSvgOfTheRequestedSizeWithEveryLabelAndValue) {
  hpml::testing::TempDir dir("hpml_plot");
  hpml::plot::save_bars(profile_panels(), "profile", dir.file("profile"));
  expect_files(dir.file("profile"), 1000, 800);
  hpml::plot::save_bars(profile_panels(), "", dir.file("small"), 640, 480);
  expect_files(dir.file("small"), 640, 480);
  const auto texts = svg_texts(read(dir.file("profile.svg")));
  for (const char* want : {"profile", "where one step's time goes", "top ops by self time", "data wait", "25.10 ms",
                           "0.90 ms", "Optimizer.step#SGD.step", "ProfilerStep#7", "800.0 ms", "80.0 ms"})
    EXPECT_EQ(count(texts, want), 1u) << want;
  const std::string cut = "a_very_long_op_name_" + std::string(17, 'x') + "...";  // 40 bytes
  EXPECT_EQ(count(texts, cut), 1u) << "the 100-byte name, cut";
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"profile.png", "profile.svg", "small.png", "small.svg"}));
}

TEST(Plot, BarsRejectBadDataNamingSaveBars) {
  hpml::testing::TempDir dir("hpml_plot");
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  Bars fifty_one{"many", "", {}, {}};
  for (int i = 0; i < 51; ++i) fifty_one.labels.push_back("op" + std::to_string(i)), fifty_one.values.push_back(i);
  const std::vector<std::pair<std::vector<Bars>, std::string>> bad{
      {{}, "1 to 64 panels"},
      {{Bars{"t", "", {"a", "b"}, {1}}}, "2 labels but 1 values"},
      {{Bars{"t", "", {"a"}, {-1}}}, "'a' needs a finite value >= 0, got -1"},
      {{Bars{"t", "", {"a", "b"}, {1, nan}}}, "'b' needs a finite value"},
      {{Bars{"t", "", {"a"}, {inf}}}, "'a' needs a finite value"},
      {{fifty_one}, "51 bars"},
      {{Bars{"t", "", {"a"}, {1}, "%s"}}, "value_format '%s'"},
      {{Bars{"t", "", {"a"}, {1}, "%d ms"}}, "value_format"},
      {{Bars{"t", "", {"a"}, {1}, "%.1f of %.1f"}}, "value_format"},
      {{Bars{"t", "", {"a"}, {1}, "100%"}}, "value_format"},
  };
  for (const auto& [panels, want] : bad) {
    try {
      hpml::plot::save_bars(panels, "bad", dir.file("bad"));
      ADD_FAILURE() << "no error for " << want;
    } catch (const hpml::Error& e) {
      EXPECT_NE(std::string(e.what()).find("save_bars"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(hpml::plot::save_bars(profile_panels(), "", dir.file("bad"), 8, 800), hpml::Error);
  EXPECT_TRUE(dir.entries().empty());
  // Zero is a value, and a panel with no bars says so.
  hpml::plot::save_bars({Bars{"idle", "", {"wait"}, {0}, "%.0f%% of it"}, Bars{"nothing", "", {}, {}}}, "", dir.file("z"));
  const auto texts = svg_texts(read(dir.file("z.svg")));
  EXPECT_EQ(count(texts, "0% of it"), 1u);
  EXPECT_EQ(count(texts, "no data"), 1u);
}

TEST(PlotRules, BarLabelsFitLeftOfTheBarsAndValuesInsideThePlotArea) {
  const double w = 352.78, h = 282.22, ch = 6.35;  // a 1000 x 800 page in mm, and its character height
  const auto panels = profile_panels();
  auto check = [](const detail::BarLayout& l, const std::vector<Bars>& bars, double pw, double ph, double pch) {
    const double t = pch * l.text_scale;
    double above = ph;
    for (size_t k = 0; k < bars.size(); ++k) {
      const auto& p = l.panels[k];
      EXPECT_GE(p.x0 - l.gap - l.widest, 0) << "labels of panel " << k << " run off the page";
      EXPECT_LE(p.y1, above) << "panel " << k << " overlaps the one above";
      EXPECT_GE(p.y0, 0) << "panel " << k << " runs off the page";
      above = p.y0;
      EXPECT_NEAR(p.y1 - p.y0, static_cast<double>(bars[k].labels.size()) * l.row, 1e-9);
      for (size_t i = 0; i < bars[k].values.size(); ++i) {
        const double end = p.x0 + bars[k].values[i] / p.xmax * (p.x1 - p.x0) + l.gap;
        EXPECT_LE(end + detail::plain_text_width(detail::value_text(bars[k].value_format, bars[k].values[i])) * t *
                            detail::kBarTextSlack, p.x1) << "value " << i << " of panel " << k << " crosses the frame";
      }
      double most = 0;
      for (double v : bars[k].values) most = std::max(most, v);
      EXPECT_GE(p.xmax, 1.15 * most);
    }
    EXPECT_LE(l.panels.back().x1, pw);
    EXPECT_LE(1.5 * t, l.row) << "labels taller than their rows";
    EXPECT_LE(l.bar, l.row);
  };
  const auto l = detail::bar_layout(panels, true, w, h, ch);
  check(l, panels, w, h, ch);
  EXPECT_EQ(l.scale, 1);
  EXPECT_EQ(l.panels[1].labels[2], "Optimizer.step##SGD.step");  // drawn as written
  EXPECT_EQ(l.panels[1].labels[9].size(), detail::kBarLabelBytes);
  EXPECT_EQ(l.panels[1].labels[9].substr(37), "...");
  EXPECT_GE(l.widest, detail::plain_text_width(panels[1].labels[9].substr(0, 37) + "...") * ch * l.text_scale);
  // Fifty bars and the profile's two panels on a small page: everything shrinks, and still fits.
  std::vector<Bars> many = panels;
  many.push_back(Bars{"fifty", "ms", {}, {}});
  for (int i = 0; i < 50; ++i) many.back().labels.push_back("op" + std::to_string(i)), many.back().values.push_back(i);
  const auto small = detail::bar_layout(many, true, 176.39, 105.83, 2.82);  // 500 x 300 pixels
  EXPECT_LT(small.scale, 1);
  check(small, many, 176.39, 105.83, 2.82);
  EXPECT_TRUE(detail::is_value_format("%.2f ms"));
  EXPECT_TRUE(detail::is_value_format("%+08.3e%%"));
  for (const char* bad : {"", "ms", "%", "%s", "%d", "%*f", "%.2f %.2f", "%123f", "%n"})
    EXPECT_FALSE(detail::is_value_format(bad)) << bad;
}

}  // namespace
