// Op table entries: views and the copies clone/contiguous/to.
#include <sstream>

#include "hpml/ops/views.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
using V = std::vector<int64_t>;

// One op over a few shapes: each sample is (input shape, args).
template <typename F>
OpInfo view_op(std::string name, F fn, std::vector<std::pair<V, Args>> cases) {
  return OpInfo{name, "view", true, [fn](const TensorList& in, const Args& a) { return fn(in[0], a); },
                [name, cases](DType dt) {
                  Generator g = gen_for(name);
                  std::vector<Sample> s;
                  for (const auto& [shape, args] : cases) {
                    std::ostringstream label;
                    label << IntArrayRef(shape) << ' ' << args.str();
                    s.push_back({label.str(), {rnd(g, shape, dt)}, args});
                  }
                  return s;
                }};
}
TensorList one(const Tensor& t) { return {t}; }
}  // namespace

void add_view_ops(std::vector<OpInfo>& t) {
  t.push_back(view_op("view", [](const Tensor& x, const Args& a) { return one(x.view(a.ints("shape"))); },
                      {{{2, 3, 4}, {{"shape", V{6, 4}}}}, {{2, 3, 4}, {{"shape", V{-1}}}}, {{6}, {{"shape", V{2, -1, 1}}}},
                       {{}, {{"shape", V{1}}}}, {{0, 3}, {{"shape", V{3, 0}}}}}));
  t.back().noncontiguous_variant = false;  // view needs compatible strides (reshape is tested non-contiguous)
  t.push_back(view_op("reshape", [](const Tensor& x, const Args& a) { return one(x.reshape(a.ints("shape"))); },
                      {{{2, 3, 4}, {{"shape", V{4, 6}}}}, {{2, 3}, {{"shape", V{-1}}}}, {{0, 3}, {{"shape", V{0, 1, 3}}}}}));
  t.push_back(view_op("flatten", [](const Tensor& x, const Args& a) { return one(x.flatten(a.i("start"), a.i("end"))); },
                      {{{2, 3, 4}, {{"start", int64_t{0}}, {"end", int64_t{-1}}}},
                       {{2, 3, 4, 5}, {{"start", int64_t{1}}, {"end", int64_t{2}}}},
                       {{}, {{"start", int64_t{0}}, {"end", int64_t{-1}}}}}));
  t.push_back(view_op("unflatten", [](const Tensor& x, const Args& a) { return one(x.unflatten(a.i("dim"), a.ints("sizes"))); },
                      {{{2, 12}, {{"dim", int64_t{1}}, {"sizes", V{3, 4}}}}, {{6, 2}, {{"dim", int64_t{0}}, {"sizes", V{-1, 2}}}}}));
  t.push_back(view_op("permute", [](const Tensor& x, const Args& a) { return one(x.permute(a.ints("dims"))); },
                      {{{2, 3, 4}, {{"dims", V{2, 0, 1}}}}, {{2, 3}, {{"dims", V{1, 0}}}}, {{0, 2}, {{"dims", V{1, 0}}}}}));
  t.push_back(view_op("transpose", [](const Tensor& x, const Args& a) { return one(x.transpose(a.i("d0"), a.i("d1"))); },
                      {{{2, 3, 4}, {{"d0", int64_t{0}}, {"d1", int64_t{2}}}}, {{3, 4}, {{"d0", int64_t{-1}}, {"d1", int64_t{0}}}}}));
  t.push_back(view_op("movedim", [](const Tensor& x, const Args& a) { return one(x.movedim(a.i("src"), a.i("dst"))); },
                      {{{2, 3, 4}, {{"src", int64_t{1}}, {"dst", int64_t{-1}}}}, {{2, 3, 4}, {{"src", int64_t{2}}, {"dst", int64_t{0}}}}}));
  t.push_back(view_op("t", [](const Tensor& x, const Args&) { return one(x.t()); }, {{{3, 4}, {}}, {{5}, {}}, {{}, {}}}));
  t.push_back(view_op("narrow", [](const Tensor& x, const Args& a) { return one(x.narrow(a.i("dim"), a.i("start"), a.i("length"))); },
                      {{{5, 4}, {{"dim", int64_t{0}}, {"start", int64_t{1}}, {"length", int64_t{3}}}},
                       {{3, 6}, {{"dim", int64_t{1}}, {"start", int64_t{-4}}, {"length", int64_t{2}}}},
                       {{3, 4}, {{"dim", int64_t{1}}, {"start", int64_t{2}}, {"length", int64_t{0}}}}}));
  t.push_back(view_op("slice", [](const Tensor& x, const Args& a) {
                        return one(x.slice(a.i("dim"), a.i("start"), a.i("end"), a.i("step")));
                      },
                      {{{7, 3}, {{"dim", int64_t{0}}, {"start", int64_t{1}}, {"end", int64_t{6}}, {"step", int64_t{2}}}},
                       {{3, 8}, {{"dim", int64_t{1}}, {"start", int64_t{-5}}, {"end", int64_t{100}}, {"step", int64_t{3}}}},
                       {{3, 4}, {{"dim", int64_t{0}}, {"start", int64_t{2}}, {"end", int64_t{1}}, {"step", int64_t{1}}}}}));
  // as_strided reads the input's storage, so its samples are contiguous (its backward needs it).
  t.push_back(view_op("as_strided", [](const Tensor& x, const Args& a) {
                        return one(as_strided(x, a.ints("sizes"), a.ints("strides"), a.i("offset")));
                      },
                      {{{4, 5}, {{"sizes", V{3, 3}}, {"strides", V{5, 1}}, {"offset", int64_t{1}}}},
                       {{12}, {{"sizes", V{4, 3}}, {"strides", V{2, 1}}, {"offset", int64_t{0}}}},  // overlapping
                       {{3, 4}, {{"sizes", V{2, 2}}, {"strides", V{0, 4}}, {"offset", int64_t{3}}}},  // stride 0
                       {{3, 4}, {{"sizes", V{0, 2}}, {"strides", V{1, 1}}, {"offset", int64_t{0}}}}}));
  t.back().noncontiguous_variant = false;
  t.push_back(view_op("select", [](const Tensor& x, const Args& a) { return one(x.select(a.i("dim"), a.i("index"))); },
                      {{{3, 4}, {{"dim", int64_t{0}}, {"index", int64_t{1}}}}, {{2, 3, 4}, {{"dim", int64_t{2}}, {"index", int64_t{-1}}}},
                       {{4}, {{"dim", int64_t{0}}, {"index", int64_t{2}}}}}));
  t.push_back(view_op("expand", [](const Tensor& x, const Args& a) { return one(x.expand(a.ints("sizes"))); },
                      {{{3, 1}, {{"sizes", V{3, 4}}}}, {{4}, {{"sizes", V{2, 3, 4}}}}, {{1, 1}, {{"sizes", V{-1, 0}}}},
                       {{}, {{"sizes", V{2, 2}}}}}));
  t.push_back(view_op("squeeze", [](const Tensor& x, const Args&) { return one(x.squeeze()); }, {{{3, 1, 4, 1}, {}}, {{1}, {}}}));
  t.push_back(view_op("squeeze_dim", [](const Tensor& x, const Args& a) { return one(x.squeeze(a.i("dim"))); },
                      {{{3, 1, 4}, {{"dim", int64_t{1}}}}, {{3, 4}, {{"dim", int64_t{0}}}}, {{1}, {{"dim", int64_t{-1}}}}}));
  t.push_back(view_op("unsqueeze", [](const Tensor& x, const Args& a) { return one(x.unsqueeze(a.i("dim"))); },
                      {{{3, 4}, {{"dim", int64_t{1}}}}, {{3, 4}, {{"dim", int64_t{-1}}}}, {{}, {{"dim", int64_t{0}}}}}));
  t.push_back(view_op("chunk", [](const Tensor& x, const Args& a) { return x.chunk(a.i("chunks"), a.i("dim")); },
                      {{{7, 2}, {{"chunks", int64_t{3}}, {"dim", int64_t{0}}}}, {{2, 6}, {{"chunks", int64_t{2}}, {"dim", int64_t{1}}}}}));
  t.push_back(view_op("split", [](const Tensor& x, const Args& a) { return x.split(a.i("size"), a.i("dim")); },
                      {{{7, 2}, {{"size", int64_t{3}}, {"dim", int64_t{0}}}}, {{2, 6}, {{"size", int64_t{6}}, {"dim", int64_t{-1}}}}}));
  t.push_back(view_op("split_sizes", [](const Tensor& x, const Args& a) { return x.split(a.ints("sizes"), a.i("dim")); },
                      {{{6, 2}, {{"sizes", V{1, 0, 5}}, {"dim", int64_t{0}}}}, {{2, 5}, {{"sizes", V{2, 3}}, {"dim", int64_t{1}}}}}));
  t.push_back(view_op("unbind", [](const Tensor& x, const Args& a) { return x.unbind(a.i("dim")); },
                      {{{3, 4}, {{"dim", int64_t{0}}}}, {{2, 3}, {{"dim", int64_t{1}}}}}));
  t.push_back(view_op("clone", [](const Tensor& x, const Args&) { return one(x.clone()); }, {{{3, 4}, {}}, {{}, {}}, {{0}, {}}}));
  t.push_back(view_op("contiguous", [](const Tensor& x, const Args&) { return one(x.contiguous()); }, {{{3, 4}, {}}, {{2, 0}, {}}}));
  t.push_back(view_op("to", [](const Tensor& x, const Args& a) { return one(x.to(a.b("f64") ? kFloat64 : kFloat32)); },
                      {{{3, 4}, {{"f64", true}}}}));
}

}  // namespace hpml::ops::table
