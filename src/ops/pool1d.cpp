// 1-d pooling through the 2-d kernels over [N, C, 1, L], and adaptive max pooling composed from
// index_select and max (Note [Adaptive max pooling by gathering windows]).
#include <algorithm>
#include <vector>

#include "hpml/core/record.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

namespace {

// Checks a 1-d pooling call with the op's own name and 1-d values (so no error mentions the
// unit dim of the 2-d call that does the work) and returns the options of that 2-d call.
PoolOptions pool1d_options(const char* op, const Tensor& x, const PoolOptions& o, bool is_max) {
  ops::check_defined(op, x);
  HPML_CHECK(x.dim() == 2 || x.dim() == 3, op, ": expected a 2-d [C, L] or 3-d [N, C, L] input, got shape ", x.sizes());
  HPML_CHECK(x.is_floating_point(), op, ": expected a floating input, got ", x.dtype());
  const int64_t k = o.kernel_size.at(0, 1, op, "kernel_size");
  const int64_t s = (o.stride ? *o.stride : o.kernel_size).at(0, 1, op, "stride");
  const int64_t p = o.padding.at(0, 1, op, "padding"), d = is_max ? o.dilation.at(0, 1, op, "dilation") : 1;
  HPML_CHECK(k > 0 && s > 0 && d > 0, op, ": kernel_size, stride and dilation must be positive, got kernel_size ", k,
             ", stride ", s, ", dilation ", d);
  HPML_CHECK(p >= 0 && p <= k / 2, op, ": padding should be at most half of the kernel size, got padding ", p,
             " for kernel_size ", k);
  if (!is_max)
    HPML_CHECK(o.divisor_override == 0, op, ": divisor_override is an option of avg_pool2d only, got ",
               o.divisor_override);
  // PyTorch's pooling_output_shape (see pool_window in conv2d_pool2d.cpp).
  const int64_t L = x.sizes()[x.dim() - 1], span = L + 2 * p - d * (k - 1) - 1 + (o.ceil_mode ? s - 1 : 0);
  int64_t n = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
  if (o.ceil_mode && (n - 1) * s >= L + p) --n;
  HPML_CHECK(n > 0, op, ": the output would be empty: input length ", L, ", kernel_size ", k, ", stride ", s,
             ", padding ", p, ", dilation ", d, ", ceil_mode=", o.ceil_mode ? "true" : "false",
             " give output length ", n);
  return PoolOptions{.kernel_size = {1, k}, .stride = Dims{1, s}, .padding = {0, p}, .dilation = {1, d},
                     .ceil_mode = o.ceil_mode, .count_include_pad = o.count_include_pad};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, const PoolOptions& o) {
  HPML_RECORD_OP("max_pool1d_with_indices", x);
  const PoolOptions o2 = pool1d_options("max_pool1d", x, o, true);
  auto [v, i] = max_pool2d_with_indices(x.unsqueeze(-2), o2);  // the flat index in a 1 x L plane is the index along L
  return {v.squeeze(-2), i.squeeze(-2)};
}

Tensor max_pool1d(const Tensor& x, const PoolOptions& o) {
  HPML_RECORD_OP("max_pool1d", x);
  return max_pool2d(x.unsqueeze(-2), pool1d_options("max_pool1d", x, o, true)).squeeze(-2);
}

Tensor avg_pool1d(const Tensor& x, const PoolOptions& o) {
  HPML_RECORD_OP("avg_pool1d", x);
  return avg_pool2d(x.unsqueeze(-2), pool1d_options("avg_pool1d", x, o, false)).squeeze(-2);
}

Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size) {
  HPML_RECORD_OP("adaptive_avg_pool1d", x);
  ops::check_defined("adaptive_avg_pool1d", x);
  HPML_CHECK(x.dim() == 2 || x.dim() == 3,
             "adaptive_avg_pool1d: expected a 2-d [C, L] or 3-d [N, C, L] input, got shape ", x.sizes());
  HPML_CHECK(output_size > 0, "adaptive_avg_pool1d: output_size must be positive, got ", output_size);
  HPML_CHECK(x.sizes().back() > 0, "adaptive_avg_pool1d: the input length must be non-empty, got shape ", x.sizes());
  return adaptive_avg_pool2d(x.unsqueeze(-2), Dims{1, output_size}).squeeze(-2);
}

