// What plot.cpp's charts and plot_bars.cpp's bar charts share: the PLplot mutex, writing one
// file on a stream of its own (save_one, Note [PLplot state and errors] in plot.cpp), the size
// check, the colour palette and the page's size in millimetres. Only hpml_plot's sources include it.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string>

namespace hpml::plot::detail {

// Serializes every use of PLplot, whose state is global; hold it around save_one.
extern std::mutex g_mutex;

// Writes `path` with PLplot device `dev` (width x height pixels), draw_page() drawing on a fresh
// stream; throws hpml::Error on a missing device, an unwritable file or a PLplot error. Needs g_mutex.
void save_one(const std::string& path, const char* dev, int width, int height, const std::function<void()>& draw_page);

// Throws unless the page is from 16x16 to 20000x20000 pixels.
void check_size(int width, int height);

// cmap0: 0 background, 1 axes and text, 2 grid, then a line and a band colour per series.
constexpr int kLine0 = 3;
constexpr std::array<std::array<int, 3>, 10> kPalette{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                                       {214, 39, 40}, {148, 103, 189}, {140, 86, 75},
                                                       {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                                       {23, 190, 207}}};
constexpr int kBand0 = kLine0 + static_cast<int>(kPalette.size());

// Sets cmap0 as above; call before plinit.
void palette();

struct Page {
  double w = 0, h = 0, ch = 0;  // the (sub)page and the character height, mm
};
// The current (sub)page and character height; after plinit and pladv.
Page page();

}  // namespace hpml::plot::detail
