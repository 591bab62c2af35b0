// The layout rules of plot.cpp's and plot_bars.cpp's charts, as pure functions that tests check:
// tick positions and labels of linear, integer and log axes, where a legend goes, the shared y
// range of a grid, a heatmap's and a page of bar charts' layout. Header-only (inline); only
// hpml_plot's sources and the tests include it.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "plot.h"

namespace hpml::plot::detail {

// A labelled tick: its value in data units (not log10) and its text, with PLplot's escapes
// (#u ... #d: a superscript, as in "2×10#u-5#d").
struct Tick {
  double value = 0;
  std::string label = {};
};

enum class LegendPlace { top_right, top_left, bottom_right, bottom_left, outside_right };
using Curve = std::vector<std::array<double, 2>>;  // (x, y) points

// How many decimals print x exactly (to a millionth of its last digit), at most 10.
inline int decimals_of(double x) {
  x = std::abs(x);
  for (int d = 0; d < 10; ++d) {
    const double s = x * std::pow(10.0, d);
    if (std::abs(s - std::round(s)) <= 1e-6 * std::max(1.0, s)) return d;
  }
  return 10;
}

// v as m×10^k: "10#u-5#d", "2×10#u6#d", "-1.5×10#u4#d" (#u ... #d: PLplot's superscript).
// `step` (a tick spacing, 0 for none) sets how many decimals m gets; without one, up to 3.
inline std::string power_label(double v, double step = 0) {
  HPML_CHECK(std::isfinite(v) && std::isfinite(step) && step >= 0,
             "plot: a tick label needs a finite value and a step >= 0, got ", v, " and ", step);
  if (v == 0) return "0";
  int k = static_cast<int>(std::floor(std::log10(std::abs(v))));
  double m = v / std::pow(10.0, k);
  if (std::abs(m) >= 10) m /= 10, ++k;  // log10 rounded the wrong way at a power of ten
  if (std::abs(m) < 1) m *= 10, --k;
  const int d = step > 0 ? std::min(decimals_of(step / std::pow(10.0, k)), 6) : std::min(decimals_of(m), 3);
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", d, m);
  const std::string mant = b, exp = "10#u" + std::to_string(k) + "#d";
  if (mant == "1" || mant == "-1") return (v < 0 ? "-" : "") + exp;
  return mant + "\u00d7" + exp;
}

// v written for a reader: plainly from 0.001 to 99999 ("0.02", "500"), else as power_label.
// `step` (the tick spacing, 0 for none) sets how many decimals plain numbers get.
inline std::string number_label(double v, double step = 0) {
  HPML_CHECK(std::isfinite(v) && std::isfinite(step) && step >= 0,
             "plot: a tick label needs a finite value and a step >= 0, got ", v, " and ", step);
  const double a = std::abs(v);
  if (a == 0 || a < step * 1e-6) return "0";
  if (a < 1e-3 || a >= 1e5) return power_label(v, step);
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", std::min(decimals_of(step > 0 ? step : v), 8), v);
  return b;
}

// Ticks of a linear axis over [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k, the smallest
// that gives at most max_ticks. integer: the step is a whole number (epochs: 1, 2, 5, 10, 20, ...).
inline std::vector<Tick> linear_ticks(double lo, double hi, int max_ticks, bool integer = false) {
  HPML_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "plot: an axis needs a finite range lo <= hi, got [",
             lo, ", ", hi, "]");
  max_ticks = std::clamp(max_ticks, 2, 50);
  const double span = hi - lo;
  double base = std::pow(10.0, std::floor(std::log10(span / max_ticks)));
  if (integer) base = std::max(base, 1.0);
  if (!(span > 0) || !(base > 0) || !std::isfinite(base)) return {Tick{lo, number_label(lo)}};
  double step = base, first = 0, count = 0;
  for (int i = 0; i < 60; ++i) {  // 1, 2, 5, 10, 20, 50, ... x base: the first that fits
    step = base * std::array{1.0, 2.0, 5.0}[static_cast<size_t>(i % 3)] * std::pow(10.0, i / 3);
    first = std::ceil(lo / step - 1e-9);
    count = std::floor(hi / step + 1e-9) - first + 1;
    if (count <= max_ticks) break;
  }
  std::vector<Tick> t;
  for (int j = 0; j < static_cast<int>(count); ++j) {
    const double v = (first + j) * step;
    t.push_back({v, number_label(v, step)});
  }
  return t;
}

