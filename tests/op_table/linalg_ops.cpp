// Op table entries: matrix products.
#include <sstream>

#include "hpml/ops/linalg.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
template <typename F>
OpInfo two(std::string name, F fn, std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes) {
  return OpInfo{name, "linalg", true, [fn](const TensorList& in, const Args&) { return TensorList{fn(in[0], in[1])}; },
                [name, shapes](DType dt) {
                  Generator g = gen_for(name);
                  std::vector<Sample> s;
                  for (const auto& [a, b] : shapes) {
                    std::ostringstream label;
                    label << IntArrayRef(a) << " @ " << IntArrayRef(b);
                    s.push_back({label.str(), {rnd(g, a, dt), rnd(g, b, dt)}, {}});
                  }
                  return s;
                }};
}
}  // namespace

void add_linalg_ops(std::vector<OpInfo>& t) {
  t.push_back(two("mm", [](const Tensor& a, const Tensor& b) { return mm(a, b); },
                  {{{3, 4}, {4, 5}}, {{1, 3}, {3, 1}}, {{2, 0}, {0, 3}}, {{0, 3}, {3, 2}}}));
  t.push_back(two("bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); },
                  {{{2, 3, 4}, {2, 4, 5}}, {{1, 2, 2}, {1, 2, 3}}, {{3, 0, 2}, {3, 2, 2}}}));
  t.push_back(two("matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); },
                  {{{4}, {4}},
                   {{3, 4}, {4}},
                   {{4}, {4, 5}},
                   {{3, 4}, {4, 5}},
                   {{2, 3, 4}, {4, 5}},
                   {{2, 3, 4}, {4}},
                   {{4}, {2, 4, 5}},
                   {{3, 4}, {2, 4, 5}},
                   {{2, 1, 3, 4}, {3, 4, 2}},
                   {{0, 3, 4}, {4, 2}}}));
  t.push_back(two("outer", [](const Tensor& a, const Tensor& b) { return outer(a, b); }, {{{3}, {4}}, {{1}, {2}}, {{0}, {2}}}));
  t.push_back(two("dot", [](const Tensor& a, const Tensor& b) { return dot(a, b); }, {{{5}, {5}}, {{0}, {0}}}));
  t.push_back(OpInfo{"addmm", "linalg", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{addmm(in[0], in[1], in[2], a.d("beta"), a.d("alpha"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("addmm");
                       return std::vector<Sample>{
                           {"bias row", {rnd(g, {5}, dt), rnd(g, {3, 4}, dt), rnd(g, {4, 5}, dt)}, {{"beta", 1.0}, {"alpha", 1.0}}},
                           {"full bias, beta alpha", {rnd(g, {3, 5}, dt), rnd(g, {3, 4}, dt), rnd(g, {4, 5}, dt)},
                            {{"beta", 0.5}, {"alpha", -2.0}}},
                           {"column bias", {rnd(g, {3, 1}, dt), rnd(g, {3, 2}, dt), rnd(g, {2, 2}, dt)}, {{"beta", 1.0}, {"alpha", 1.0}}}};
                     }});
}

}  // namespace hpml::ops::table
