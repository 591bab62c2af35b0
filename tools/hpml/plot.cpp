// Charts with PLplot: line charts, pages of them and heatmaps (bar charts: plot_bars.cpp, sharing
// what plot_internal.h declares). See Note [PLplot state and errors] and Note [Layout in
// millimetres]; the layout rules are in plot_rules.h.
#include "plot.h"

#include <plplot.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <functional>
#include <mutex>

#include "hpml/core/error.h"
#include "plot_internal.h"
#include "plot_rules.h"

// Note [PLplot state and errors]
// PLplot keeps its state in globals ("streams"), so save() holds a mutex and draws each file on a
// stream of its own (plmkstrm ... plend1). On a fatal error PLplot calls plexit(), which prints
// and exit()s the process unless the exit handler (plsexit) does not return: ours throws, and the
// half-built stream is abandoned (ending it could touch a driver that never started). Non-fatal
// errors go to the abort handler (plsabort), which we collect and report as an error too. The
// two cases plexit() would otherwise see are checked first: an unknown device (PLplot would
// prompt on stdin for another) and a file it cannot open.

namespace hpml::plot {
namespace detail {
std::mutex g_mutex;
}  // namespace detail

namespace {

using detail::g_mutex, detail::kLine0, detail::kBand0, detail::kPalette, detail::Page, detail::page;
using detail::palette, detail::save_one, detail::check_size;

struct PlplotExit {
  std::string msg;
};
std::string g_warnings;  // guarded by g_mutex

int on_exit(PLCHAR_VECTOR msg) { throw PlplotExit{msg ? msg : "unknown error"}; }
void on_abort(PLCHAR_VECTOR msg) { g_warnings += std::string(g_warnings.empty() ? "" : "; ") + (msg ? msg : ""); }

constexpr const char* kHint = "hint: scripts/setup installs PLplot and its cairo driver (plplot-driver-cairo)";

bool has_device(const char* dev) {
  std::array<PLCHAR_VECTOR, 256> menu{}, names{};
  PLCHAR_VECTOR* pm = menu.data();
  PLCHAR_VECTOR* pn = names.data();
  int n = static_cast<int>(names.size());
  plgDevs(&pm, &pn, &n);
  for (int i = 0; i < n; ++i)
    if (names[static_cast<size_t>(i)] && std::strcmp(names[static_cast<size_t>(i)], dev) == 0) return true;
  return false;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
  void pad(double frac) {
    // A single value gets 10% of itself either side (a constant lr stays positive), 0 gets 0.5.
    const double p = hi > lo ? (hi - lo) * frac : lo != 0 ? std::abs(lo) * 0.1 : 0.5;
    lo -= p, hi += p;
  }
};

// The chart in plot coordinates (log10 on log axes), checked.
struct Prepared {
  std::vector<Series> series;
  Range x, y;
};

Prepared prepare(const Chart& c) {
  Prepared p;
  for (size_t i = 0; i < c.series.size(); ++i) {
    Series s = c.series[i];
    const std::string name = "plot series " + std::to_string(i) + " '" + s.label + "'";
    HPML_CHECK(s.x.size() == s.y.size(), name, ": x has ", s.x.size(), " points but y has ", s.y.size());
    HPML_CHECK(s.lo.size() == s.hi.size() && (s.lo.empty() || s.lo.size() == s.x.size()), name,
               ": the band (lo, hi) must be empty or as long as x (", s.x.size(), "), got ", s.lo.size(),
               " and ", s.hi.size());
    auto axis = [&](std::vector<double>& v, bool log, const char* what, Range& r) {
      for (double& e : v) {
        if (log && std::isfinite(e)) {
          HPML_CHECK(e > 0, name, ": a log axis needs positive values, but ", what, " has ", e);
          e = std::log10(e);
        }
        r.add(e);
      }
    };
    axis(s.x, c.log_x, "x", p.x);
    axis(s.y, c.log_y, "y", p.y);
    axis(s.lo, c.log_y, "lo", p.y);
    axis(s.hi, c.log_y, "hi", p.y);
    p.series.push_back(std::move(s));
  }
  return p;
}

// Calls f(xs, ys) for each run of points where every column is finite.
template <typename F>
void finite_runs(const std::vector<const std::vector<double>*>& cols, F f) {
  std::vector<std::vector<double>> run(cols.size());
  auto flush = [&] {
    if (!run[0].empty()) f(run);
    for (auto& r : run) r.clear();
  };
  for (size_t i = 0; i < cols[0]->size(); ++i) {
    bool ok = true;
    for (const auto* c : cols) ok = ok && std::isfinite((*c)[i]);
    if (!ok) flush();
    for (size_t k = 0; ok && k < cols.size(); ++k) run[k].push_back((*cols[k])[i]);
  }
  flush();
}

}  // namespace

void detail::palette() {
  plscmap0n(kBand0 + static_cast<int>(kPalette.size()));
  plscol0(0, 255, 255, 255);
  plscol0(1, 0, 0, 0);
  plscol0(2, 220, 220, 220);
  for (size_t i = 0; i < kPalette.size(); ++i) {
    const auto& [r, g, b] = kPalette[i];
    plscol0(kLine0 + static_cast<int>(i), r, g, b);
    plscol0a(kBand0 + static_cast<int>(i), r, g, b, 0.25);
  }
}

detail::Page detail::page() {
  PLFLT x0 = 0, x1 = 0, y0 = 0, y1 = 0, def = 0, ht = 0;
  plgspa(&x0, &x1, &y0, &y1);
  plgchr(&def, &ht);
  return {x1 - x0, y1 - y0, ht};
}

namespace {

constexpr double kLegendText = 0.9;  // the legend's text scale; see Note [Layout in millimetres]
using detail::Axis, detail::text_width;

double widest(const std::vector<detail::Tick>& ticks) {
  double w = 0;
  for (const auto& t : ticks) w = std::max(w, text_width(t.label));
  return w;
}

struct Box {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // normalized page coordinates
};

struct Layout {
  Box vp;  // the plot area
  Axis x, y;
  double ylabel_at = 0;  // the y title's distance from the axis, character heights
  detail::LegendPlace legend = detail::LegendPlace::top_right;
  double legend_line = 0.1;  // the legend's line sample, a fraction of the plot area's width
};

// The curves (and band edges) of the chart in plot-area fractions, for legend_place.
std::vector<detail::Curve> curves(const Prepared& p, const Range& x, const Range& y) {
  std::vector<detail::Curve> out;
  for (const Series& s : p.series)
    for (const auto* ys : {&s.y, &s.lo, &s.hi}) {
      detail::Curve c;
      for (size_t i = 0; i < ys->size(); ++i)
        c.push_back({(s.x[i] - x.lo) / (x.hi - x.lo), ((*ys)[i] - y.lo) / (y.hi - y.lo)});
      if (!c.empty()) out.push_back(std::move(c));
    }
  return out;
}

Layout layout(const Chart& c, const Prepared& p, const Box& cell, Range x, Range y) {
  const Page pg = page();
  const double ch = pg.ch, cw = (cell.x1 - cell.x0) * pg.w, chh = (cell.y1 - cell.y0) * pg.h;
  const double top = (c.title.empty() ? 1.0 : 3.0) * ch, bottom = (c.xlabel.empty() ? 2.6 : 4.4) * ch;
  Layout l;
  l.y = detail::make_axis(y.lo, y.hi, c.log_y, false, chh - top - bottom, 3.0 * ch);
  l.ylabel_at = 0.6 + widest(l.y.ticks) + 1.1;
  const double left = (c.ylabel.empty() ? l.ylabel_at - 0.6 : l.ylabel_at + 0.9) * ch;
  double right = 2.0 * ch;
  double legend_chars = 0;
  int entries = 0;
  for (const Series& s : p.series)
    if (!s.label.empty()) legend_chars = std::max(legend_chars, text_width(s.label)), ++entries;
  const double line_mm = 2.5 * ch, vp_h = chh - top - bottom;
  if (entries > 0) {  // the legend's size as pllegend draws it, a little generously
    const double w = line_mm + (legend_chars + 2.2) * kLegendText * ch, h = (entries * 1.8 + 0.5) * kLegendText * ch;
    const double vp_w = cw - left - right;
    const double clear = 0.8 * ch;  // and kept that far from the curves
    l.legend = detail::legend_place(curves(p, x, y), (w + clear) / vp_w, (h + clear) / vp_h);
    if (l.legend == detail::LegendPlace::outside_right) right += w + 1.0 * ch;
  }
  const double vp_w = cw - left - right;
  l.legend_line = line_mm / std::max(vp_w, 1.0);
  l.x = detail::make_axis(x.lo, x.hi, c.log_x, c.integer_x && !c.log_x, vp_w, 5.0 * ch);
  l.vp = {cell.x0 + left / pg.w, cell.x1 - right / pg.w, cell.y0 + bottom / pg.h, cell.y1 - top / pg.h};
  if (l.vp.x1 - l.vp.x0 < 0.1 * (cell.x1 - cell.x0)) l.vp.x0 = cell.x0 + 0.1 * cw / pg.w, l.vp.x1 = cell.x1 - 0.1 * cw / pg.w;
  if (l.vp.y1 - l.vp.y0 < 0.1 * (cell.y1 - cell.y0)) l.vp.y0 = cell.y0 + 0.1 * chh / pg.h, l.vp.y1 = cell.y1 - 0.1 * chh / pg.h;
  return l;
}

// Grid lines, frame, tick marks, tick labels and titles.
void draw_axes(const Chart& c, const Layout& l) {
  plvpor(l.vp.x0, l.vp.x1, l.vp.y0, l.vp.y1);
  plwind(l.x.lo, l.x.hi, l.y.lo, l.y.hi);
  plcol0(2);
  for (const auto& t : l.x.ticks) {
    const double u = l.x.lo + l.x.at(t.value) * (l.x.hi - l.x.lo);
    pljoin(u, l.y.lo, u, l.y.hi);
  }
  for (const auto& t : l.y.ticks) {
    const double v = l.y.lo + l.y.at(t.value) * (l.y.hi - l.y.lo);
    pljoin(l.x.lo, v, l.x.hi, v);
  }
  plcol0(1);
  plbox(l.x.log ? "bcstl" : "bcst", l.x.step, l.x.nsub, l.y.log ? "bcstl" : "bcst", l.y.step, l.y.nsub);
  for (const auto& t : l.x.ticks) plmtex("b", 1.5, l.x.at(t.value), 0.5, t.label.c_str());
  for (const auto& t : l.y.ticks) plmtex("lv", 0.6, l.y.at(t.value), 1.0, t.label.c_str());
  plmtex("t", 1.3, 0.5, 0.5, c.title.c_str());
  plmtex("b", 3.2, 0.5, 0.5, c.xlabel.c_str());
  plmtex("l", l.ylabel_at, 0.5, 0.5, c.ylabel.c_str());
}

// The bands and lines; returns the series that go in the legend.
std::vector<size_t> draw_series(const Prepared& p) {
  std::vector<size_t> legend;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    const int k = static_cast<int>(i % kPalette.size());
    if (!s.lo.empty()) {
      plcol0(kBand0 + k);
      finite_runs({&s.x, &s.lo, &s.hi}, [](std::vector<std::vector<double>>& r) {
        std::vector<double> px(r[0]), py(r[2]);  // along hi, then back along lo
        px.insert(px.end(), r[0].rbegin(), r[0].rend());
        py.insert(py.end(), r[1].rbegin(), r[1].rend());
        if (px.size() >= 4) plfill(static_cast<PLINT>(px.size()), px.data(), py.data());
      });
    }
    plcol0(kLine0 + k);
    plwidth(2);
    finite_runs({&s.x, &s.y}, [](std::vector<std::vector<double>>& r) {
      const auto n = static_cast<PLINT>(r[0].size());
      if (n == 1) plstring(1, r[0].data(), r[1].data(), "#(728)");  // a lone point: a dot
      else plline(n, r[0].data(), r[1].data());
    });
    if (!s.label.empty()) legend.push_back(i);
  }
  plwidth(1);
  return legend;
}

void draw_legend(const Prepared& p, const std::vector<size_t>& entries, const Layout& l) {
  if (entries.empty()) return;
  std::vector<PLINT> opts, colors, styles, text_colors;
  std::vector<PLFLT> widths;
  std::vector<const char*> labels;
  for (size_t i : entries) {
    opts.push_back(PL_LEGEND_LINE);
    colors.push_back(kLine0 + static_cast<int>(i % kPalette.size()));
    styles.push_back(1);
    widths.push_back(2);
    text_colors.push_back(1);
    labels.push_back(p.series[i].label.c_str());
  }
  using P = detail::LegendPlace;
  const PLINT where = l.legend == P::outside_right ? PL_POSITION_OUTSIDE | PL_POSITION_RIGHT  // centred on the right
                      : PL_POSITION_INSIDE | (l.legend == P::top_left || l.legend == P::bottom_left ? PL_POSITION_LEFT : PL_POSITION_RIGHT) |
                            (l.legend == P::top_right || l.legend == P::top_left ? PL_POSITION_TOP : PL_POSITION_BOTTOM);
  PLFLT w = 0, h = 0, def = 0, ht = 0;
  plgchr(&def, &ht);  // pllegend's text scale is of the default height: keep a grid's smaller one
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, where, 0.02, 0.02, l.legend_line, 0, 1, 1, 0, 0,
           static_cast<PLINT>(labels.size()), opts.data(), 1.0, kLegendText * ht / def, 1.8, 0, text_colors.data(),
           labels.data(), nullptr, nullptr, nullptr, nullptr, colors.data(), styles.data(), widths.data(), nullptr,
           nullptr, nullptr, nullptr);
}

