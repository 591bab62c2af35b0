// Op table entries: interpolate, pixel_shuffle / pixel_unshuffle, instance_norm, normalize,
// cosine_similarity, pairwise_distance and embedding_bag (F::embedding_bag, in nn::functional).
#include <cmath>

#include "hpml/nn/functional.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/distance.h"
#include "hpml/ops/normalization.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
using V = std::vector<int64_t>;
using S = std::string;
Tensor opt(const TensorList& in, size_t i) { return in.size() > i ? in[i] : Tensor(); }

// interpolate: mode, then size (list) or scale (one double, or scale and scale_w), align_corners
// and recompute (recompute_scale_factor) when given.
TensorList call_interpolate(const TensorList& in, const Args& a) {
  InterpolateOptions o{.mode = a.s("mode")};
  if (a.has("size")) {
    const V s = a.ints("size");
    o.size = s.size() == 1 ? Dims(s[0]) : Dims{s[0], s[1]};
  }
  if (a.has("scale")) o.scale_factor = {a.d("scale")};
  if (a.has("scale_w")) o.scale_factor.push_back(a.d("scale_w"));
  if (a.has("align_corners")) o.align_corners = a.b("align_corners");
  if (a.has("recompute")) o.recompute_scale_factor = a.b("recompute");
  return {interpolate(in[0], o)};
}

std::vector<Sample> interpolate_samples(DType dt) {
  Generator g = gen_for("interpolate");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  const S n = "nearest", l = "linear", bl = "bilinear";
  // 3 * 2.1 rounds down to 6 = 2 * 3, but the source index is floor(j / 2.1), not j / 2.
  Sample sf21{"nearest 1-d, scale 2.1", {r({1, 2, 3})}, {{"mode", n}, {"scale", 2.1}}};
  sf21.pytorch_grad_differs = "PyTorch 1.13's nearest backward maps an output twice the input's size by j / 2 while "
                              "its forward uses floor(j / 2.1): its gradient is not its forward's";
  return {{"nearest 1-d, size 7", {r({2, 3, 5})}, {{"mode", n}, {"size", V{7}}}},
          sf21,
          {"nearest 2-d, size (3, 5)", {r({2, 2, 5, 4})}, {{"mode", n}, {"size", V{3, 5}}}},
          {"nearest 2-d, scale (1.5, 0.5)", {r({1, 2, 4, 6})}, {{"mode", n}, {"scale", 1.5}, {"scale_w", 0.5}}},
          {"nearest, recompute_scale_factor", {r({1, 1, 5, 5})}, {{"mode", n}, {"scale", 1.7}, {"recompute", true}}},
          {"linear, size 8", {r({2, 3, 5})}, {{"mode", l}, {"size", V{8}}, {"align_corners", false}}},
          {"linear, align_corners, downsample", {r({1, 2, 6})}, {{"mode", l}, {"size", V{4}}, {"align_corners", true}}},
          {"linear, scale 0.7", {r({1, 2, 7})}, {{"mode", l}, {"scale", 0.7}}},
          {"bilinear, size (5, 7)", {r({2, 2, 3, 4})}, {{"mode", bl}, {"size", V{5, 7}}, {"align_corners", false}}},
          {"bilinear, align_corners, scale 2", {r({1, 2, 3, 3})},
           {{"mode", bl}, {"scale", 2.0}, {"align_corners", true}}},
          {"bilinear, scale 0.6", {r({1, 1, 6, 5})}, {{"mode", bl}, {"scale", 0.6}}},
          {"bilinear to 1x1, align_corners", {r({1, 1, 4, 4})},
           {{"mode", bl}, {"size", V{1}}, {"align_corners", true}}},
          {"empty batch", {r({0, 2, 3, 3})}, {{"mode", bl}, {"size", V{4}}, {"align_corners", false}}}};
}

