// Op table entries: elementwise functions of one tensor and the activations.
#include "hpml/ops/indexing.h"
#include "hpml/ops/unary.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {

// unit: inside (-1, 1) for asin/acos; tan: clear of the poles at +-pi/2; probability: inside
// (0, 1) for logit; hard: clear of the kinks of hardswish/hardsigmoid at +-3.
enum class Range { any, positive, away_from_zero, log1p, non_integer, unit, tan, probability, hard };

Tensor values(Generator& g, IntArrayRef shape, DType dt, Range r) {
  switch (r) {
    case Range::positive: return rnd(g, shape, dt, 0.5, 2.0);
    case Range::away_from_zero: return away(g, shape, dt);
    case Range::log1p: return rnd(g, shape, dt, -0.5, 1.0);
    case Range::non_integer: return rnd(g, shape, dt, 0.1, 0.4) + randint(-3, 3, shape, &g).to(dt);
    case Range::unit: return rnd(g, shape, dt, -0.9, 0.9);
    case Range::tan: return rnd(g, shape, dt, -1.2, 1.2);
    case Range::probability: return rnd(g, shape, dt, 0.05, 0.95);
    case Range::hard: return where(mask(g, shape), rnd(g, shape, dt, -2.8, 2.8), away(g, shape, dt, 3.2, 4.5));
    default: return rnd(g, shape, dt, -2, 2);
  }
}

// The same four shapes for every unary op: a matrix, a vector, a 0-d tensor and an empty one.
std::vector<Sample> shapes(const std::string& name, DType dt, Range r, Args args = {}) {
  Generator g = gen_for(name);
  return {{"[3, 4]", {values(g, {3, 4}, dt, r)}, args},
          {"[5]", {values(g, {5}, dt, r)}, args},
          {"0-d", {values(g, {}, dt, r)}, args},
          {"empty [0, 3]", {values(g, {0, 3}, dt, r)}, args}};
}

OpInfo entry(std::string name, std::string family, bool diff, Range r, Tensor (*fn)(const Tensor&)) {
  return OpInfo{name, family, diff,
                [fn](const TensorList& in, const Args&) { return TensorList{fn(in[0])}; },
                [name, r](DType dt) { return shapes(name, dt, r); }};
}

// erf, tan, ..., the activations silu, mish, ... and their variants with settings.
void add_more_unary_ops(std::vector<OpInfo>& t) {
  t.push_back(entry("erf", "unary", true, Range::any, erf));
  t.push_back(entry("erfc", "unary", true, Range::any, erfc));
  t.push_back(entry("tan", "unary", true, Range::tan, tan));
  t.push_back(entry("asin", "unary", true, Range::unit, asin));
  t.push_back(entry("acos", "unary", true, Range::unit, acos));
  t.push_back(entry("atan", "unary", true, Range::any, atan));
  t.push_back(entry("sinh", "unary", true, Range::any, sinh));
  t.push_back(entry("cosh", "unary", true, Range::any, cosh));
  t.push_back(entry("log2", "unary", true, Range::positive, log2));
  t.push_back(entry("log10", "unary", true, Range::positive, log10));
  t.push_back(entry("exp2", "unary", true, Range::any, exp2));
  t.push_back(entry("trunc", "unary", false, Range::non_integer, trunc));
  t.push_back(entry("frac", "unary", true, Range::non_integer, frac));
  t.push_back(entry("silu", "activation", true, Range::any, silu));
  t.push_back(entry("mish", "activation", true, Range::any, mish));
  t.push_back(entry("hardswish", "activation", true, Range::hard, hardswish));
  t.push_back(entry("hardsigmoid", "activation", true, Range::hard, hardsigmoid));
  t.push_back(entry("selu", "activation", true, Range::away_from_zero, selu));
  t.push_back(entry("logsigmoid", "activation", true, Range::any, logsigmoid));
  t.push_back(entry("softsign", "activation", true, Range::any, softsign));
  t.push_back(OpInfo{"celu", "activation", true,
                     [](const TensorList& in, const Args& a) { return TensorList{celu(in[0], a.d("alpha"))}; },
                     [](DType dt) {
                       auto s = shapes("celu", dt, Range::away_from_zero, {{"alpha", 1.0}});
                       Generator g = gen_for("celu_alpha");
                       s.push_back({"alpha 0.5", {away(g, {6}, dt)}, {{"alpha", 0.5}}});
                       s.push_back({"alpha -1.5", {away(g, {6}, dt)}, {{"alpha", -1.5}}});
                       return s;
                     }});
  t.push_back(OpInfo{"threshold", "activation", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{threshold(in[0], a.d("threshold"), a.d("value"))};
                     },
                     [](DType dt) {
                       // x - threshold kept clear of 0: the output jumps there.
                       Generator g = gen_for("threshold");
                       auto near = [&](IntArrayRef s, double th) { return away(g, s, dt, 0.1, 2.0) + th; };
                       return std::vector<Sample>{
                           {"[3, 4]", {near({3, 4}, 0.5)}, {{"threshold", 0.5}, {"value", -2.0}}},
                           {"0-d", {near({}, 0.0)}, {{"threshold", 0.0}, {"value", 20.0}}},
                           {"empty", {near({0, 2}, 0.0)}, {{"threshold", 0.0}, {"value", 1.0}}}};
                     }});
  t.push_back(OpInfo{"logit", "unary", true,
                     [](const TensorList& in, const Args& a) {
                       if (a.has("eps")) return TensorList{logit(in[0], a.d("eps"))};
                       return TensorList{logit(in[0])};
                     },
                     [](DType dt) {
                       auto s = shapes("logit", dt, Range::probability);
                       // With eps = 0.1: values below, inside and above [0.1, 0.9], clear of both ends.
                       Generator g = gen_for("logit_eps");
                       Tensor x = cat({rnd(g, {3}, dt, 0.0, 0.07), rnd(g, {4}, dt, 0.15, 0.85),
                                       rnd(g, {3}, dt, 0.93, 1.0)});
                       s.push_back({"eps 0.1", {x}, {{"eps", 0.1}}});
                       return s;
                     }});
}

}  // namespace