// One chart in `cell` of the page; `fixed_y` (plot coordinates): a y range shared with others.
void draw_chart(const Chart& c, const Prepared& p, const Box& cell, const Range* fixed_y) {
  Range x = p.x, y = fixed_y ? *fixed_y : p.y;
  const bool empty = p.x.empty() || p.y.empty();
  if (x.empty()) x = Range{0, 1};
  if (y.empty()) y = Range{0, 1};
  x.pad(0.02);
  y.pad(0.05);
  const Layout l = layout(c, empty ? Prepared{} : p, cell, x, y);
  draw_axes(c, l);
  if (empty) {
    plptex((x.lo + x.hi) / 2, (y.lo + y.hi) / 2, 1, 0, 0.5, "no data");
    return;
  }
  draw_legend(p, draw_series(p), l);
}

void draw(const Chart& c, const Prepared& p) {
  palette();
  plinit();
  pladv(0);
  draw_chart(c, p, Box{}, nullptr);
}

}  // namespace

void detail::save_one(const std::string& path, const char* dev, int width, int height,
                      const std::function<void()>& draw_page) {
  HPML_CHECK(has_device(dev), "plot: cannot write ", path, ": the PLplot device '", dev, "' is not installed\n",
             kHint);
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fclose(f);
  } else {
    HPML_FAIL("plot: cannot write ", path, " (device ", dev, "): ", std::strerror(errno));
  }
  g_warnings.clear();
  PLINT old = 0, strm = 0;
  plgstrm(&old);
  plsexit(on_exit);
  plsabort(on_abort);
  try {
    plmkstrm(&strm);
    plsdev(dev);
    plsfnam(path.c_str());
    plspage(0, 0, width, height, 0, 0);
    plsori(0);
    draw_page();
    plend1();
  } catch (const PlplotExit& e) {
    g_warnings = e.msg;
  }
  plsexit(nullptr);
  plsabort(nullptr);
  plsstrm(old);
  HPML_CHECK(g_warnings.empty(), "plot: PLplot failed to write ", path, " (device ", dev, "): ", g_warnings, "\n",
             kHint);
}