std::vector<Sample> shuffle_samples(const char* name, bool up, DType dt) {
  Generator g = gen_for(name);
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  if (up) {
    Sample empty{"empty batch", {r({0, 4, 2, 2})}, {{"factor", int64_t{2}}}};
    empty.pytorch_grad_differs = "PyTorch 1.13's PixelShuffleBackward returns a gradient of the output's shape for "
                                 "an empty input (an engine error)";
    return {{"r 2", {r({1, 8, 2, 3})}, {{"factor", int64_t{2}}}},
            {"5-d, r 3", {r({2, 3, 9, 2, 2})}, {{"factor", int64_t{3}}}},
            {"3-d", {r({4, 2, 3})}, {{"factor", int64_t{2}}}},
            empty};
  }
  // No empty sample: PyTorch 1.13's pixel_unshuffle returns an empty input unchanged ([0, 1, 2, 2]
  // stays [0, 1, 2, 2] instead of becoming [0, 4, 1, 1]); hpml gives the documented shape.
  return {{"r 2", {r({1, 2, 4, 6})}, {{"factor", int64_t{2}}}},
          {"5-d, r 3", {r({2, 3, 1, 6, 3})}, {{"factor", int64_t{3}}}},
          {"3-d", {r({1, 2, 2})}, {{"factor", int64_t{2}}}}};
}

// instance_norm: running statistics made inside the call (fixed values, fresh each call; the
// same in the PyTorch twin), as batch_norm's entry does.
TensorList call_instance_norm(const TensorList& in, const Args& a) {
  const int64_t C = in[0].sizes()[1];
  Tensor rm, rv;
  if (a.b("running")) {
    rm = linspace(-0.5, 0.5, C, in[0].dtype()).to(in[0].device());
    rv = linspace(0.5, 2.0, C, in[0].dtype()).to(in[0].device());
  }
  return {instance_norm(in[0], opt(in, 1), opt(in, 2), rm, rv, a.b("use_input_stats"), a.d("momentum"), a.d("eps"))};
}
Args in_args(bool use_input_stats, bool running, double eps = 1e-5) {
  return {{"use_input_stats", use_input_stats}, {"running", running}, {"momentum", 0.1}, {"eps", eps}};
}

std::vector<Sample> instance_norm_samples(DType dt) {
  Generator g = gen_for("instance_norm");
  auto affine = [&](IntArrayRef shape) {
    const int64_t C = shape[1];
    return TensorList{rnd(g, shape, dt), rnd(g, {C}, dt, 0.5, 1.5), rnd(g, {C}, dt)};
  };
  return {{"input stats, affine, [N, C, L]", affine({3, 2, 6}), in_args(true, false)},
          {"input stats, no affine, [N, C, H, W]", {rnd(g, {2, 3, 4, 5}, dt)}, in_args(true, false)},
          {"input stats, running stats updated", affine({2, 3, 5}), in_args(true, true)},
          {"running stats (eval), affine", affine({2, 3, 4, 4}), in_args(false, true)},
          {"two spatial elements, eps 1e-3", {rnd(g, {4, 2, 2}, dt)}, in_args(true, false, 1e-3)},
          // Without affine parameters: 1.13's instance_norm fails on an empty batch with them
          // (repeating weight [C] 0 times, then select(0) in batch_norm).
          {"empty batch", {rnd(g, {0, 2, 4}, dt)}, in_args(true, false)}};
}

std::vector<Sample> normalize_samples(DType dt) {
  Generator g = gen_for("normalize");
  auto a = [](double p, int64_t dim, double eps = 1e-12) { return Args{{"p", p}, {"dim", dim}, {"eps", eps}}; };
  // Row 0 has a norm below eps = 0.1: the clamp is active there.
  Tensor small = rnd(g, {2, 3}, dt) * tensor({{0.01}, {1.0}}, dt);
  return {{"p 2, dim 1", {rnd(g, {3, 4}, dt)}, a(2, 1)},
          {"p 1, dim -1", {away(g, {2, 3, 4}, dt)}, a(1, -1)},
          {"p 3, dim 0", {away(g, {4, 3}, dt)}, a(3, 0)},
          {"p inf", {distinct(g, {3, 5}, dt)}, a(INFINITY, 1)},
          {"norm below eps", {small}, a(2, 1, 0.1)},
          {"1-d", {rnd(g, {5}, dt)}, a(2, 0)},
          {"empty", {rnd(g, {0, 3}, dt)}, a(2, 1)}};
}

