// Patches and pixel rearrangements: unfold (im2col) and fold (col2im) as one index_select and one
// index_add over the flattened padded image (Note [unfold and fold as gathers]); pixel_shuffle and
// pixel_unshuffle as a view, a permute and a reshape.
#include <initializer_list>

#include "hpml/core/record.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

// Note [unfold and fold as gathers]
// Over the zero-padded image flattened to [N, C, Hp * Wp], the element that block (bh, bw)
// takes at kernel position (kh, kw) sits at (kh DH + bh SH) * Wp + kw DW + bw SW. One index list
// of those offsets, ordered (kh, kw, bh, bw), makes unfold a single index_select (giving
// [N, C, KH KW, L], viewed as [N, C KH KW, L]: PyTorch's row order c, kh, kw) and fold, unfold's
// adjoint, a single index_add into zeros (overlapping blocks add up) followed by cropping the
// padding. The values are copied exactly (unlike a convolution with one-hot weights, NaN and inf
// stay where they are), and each op's backward is the other's gather.
namespace {

struct Blocks {
  int64_t KH, KW, DH, DW, PH, PW, SH, SW;
  int64_t H, W;    // the image, unpadded
  int64_t BH, BW;  // the block grid
};

Blocks blocks(const char* op, int64_t H, int64_t W, Dims kernel_size, const FoldOptions& o) {
  Blocks b{};
  b.KH = kernel_size.at(0, 2, op, "kernel_size"), b.KW = kernel_size.at(1, 2, op, "kernel_size");
  b.DH = o.dilation.at(0, 2, op, "dilation"), b.DW = o.dilation.at(1, 2, op, "dilation");
  b.PH = o.padding.at(0, 2, op, "padding"), b.PW = o.padding.at(1, 2, op, "padding");
  b.SH = o.stride.at(0, 2, op, "stride"), b.SW = o.stride.at(1, 2, op, "stride");
  HPML_CHECK(b.KH > 0 && b.KW > 0 && b.DH > 0 && b.DW > 0 && b.SH > 0 && b.SW > 0, op,
             ": kernel_size, dilation and stride must be positive, got kernel_size ", kernel_size.str(true),
             ", dilation ", o.dilation.str(true), ", stride ", o.stride.str(true));
  HPML_CHECK(b.PH >= 0 && b.PW >= 0, op, ": padding must be non-negative, got ", o.padding.str(true));
  b.H = H, b.W = W;
  auto count = [](int64_t in, int64_t k, int64_t d, int64_t p, int64_t s) {
    const int64_t span = in + 2 * p - d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
  };
  b.BH = count(H, b.KH, b.DH, b.PH, b.SH), b.BW = count(W, b.KW, b.DW, b.PW, b.SW);
  HPML_CHECK(b.BH > 0 && b.BW > 0, op, ": spatial size [", H, ", ", W, "] with kernel_size ", kernel_size.str(true),
             ", dilation ", o.dilation.str(true), ", padding ", o.padding.str(true), " gives a block grid of [", b.BH,
             ", ", b.BW, "]; it must be at least 1 x 1");
  return b;
}

// [KH KW L] offsets into the padded plane; see Note [unfold and fold as gathers].
Tensor block_offsets(const Blocks& b, Device device) {
  const int64_t Wp = b.W + 2 * b.PW;
  std::vector<int64_t> idx;
  idx.reserve(static_cast<size_t>(b.KH * b.KW * b.BH * b.BW));
  for (int64_t kh = 0; kh < b.KH; ++kh)
    for (int64_t kw = 0; kw < b.KW; ++kw)
      for (int64_t bh = 0; bh < b.BH; ++bh)
        for (int64_t bw = 0; bw < b.BW; ++bw) idx.push_back((kh * b.DH + bh * b.SH) * Wp + kw * b.DW + bw * b.SW);
  return ops::index_tensor(idx, device);
}

}  // namespace

Tensor unfold(const Tensor& x_in, Dims kernel_size, const FoldOptions& o) {
  HPML_RECORD_OP("unfold", x_in);
  ops::check_defined("unfold", x_in);
  HPML_CHECK(x_in.dim() == 3 || x_in.dim() == 4,
             "unfold: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got shape ", x_in.sizes());
  const bool batched = x_in.dim() == 4;
  Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t N = x.sizes()[0], C = x.sizes()[1];
  const Blocks b = blocks("unfold", x.sizes()[2], x.sizes()[3], kernel_size, o);
  Tensor xp = b.PH || b.PW ? pad(x, {b.PW, b.PW, b.PH, b.PH}) : x;
  const int64_t Hp = b.H + 2 * b.PH, Wp = b.W + 2 * b.PW, KK = b.KH * b.KW, L = b.BH * b.BW;
  // [N, C, Hp Wp] -> [N, C, KK L] -> [N, C KK, L]
  Tensor out = index_select(xp.reshape({N, C, Hp * Wp}), 2, block_offsets(b, x.device())).view({N, C * KK, L});
  return batched ? out : out.squeeze(0);
}

