// Line charts of training curves (loss, accuracy), written as PNG and SVG with PLplot.
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
};

// Writes `path_without_extension`.png (width x height pixels) and .svg. Safe to call from any
// thread (calls are serialized). Throws hpml::Error on bad data, an unwritable file or a missing
// PLplot driver.
void save(const Chart& c, const std::string& path_without_extension, int width = 800, int height = 500);

// Several charts on one page, `columns` per row (a 2x2 figure: 4 charts, 2 columns).
void save_grid(const std::vector<Chart>& charts, int columns, const std::string& path_without_extension,
               int width = 1200, int height = 900);

// A square matrix (a confusion matrix of rates in [0, 1]) as a white-to-blue grid with each
// cell's value written in it, row 0 at the top; `labels` name the rows and the columns.
void save_heatmap(const std::vector<std::vector<double>>& m, const std::vector<std::string>& labels,
                  const std::string& title, const std::string& xlabel, const std::string& ylabel,
                  const std::string& path_without_extension, int size = 700);

}  // namespace hpml::plot
