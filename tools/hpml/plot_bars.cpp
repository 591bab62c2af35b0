// Horizontal bar charts with PLplot: a page of panels stacked top to bottom (hpml train --profile's
// profile.png). The layout is plot_rules.h's bar_layout (Note [Bar chart layout]); writing the files
// is plot.cpp's save_one (Note [PLplot state and errors]).
#include <plplot.h>

#include <cmath>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "plot.h"
#include "plot_internal.h"
#include "plot_rules.h"

namespace hpml::plot {
namespace {

constexpr size_t kMaxBars = 50, kMaxPanels = 64;

void check_bars(const std::vector<Bars>& panels) {
  HPML_CHECK(!panels.empty() && panels.size() <= kMaxPanels, "plot: save_bars needs 1 to ", kMaxPanels,
             " panels, got ", panels.size());
  for (size_t k = 0; k < panels.size(); ++k) {
    const Bars& b = panels[k];
    const std::string name = "plot: save_bars: panel " + std::to_string(k) + " '" + b.title + "'";
    HPML_CHECK(b.labels.size() == b.values.size(), name, " has ", b.labels.size(), " labels but ", b.values.size(),
               " values");
    HPML_CHECK(b.labels.size() <= kMaxBars, name, " has ", b.labels.size(), " bars, at most ", kMaxBars,
               " fit a page");
    for (size_t i = 0; i < b.values.size(); ++i)
      HPML_CHECK(b.values[i] >= 0 && b.values[i] <= 1e300, name, ": bar ", i, " '", b.labels[i],
                 "' needs a finite value >= 0, got ", b.values[i]);
    HPML_CHECK(detail::is_value_format(b.value_format), name, ": value_format '", b.value_format,
               "' is not a printf format for one double (such as \"%.2f ms\")");
  }
}

// The plot area's grid lines, bars, frame, x ticks and titles; the bars in palette colour `colour`.
void draw_plot(const Bars& b, const detail::BarPanelLayout& p, const detail::BarLayout& l, const detail::Page& pg,
               int colour) {
  const detail::Axis ax = detail::make_axis(0, p.xmax, false, false, p.x1 - p.x0, 5.0 * pg.ch);
  const auto rows = static_cast<double>(p.rows);
  plvpor(p.x0 / pg.w, p.x1 / pg.w, p.y0 / pg.h, p.y1 / pg.h);
  plwind(0, p.xmax, 0, rows);
  plcol0(2);
  for (const auto& t : ax.ticks) pljoin(t.value, 0, t.value, rows);
  plcol0(colour);
  for (size_t i = 0; i < b.values.size(); ++i) {  // bar i in row i from the top
    const double mid = rows - static_cast<double>(i) - 0.5, half = l.bar / l.row / 2;
    PLFLT xs[4] = {0, b.values[i], b.values[i], 0}, ys[4] = {mid - half, mid - half, mid + half, mid + half};
    if (b.values[i] > 0) plfill(4, xs, ys);
  }
  plcol0(1);
  plbox("bc", 0, 0, "bc", 0, 0);
  plbox("bit", ax.step, 0, "", 0, 0);  // major ticks out of the bottom edge only, clear of the values
  for (const auto& t : ax.ticks) plmtex("b", 1.5, ax.at(t.value), 0.5, t.label.c_str());
  plmtex("t", 1.3, 0.5, 0.5, b.title.c_str());
  plmtex("b", 3.2, 0.5, 0.5, b.xlabel.c_str());
}

// The labels left of the bars and the values at their ends, on the whole page in mm.
void draw_texts(const Bars& b, const detail::BarPanelLayout& p, const detail::BarLayout& l) {
  const double pw = p.x1 - p.x0;
  for (size_t i = 0; i < p.labels.size(); ++i) {
    const double mid = p.y1 - (static_cast<double>(i) + 0.5) * l.row;
    plptex(p.x0 - l.gap, mid, 1, 0, 1.0, p.labels[i].c_str());
    plptex(p.x0 + b.values[i] / p.xmax * pw + l.gap, mid, 1, 0, 0.0, p.values[i].c_str());
  }
  if (p.labels.empty()) plptex((p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2, 1, 0, 0.5, "no data");
}

void draw_bars(const std::vector<Bars>& panels, const std::string& title) {
  detail::palette();
  plinit();
  pladv(0);
  const detail::Page pg0 = detail::page();
  const detail::BarLayout l = detail::bar_layout(panels, !title.empty(), pg0.w, pg0.h, pg0.ch);
  plschr(0, l.scale);
  plsmaj(0, l.scale);
  plsmin(0, l.scale);
  const detail::Page pg = detail::page();  // ch now scaled
  for (size_t k = 0; k < panels.size(); ++k)
    draw_plot(panels[k], l.panels[k], l, pg, detail::kLine0 + static_cast<int>(k % detail::kPalette.size()));
  plvpor(0, 1, 0, 1);
  plwind(0, pg.w, 0, pg.h);
  plschr(0, l.text_scale);
  for (size_t k = 0; k < panels.size(); ++k) draw_texts(panels[k], l.panels[k], l);
  plschr(0, l.scale * 1.2);
  if (!title.empty()) plptex(pg.w / 2, l.title_y, 1, 0, 0.5, title.c_str());
}

}  // namespace

void save_bars(const std::vector<Bars>& panels, const std::string& title, const std::string& path_without_extension,
               int width, int height) {
  check_bars(panels);
  detail::check_size(width, height);
  std::lock_guard<std::mutex> lock(detail::g_mutex);
  for (const auto& [ext, dev] : {std::pair{".png", "pngcairo"}, std::pair{".svg", "svg"}})
    detail::save_one(path_without_extension + ext, dev, width, height, [&] { draw_bars(panels, title); });
}

}  // namespace hpml::plot