// Ticks of a log axis over [lo, hi] (data units, 0 < lo <= hi): the decades, and when fewer than
// 3 of them fall in the range 1, 2 and 5 x 10^k, then 1..9 x 10^k, then linear ticks, so that
// there are at least 3 labels (when lo < hi); each set thinned (every n-th kept) until its
// labels are evenly spaced enough for max_ticks of them, or as far as 3 labels allow. Plain
// numbers from 0.01 to 1000, else all m×10^k.
inline std::vector<Tick> log_ticks(double lo, double hi, int max_ticks) {
  HPML_CHECK(lo > 0 && lo <= hi && std::isfinite(hi), "plot: a log axis needs a range 0 < lo <= hi, got [", lo, ", ",
             hi, "]");
  max_ticks = std::clamp(max_ticks, 3, 50);
  const int k0 = static_cast<int>(std::floor(std::log10(lo))), k1 = static_cast<int>(std::ceil(std::log10(hi)));
  const double gap = std::log10(hi / lo) / (max_ticks - 1);  // decades between labels, at least
  const std::vector<std::vector<int>> sets{{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (const auto& set : sets) {
    std::vector<Tick> t;
    for (int k = k0; k <= k1; ++k)
      for (int m : set)
        if (const double v = m * std::pow(10.0, k); v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9))
          t.push_back({v, number_label(v)});
    // Keep every n-th, counted from a power of ten (10^0, 10^n, ... when they are there): the
    // smallest n that spaces the labels at least `gap` apart, else the sparsest with 3 labels.
    std::vector<Tick> sparsest;
    for (size_t every = 1; every <= t.size(); ++every) {
      size_t from = 0;
      for (size_t i = 0; i < t.size(); ++i) {
        const double e = std::log10(t[i].value);
        if (std::abs(e - std::round(e)) > 1e-9) continue;  // not a power of ten
        from = i % every;
        if (std::lround(e) % static_cast<long>(every) == 0) break;
      }
      std::vector<Tick> kept;
      for (size_t i = from; i < t.size(); i += every) kept.push_back(t[i]);
      if (kept.size() < 3) break;
      bool spaced = true;
      for (size_t i = 1; i < kept.size(); ++i)
        spaced = spaced && std::log10(kept[i].value / kept[i - 1].value) >= gap * (1 - 1e-9);
      sparsest = std::move(kept);
      if (spaced) break;
    }
    if (sparsest.empty()) continue;  // under 3 of this set in the range
    // Labels from 0.01 to 1000 are written plainly, a wider axis in powers of ten throughout.
    if (sparsest.front().value < 0.01 * (1 - 1e-9) || sparsest.back().value > 1000 * (1 + 1e-9))
      for (Tick& k : sparsest) k.label = power_label(k.value);
    return sparsest;
  }
  // Too narrow for three of 1..9 x 10^k: linear ticks, at least 3 of them (then up to 7).
  std::vector<Tick> t = linear_ticks(lo, hi, max_ticks);
  for (int m = max_ticks + 1; t.size() < 3 && m <= 50; ++m) t = linear_ticks(lo, hi, m);
  std::erase_if(t, [&](const Tick& k) { return !(k.value >= lo * (1 - 1e-9)); });  // none at 0 or below
  return t;
}

// How many samples of the curves (each point, and points every 0.005 along each segment) fall
// inside the box [x0, x1] x [y0, y1].
inline long long points_under(const std::vector<Curve>& curves, double x0, double x1, double y0, double y1) {
  long long n = 0;
  auto in = [&](double x, double y) { return x >= x0 && x <= x1 && y >= y0 && y <= y1; };
  for (const Curve& c : curves)
    for (size_t i = 0; i < c.size(); ++i) {
      const auto [x, y] = c[i];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      n += in(x, y);
      if (i == 0 || !std::isfinite(c[i - 1][0]) || !std::isfinite(c[i - 1][1])) continue;
      const double px = c[i - 1][0], py = c[i - 1][1];  // the segment from the last point, sampled
      if ((x < x0 && px < x0) || (x > x1 && px > x1) || (y < y0 && py < y0) || (y > y1 && py > y1)) continue;
      const double dx = x - px, dy = y - py;
      const int steps = static_cast<int>(std::clamp(std::hypot(dx, dy) / 0.005, 1.0, 1000.0));
      for (int s = 1; s < steps; ++s) n += in(x - dx * s / steps, y - dy * s / steps);
    }
  return n;
}

// Where a legend of size w x h (fractions of the plot area) goes: the first corner (in this
// order) whose box, `margin` in from the edges, covers no sample of any curve (points_under);
// when every corner would cover some, or the legend is over 0.7 of the plot wide or high,
// outside the plot, right of it, if it takes at most 0.4 of the width; else (a wide legend on
// a narrow plot: a grid's panel) the corner that covers the fewest samples. Curves are in
// plot-area fractions [0, 1] (y up); NaN points break a curve.
inline LegendPlace legend_place(const std::vector<Curve>& curves, double w, double h, double margin = 0.02) {
  using P = LegendPlace;
  if (!(w > 0 && h > 0)) return P::outside_right;
  const double l = margin, r = 1 - margin, b = margin, t = 1 - margin;
  const std::array<std::pair<P, std::array<double, 4>>, 4> corners{{{P::top_right, {r - w, r, t - h, t}},
                                                                   {P::top_left, {l, l + w, t - h, t}},
                                                                   {P::bottom_right, {r - w, r, b, b + h}},
                                                                   {P::bottom_left, {l, l + w, b, b + h}}}};
  std::array<long long, 4> under{};
  for (size_t i = 0; i < corners.size(); ++i) {
    const auto& [x0, x1, y0, y1] = corners[i].second;
    under[i] = points_under(curves, x0, x1, y0, y1);
    if (under[i] == 0 && w <= 0.7 && h <= 0.7) return corners[i].first;
  }
  if (w <= 0.4) return P::outside_right;
  return corners[static_cast<size_t>(std::min_element(under.begin(), under.end()) - under.begin())].first;
}

// The y range (data units) over every finite y, lo and hi of the charts: what a grid with
// shared_y gives each panel before padding; {NaN, NaN} when there is no finite value. Throws
// when the charts disagree on log_y.
inline std::array<double, 2> shared_y_range(const std::vector<Chart>& charts) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Chart& c : charts) {
    HPML_CHECK(c.log_y == charts.front().log_y, "plot: a grid with a shared y axis needs every chart on the same scale, "
               "but '", charts.front().title, "' has log_y = ", charts.front().log_y, " and '", c.title, "' has ",
               c.log_y);
    for (const Series& s : c.series)
      for (const auto* v : {&s.y, &s.lo, &s.hi})
        for (double e : *v)
          if (std::isfinite(e) && (!c.log_y || e > 0)) lo = std::min(lo, e), hi = std::max(hi, e);
  }
  if (lo > hi) return {std::nan(""), std::nan("")};
  return {lo, hi};
}