void detail::check_size(int width, int height) {
  HPML_CHECK(width >= 16 && height >= 16 && width <= 20000 && height <= 20000,
             "plot: the size must be from 16x16 to 20000x20000 pixels, got ", width, "x", height);
}

namespace {

// A page of panels: the grid's cells below the title band, the characters scaled down as PLplot
// scales them on subpages (by 1/sqrt of the larger of rows and columns).
void draw_grid(const std::vector<Chart>& charts, const std::vector<Prepared>& prepared, const Grid& g,
               const Range* fixed_y) {
  const size_t cols = static_cast<size_t>(g.columns), rows = (charts.size() + cols - 1) / cols;
  const double scale = 1 / std::sqrt(static_cast<double>(std::max(rows, cols)));
  palette();
  plinit();
  pladv(0);
  plschr(0, scale);
  plsmaj(0, scale);
  plsmin(0, scale);
  const Page pg = page();
  const double band = g.title.empty() ? 0 : 2.8 * pg.ch / pg.h;
  for (size_t k = 0; k < charts.size(); ++k) {
    const double r = static_cast<double>(k / cols), col = static_cast<double>(k % cols);
    const double n = static_cast<double>(cols), m = static_cast<double>(rows);
    const Box cell{col / n, (col + 1) / n, (1 - band) * (1 - (r + 1) / m), (1 - band) * (1 - r / m)};
    draw_chart(charts[k], prepared[k], cell, fixed_y);
  }
  if (g.title.empty()) return;
  plvpor(0, 1, 0, 1);
  plwind(0, 1, 0, 1);
  plschr(0, scale * 1.25);
  plcol0(1);
  plmtex("t", -1.4, 0.5, 0.5, g.title.c_str());
}

}  // namespace