std::vector<Sample> cosine_samples(DType dt) {
  Generator g = gen_for("cosine_similarity");
  auto a = [](int64_t dim, double eps = 1e-8) { return Args{{"dim", dim}, {"eps", eps}}; };
  Sample tiny{"x1 row norm below eps", {rnd(g, {2, 3}, dt) * tensor({{0.01}, {1.0}}, dt), rnd(g, {2, 3}, dt)},
              a(1, 0.1)};
  tiny.fd_gradcheck_skip = "PyTorch clamps the squared norm without autograd (Note [cosine_similarity's clamp]): "
                           "below eps its gradient is not the forward's derivative";
  return {{"dim 1", {rnd(g, {4, 5}, dt), rnd(g, {4, 5}, dt)}, a(1)},
          {"broadcast, dim -1", {rnd(g, {3, 1, 4}, dt), rnd(g, {1, 2, 4}, dt)}, a(-1)},
          {"dim 0", {rnd(g, {5, 3}, dt), rnd(g, {5, 3}, dt)}, a(0)},
          {"1-d against 2-d, dim 0 of the broadcast", {rnd(g, {3}, dt), rnd(g, {2, 3}, dt)}, a(0)},
          tiny,
          {"empty", {rnd(g, {0, 3}, dt), rnd(g, {0, 3}, dt)}, a(1)}};
}

std::vector<Sample> pairwise_samples(DType dt) {
  Generator g = gen_for("pairwise_distance");
  auto a = [](double p, double eps, bool keepdim) { return Args{{"p", p}, {"eps", eps}, {"keepdim", keepdim}}; };
  // x2 = x1 - d with |d| >= 0.2: the differences stay clear of the p-norms' kinks at 0.
  Tensor x1 = rnd(g, {3, 4}, dt), x1b = rnd(g, {2, 5}, dt);
  return {{"p 2", {rnd(g, {4, 5}, dt), rnd(g, {4, 5}, dt)}, a(2, 1e-6, false)},
          {"p 1, keepdim", {x1, x1 - away(g, {3, 4}, dt)}, a(1, 1e-6, true)},
          {"p 3, eps 0.1", {x1b, x1b - away(g, {2, 5}, dt)}, a(3, 0.1, false)},
          {"p inf", {distinct(g, {2, 4}, dt), zeros({2, 4}, dt)}, a(INFINITY, 1e-6, false)},
          {"broadcast [2, 3] and [3]", {rnd(g, {2, 3}, dt), rnd(g, {3}, dt)}, a(2, 1e-6, false)},
          {"1-d: a 0-d distance", {rnd(g, {4}, dt), rnd(g, {4}, dt)}, a(2, 1e-6, false)},
          {"empty", {rnd(g, {0, 3}, dt), rnd(g, {0, 3}, dt)}, a(2, 1e-6, false)}};
}

// embedding_bag: in[0] indices, in[1] weight, then offsets and per_sample_weights where the
// "offsets" and "psw" flags say so.
TensorList call_embedding_bag(const TensorList& in, const Args& a) {
  size_t next = 2;
  Tensor offsets = a.b("offsets") ? in[next++] : Tensor();
  nn::functional::EmbeddingBagFuncOptions o{.mode = a.s("mode"),
                                            .include_last_offset = a.b_or("include_last_offset", false)};
  if (a.b("psw")) o.per_sample_weights = in[next++];
  if (a.has("padding_idx")) o.padding_idx = a.i("padding_idx");
  return {nn::functional::embedding_bag(in[0], in[1], offsets, o)};
}

