// Op table entries: transposed convolutions, conv3d, 1-d pooling, adaptive max pooling, unfold
// and fold. Samples cover strides, padding, output_padding, dilation, groups, odd sizes,
// unbatched inputs and empty batches (where PyTorch allows them).
#include "hpml/ops/conv.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
using V = std::vector<int64_t>;
Dims dims(const V& v) {
  if (v.size() == 1) return Dims(v[0]);
  return v.size() == 2 ? Dims{v[0], v[1]} : Dims{v[0], v[1], v[2]};
}
Tensor opt(const TensorList& in, size_t i) { return in.size() > i ? in[i] : Tensor(); }

// conv_transpose1d/2d: stride, padding, output_padding, dilation (lists), groups.
Args tr_args(V stride, V padding, V output_padding, V dilation, int64_t groups) {
  return {{"stride", stride}, {"padding", padding}, {"output_padding", output_padding}, {"dilation", dilation},
          {"groups", groups}};
}
ConvTransposeOptions tr_options(const Args& a) {
  return {.stride = dims(a.ints("stride")), .padding = dims(a.ints("padding")),
          .output_padding = dims(a.ints("output_padding")), .groups = a.i("groups"),
          .dilation = dims(a.ints("dilation"))};
}

std::vector<Sample> conv_transpose2d_samples(DType dt) {
  Generator g = gen_for("conv_transpose2d");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  return {{"3x3 s2 p1 output_padding 1", {r({2, 4, 3, 3}), r({4, 3, 3, 3}), r({3})}, tr_args({2}, {1}, {1}, {1}, 1)},
          {"stride (2, 1), padding (0, 1), no bias", {r({1, 2, 4, 3}), r({2, 3, 2, 3})},
           tr_args({2, 1}, {0, 1}, {1, 0}, {1}, 1)},
          {"groups 2, dilation 2", {r({2, 4, 3, 4}), r({4, 2, 3, 2}), r({4})}, tr_args({1}, {1}, {0}, {2}, 2)},
          // output_padding < dilation with stride 1, and an output as wide as the input: the
          // conv kernels' shifted-plane path.
          {"dilation 3, output_padding 2, padding 4", {r({1, 2, 5, 6}), r({2, 2, 3, 3}), r({2})},
           tr_args({1}, {4}, {2}, {3}, 1)},
          {"odd sizes, stride 3, padding 2", {r({1, 3, 5, 4}), r({3, 2, 4, 3}), r({2})},
           tr_args({3}, {2}, {2, 1}, {1}, 1)},
          {"1x1", {r({2, 3, 3, 3}), r({3, 4, 1, 1}), r({4})}, tr_args({1}, {0}, {0}, {1}, 1)},
          // 16 channels each way, 3x3, padding 1: f32 takes the Winograd kernels.
          {"16 -> 16 channels 3x3 p1", {r({1, 16, 3, 3}), r({16, 16, 3, 3})}, tr_args({1}, {1}, {0}, {1}, 1)},
          {"unbatched", {r({2, 3, 3}), r({2, 2, 3, 3})}, tr_args({2}, {0}, {0}, {1}, 1)},
          {"empty batch", {r({0, 2, 3, 3}), r({2, 3, 3, 3}), r({3})}, tr_args({2}, {1}, {0}, {1}, 1)}};
}

std::vector<Sample> conv_transpose1d_samples(DType dt) {
  Generator g = gen_for("conv_transpose1d");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  return {{"k3 s2 p1 output_padding 1", {r({2, 3, 5}), r({3, 2, 3}), r({2})}, tr_args({2}, {1}, {1}, {1}, 1)},
          {"groups 2, dilation 2, output_padding 1", {r({1, 4, 6}), r({4, 1, 2})}, tr_args({1}, {0}, {1}, {2}, 2)},
          {"stride 3, odd length", {r({2, 2, 7}), r({2, 3, 4}), r({3})}, tr_args({3}, {2}, {0}, {1}, 1)},
          {"unbatched", {r({2, 4}), r({2, 3, 3})}, tr_args({1}, {1}, {0}, {1}, 1)},
          {"empty batch", {r({0, 2, 4}), r({2, 3, 3}), r({3})}, tr_args({2}, {0}, {1}, {1}, 1)}};
}

Args conv_args(V stride, V padding, V dilation, int64_t groups) {
  return {{"stride", stride}, {"padding", padding}, {"dilation", dilation}, {"groups", groups}};
}
ConvOptions conv_options(const Args& a) {
  ConvOptions o{.stride = dims(a.ints("stride")), .padding = 0, .dilation = dims(a.ints("dilation")),
                .groups = a.i("groups")};
  if (a.has("padding_mode")) {
    o.padding = Padding(a.s("padding_mode"));
  } else {
    const V p = a.ints("padding");
    o.padding = p.size() == 1 ? Padding(p[0]) : Padding({p[0], p[1], p[2]});
  }
  return o;
}

