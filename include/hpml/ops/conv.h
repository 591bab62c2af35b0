// Convolution and pooling over images [N, C, H, W] (or a single image [C, H, W]) and sequences
// [N, C, L]. Options are plain structs: conv2d(x, w, b, {.stride = 2, .padding = 1}).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "hpml/core/tensor.h"

namespace hpml {

// One size per spatial dim, given as one value for all dims or one per dim: 3 or {3, 5}.
class Dims {
 public:
  Dims() : Dims(0) {}
  Dims(int64_t v) : v_{v, v}, n_(0) {}  // NOLINT: implicit by design
  Dims(std::initializer_list<int64_t> l);
  // The value for spatial dim i of `ndim` (one value repeats; a list must have ndim entries).
  int64_t at(size_t i, size_t ndim, const char* op, const char* what) const;
  // As PyTorch prints it: "2" or "(2, 3)"; tuple = always as an ndim-tuple "(2, 2)".
  std::string str(bool tuple, size_t ndim = 2) const;

 private:
  int64_t v_[2];
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

}  // namespace hpml