std::vector<Sample> embedding_bag_samples(DType dt) {
  Generator g = gen_for("embedding_bag");
  auto idx = [](std::vector<int64_t> v) { return tensor(TensorData(v)); };
  auto a = [](const char* mode, bool offsets, bool psw = false) {
    return Args{{"mode", S(mode)}, {"offsets", offsets}, {"psw", psw}};
  };
  const Tensor i8 = idx({1, 2, 4, 5, 4, 3, 2, 9}), offs = idx({0, 3, 3, 5});  // bag 1 is empty
  const Tensor rows = ints(g, {3, 4}, 0, 10);
  // max: distinct weights, so no two rows tie in any column.
  return {{"sum, offsets, an empty bag", {i8, rnd(g, {10, 3}, dt), offs}, a("sum", true)},
          {"mean, offsets", {i8, rnd(g, {10, 3}, dt), offs}, a("mean", true)},
          {"max, offsets", {i8, distinct(g, {10, 3}, dt), offs}, a("max", true)},
          {"2-d input, mean", {rows, rnd(g, {10, 4}, dt)}, a("mean", false)},
          {"2-d input, max", {rows, distinct(g, {10, 2}, dt)}, a("max", false)},
          {"sum, per_sample_weights", {i8, rnd(g, {10, 3}, dt), offs, rnd(g, {8}, dt)}, a("sum", true, true)},
          {"2-d sum, per_sample_weights", {rows, rnd(g, {10, 2}, dt), rnd(g, {3, 4}, dt)}, a("sum", false, true)},
          {"include_last_offset", {i8, rnd(g, {10, 3}, dt), idx({0, 2, 5, 8})},
           a("mean", true).with("include_last_offset", true)},
          {"padding_idx, mean", {i8, rnd(g, {10, 3}, dt), offs}, a("mean", true).with("padding_idx", int64_t{4})},
          {"padding_idx -1, max", {i8, distinct(g, {10, 3}, dt), offs},
           a("max", true).with("padding_idx", int64_t{-1})},
          {"i32 indices and offsets", {i8.to(kInt32), rnd(g, {10, 3}, dt), offs.to(kInt32)}, a("mean", true)},
          {"max, a row twice in a bag", {idx({3, 3, 1, 2}), distinct(g, {5, 2}, dt), idx({0, 2})}, a("max", true)},
          {"no indices: empty bags", {idx({}), rnd(g, {5, 3}, dt), idx({0, 0})}, a("max", true)}};
}

}  // namespace

void add_nn_layer_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"interpolate", "nn", true, call_interpolate, interpolate_samples});
  t.push_back(OpInfo{"pixel_shuffle", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{pixel_shuffle(in[0], a.i("factor"))};
                     },
                     [](DType dt) { return shuffle_samples("pixel_shuffle", true, dt); }});
  t.push_back(OpInfo{"pixel_unshuffle", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{pixel_unshuffle(in[0], a.i("factor"))};
                     },
                     [](DType dt) { return shuffle_samples("pixel_unshuffle", false, dt); }});
  t.push_back(OpInfo{"instance_norm", "nn", true, call_instance_norm, instance_norm_samples});
  t.push_back(OpInfo{"normalize", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{normalize(in[0], a.d("p"), a.i("dim"), a.d("eps"))};
                     },
                     normalize_samples});
  t.push_back(OpInfo{"cosine_similarity", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{cosine_similarity(in[0], in[1], a.i("dim"), a.d("eps"))};
                     },
                     cosine_samples});
  t.push_back(OpInfo{"pairwise_distance", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{pairwise_distance(in[0], in[1], a.d("p"), a.d("eps"), a.b("keepdim"))};
                     },
                     pairwise_samples});
  t.push_back(OpInfo{"embedding_bag", "nn", true, call_embedding_bag, embedding_bag_samples});
}

}  // namespace hpml::ops::table