void save(const Chart& c, const std::string& path_without_extension, int width, int height) {
  check_size(width, height);
  const Prepared p = prepare(c);
  std::lock_guard<std::mutex> lock(g_mutex);
  save_one(path_without_extension + ".png", "pngcairo", width, height, [&] { draw(c, p); });
  save_one(path_without_extension + ".svg", "svg", width, height, [&] { draw(c, p); });
}

void save_grid(const std::vector<Chart>& charts, const Grid& g, const std::string& path_without_extension) {
  HPML_CHECK(!charts.empty() && charts.size() <= 64 && g.columns >= 1 && g.columns <= 16,
             "plot: a grid needs 1 to 64 charts and 1 to 16 columns, got ", charts.size(), " charts and ", g.columns,
             " columns");
  check_size(g.width, g.height);
  std::vector<Prepared> prepared;
  for (const Chart& c : charts) prepared.push_back(prepare(c));
  Range shared;
  if (g.shared_y) {  // the range in plot coordinates; none (each its own) when no panel has data
    const auto [lo, hi] = detail::shared_y_range(charts);
    const bool log = charts.front().log_y;
    if (std::isfinite(lo)) shared = Range{log ? std::log10(lo) : lo, log ? std::log10(hi) : hi};
  }
  const Range* fixed_y = shared.empty() ? nullptr : &shared;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [ext, dev] : {std::pair{".png", "pngcairo"}, std::pair{".svg", "svg"}})
    save_one(path_without_extension + ext, dev, g.width, g.height, [&] { draw_grid(charts, prepared, g, fixed_y); });
}

