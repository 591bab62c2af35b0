// Line charts of training curves (loss, accuracy), grids of them, heatmaps and horizontal bar
// charts (a profile's breakdown of time), written as PNG and SVG with PLplot. The layout rules they follow (ticks, tick labels, where the legend goes,
// a grid's shared y range) are pure functions in plot_rules.h.
#pragma once

#include <string>
#include <vector>

namespace hpml::plot {

// One curve. Non-finite points (NaN, inf) are skipped and break the line.
struct Series {
  std::string label = {};                // shown in the legend; empty: left out of it
  std::vector<double> x = {}, y = {};    // same length
  std::vector<double> lo = {}, hi = {};  // optional band, both empty or both as long as x: a translucent fill
};

struct Chart {
  std::string title = {}, xlabel = {}, ylabel = {};
  std::vector<Series> series = {};
  bool log_y = false;  // log axes need positive data (y, lo, hi for log_y)
  bool log_x = false;
  bool integer_x = false;  // x counts whole things (epochs): ticks at integers only (a linear x axis)
};

// Writes `path_without_extension`.png (width x height pixels) and .svg. Safe to call from any
// thread (calls are serialized). Throws hpml::Error on bad data, an unwritable file or a missing
// PLplot driver.
void save(const Chart& c, const std::string& path_without_extension, int width = 800, int height = 500);

// A page of charts, `columns` per row (a 2x2 figure: 4 charts, 2 columns).
struct Grid {
  int columns = 2;
  std::string title = {};  // one title over the whole page; empty: none
  bool shared_y = false;   // the same y range on every panel (the charts must agree on log_y)
  int width = 1200, height = 900;
};
void save_grid(const std::vector<Chart>& charts, const Grid& grid, const std::string& path_without_extension);
void save_grid(const std::vector<Chart>& charts, int columns, const std::string& path_without_extension,
               int width = 1200, int height = 900);

// A square matrix (a confusion matrix of rates in [0, 1]) as a white-to-blue grid with each
// cell's value written in it, row 0 at the top; `labels` name the rows and the columns (the
// column labels turn 45 degrees when they are wider than a cell).
void save_heatmap(const std::vector<std::vector<double>>& m, const std::vector<std::string>& labels,
                  const std::string& title, const std::string& xlabel, const std::string& ylabel,
                  const std::string& path_without_extension, int size = 700);

// Horizontal bars, one per label, top to bottom in the given order, each with its value written
// at the bar's end (value_format: printf format for one double, e.g. "%.2f ms"). Labels over 40
// bytes are cut ("..."); they and the values are drawn literally ('#' is no escape).
struct Bars {
  std::string title = {}, xlabel = {};
  std::vector<std::string> labels = {};
  std::vector<double> values = {};  // finite, >= 0, one per label
  std::string value_format = "%.2f";
};
// A page of bar charts stacked top to bottom (width x height pixels), written as .png and .svg.
// Each panel's height follows its number of bars; `title` (empty: none) goes over the page. Throws
// hpml::Error on bad data (mismatched sizes, negative or non-finite values, more than 50 bars in a
// panel, no panels or over 64, a value_format that is not one for a double), an unwritable file or
// a missing PLplot driver.
void save_bars(const std::vector<Bars>& panels, const std::string& title, const std::string& path_without_extension,
               int width = 1000, int height = 800);

}  // namespace hpml::plot