// The angle (degrees) of a heatmap's column labels: 0 when the widest fits in a cell; 45 when
// the text (`text_mm` high) fits between neighbours 45 degrees apart (0.7 of a cell, less a
// gap); else 90, which leaves a whole cell between them. The text's full height (ascenders and
// descenders) is about kTextHeight character heights.
constexpr double kTextHeight = 1.5;
inline double column_label_angle(double widest_label_mm, double cell_mm, double text_mm) {
  if (widest_label_mm <= 0.9 * cell_mm) return 0;
  return text_mm <= 0.65 * cell_mm ? 45 : 90;
}


// Note [Layout in millimetres]
// PLplot's own layout (plvsta, pllab, plbox's numeric labels) leaves fixed margins, labels a log
// axis only at powers of ten and prints "(x10^-1)" beside a narrow linear range. plot.cpp
// computes margins, ticks and labels instead: the page's size and the character height come from
// PLplot in millimetres, and a label's width is estimated from its characters (char_width,
// measured on the PNGs' sans font: PLplot does not export its measure of a string). plbox then
// draws only the frame and the tick marks, at the same step as the labels, and each label is a
// plmtex or plptex.

// A character's width in character heights (PLplot's height, smaller than the font's em).
inline double char_width(unsigned char c) {
  if (c >= '0' && c <= '9') return 0.85;
  if (c >= 'A' && c <= 'Z') return 0.9;
  if (std::string_view(" .,:;!|/-'ijltfr").find(static_cast<char>(c)) != std::string_view::npos) return 0.45;
  return 0.8;
}

