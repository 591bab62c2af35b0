// Op table entries: elementwise functions of two tensors, comparisons, where and masked_fill.
#include "hpml/ops/binary.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {

enum class Rhs { any, away_from_zero };
enum class Lhs { any, positive };

// Shapes every binary op is tried on: equal, broadcast both ways, 0-d, expanded, empty, and an
// integer second operand (type promotion).
std::vector<Sample> pairs(const std::string& name, DType dt, Lhs l = Lhs::any, Rhs r = Rhs::any, Args args = {}) {
  Generator g = gen_for(name);
  auto a = [&](IntArrayRef s) { return l == Lhs::positive ? rnd(g, s, dt, 0.5, 2) : rnd(g, s, dt, -2, 2); };
  auto b = [&](IntArrayRef s) { return r == Rhs::away_from_zero ? away(g, s, dt, 0.5, 2) : rnd(g, s, dt, -2, 2); };
  Tensor bi = randint(1, 4, {4}, &g);
  return {{"same shape", {a({3, 4}), b({3, 4})}, args},
          {"broadcast rhs", {a({3, 4}), b({4})}, args},
          {"broadcast both", {a({2, 1, 3}), b({4, 1})}, args},
          {"0-d rhs", {a({3, 4}), b({})}, args},
          {"expanded lhs", {a({1, 4}), b({3, 4})}, args, {{3, 4}}},
          {"empty", {a({0, 4}), b({4})}, args},
          {"integer rhs", {a({3, 4}), bi}, args}};
}

template <typename F>
OpInfo entry(std::string name, std::string family, bool diff, F fn, Lhs l = Lhs::any, Rhs r = Rhs::any) {
  return OpInfo{name, family, diff, [fn](const TensorList& in, const Args&) { return TensorList{fn(in[0], in[1])}; },
                [name, l, r](DType dt) { return pairs(name, dt, l, r); }};
}

// Pairs with some exactly equal elements (comparisons must get ties right).
std::vector<Sample> with_ties(const std::string& name, DType dt) {
  Generator g = gen_for(name);
  Tensor a = rnd(g, {3, 4}, dt), c = rnd(g, {3, 4}, dt);
  Tensor b = where(mask(g, {3, 4}), a, c);
  return {{"ties", {a, b}, {}}, {"broadcast", {a, rnd(g, {4}, dt)}, {}}, {"0-d", {a, b.select(0, 0).select(0, 1)}, {}},
          {"integer rhs", {a, randint(-1, 2, {4}, &g)}, {}}, {"empty", {rnd(g, {0, 2}, dt), rnd(g, {2}, dt)}, {}}};
}

// maximum/minimum: no ties (the gradient is split at ties and not differentiable there).
std::vector<Sample> distinct_pairs(const std::string& name, DType dt) {
  Generator g = gen_for(name);
  Tensor v = distinct(g, {2, 12}, dt);
  return {{"same shape", {v.select(0, 0).reshape({3, 4}), v.select(0, 1).reshape({3, 4})}, {}},
          {"broadcast", {v.select(0, 0).reshape({3, 4}), v.select(0, 1).narrow(0, 0, 4)}, {}}};
}

}  // namespace

