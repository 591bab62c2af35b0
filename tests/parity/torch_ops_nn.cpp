// libtorch counterparts of the nn op-table entries in tests/op_table/nn_conv_ops.cpp and
// tests/op_table/nn_layer_ops.cpp (transposed convolutions, conv3d, 1-d and adaptive max pooling,
// unfold/fold, interpolate, pixel shuffles, instance_norm, distances, embedding_bag).
#include <cmath>
#include <string>

#include "parity/torch_ops.h"

namespace hpml::testing {

namespace {
using TL = std::vector<torch::Tensor>;
using V = std::vector<int64_t>;
namespace TF = torch::nn::functional;

torch::Tensor opt(const TL& in, size_t i) { return in.size() > i ? in[i] : torch::Tensor(); }
// One value repeated to n, as PyTorch's _pair does (im2col, col2im, adaptive pooling want n).
V expand(V v, size_t n) { return v.size() == 1 ? V(n, v[0]) : v; }

TL interpolate_twin(const TL& in, const ops::Args& a) {
  const auto nd = static_cast<size_t>(in[0].dim() - 2);
  const std::string mode = a.s("mode");
  auto o = TF::InterpolateFuncOptions();
  if (mode == "nearest") o.mode(torch::kNearest);
  else if (mode == "linear") o.mode(torch::kLinear);
  else o.mode(torch::kBilinear);
  if (a.has("size")) o.size(expand(a.ints("size"), nd));
  if (a.has("scale")) {
    std::vector<double> s(nd, a.d("scale"));
    if (a.has("scale_w")) s.back() = a.d("scale_w");
    o.scale_factor(s);
    o.recompute_scale_factor(a.b_or("recompute", false));  // set either way: no warning
  }
  if (mode != "nearest") o.align_corners(a.b_or("align_corners", false));
  return {TF::interpolate(in[0], o)};
}

TL instance_norm_twin(const TL& in, const ops::Args& a) {
  const int64_t C = in[0].size(1);
  torch::Tensor rm, rv;
  if (a.b("running")) {
    rm = torch::linspace(-0.5, 0.5, C, in[0].options().requires_grad(false));
    rv = torch::linspace(0.5, 2.0, C, in[0].options().requires_grad(false));
  }
  return {torch::instance_norm(in[0], opt(in, 1), opt(in, 2), rm, rv, a.b("use_input_stats"), a.d("momentum"),
                               a.d("eps"), false)};
}

TL embedding_bag_twin(const TL& in, const ops::Args& a) {
  size_t next = 2;
  auto o = TF::EmbeddingBagFuncOptions();
  if (a.b("offsets")) o.offsets(in[next++].to(torch::kLong));
  const std::string mode = a.s("mode");
  if (mode == "sum") o.mode(torch::kSum);
  else if (mode == "mean") o.mode(torch::kMean);
  else o.mode(torch::kMax);
  if (a.b("psw")) o.per_sample_weights(in[next++]);
  o.include_last_offset(a.b_or("include_last_offset", false));
  if (a.has("padding_idx")) {  // wrapped as Python's F.embedding_bag does (the C++ one passes -1 on, and overruns)
    const int64_t p = a.i("padding_idx");
    o.padding_idx(p < 0 ? p + in[1].size(0) : p);
  }
  return {TF::embedding_bag(in[0].to(torch::kLong), in[1], o)};
}
}  // namespace

void add_nn_twins(std::map<std::string, TorchFn>& t) {
  t["conv_transpose2d"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::conv_transpose2d(in[0], in[1], opt(in, 2), a.ints("stride"), a.ints("padding"),
                                      a.ints("output_padding"), a.i("groups"), a.ints("dilation"))};
  };
  t["conv_transpose1d"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::conv_transpose1d(in[0], in[1], opt(in, 2), a.ints("stride"), a.ints("padding"),
                                      a.ints("output_padding"), a.i("groups"), a.ints("dilation"))};
  };
  t["conv3d"] = [](const TL& in, const ops::Args& a) {
    if (a.has("padding_mode"))
      return TL{at::conv3d(in[0], in[1], opt(in, 2), a.ints("stride"), a.s("padding_mode"), a.ints("dilation"),
                           a.i("groups"))};
    return TL{torch::conv3d(in[0], in[1], opt(in, 2), a.ints("stride"), a.ints("padding"), a.ints("dilation"),
                            a.i("groups"))};
  };
  t["max_pool1d"] = [](const TL& in, const ops::Args& a) {
    const V stride = a.has("stride") ? a.ints("stride") : a.ints("kernel");
    const V dil = a.has("dilation") ? a.ints("dilation") : V{1};
    auto [v, i] = torch::max_pool1d_with_indices(in[0], a.ints("kernel"), stride, a.ints("padding"), dil,
                                                 a.b_or("ceil_mode", false));
    return TL{v, i};
  };
  t["avg_pool1d"] = [](const TL& in, const ops::Args& a) {
    const V stride = a.has("stride") ? a.ints("stride") : a.ints("kernel");
    return TL{torch::avg_pool1d(in[0], a.ints("kernel"), stride, a.ints("padding"), a.b_or("ceil_mode", false),
                                a.b_or("count_include_pad", true))};
  };
  t["adaptive_avg_pool1d"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::adaptive_avg_pool1d(in[0], {a.i("size")})};
  };
  t["adaptive_max_pool2d"] = [](const TL& in, const ops::Args& a) {
    auto [v, i] = torch::adaptive_max_pool2d(in[0], expand(a.ints("size"), 2));
    return TL{v, i};
  };
  t["unfold"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::im2col(in[0], expand(a.ints("kernel"), 2), expand(a.ints("dilation"), 2),
                            expand(a.ints("padding"), 2), expand(a.ints("stride"), 2))};
  };
  t["fold"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::col2im(in[0], expand(a.ints("output"), 2), expand(a.ints("kernel"), 2),
                            expand(a.ints("dilation"), 2), expand(a.ints("padding"), 2), expand(a.ints("stride"), 2))};
  };
  t["interpolate"] = interpolate_twin;
  t["pixel_shuffle"] = [](const TL& in, const ops::Args& a) { return TL{torch::pixel_shuffle(in[0], a.i("factor"))}; };
  t["pixel_unshuffle"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::pixel_unshuffle(in[0], a.i("factor"))};
  };
  t["instance_norm"] = instance_norm_twin;
  t["normalize"] = [](const TL& in, const ops::Args& a) {
    return TL{TF::normalize(in[0], TF::NormalizeFuncOptions().p(a.d("p")).dim(a.i("dim")).eps(a.d("eps")))};
  };
  t["cosine_similarity"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::cosine_similarity(in[0], in[1], a.i("dim"), a.d("eps"))};
  };
  t["pairwise_distance"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::pairwise_distance(in[0], in[1], a.d("p"), a.d("eps"), a.b("keepdim"))};
  };
  t["embedding_bag"] = embedding_bag_twin;
}

}  // namespace hpml::testing