// A label's width in character heights; the characters of a superscript (#u..#d) count 0.7.
inline double text_width(const std::string& s) {
  double w = 0;
  bool sup = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '#' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'd')) {
      sup = s[++i] == 'u';
    } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      w += (sup ? 0.7 : 1.0) * char_width(c);
    }
  }
  return w;
}

// One axis laid out: its window [lo, hi] (plot coordinates: log10 on a log axis), its labelled
// ticks, and what plbox needs to draw the same ticks: the major step (0 on a log axis: PLplot's
// decades) and the minor intervals per step (0: PLplot's choice).
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<Tick> ticks = {};
  double step = 0;
  int nsub = 0;
  double at(double v) const { return ((log ? std::log10(v) : v) - lo) / (hi - lo); }  // 0..1 along the axis
};

// An axis `length_mm` long with about one label per `per_tick_mm` (3 to 10 of them). integer:
// whole-number ticks, and minor ticks on whole numbers too (step 2: every 1, 10: every 2, 20: 10).
inline Axis make_axis(double lo, double hi, bool log, bool integer, double length_mm, double per_tick_mm) {
  const int max_ticks = static_cast<int>(std::clamp(length_mm / per_tick_mm, 3.0, 10.0));
  Axis a{lo, hi, log};
  if (log) {
    a.ticks = log_ticks(std::pow(10.0, lo), std::pow(10.0, hi), max_ticks);
    return a;
  }
  a.ticks = linear_ticks(lo, hi, max_ticks, integer);
  a.step = a.ticks.size() >= 2 ? a.ticks[1].value - a.ticks[0].value : integer ? 1 : 0;
  if (integer) {
    const double m = a.step / std::pow(10.0, std::floor(std::log10(a.step) + 1e-9));  // 1, 2 or 5
    a.nsub = a.step <= 5 ? static_cast<int>(std::lround(a.step)) : m < 1.5 ? 5 : m < 3 ? 2 : 5;
  }
  return a;
}

// s when it has at most max_bytes bytes, else its first max_bytes (back to a UTF-8 character's
// start) and `dots`.
inline std::string cut_label(std::string s, size_t max_bytes, std::string_view dots) {
  if (s.size() > max_bytes) {
    size_t cut = max_bytes;  // back to the start of the character that byte max_bytes is in
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + std::string(dots);
  }
  return s;
}

// Text from a file (a class or an op name) as PLplot draws it literally: its escape character
// '#' doubled.
inline std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '#' ? std::string("##") : std::string(1, c);
  return out;
}

// The width of such text (unescaped) in character heights: text_width without the escapes.
inline double plain_text_width(const std::string& s) {
  double w = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) w += char_width(static_cast<unsigned char>(c));
  return w;
}

// A class name as a heatmap label: at most 24 bytes (cut on a UTF-8 boundary, ".." added) and
// PLplot's escape character '#' doubled, since the names come from files.
inline std::string heat_label(std::string s) { return escape_label(cut_label(std::move(s), 24, "..")); }

