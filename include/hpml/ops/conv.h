// Convolution and pooling over images [N, C, H, W] (or a single image [C, H, W]), sequences
// [N, C, L] and volumes [N, C, D, H, W]; transposed convolution, resizing (interpolate), patches
// (unfold, fold) and pixel_shuffle. Options are plain structs: conv2d(x, w, b, {.stride = 2, .padding = 1}).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml {

// One size per spatial dim, given as one value for all dims or one per dim: 3, {3, 5} or {3, 5, 5}.
class Dims {
 public:
  Dims() : Dims(0) {}
  Dims(int64_t v) : v_{v, v, v}, n_(0) {}  // NOLINT: implicit by design
  Dims(std::initializer_list<int64_t> l);
  // The value for spatial dim i of `ndim` (one value repeats; a list must have ndim entries).
  int64_t at(size_t i, size_t ndim, const char* op, const char* what) const;
  // As PyTorch prints it: "2" or "(2, 3)"; tuple = always as an ndim-tuple "(2, 2)".
  std::string str(bool tuple, size_t ndim = 2) const;

 private:
  int64_t v_[3];
  size_t n_;  // 0: one value for every dim
};

// Convolution padding: amounts per dim, or "same" (output size = input size, stride 1) or "valid" (0).
class Padding {
 public:
  Padding(int64_t v) : dims_(v) {}                                  // NOLINT
  Padding(std::initializer_list<int64_t> l) : dims_(l) {}           // NOLINT
  template <size_t N>
  Padding(const char (&mode)[N]) : Padding(std::string(mode)) {}    // NOLINT: padding = "same"
  explicit Padding(const std::string& mode);
  bool same() const { return same_; }
  bool valid() const { return valid_; }
  const Dims& dims() const { return dims_; }

 private:
  Dims dims_ = 0;
  bool same_ = false, valid_ = false;
};

struct ConvOptions {
  Dims stride = 1;
  Padding padding = 0;
  Dims dilation = 1;
  int64_t groups = 1;
};

// x [N, C, H, W], weight [OC, C / groups, KH, KW], bias [OC] (optional) -> [N, OC, OH, OW]
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const ConvOptions& o = {});
// x [N, C, L], weight [OC, C / groups, K] -> [N, OC, OL]
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const ConvOptions& o = {});

struct PoolOptions {
  Dims kernel_size;
  std::optional<Dims> stride = std::nullopt;  // default: kernel_size
  Dims padding = 0;
  Dims dilation = 1;  // max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only
  int64_t divisor_override = 0;   // average pooling only; 0 = none
};

Tensor max_pool2d(const Tensor& x, const PoolOptions& o);
// Values and the flat index (within each H x W plane) of each maximum.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const PoolOptions& o);
Tensor avg_pool2d(const Tensor& x, const PoolOptions& o);
Tensor adaptive_avg_pool2d(const Tensor& x, Dims output_size);

// ---- more convolutions (src/ops/conv_transpose.cpp) ------------------------------------------
// F.conv_transpose2d's options, in its order. output_padding (< stride or < dilation) adds rows
// and columns at the bottom and right that a strided convolution's output size cannot tell apart.
struct ConvTransposeOptions {
  Dims stride = 1;
  Dims padding = 0;
  Dims output_padding = 0;
  int64_t groups = 1;
  Dims dilation = 1;
};
// The gradient of conv2d with respect to its input: x [N, C, H, W], weight [C, OC / groups, KH, KW],
// bias [OC] -> [N, OC, OH, OW], OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTransposeOptions& o = {});
// x [N, C, L], weight [C, OC / groups, K] -> [N, OC, OL]
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const ConvTransposeOptions& o = {});
// x [N, C, D, H, W] (or [C, D, H, W]), weight [OC, C / groups, KD, KH, KW], bias [OC] -> [N, OC, OD, OH, OW]
Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const ConvOptions& o = {});

// ---- more pooling (src/ops/pool1d.cpp) -------------------------------------------------------
// Over [N, C, L] or [C, L]; PoolOptions with one value each (divisor_override is 2-d only, as PyTorch).
Tensor max_pool1d(const Tensor& x, const PoolOptions& o);
// Values and the index along L of each maximum.
std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const PoolOptions& o);
Tensor avg_pool1d(const Tensor& x, const PoolOptions& o);
Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size);
// Window i spans [floor(i H / OH), ceil((i + 1) H / OH)) as adaptive_avg_pool2d's. return_indices
// is the _with_indices form: the flat index within each H x W plane of each maximum.
Tensor adaptive_max_pool2d(const Tensor& x, Dims output_size);
std::pair<Tensor, Tensor> adaptive_max_pool2d_with_indices(const Tensor& x, Dims output_size);

// ---- resizing, patches and pixel shuffling (src/ops/interpolate.cpp, src/ops/fold.cpp) --------
// F.interpolate for 1-d ([N, C, L]) and 2-d ([N, C, H, W]) spatial inputs. mode: "nearest"
// (PyTorch's legacy nearest: source floor(i * in / out)), "linear" (3-d input) or "bilinear"
// (4-d input). Exactly one of size and scale_factor (one value, or one per spatial dim).
struct InterpolateOptions {
  std::optional<Dims> size = std::nullopt;
  std::vector<double> scale_factor = {};  // empty: none
  std::string mode = "nearest";
  std::optional<bool> align_corners = std::nullopt;  // linear modes only; default false
  std::optional<bool> recompute_scale_factor = std::nullopt;
};
Tensor interpolate(const Tensor& x, const InterpolateOptions& o);

// F.unfold's and F.fold's options, in their order (after kernel_size).
struct FoldOptions {
  Dims dilation = 1;
  Dims padding = 0;
  Dims stride = 1;
};
// im2col: x [N, C, H, W] (or [C, H, W]) -> [N, C * KH * KW, L], one column per sliding block,
// rows ordered (c, kh, kw); L = number of blocks (row-major over the block grid).
Tensor unfold(const Tensor& x, Dims kernel_size, const FoldOptions& o = {});
// col2im, unfold's adjoint (overlapping values add up): x [N, C * KH * KW, L] (or unbatched)
// -> [N, C, output_size...].
Tensor fold(const Tensor& x, Dims output_size, Dims kernel_size, const FoldOptions& o = {});
// [*, C r^2, H, W] -> [*, C, H r, W r]; pixel_unshuffle is its inverse.
Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);

}  // namespace hpml
