// Op table entries: convolution and pooling.
#include "hpml/ops/conv.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
using V = std::vector<int64_t>;
Dims dims(const std::vector<int64_t>& v) { return v.size() == 1 ? Dims(v[0]) : Dims{v[0], v[1]}; }

ConvOptions conv_options(const Args& a) {
  ConvOptions o;
  o.stride = dims(a.ints("stride"));
  o.dilation = dims(a.ints("dilation"));
  o.groups = a.i("groups");
  o.padding = a.has("padding_mode") ? Padding(a.s("padding_mode")) : Padding(0);
  if (!a.has("padding_mode")) {
    V p = a.ints("padding");
    o.padding = p.size() == 1 ? Padding(p[0]) : Padding({p[0], p[1]});
  }
  return o;
}

PoolOptions pool_options(const Args& a) {
  PoolOptions o{.kernel_size = dims(a.ints("kernel"))};
  if (a.has("stride")) o.stride = dims(a.ints("stride"));
  o.padding = dims(a.ints("padding"));
  if (a.has("dilation")) o.dilation = dims(a.ints("dilation"));
  o.ceil_mode = a.b_or("ceil_mode", false);
  o.count_include_pad = a.b_or("count_include_pad", true);
  return o;
}

Args conv_args(V stride, V padding, V dilation, int64_t groups) {
  return {{"stride", stride}, {"padding", padding}, {"dilation", dilation}, {"groups", groups}};
}
}  // namespace