std::vector<Sample> conv3d_samples(DType dt) {
  Generator g = gen_for("conv3d");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  return {{"3x3x3 pad 1 bias", {r({2, 2, 4, 4, 4}), r({3, 2, 3, 3, 3}), r({3})}, conv_args({1}, {1}, {1}, 1)},
          {"stride (2, 1, 2), padding (1, 0, 1), no bias", {r({1, 2, 5, 4, 5}), r({2, 2, 2, 3, 2})},
           conv_args({2, 1, 2}, {1, 0, 1}, {1}, 1)},
          {"groups 2, dilation (2, 1, 2)", {r({1, 4, 5, 4, 5}), r({4, 2, 2, 2, 2}), r({4})},
           conv_args({1}, {0}, {2, 1, 2}, 2)},
          {"same, even kernel", {r({1, 2, 4, 3, 4}), r({2, 2, 2, 2, 3}), r({2})},
           conv_args({1}, {0}, {1}, 1).with("padding_mode", std::string("same"))},
          {"unbatched", {r({2, 3, 3, 3}), r({2, 2, 2, 2, 2})}, conv_args({1}, {0}, {1}, 1)},
          {"empty batch", {r({0, 2, 3, 3, 3}), r({2, 2, 3, 3, 3}), r({2})}, conv_args({1}, {1}, {1}, 1)}};
}

// Pooling: kernel, stride, padding, dilation (max), ceil_mode, count_include_pad (avg), one value each.
PoolOptions pool_options(const Args& a) {
  PoolOptions o{.kernel_size = a.ints("kernel")[0]};
  if (a.has("stride")) o.stride = Dims(a.ints("stride")[0]);
  o.padding = a.ints("padding")[0];
  if (a.has("dilation")) o.dilation = a.ints("dilation")[0];
  o.ceil_mode = a.b_or("ceil_mode", false);
  o.count_include_pad = a.b_or("count_include_pad", true);
  return o;
}

std::vector<Sample> max_pool1d_samples(DType dt) {
  Generator g = gen_for("max_pool1d");
  auto d = [&](IntArrayRef s) { return distinct(g, s, dt); };
  return {{"k2", {d({2, 3, 8})}, {{"kernel", V{2}}, {"padding", V{0}}}},
          {"k3 s2 p1", {d({1, 2, 9})}, {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}}},
          {"ceil_mode, dilation 2", {d({1, 2, 10})},
           {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}, {"dilation", V{2}}, {"ceil_mode", true}}},
          {"ceil, input < kernel", {d({1, 1, 2})},
           {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{0}}, {"ceil_mode", true}}},
          {"unbatched, stride 1", {d({3, 7})}, {{"kernel", V{3}}, {"stride", V{1}}, {"padding", V{0}}}},
          {"empty batch", {d({0, 2, 6})}, {{"kernel", V{2}}, {"padding", V{0}}}}};
}

std::vector<Sample> avg_pool1d_samples(DType dt) {
  Generator g = gen_for("avg_pool1d");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  return {{"k2", {r({2, 3, 8})}, {{"kernel", V{2}}, {"padding", V{0}}}},
          {"k3 s2 p1", {r({1, 2, 9})}, {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}}},
          {"exclude pad, ceil", {r({1, 2, 8})},
           {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}, {"ceil_mode", true}, {"count_include_pad", false}}},
          {"ceil, partial last", {r({1, 2, 7})},
           {{"kernel", V{2}}, {"stride", V{2}}, {"padding", V{0}}, {"ceil_mode", true}}},
          {"unbatched", {r({3, 6})}, {{"kernel", V{3}}, {"stride", V{1}}, {"padding", V{1}}}},
          {"empty batch", {r({0, 2, 6})}, {{"kernel", V{2}}, {"padding", V{0}}}}};
}

// unfold / fold: kernel, dilation, padding, stride (one or two values each).
Args fold_args(V kernel, V dilation, V padding, V stride) {
  return {{"kernel", kernel}, {"dilation", dilation}, {"padding", padding}, {"stride", stride}};
}
FoldOptions fold_options(const Args& a) {
  return {.dilation = dims(a.ints("dilation")), .padding = dims(a.ints("padding")), .stride = dims(a.ints("stride"))};
}