// Note [Adaptive max pooling by gathering windows]
// Adaptive window i along a dim of size n -> m spans [floor(i n / m), ceil((i + 1) n / m)); the
// windows differ in size by at most one. Padding each to the largest size K by repeating its
// last element (a repeat cannot change a maximum) gives index lists [m * K]; two index_selects
// gather every window as [N, C, OH, KH, OW, KW], and max over the KH * KW window elements gives
// the values and, mapped back through the index lists, the flat indices. A repeat always comes
// after the element it copies, so the first maximum in row-major window order is a real element,
// the one PyTorch's kernel picks among ties. The backward is index_select's (an index_add):
// no kernel, and the gathered copy is about (K / window) ^ 2 times the input.
namespace {

struct AdaptiveIndex {
  std::vector<int64_t> idx;  // [m * K]: window i's elements, its last repeated up to K
  int64_t K;
};

AdaptiveIndex adaptive_index(int64_t n, int64_t m) {
  AdaptiveIndex a{{}, 0};
  for (int64_t i = 0; i < m; ++i) a.K = std::max(a.K, ((i + 1) * n + m - 1) / m - i * n / m);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t lo = i * n / m, hi = ((i + 1) * n + m - 1) / m;
    for (int64_t j = 0; j < a.K; ++j) a.idx.push_back(std::min(lo + j, hi - 1));
  }
  return a;
}


}  // namespace

std::pair<Tensor, Tensor> adaptive_max_pool2d_with_indices(const Tensor& x_in, Dims output_size) {
  HPML_RECORD_OP("adaptive_max_pool2d_with_indices", x_in);
  const char* op = "adaptive_max_pool2d";
  ops::check_defined(op, x_in);
  HPML_CHECK(x_in.dim() == 3 || x_in.dim() == 4, op, ": expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got shape ",
             x_in.sizes());
  HPML_CHECK(x_in.is_floating_point(), op, ": expected a floating input, got ", x_in.dtype());
  const int64_t OH = output_size.at(0, 2, op, "output_size"), OW = output_size.at(1, 2, op, "output_size");
  HPML_CHECK(OH > 0 && OW > 0, op, ": output_size must be positive, got [", OH, ", ", OW, "]");
  const bool batched = x_in.dim() == 4;
  Tensor x = batched ? x_in : x_in.unsqueeze(0);
  const int64_t N = x.sizes()[0], C = x.sizes()[1], H = x.sizes()[2], W = x.sizes()[3];
  HPML_CHECK(H > 0 && W > 0, op, ": the input's spatial size must be non-empty, got shape ", x_in.sizes());
  const AdaptiveIndex ih = adaptive_index(H, OH), iw = adaptive_index(W, OW);
  const int64_t KH = ih.K, KW = iw.K;
  // See Note [Adaptive max pooling by gathering windows].
  Tensor win = index_select(index_select(x, 2, ops::index_tensor(ih.idx, x.device())), 3,
                            ops::index_tensor(iw.idx, x.device()));  // [N, C, OH KH, OW KW]
  win = win.view({N, C, OH, KH, OW, KW}).permute({0, 1, 2, 4, 3, 5}).reshape({N, C, OH, OW, KH * KW});
  auto [values, k] = max(win, -1);
  const Tensor kc = ops::to_host(k.contiguous());  // host read: the window positions, once
  const int64_t* pk = kc.data_ptr<int64_t>();
  std::vector<int64_t> flat(static_cast<size_t>(N * C * OH * OW));
  for (int64_t e = 0; e < N * C * OH * OW; ++e) {
    const int64_t oh = e / OW % OH, ow = e % OW, kh = pk[e] / KW, kw = pk[e] % KW;
    flat[static_cast<size_t>(e)] = ih.idx[oh * KH + kh] * W + iw.idx[ow * KW + kw];
  }
  const Tensor idx = ops::index_tensor(flat, {N, C, OH, OW}, x.device());
  if (!batched) return {values.squeeze(0), idx.squeeze(0)};
  return {values, idx};
}

Tensor adaptive_max_pool2d(const Tensor& x, Dims output_size) {
  HPML_RECORD_OP("adaptive_max_pool2d", x);
  return adaptive_max_pool2d_with_indices(x, output_size).first;
}

}  // namespace hpml