void add_unary_ops(std::vector<OpInfo>& t) {
  t.push_back(entry("neg", "unary", true, Range::any, neg));
  t.push_back(entry("abs", "unary", true, Range::away_from_zero, abs));
  t.push_back(entry("sign", "unary", true, Range::away_from_zero, sign));
  t.push_back(entry("exp", "unary", true, Range::any, exp));
  t.push_back(entry("log", "unary", true, Range::positive, log));
  t.push_back(entry("log1p", "unary", true, Range::log1p, log1p));
  t.push_back(entry("expm1", "unary", true, Range::any, expm1));
  t.push_back(entry("sqrt", "unary", true, Range::positive, sqrt));
  t.push_back(entry("rsqrt", "unary", true, Range::positive, rsqrt));
  t.push_back(entry("square", "unary", true, Range::any, square));
  t.push_back(entry("reciprocal", "unary", true, Range::positive, reciprocal));
  t.push_back(entry("sin", "unary", true, Range::any, sin));
  t.push_back(entry("cos", "unary", true, Range::any, cos));
  t.push_back(entry("tanh", "activation", true, Range::any, tanh));
  t.push_back(entry("sigmoid", "activation", true, Range::any, sigmoid));
  t.push_back(entry("relu", "activation", true, Range::away_from_zero, relu));
  t.push_back(entry("floor", "unary", false, Range::non_integer, floor));
  t.push_back(entry("ceil", "unary", false, Range::non_integer, ceil));
  t.push_back(entry("round", "unary", false, Range::non_integer, round));
  add_more_unary_ops(t);

  t.push_back(OpInfo{"logical_not", "unary", false,
                     [](const TensorList& in, const Args&) { return TensorList{logical_not(in[0])}; },
                     [](DType dt) {
                       Generator g = gen_for("logical_not");
                       Tensor x = values(g, {3, 4}, dt, Range::any);
                       return std::vector<Sample>{{"float", {masked_fill(x, gt(x, scalar_tensor(0.5, dt)), 0)}, {}},
                                                  {"bool", {mask(g, {6})}, {}}};
                     }});
  t.push_back(OpInfo{"leaky_relu", "activation", true,
                     [](const TensorList& in, const Args& a) { return TensorList{leaky_relu(in[0], a.d("negative_slope"))}; },
                     [](DType dt) {
                       auto s = shapes("leaky_relu", dt, Range::away_from_zero, {{"negative_slope", 0.01}});
                       Generator g(3);
                       s.push_back({"slope 0.2", {away(g, {4, 2}, dt)}, {{"negative_slope", 0.2}}});
                       return s;
                     }});
  t.push_back(OpInfo{"hardtanh", "activation", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{hardtanh(in[0], a.d("min_val"), a.d("max_val"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("hardtanh");
                       Tensor x = rnd(g, {4, 5}, dt, -2, 2);
                       return std::vector<Sample>{{"[-1, 1]", {x}, {{"min_val", -1.0}, {"max_val", 1.0}}},
                                                  {"[-0.5, 2]", {x}, {{"min_val", -0.5}, {"max_val", 2.0}}}};
                     }});
  t.push_back(OpInfo{"gelu", "activation", true,
                     [](const TensorList& in, const Args& a) { return TensorList{gelu(in[0], a.s("approximate"))}; },
                     [](DType dt) {
                       auto s = shapes("gelu", dt, Range::any, {{"approximate", std::string("none")}});
                       auto t2 = shapes("gelu_tanh", dt, Range::any, {{"approximate", std::string("tanh")}});
                       s.insert(s.end(), t2.begin(), t2.end());
                       return s;
                     }});
  t.push_back(OpInfo{"softplus", "activation", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{softplus(in[0], a.d("beta"), a.d("threshold"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("softplus");
                       return std::vector<Sample>{
                           {"default", {rnd(g, {3, 4}, dt, -3, 3)}, {{"beta", 1.0}, {"threshold", 20.0}}},
                           {"beta 2, threshold 1", {rnd(g, {3, 4}, dt, -3, 3)}, {{"beta", 2.0}, {"threshold", 1.0}}}};
                     }});
  t.push_back(OpInfo{"elu", "activation", true,
                     [](const TensorList& in, const Args& a) { return TensorList{elu(in[0], a.d("alpha"))}; },
                     [](DType dt) {
                       auto s = shapes("elu", dt, Range::away_from_zero, {{"alpha", 1.0}});
                       Generator g(5);
                       s.push_back({"alpha 0.5", {away(g, {6}, dt)}, {{"alpha", 0.5}}});
                       return s;
                     }});
  t.push_back(OpInfo{"clamp", "unary", true,
                     [](const TensorList& in, const Args& a) {
                       std::optional<Scalar> lo, hi;
                       if (a.has("min")) lo = a.d("min");
                       if (a.has("max")) hi = a.d("max");
                       return TensorList{clamp(in[0], lo, hi)};
                     },
                     [](DType dt) {
                       Generator g = gen_for("clamp");
                       Tensor x = rnd(g, {4, 5}, dt, -2, 2);
                       return std::vector<Sample>{{"min and max", {x}, {{"min", -0.5}, {"max", 0.7}}},
                                                  {"min only", {x}, {{"min", 0.1}}},
                                                  {"max only", {x}, {{"max", -0.3}}},
                                                  {"empty", {rnd(g, {0}, dt)}, {{"min", 0.0}, {"max", 1.0}}}};
                     }});
  t.push_back(OpInfo{"clamp_min", "unary", true,
                     [](const TensorList& in, const Args& a) { return TensorList{clamp_min(in[0], a.d("min"))}; },
                     [](DType dt) {
                       Generator g = gen_for("clamp_min");
                       return std::vector<Sample>{{"[4, 5]", {rnd(g, {4, 5}, dt, -2, 2)}, {{"min", 0.3}}},
                                                  {"empty", {rnd(g, {0, 3}, dt)}, {{"min", 0.0}}}};
                     }});
  t.push_back(OpInfo{"clamp_max", "unary", true,
                     [](const TensorList& in, const Args& a) { return TensorList{clamp_max(in[0], a.d("max"))}; },
                     [](DType dt) {
                       Generator g = gen_for("clamp_max");
                       return std::vector<Sample>{{"[4, 5]", {rnd(g, {4, 5}, dt, -2, 2)}, {{"max", -0.4}}},
                                                  {"empty", {rnd(g, {0, 3}, dt)}, {{"max", 1.0}}}};
                     }});
  t.push_back(OpInfo{"pow_scalar", "unary", true,
                     [](const TensorList& in, const Args& a) { return TensorList{pow(in[0], a.d("exponent"))}; },
                     [](DType dt) {
                       Generator g = gen_for("pow_scalar");
                       Tensor x = rnd(g, {3, 4}, dt, 0.5, 2);
                       std::vector<Sample> s;
                       for (double e : {2.0, 3.0, 0.5, -1.5, 0.0})
                         s.push_back({"exponent " + std::to_string(e), {x}, {{"exponent", e}}});
                       return s;
                     }});
}

}  // namespace hpml::ops::table