void save_grid(const std::vector<Chart>& charts, int columns, const std::string& path_without_extension, int width,
               int height) {
  save_grid(charts, Grid{.columns = columns, .width = width, .height = height}, path_without_extension);
}

namespace {

void draw_heatmap(const std::vector<std::vector<double>>& m, const std::vector<std::string>& labels,
                  const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  plscol0(0, 255, 255, 255);
  plscol0(1, 0, 0, 0);
  plinit();
  PLFLT pos[2] = {0.0, 1.0};
  PLFLT r[2] = {1.0, 0.12}, g[2] = {1.0, 0.35}, b[2] = {1.0, 0.65};  // white to blue
  plscmap1l(1, 2, pos, r, g, b, nullptr);
  pladv(0);
  const Page pg = page();
  const detail::HeatLayout h = detail::heat_layout(labels, pg.w, pg.h, pg.ch);
  const auto n = static_cast<PLINT>(m.size());
  const double ch = pg.ch, ls = h.label_scale;
  plvpor(h.gx0 / pg.w, (h.gx0 + h.side) / pg.w, h.gy0 / pg.h, (h.gy0 + h.side) / pg.h);
  plwind(-0.5, n - 0.5, -0.5, n - 0.5);
  // One filled square per cell (row i at the top, column j from the left), coloured by value.
  for (PLINT i = 0; i < n; ++i)
    for (PLINT j = 0; j < n; ++j) {
      const PLFLT v = std::clamp(m[static_cast<size_t>(i)][static_cast<size_t>(j)], 0.0, 1.0);
      const PLFLT x0 = static_cast<PLFLT>(j) - 0.5, y0 = static_cast<PLFLT>(n - 1 - i) - 0.5;
      PLFLT xs[4] = {x0, x0 + 1, x0 + 1, x0}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
      plcol1(v);
      plfill(4, xs, ys);
    }
  plcol0(1);
  plbox("bc", 0, 0, "bc", 0, 0);
  plschr(0, h.value_scale);
  for (PLINT i = 0; h.value_scale > 0 && i < n; ++i)
    for (PLINT j = 0; j < n; ++j) {
      char text[32];
      const double v = m[static_cast<size_t>(i)][static_cast<size_t>(j)];
      std::snprintf(text, sizeof text, "%.2f", v);
      plcol0(v > 0.6 ? 0 : 1);  // white on the dark cells
      plptex(static_cast<PLFLT>(j), static_cast<PLFLT>(n - 1 - i), 1, 0, 0.5, text);
    }
  plcol0(1);
  // The labels and titles on the whole page, in mm (so that (1, 1) is 45 degrees).
  plvpor(0, 1, 0, 1);
  plwind(0, pg.w, 0, pg.h);
  plschr(0, ls);
  const double dx = h.angle == 45 ? 1 : 0, dy = 1;  // the turned column labels' direction (45 or 90 degrees)
  for (size_t k = 0; k < labels.size(); ++k) {
    const double mid = (static_cast<double>(k) + 0.5) * h.cell;
    plptex(h.gx0 - 0.8 * ch * ls, h.gy0 + h.side - mid, 1, 0, 1.0, labels[k].c_str());
    if (h.angle == 0) plptex(h.gx0 + mid, h.gy0 - 0.9 * ch * ls, 1, 0, 0.5, labels[k].c_str());
    else plptex(h.gx0 + mid, h.gy0 - 0.8 * ch * ls, dx, dy, 1.0, labels[k].c_str());
  }
  plschr(0, 1.0);
  plptex(h.gx0 + h.side / 2, h.gy0 - h.below - 1.4 * ch, 1, 0, 0.5, xlabel.c_str());
  plptex(h.gx0 - h.widest - 0.8 * ch * ls - 1.4 * ch, h.gy0 + h.side / 2, 0, 1, 0.5, ylabel.c_str());
  plptex(h.gx0 + h.side / 2, h.gy0 + h.side + 1.8 * ch, 1, 0, 0.5, title.c_str());
}

}  // namespace

