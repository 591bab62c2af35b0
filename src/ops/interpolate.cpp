// F.interpolate: nearest, linear and bilinear resizing of 1-d and 2-d spatial inputs, one spatial
// dim at a time with index_select (Note [Separable interpolation]); no kernel of its own.
#include <algorithm>
#include <cmath>
#include <vector>

#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

// Note [Separable interpolation]
// Nearest and (bi)linear resizing act on each spatial dim separately: nearest picks one source
// index per output position (an index_select), linear mixes two neighbours with weights l0 and
// l1 (two index_selects, a multiply and an add). Resizing H and then W gives bilinear's four-term
// sum, associated differently (the same values up to rounding). Autograd follows the parts: the
// backward is index_select's index_add. The indices and weights follow PyTorch 1.13's CPU kernels
// (aten/src/ATen/native/UpSample.h): nearest takes floor(j * scale) with scale = in / out, or
// 1 / scale_factor when that was given (computed in float, as PyTorch does for every dtype);
// linear takes the source coordinate scale * (j + 0.5) - 0.5 clamped at 0 (align_corners: scale
// * j with scale = (in - 1) / (out - 1)), computed in the input's precision.
namespace {

struct Resize {
  int64_t in, out;
  double scale_factor;  // 0: none (the scale is in / out)
};


Tensor nearest_along(const Tensor& x, int64_t dim, const Resize& r) {
  if (r.in == r.out && r.scale_factor == 0) return x;
  const float scale = r.scale_factor > 0 ? static_cast<float>(1.0 / r.scale_factor)
                                         : static_cast<float>(r.in) / static_cast<float>(r.out);
  std::vector<int64_t> idx(static_cast<size_t>(r.out));
  for (int64_t j = 0; j < r.out; ++j)
    idx[j] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(j) * scale)), r.in - 1);
  return index_select(x, dim, ops::index_tensor(idx, x.device()));
}

// Source indices i0, i1 and weights l0, l1 of each output position, in T (float or double).
template <typename T>
void linear_weights(const Resize& r, bool align_corners, std::vector<int64_t>& i0, std::vector<int64_t>& i1,
                    std::vector<double>& l0, std::vector<double>& l1) {
  T scale;
  if (align_corners) scale = r.out > 1 ? static_cast<T>(r.in - 1) / static_cast<T>(r.out - 1) : T(0);
  else scale = r.scale_factor > 0 ? static_cast<T>(1.0 / r.scale_factor) : static_cast<T>(r.in) / static_cast<T>(r.out);
  for (int64_t j = 0; j < r.out; ++j) {
    T src = align_corners ? scale * static_cast<T>(j) : scale * (static_cast<T>(j) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
    const auto a = static_cast<int64_t>(src);
    const T lam = std::min(std::max(src - static_cast<T>(a), T(0)), T(1));
    i0.push_back(a);
    i1.push_back(a + (a < r.in - 1 ? 1 : 0));
    l1.push_back(static_cast<double>(lam));
    l0.push_back(static_cast<double>(T(1) - lam));
  }
}

Tensor linear_along(const Tensor& x, int64_t dim, const Resize& r, bool align_corners) {
  std::vector<int64_t> i0, i1;
  std::vector<double> l0, l1;
  if (x.dtype() == kFloat32) linear_weights<float>(r, align_corners, i0, i1, l0, l1);
  else linear_weights<double>(r, align_corners, i0, i1, l0, l1);
  // Weights [out, 1, ...] broadcast over the dims after `dim`.
  DimVector wshape(static_cast<size_t>(x.dim() - dim), 1);
  wshape[0] = r.out;
  const TensorOptions wo = TensorOptions(x.dtype()).device(x.device());
  Tensor w0 = tensor(TensorData(l0), wo).view(wshape), w1 = tensor(TensorData(l1), wo).view(wshape);
  return index_select(x, dim, ops::index_tensor(i0, x.device())) * w0 + index_select(x, dim, ops::index_tensor(i1, x.device())) * w1;
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
  HPML_RECORD_OP("interpolate", x);
  const char* op = "interpolate";
  ops::check_defined(op, x);
  HPML_CHECK(x.dim() == 3 || x.dim() == 4, op, ": expected a 3-d [N, C, L] or 4-d [N, C, H, W] input (1 or 2 spatial ",
             "dims; 3 spatial dims are not implemented), got shape ", x.sizes());
  HPML_CHECK(x.is_floating_point(), op, ": expected a floating input, got ", x.dtype());
  if (is_reduced_float(x.dtype())) return interpolate(x.to(kFloat32), o).to(x.dtype());  // weights in f32, one rounding
  const bool nearest = o.mode == "nearest";
  HPML_CHECK(nearest || o.mode == "linear" || o.mode == "bilinear", op, ": mode must be \"nearest\", \"linear\" or ",
             "\"bilinear\", got \"", o.mode, "\" (bicubic, trilinear, area and nearest-exact are not implemented)");
  HPML_CHECK(nearest || (o.mode == "linear") == (x.dim() == 3), op, ": got a ", x.dim(), "-d input (shape ", x.sizes(),
             "), but mode \"", o.mode, "\" needs a ", o.mode == "linear" ? 3 : 4, "-d input");
  HPML_CHECK(!nearest || !o.align_corners, op, ": align_corners can only be set with the interpolating modes ",
             "(linear, bilinear), got mode \"nearest\"");
  HPML_CHECK(o.size.has_value() != !o.scale_factor.empty(), op,
             o.size ? ": only one of size or scale_factor should be given"
                    : ": either size or scale_factor should be given");
  const int64_t nd = x.dim() - 2;
  const size_t nsf = o.scale_factor.size();
  HPML_CHECK(nsf <= 1 || nsf == static_cast<size_t>(nd), op, ": scale_factor must have 1 or ", nd,
             " values (one per spatial dim), got ", nsf);
  const bool keep_scale = !o.recompute_scale_factor.value_or(false);
  std::vector<Resize> rs;
  for (int64_t i = 0; i < nd; ++i) {
    Resize r{x.sizes()[2 + i], 0, 0};
    HPML_CHECK(r.in > 0, op, ": the input's spatial size must be non-empty, got shape ", x.sizes());
    if (o.size) {
      r.out = o.size->at(static_cast<size_t>(i), static_cast<size_t>(nd), op, "size");
      HPML_CHECK(r.out > 0, op, ": size must be positive, got ", o.size->str(true, static_cast<size_t>(nd)));
    } else {
      const double sf = o.scale_factor[nsf == 1 ? 0 : static_cast<size_t>(i)];
      HPML_CHECK(sf > 0 && std::isfinite(sf), op, ": scale_factor must be positive, got ", sf);
      r.out = static_cast<int64_t>(std::floor(static_cast<double>(r.in) * sf));
      HPML_CHECK(r.out > 0, op, ": scale_factor ", sf, " gives an empty output for input size ", r.in, " (dim ", 2 + i,
                 ")");
      if (keep_scale) r.scale_factor = sf;
    }
    rs.push_back(r);
  }
  Tensor y = x;  // See Note [Separable interpolation]
  for (int64_t i = 0; i < nd; ++i)
    y = nearest ? nearest_along(y, 2 + i, rs[i]) : linear_along(y, 2 + i, rs[i], o.align_corners.value_or(false));
  return y.is_same(x) ? clone(x) : y;  // a new tensor even when nothing changes size
}

}  // namespace hpml