// Where a heatmap's grid and labels go on a page w x h mm with characters ch mm high: the row
// labels right-aligned left of the grid, the column labels under it, turned 45 or 90 degrees
// when the widest is wider than a cell (column_label_angle), the character height cut to 60% of
// a cell when there are many classes, and the cell values left out when they would be under 2.2 mm high.
struct HeatLayout {
  double gx0 = 0, gy0 = 0, side = 0, cell = 0;  // the grid's lower left corner, its side and a cell's, mm
  double label_scale = 0.75, value_scale = 0;   // character scales; value_scale 0: no values written
  double angle = 0, widest = 0, below = 0;      // the column labels' angle; the widest label and the
                                                // depth of the column labels, mm
};

inline HeatLayout heat_layout(const std::vector<std::string>& labels, double w, double h, double ch) {
  double chars = 0;
  for (const auto& s : labels) chars = std::max(chars, text_width(s));
  const double n = static_cast<double>(std::max<size_t>(labels.size(), 1)), top = 3.5 * ch, right = 2.0 * ch;
  HeatLayout l;
  for (int pass = 0; pass < 2; ++pass) {  // the angle and the text size depend on the cell, and it on them
    const double ls = l.label_scale;
    l.widest = chars * ch * ls;
    l.below = l.angle == 0    ? 1.8 * ch * ls
              : l.angle == 45 ? (l.widest + ch * ls) * std::sqrt(0.5) + 0.8 * ch * ls
                              : l.widest + 0.8 * ch * ls;
    const double left = 2.8 * ch + l.widest + 0.8 * ch * ls, bottom = l.below + 2.8 * ch;
    l.side = std::max(std::min(w - left - right, h - top - bottom), 0.3 * std::min(w, h));
    l.cell = l.side / n;
    l.gx0 = std::max(left + (w - left - right - l.side) / 2, 0.0);
    l.gy0 = bottom;
    if (pass == 0) {
      l.label_scale = std::min(0.75, 0.6 * l.cell / ch);
      l.angle = column_label_angle(chars * ch * l.label_scale, l.cell, kTextHeight * ch * l.label_scale);
    }
  }
  l.label_scale = std::min(l.label_scale, 0.6 * l.cell / ch);
  l.value_scale = std::min(0.7, 0.8 * l.cell / (text_width("0.00") * ch));  // "0.93" in 80% of a cell
  if (l.value_scale * ch < 2.2) l.value_scale = 0;
  return l;
}

// Whether fmt is a printf format for one double: any text, "%%", and exactly one conversion
// %[flags][width][.precision] then f, F, e, E, g, G, a or A (width and precision at most 2 digits,
// no '*' and no length modifier), so that save_bars can pass it to snprintf safely.
inline bool is_value_format(std::string_view fmt) {
  int conversions = 0;
  auto digits = [&](size_t& i) {
    for (int k = 0; k < 2 && i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9'; ++k) ++i;
  };
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') continue;
    if (++i < fmt.size() && fmt[i] == '%') continue;
    while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) ++i;
    digits(i);
    if (i < fmt.size() && fmt[i] == '.') digits(++i);
    if (i >= fmt.size() || std::string_view("fFeEgGaA").find(fmt[i]) == std::string_view::npos) return false;
    ++conversions;
  }
  return conversions == 1;
}

// v written with a format that is_value_format accepts (unescaped).
inline std::string value_text(const std::string& fmt, double v) {
  char text[160];
  std::snprintf(text, sizeof text, fmt.c_str(), v);
  return text;
}

// Note [Bar chart layout]
// save_bars stacks its panels top to bottom. Each is as tall as its title and axis labels plus a
// row per bar, every row of the page the same height, so that the panels' heights follow their
// numbers of bars and the bars look alike. Bars fill 0.7 of their row, at most 2.5 character
// heights (not fat on a tall page with few bars). The labels go right-aligned left of the plot
// areas, which share one left edge (the widest label of any panel sets it) so that the panels'
// axes line up. When the page is too small for rows 1.4 character heights high all text shrinks
// (scale); the labels and values shrink further to 0.6 of a row, and the labels to at most 0.45
// of the page's width. Each x axis runs from 0 to 1.15 x its panel's largest value, or further
// when a value's text would not fit between its bar's end and the frame. Labels are cut to 40
// bytes (op names can be long) and, with the values, escaped (escape_label). Text widths are
// text_width's estimates (Note [Layout in millimetres]) with 8% to spare.
constexpr size_t kBarLabelBytes = 40;
constexpr double kBarTextSlack = 1.08;  // text_width's estimates run up to 6% short on the PNGs