void save_heatmap(const std::vector<std::vector<double>>& m, const std::vector<std::string>& labels,
                  const std::string& title, const std::string& xlabel, const std::string& ylabel,
                  const std::string& path_without_extension, int size) {
  HPML_CHECK(!m.empty() && m.size() <= 1000 && labels.size() == m.size(),
             "plot: a heatmap needs a square matrix of 1 to 1000 rows and a label per row, got ", m.size(),
             " rows and ", labels.size(), " labels");
  for (size_t i = 0; i < m.size(); ++i)
    HPML_CHECK(m[i].size() == m.size(), "plot: heatmap row ", i, " has ", m[i].size(), " values, expected ", m.size());
  check_size(size, size);
  std::vector<std::string> names;
  for (const auto& s : labels) names.push_back(detail::heat_label(s));
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [ext, dev] : {std::pair{".png", "pngcairo"}, std::pair{".svg", "svg"}})
    save_one(path_without_extension + ext, dev, size, size, [&] { draw_heatmap(m, names, title, xlabel, ylabel); });
}

}  // namespace hpml::plot

// Note [Third-party leaks under LeakSanitizer]
// fontconfig, which cairo uses for PLplot's text, keeps its font caches for the life of the
// process and never frees them, so a sanitizer build of anything that draws a chart reports them
// at exit and fails. hpml's own leaks must still be caught: only these libraries are suppressed.
// The hook is read by LeakSanitizer alone; other builds never call it.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libfontconfig.so\nleak:libcairo.so\nleak:libpango\nleak:libplplot.so\n";
}
