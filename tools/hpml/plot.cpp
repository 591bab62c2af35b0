// Charts with PLplot. See Note [PLplot state and errors].
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

// Note [PLplot state and errors]
// PLplot keeps its state in globals ("streams"), so save() holds a mutex and draws each file on a
// stream of its own (plmkstrm ... plend1). On a fatal error PLplot calls plexit(), which prints
// and exit()s the process unless the exit handler (plsexit) does not return: ours throws, and the
// half-built stream is abandoned (ending it could touch a driver that never started). Non-fatal
// errors go to the abort handler (plsabort), which we collect and report as an error too. The
// two cases plexit() would otherwise see are checked first: an unknown device (PLplot would
// prompt on stdin for another) and a file it cannot open.

namespace hpml::plot {
namespace {

struct PlplotExit {
  std::string msg;
};
std::mutex g_mutex;
std::string g_warnings;  // guarded by g_mutex

int on_exit(PLCHAR_VECTOR msg) { throw PlplotExit{msg ? msg : "unknown error"}; }
void on_abort(PLCHAR_VECTOR msg) { g_warnings += std::string(g_warnings.empty() ? "" : "; ") + (msg ? msg : ""); }

constexpr const char* kHint = "hint: scripts/setup installs PLplot and its cairo driver (plplot-driver-cairo)";

// cmap0: 0 background, 1 axes and text, 2 grid, then a line and a band colour per series.
constexpr int kLine0 = 3;
constexpr std::array<std::array<int, 3>, 10> kPalette{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                                       {214, 39, 40}, {148, 103, 189}, {140, 86, 75},
                                                       {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                                       {23, 190, 207}}};
constexpr int kBand0 = kLine0 + static_cast<int>(kPalette.size());

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
    const double p = hi > lo ? (hi - lo) * frac : std::max(std::abs(lo) * 0.1, 0.5);
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

void palette() {
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

// One chart in the current (sub)page.
void draw_chart(const Chart& c, const Prepared& p) {
  plvsta();
  Range x = p.x, y = p.y;
  const bool empty = x.empty() || y.empty();
  if (empty) x = y = Range{0, 1};
  x.pad(0.02);
  y.pad(0.05);
  plwind(x.lo, x.hi, y.lo, y.hi);
  const std::string xo = c.log_x ? "l" : "", yo = c.log_y ? "l" : "";
  plcol0(2);
  plbox(("g" + xo).c_str(), 0, 0, ("g" + yo).c_str(), 0, 0);
  plcol0(1);
  plbox(("bcnst" + xo).c_str(), 0, 0, ("bcnstv" + yo).c_str(), 0, 0);
  pllab(c.xlabel.c_str(), c.ylabel.c_str(), c.title.c_str());
  if (empty) {
    plptex((x.lo + x.hi) / 2, (y.lo + y.hi) / 2, 1, 0, 0.5, "no data");
    return;
  }
  std::vector<PLINT> opts, colors, styles;
  std::vector<PLFLT> widths;
  std::vector<const char*> labels;
  int high_right = 0, low_right = 0;  // points in the corners the legend could take
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
    for (size_t j = 0; j < s.x.size(); ++j) {
      const double u = (s.x[j] - x.lo) / (x.hi - x.lo), v = (s.y[j] - y.lo) / (y.hi - y.lo);
      high_right += u > 0.55 && v > 0.6;
      low_right += u > 0.55 && v < 0.4;
    }
    if (s.label.empty()) continue;
    opts.push_back(PL_LEGEND_LINE);
    colors.push_back(kLine0 + k);
    styles.push_back(1);
    widths.push_back(2);
    labels.push_back(s.label.c_str());
  }
  plwidth(1);
  if (labels.empty()) return;
  const auto n = static_cast<PLINT>(labels.size());
  std::vector<PLINT> text_colors(labels.size(), 1);
  PLFLT w = 0, h = 0;
  pllegend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_INSIDE | PL_POSITION_RIGHT | (high_right > low_right ? PL_POSITION_BOTTOM : PL_POSITION_TOP),
           0.02, 0.03, 0.08, 0, 1, 1, 0, 0, n, opts.data(), 1.0, 0.9, 1.8, 0, text_colors.data(), labels.data(),
           nullptr, nullptr, nullptr, nullptr, colors.data(), styles.data(), widths.data(), nullptr, nullptr,
           nullptr, nullptr);
}

void draw(const Chart& c, const Prepared& p) {
  palette();
  plinit();
  pladv(0);
  draw_chart(c, p);
}

void save_one(const std::string& path, const char* dev, int width, int height, const std::function<void()>& draw_page) {
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

}  // namespace

void save(const Chart& c, const std::string& path_without_extension, int width, int height) {
  HPML_CHECK(width >= 16 && height >= 16, "plot: the size must be at least 16x16 pixels, got ", width, "x", height);
  const Prepared p = prepare(c);
  std::lock_guard<std::mutex> lock(g_mutex);
  save_one(path_without_extension + ".png", "pngcairo", width, height, [&] { draw(c, p); });
  save_one(path_without_extension + ".svg", "svg", width, height, [&] { draw(c, p); });
}

void save_grid(const std::vector<Chart>& charts, int columns, const std::string& path_without_extension, int width,
               int height) {
  HPML_CHECK(!charts.empty() && columns >= 1, "plot: a grid needs charts and at least one column");
  std::vector<Prepared> prepared;
  for (const Chart& c : charts) prepared.push_back(prepare(c));
  const auto cols = static_cast<PLINT>(columns);
  const auto rows = static_cast<PLINT>((charts.size() + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
  auto draw_page = [&] {
    palette();
    plssub(cols, rows);
    plinit();
    for (size_t k = 0; k < charts.size(); ++k) {
      pladv(static_cast<PLINT>(k + 1));
      draw_chart(charts[k], prepared[k]);
    }
  };
  std::lock_guard<std::mutex> lock(g_mutex);
  save_one(path_without_extension + ".png", "pngcairo", width, height, draw_page);
  save_one(path_without_extension + ".svg", "svg", width, height, draw_page);
}

void save_heatmap(const std::vector<std::vector<double>>& m, const std::vector<std::string>& labels,
                  const std::string& title, const std::string& xlabel, const std::string& ylabel,
                  const std::string& path_without_extension, int size) {
  const auto n = static_cast<PLINT>(m.size());
  HPML_CHECK(n > 0 && labels.size() == m.size(), "plot: a heatmap needs a square matrix and a label per row, got ",
             m.size(), " rows and ", labels.size(), " labels");
  for (size_t i = 0; i < m.size(); ++i)
    HPML_CHECK(m[i].size() == m.size(), "plot: heatmap row ", i, " has ", m[i].size(), " values, expected ", m.size());
  auto draw_page = [&] {
    plscol0(0, 255, 255, 255);
    plscol0(1, 0, 0, 0);
    plinit();
    PLFLT pos[2] = {0.0, 1.0};
    PLFLT r[2] = {1.0, 0.12}, g[2] = {1.0, 0.35}, b[2] = {1.0, 0.65};  // white to blue
    plscmap1l(1, 2, pos, r, g, b, nullptr);
    pladv(0);
    plvpor(0.22, 0.92, 0.22, 0.9);
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
    plschr(0, 0.7);
    for (PLINT i = 0; i < n; ++i) {
      const PLFLT frac = (static_cast<PLFLT>(i) + 0.5) / static_cast<PLFLT>(n);
      plmtex("b", 1.2, frac, 0.5, labels[static_cast<size_t>(i)].substr(0, 8).c_str());
      plmtex("lv", 0.8, 1.0 - frac, 1.0, labels[static_cast<size_t>(i)].substr(0, 12).c_str());
      for (PLINT j = 0; j < n; ++j) {
        char text[32];
        std::snprintf(text, sizeof text, "%.2f", m[static_cast<size_t>(i)][static_cast<size_t>(j)]);
        plptex(static_cast<PLFLT>(j), static_cast<PLFLT>(n - 1 - i), 1, 0, 0.5, text);
      }
    }
    plschr(0, 1.0);
    plmtex("b", 3.2, 0.5, 0.5, xlabel.c_str());
    plmtex("l", 7.0, 0.5, 0.5, ylabel.c_str());
    plmtex("t", 1.5, 0.5, 0.5, title.c_str());
  };
  std::lock_guard<std::mutex> lock(g_mutex);
  save_one(path_without_extension + ".png", "pngcairo", size, size, draw_page);
  save_one(path_without_extension + ".svg", "svg", size, size, draw_page);
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