// A bar's label (unescaped): s, or when it is over kBarLabelBytes long its start and "...".
inline std::string bar_label(const std::string& s) {
  return s.size() > kBarLabelBytes ? cut_label(s, kBarLabelBytes - 3, "...") : s;
}

struct BarPanelLayout {
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;    // the plot area, mm from the page's lower left corner
  double xmax = 1;                          // the x axis runs from 0 to xmax (data units)
  size_t rows = 1;                          // the rows the panel takes (an empty panel one)
  std::vector<std::string> labels = {}, values = {};  // as drawn: cut and escaped
};
struct BarLayout {
  std::vector<BarPanelLayout> panels = {};
  double scale = 1;         // every text's character scale (of ch)
  double text_scale = 0.85; // the labels' and values' scale (of ch)
  double row = 0;           // a bar's row height, mm
  double bar = 0;           // a bar's thickness, mm
  double gap = 0;           // mm between a label's right end and the axis, and a bar's end and its value
  double widest = 0;        // the widest label, mm
  double title_y = 0;       // the page title's centre line, mm
};

// The layout of `panels` (checked by save_bars) on a page w x h mm with characters ch mm high.
inline BarLayout bar_layout(const std::vector<Bars>& panels, bool page_title, double w, double h, double ch) {
  BarLayout l;
  // In character heights: the band at the top (the title's, or a pad) and 0.2 at the bottom, then
  // each panel's title and x axis.
  double fixed = page_title ? 3.2 : 0.8, rows = 0, chars = 0;
  for (const Bars& b : panels) {
    fixed += (b.title.empty() ? 1.0 : 3.0) + (b.xlabel.empty() ? 2.6 : 4.4);
    rows += static_cast<double>(std::max<size_t>(b.labels.size(), 1));
    for (const auto& s : b.labels) chars = std::max(chars, plain_text_width(bar_label(s)));
  }
  l.scale = std::min(1.0, h / ((fixed + 1.4 * rows) * ch));
  const double c = ch * l.scale;
  l.row = (h - fixed * c) / rows;
  l.bar = std::min(0.7 * l.row, 2.5 * c);
  l.text_scale = std::min({0.85 * l.scale, 0.6 * l.row / ch, chars > 0 ? 0.45 * w / (chars * ch) : 0.85});
  const double t = ch * l.text_scale;
  l.gap = 0.7 * t;
  l.widest = chars * t * kBarTextSlack;
  l.title_y = h - 1.6 * c;
  const double x1 = w - 2.0 * c, x0 = std::min(1.0 * c + l.widest + l.gap, x1 - 0.2 * w), pw = x1 - x0;
  double top = h - (page_title ? 3.0 : 0.6) * c;
  for (const Bars& b : panels) {
    BarPanelLayout p;
    p.rows = std::max<size_t>(b.labels.size(), 1);
    p.x0 = x0, p.x1 = x1;
    p.y1 = top - (b.title.empty() ? 1.0 : 3.0) * c;
    p.y0 = p.y1 - static_cast<double>(p.rows) * l.row;
    top = p.y0 - (b.xlabel.empty() ? 2.6 : 4.4) * c;
    double most = 0;
    for (double v : b.values) most = std::max(most, v);
    p.xmax = most > 0 ? 1.15 * most : 1;
    for (size_t i = 0; i < b.labels.size(); ++i) {
      const std::string v = value_text(b.value_format, b.values[i]);
      p.labels.push_back(escape_label(bar_label(b.labels[i])));
      p.values.push_back(escape_label(v));
      const double room = pw - l.gap - plain_text_width(v) * t * kBarTextSlack - 1.0 * c;  // for the bar, at xmax
      if (room > 0.2 * pw) p.xmax = std::max(p.xmax, b.values[i] * pw / room);
    }
    l.panels.push_back(std::move(p));
  }
  return l;
}

}  // namespace hpml::plot::detail