std::vector<Sample> unfold_samples(DType dt) {
  Generator g = gen_for("unfold");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  return {{"k3", {r({2, 3, 5, 5})}, fold_args({3}, {1}, {0}, {1})},
          {"k (2, 3), dilation (1, 2), padding (1, 0), stride (2, 1)", {r({1, 2, 6, 7})},
           fold_args({2, 3}, {1, 2}, {1, 0}, {2, 1})},
          {"overlapping, padding 1", {r({1, 2, 4, 3})}, fold_args({3}, {1}, {1}, {1})},
          {"unbatched, stride 2", {r({2, 4, 5})}, fold_args({2}, {1}, {0}, {2})},
          {"empty batch", {r({0, 2, 4, 4})}, fold_args({2}, {1}, {0}, {1})}};
}

std::vector<Sample> fold_samples(DType dt) {
  Generator g = gen_for("fold");
  auto r = [&](IntArrayRef s) { return rnd(g, s, dt); };
  return {{"k2 into 4x5", {r({2, 12, 12})}, fold_args({2}, {1}, {0}, {1}).with("output", V{4, 5})},
          {"overlapping k3 padding 1", {r({1, 18, 25})}, fold_args({3}, {1}, {1}, {1}).with("output", V{5, 5})},
          {"stride 2, dilation (1, 2), padding (0, 1)", {r({1, 8, 12})},
           fold_args({2}, {1, 2}, {0, 1}, {2}).with("output", V{6, 7})},
          {"uncovered last row and column", {r({1, 4, 6})}, fold_args({2}, {1}, {0}, {2}).with("output", V{5, 7})},
          {"unbatched", {r({12, 12})}, fold_args({2}, {1}, {0}, {1}).with("output", V{4, 5})},
          {"empty batch", {r({0, 8, 9})}, fold_args({2}, {1}, {0}, {1}).with("output", V{4, 4})}};
}

}  // namespace

void add_nn_conv_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"conv_transpose2d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{conv_transpose2d(in[0], in[1], opt(in, 2), tr_options(a))};
                     },
                     conv_transpose2d_samples});
  t.push_back(OpInfo{"conv_transpose1d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{conv_transpose1d(in[0], in[1], opt(in, 2), tr_options(a))};
                     },
                     conv_transpose1d_samples});
  t.push_back(OpInfo{"conv3d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{conv3d(in[0], in[1], opt(in, 2), conv_options(a))};
                     },
                     conv3d_samples});
  t.push_back(OpInfo{"max_pool1d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       auto [v, i] = max_pool1d_with_indices(in[0], pool_options(a));
                       return TensorList{v, i};
                     },
                     max_pool1d_samples});
  t.push_back(OpInfo{"avg_pool1d", "nn", true,
                     [](const TensorList& in, const Args& a) { return TensorList{avg_pool1d(in[0], pool_options(a))}; },
                     avg_pool1d_samples});
  t.push_back(OpInfo{"adaptive_avg_pool1d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{adaptive_avg_pool1d(in[0], a.i("size"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("adaptive_avg_pool1d");
                       return std::vector<Sample>{
                           {"7 -> 3", {rnd(g, {2, 3, 7}, dt)}, {{"size", int64_t{3}}}},
                           {"to 1", {rnd(g, {1, 2, 6}, dt)}, {{"size", int64_t{1}}}},
                           {"unbatched upsample 5 -> 8", {rnd(g, {2, 5}, dt)}, {{"size", int64_t{8}}}}};
                     }});
  t.push_back(OpInfo{"adaptive_max_pool2d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       auto [v, i] = adaptive_max_pool2d_with_indices(in[0], dims(a.ints("size")));
                       return TensorList{v, i};
                     },
                     [](DType dt) {
                       Generator g = gen_for("adaptive_max_pool2d");
                       return std::vector<Sample>{
                           {"to 1x1", {distinct(g, {2, 3, 5, 4}, dt)}, {{"size", V{1}}}},
                           {"uneven 3x2", {distinct(g, {1, 2, 7, 5}, dt)}, {{"size", V{3, 2}}}},
                           {"overlapping windows 6 -> 4", {distinct(g, {1, 1, 6, 6}, dt)}, {{"size", V{4, 3}}}},
                           {"unbatched upsample", {distinct(g, {2, 2, 3}, dt)}, {{"size", V{4, 4}}}},
                           {"empty batch", {distinct(g, {0, 2, 4, 4}, dt)}, {{"size", V{2}}}}};
                     }});
  t.push_back(OpInfo{"unfold", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{unfold(in[0], dims(a.ints("kernel")), fold_options(a))};
                     },
                     unfold_samples});
  t.push_back(OpInfo{"fold", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{fold(in[0], dims(a.ints("output")), dims(a.ints("kernel")), fold_options(a))};
                     },
                     fold_samples});
}

}  // namespace hpml::ops::table