void add_binary_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"add", "binary", true,
                     [](const TensorList& in, const Args& a) { return TensorList{add(in[0], in[1], a.d_or("alpha", 1))}; },
                     [](DType dt) {
                       auto s = pairs("add", dt);
                       Generator g(11);
                       s.push_back({"alpha 2.5", {rnd(g, {3, 4}, dt), rnd(g, {4}, dt)}, {{"alpha", 2.5}}});
                       return s;
                     }});
  t.push_back(OpInfo{"sub", "binary", true,
                     [](const TensorList& in, const Args& a) { return TensorList{sub(in[0], in[1], a.d_or("alpha", 1))}; },
                     [](DType dt) {
                       auto s = pairs("sub", dt);
                       Generator g(12);
                       s.push_back({"alpha -0.5", {rnd(g, {3, 4}, dt), rnd(g, {4}, dt)}, {{"alpha", -0.5}}});
                       return s;
                     }});
  t.push_back(entry("mul", "binary", true, [](const Tensor& a, const Tensor& b) { return mul(a, b); }));
  t.push_back(OpInfo{"div", "binary", true,
                     [](const TensorList& in, const Args& a) {
                       if (a.has("rounding_mode")) return TensorList{div(in[0], in[1], a.s("rounding_mode"))};
                       return TensorList{div(in[0], in[1])};
                     },
                     [](DType dt) { return pairs("div", dt, Lhs::any, Rhs::away_from_zero); }});
  t.push_back(OpInfo{"div_rounding", "binary", false,
                     [](const TensorList& in, const Args& a) { return TensorList{div(in[0], in[1], a.s("rounding_mode"))}; },
                     [](DType dt) {
                       auto s = pairs("div_trunc", dt, Lhs::any, Rhs::away_from_zero, {{"rounding_mode", std::string("trunc")}});
                       auto f = pairs("div_floor", dt, Lhs::any, Rhs::away_from_zero, {{"rounding_mode", std::string("floor")}});
                       s.insert(s.end(), f.begin(), f.end());
                       Generator g(13);
                       s.push_back({"integers floor", {randint(-9, 9, {6}, &g), randint(1, 4, {6}, &g)},
                                    {{"rounding_mode", std::string("floor")}}});
                       s.push_back({"integers trunc", {randint(-9, 9, {6}, &g), randint(-4, -1, {6}, &g)},
                                    {{"rounding_mode", std::string("trunc")}}});
                       return s;
                     }});
  t.push_back(entry("pow", "binary", true, [](const Tensor& a, const Tensor& b) { return pow(a, b); }, Lhs::positive));
  t.push_back(OpInfo{"maximum", "binary", true,
                     [](const TensorList& in, const Args&) { return TensorList{maximum(in[0], in[1])}; },
                     [](DType dt) { return distinct_pairs("maximum", dt); }});
  t.push_back(OpInfo{"minimum", "binary", true,
                     [](const TensorList& in, const Args&) { return TensorList{minimum(in[0], in[1])}; },
                     [](DType dt) { return distinct_pairs("minimum", dt); }});

  using Cmp = Tensor (*)(const Tensor&, const Tensor&);
  const std::pair<const char*, Cmp> cmps[] = {{"eq", eq}, {"ne", ne}, {"lt", lt}, {"le", le},
                                               {"gt", gt}, {"ge", ge}, {"logical_and", logical_and},
                                               {"logical_or", logical_or}};
  for (const auto& [name, fn] : cmps) {
    std::string n = name;
    Cmp f = fn;
    t.push_back(OpInfo{n, "compare", false, [f](const TensorList& in, const Args&) { return TensorList{f(in[0], in[1])}; },
                       [n](DType dt) { return with_ties(n, dt); }});
  }

  t.push_back(OpInfo{"where", "binary", true,
                     [](const TensorList& in, const Args&) { return TensorList{where(in[0], in[1], in[2])}; },
                     [](DType dt) {
                       Generator g = gen_for("where");
                       return std::vector<Sample>{
                           {"same shape", {mask(g, {3, 4}), rnd(g, {3, 4}, dt), rnd(g, {3, 4}, dt)}, {}},
                           {"broadcast", {mask(g, {3, 1}), rnd(g, {4}, dt), rnd(g, {3, 4}, dt)}, {}},
                           {"0-d other", {mask(g, {2, 3}), rnd(g, {2, 3}, dt), rnd(g, {}, dt)}, {}},
                           {"empty", {mask(g, {0, 3}), rnd(g, {0, 3}, dt), rnd(g, {3}, dt)}, {}}};
                     }});
  t.push_back(OpInfo{"masked_fill", "binary", true,
                     [](const TensorList& in, const Args& a) { return TensorList{masked_fill(in[0], in[1], a.d("value"))}; },
                     [](DType dt) {
                       Generator g = gen_for("masked_fill");
                       return std::vector<Sample>{{"same shape", {rnd(g, {3, 4}, dt), mask(g, {3, 4})}, {{"value", -1.5}}},
                                                  {"broadcast mask", {rnd(g, {3, 4}, dt), mask(g, {4})}, {{"value", 2.0}}},
                                                  {"empty", {rnd(g, {0, 4}, dt), mask(g, {4})}, {{"value", 0.0}}}};
                     }});
}

}  // namespace hpml::ops::table