Tensor fold(const Tensor& x_in, Dims output_size, Dims kernel_size, const FoldOptions& o) {
  HPML_RECORD_OP("fold", x_in);
  ops::check_defined("fold", x_in);
  HPML_CHECK(x_in.dim() == 2 || x_in.dim() == 3,
             "fold: expected a 2-d [C * kH * kW, L] or 3-d [N, C * kH * kW, L] input, got shape ", x_in.sizes());
  const bool batched = x_in.dim() == 3;
  Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t OH = output_size.at(0, 2, "fold", "output_size"), OW = output_size.at(1, 2, "fold", "output_size");
  HPML_CHECK(OH > 0 && OW > 0, "fold: output_size must be positive, got ", output_size.str(true));
  const Blocks b = blocks("fold", OH, OW, kernel_size, o);
  const int64_t N = x.sizes()[0], KK = b.KH * b.KW, L = b.BH * b.BW;
  HPML_CHECK(x.sizes()[1] % KK == 0, "fold: expected the input's dim ", x_in.dim() - 2, " (", x.sizes()[1],
             ") to be divisible by the product of kernel_size ", kernel_size.str(true), " (", KK, "), got shape ",
             x_in.sizes());
  HPML_CHECK(x.sizes()[2] == L, "fold: output_size ", output_size.str(true), " with kernel_size ",
             kernel_size.str(true), ", dilation ", o.dilation.str(true), ", padding ", o.padding.str(true),
             ", stride ", o.stride.str(true), " has ", b.BH, " x ", b.BW, " = ", L,
             " blocks, but the input's last dim is ", x.sizes()[2], " (shape ", x_in.sizes(), ")");
  const int64_t C = x.sizes()[1] / KK, Hp = OH + 2 * b.PH, Wp = OW + 2 * b.PW;
  Tensor z = zeros({N, C, Hp * Wp}, TensorOptions(x.dtype()).device(x.device()));
  Tensor out = index_add(z, 2, block_offsets(b, x.device()), x.reshape({N, C, KK * L})).view({N, C, Hp, Wp});
  if (b.PH || b.PW) out = out.narrow(2, b.PH, OH).narrow(3, b.PW, OW).contiguous();
  return batched ? out : out.squeeze(0);
}

namespace {
// x's leading dims, then `tail`.
DimVector lead_plus(const Tensor& x, std::initializer_list<int64_t> tail) {
  DimVector s;
  for (int64_t i = 0; i < x.dim() - 3; ++i) s.push_back(x.sizes()[i]);
  for (int64_t t : tail) s.push_back(t);
  return s;
}
// The identity on the leading dims, then `tail` shifted past them.
DimVector perm_plus(int64_t lead, std::initializer_list<int64_t> tail) {
  DimVector p;
  for (int64_t i = 0; i < lead; ++i) p.push_back(i);
  for (int64_t t : tail) p.push_back(lead + t);
  return p;
}
}  // namespace

Tensor pixel_shuffle(const Tensor& x, int64_t r) {
  HPML_RECORD_OP("pixel_shuffle", x);
  ops::check_defined("pixel_shuffle", x);
  HPML_CHECK(x.dim() >= 3, "pixel_shuffle: expected an input with at least 3 dims [*, C, H, W], got shape ", x.sizes());
  HPML_CHECK(r > 0, "pixel_shuffle: upscale_factor must be positive, got ", r);
  const int64_t C = x.sizes()[x.dim() - 3], H = x.sizes()[x.dim() - 2], W = x.sizes()[x.dim() - 1];
  HPML_CHECK(C % (r * r) == 0, "pixel_shuffle: the channel dim (", C, ", dim -3 of shape ", x.sizes(),
             ") must be divisible by upscale_factor^2 = ", r * r);
  const int64_t lead = x.dim() - 3, OC = C / (r * r);
  // [*, OC, r, r, H, W] -> [*, OC, H, r, W, r] -> [*, OC, H r, W r]
  return x.reshape(lead_plus(x, {OC, r, r, H, W})).permute(perm_plus(lead, {0, 3, 1, 4, 2})).reshape(
      lead_plus(x, {OC, H * r, W * r}));
}

Tensor pixel_unshuffle(const Tensor& x, int64_t r) {
  HPML_RECORD_OP("pixel_unshuffle", x);
  ops::check_defined("pixel_unshuffle", x);
  HPML_CHECK(x.dim() >= 3, "pixel_unshuffle: expected an input with at least 3 dims [*, C, H, W], got shape ",
             x.sizes());
  HPML_CHECK(r > 0, "pixel_unshuffle: downscale_factor must be positive, got ", r);
  const int64_t C = x.sizes()[x.dim() - 3], H = x.sizes()[x.dim() - 2], W = x.sizes()[x.dim() - 1];
  HPML_CHECK(H % r == 0 && W % r == 0, "pixel_unshuffle: height and width (", H, ", ", W, " of shape ", x.sizes(),
             ") must be divisible by downscale_factor ", r);
  const int64_t lead = x.dim() - 3, OH = H / r, OW = W / r;
  // [*, C, OH, r, OW, r] -> [*, C, r, r, OH, OW] -> [*, C r r, OH, OW]
  return x.reshape(lead_plus(x, {C, OH, r, OW, r})).permute(perm_plus(lead, {0, 2, 4, 1, 3})).reshape(
      lead_plus(x, {C * r * r, OH, OW}));
}

}  // namespace hpml