void add_conv_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"conv2d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), conv_options(a))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("conv2d");
                       return std::vector<Sample>{
                           {"3x3 pad 1 bias", {rnd(g, {2, 2, 5, 5}, dt), rnd(g, {3, 2, 3, 3}, dt), rnd(g, {3}, dt)},
                            conv_args({1}, {1}, {1}, 1)},
                           {"stride 2, no bias", {rnd(g, {1, 3, 6, 7}, dt), rnd(g, {2, 3, 3, 2}, dt)}, conv_args({2, 1}, {0, 1}, {1}, 1)},
                           {"dilation 2", {rnd(g, {1, 2, 7, 7}, dt), rnd(g, {2, 2, 3, 3}, dt), rnd(g, {2}, dt)},
                            conv_args({1}, {2}, {2}, 1)},
                           {"groups 2", {rnd(g, {2, 4, 4, 4}, dt), rnd(g, {4, 2, 3, 3}, dt), rnd(g, {4}, dt)}, conv_args({1}, {1}, {1}, 2)},
                           {"1x1", {rnd(g, {2, 3, 3, 3}, dt), rnd(g, {4, 3, 1, 1}, dt), rnd(g, {4}, dt)}, conv_args({1}, {0}, {1}, 1)},
                           {"same, even kernel", {rnd(g, {1, 2, 5, 4}, dt), rnd(g, {2, 2, 2, 3}, dt), rnd(g, {2}, dt)},
                            Args{{"stride", V{1}}, {"padding_mode", std::string("same")}, {"dilation", V{1}}, {"groups", int64_t{1}}}},
                           {"unbatched", {rnd(g, {2, 4, 4}, dt), rnd(g, {3, 2, 3, 3}, dt)}, conv_args({1}, {1}, {1}, 1)}};
                     }});
  t.push_back(OpInfo{"conv1d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       ConvOptions o{.stride = a.ints("stride")[0], .padding = Padding(a.ints("padding")[0]),
                                     .dilation = a.ints("dilation")[0], .groups = a.i("groups")};
                       return TensorList{conv1d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o)};
                     },
                     [](DType dt) {
                       Generator g = gen_for("conv1d");
                       return std::vector<Sample>{
                           {"k3 pad 1", {rnd(g, {2, 3, 8}, dt), rnd(g, {4, 3, 3}, dt), rnd(g, {4}, dt)}, conv_args({1}, {1}, {1}, 1)},
                           {"stride 2 dilation 2", {rnd(g, {1, 2, 9}, dt), rnd(g, {2, 2, 2}, dt)}, conv_args({2}, {0}, {2}, 1)}};
                     }});
  t.push_back(OpInfo{"max_pool2d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       auto [v, i] = max_pool2d_with_indices(in[0], pool_options(a));
                       return TensorList{v, i};
                     },
                     [](DType dt) {
                       Generator g = gen_for("max_pool2d");
                       return std::vector<Sample>{
                           {"2x2", {distinct(g, {2, 2, 4, 6}, dt)}, {{"kernel", V{2}}, {"padding", V{0}}}},
                           {"3x3 s2 p1", {distinct(g, {1, 2, 7, 7}, dt)}, {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}}},
                           {"ceil_mode, dilation", {distinct(g, {1, 1, 7, 8}, dt)},
                            {{"kernel", V{2, 3}}, {"stride", V{2}}, {"padding", V{1}}, {"dilation", V{1, 2}}, {"ceil_mode", true}}},
                           {"unbatched", {distinct(g, {2, 4, 4}, dt)}, {{"kernel", V{2}}, {"padding", V{0}}}},
                           // ceil_mode edges: input smaller than the kernel, last window partial.
                           {"ceil, input < kernel", {distinct(g, {1, 1, 2, 2}, dt)},
                            {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{0}}, {"ceil_mode", true}}},
                           {"ceil, input < kernel, p1", {distinct(g, {1, 1, 2, 2}, dt)},
                            {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}, {"ceil_mode", true}}},
                           {"ceil, partial last", {distinct(g, {1, 2, 5, 6}, dt)},
                            {{"kernel", V{2}}, {"stride", V{2}}, {"padding", V{0}}, {"ceil_mode", true}}}};
                     }});
  t.push_back(OpInfo{"avg_pool2d", "nn", true,
                     [](const TensorList& in, const Args& a) { return TensorList{avg_pool2d(in[0], pool_options(a))}; },
                     [](DType dt) {
                       Generator g = gen_for("avg_pool2d");
                       return std::vector<Sample>{
                           {"2x2", {rnd(g, {2, 2, 4, 6}, dt)}, {{"kernel", V{2}}, {"padding", V{0}}}},
                           {"3x3 s2 p1", {rnd(g, {1, 2, 7, 7}, dt)}, {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}}},
                           {"exclude pad, ceil", {rnd(g, {1, 1, 7, 8}, dt)},
                            {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}, {"ceil_mode", true}, {"count_include_pad", false}}},
                           // ceil_mode edges: input smaller than the kernel, last window partial.
                           {"ceil, input < kernel", {rnd(g, {1, 1, 2, 2}, dt)},
                            {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{0}}, {"ceil_mode", true}}},
                           {"ceil, input < kernel, p1", {rnd(g, {1, 1, 2, 2}, dt)},
                            {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}, {"ceil_mode", true}}},
                           {"ceil, input < kernel, p1, exclude pad", {rnd(g, {1, 1, 2, 2}, dt)},
                            {{"kernel", V{3}}, {"stride", V{2}}, {"padding", V{1}}, {"ceil_mode", true}, {"count_include_pad", false}}},
                           {"ceil, partial last", {rnd(g, {1, 2, 5, 6}, dt)},
                            {{"kernel", V{2}}, {"stride", V{2}}, {"padding", V{0}}, {"ceil_mode", true}}}};
                     }});
  t.push_back(OpInfo{"adaptive_avg_pool2d", "nn", true,
                     [](const TensorList& in, const Args& a) {
                       V s = a.ints("size");
                       return TensorList{adaptive_avg_pool2d(in[0], s.size() == 1 ? Dims(s[0]) : Dims{s[0], s[1]})};
                     },
                     [](DType dt) {
                       Generator g = gen_for("adaptive_avg_pool2d");
                       return std::vector<Sample>{{"to 1x1", {rnd(g, {2, 3, 5, 4}, dt)}, {{"size", V{1}}}},
                                                  {"uneven 3x2", {rnd(g, {1, 2, 7, 5}, dt)}, {{"size", V{3, 2}}}},
                                                  {"unbatched upsample", {rnd(g, {2, 2, 3}, dt)}, {{"size", V{4, 4}}}}};
                     }});
}

}  // namespace hpml::ops::table
