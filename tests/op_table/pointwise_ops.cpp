// Op table entries: prelu, glu, nan_to_num and isnan/isinf/isfinite (samples with NaN and
// infinities), and the elementwise ops of two or three tensors added with them: atan2, fmod,
// remainder, logaddexp, lerp, addcmul, addcdiv and clamp with tensor bounds.
#include <cmath>
#include <limits>

#include "hpml/ops/binary.h"
#include "hpml/ops/indexing.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Random values in [-2, 2) with NaN, +inf and -inf as the first three elements (numel >= 3).
Tensor with_specials(Generator& g, IntArrayRef shape, DType dt) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  Tensor special = tensor(std::vector<double>{std::nan(""), kInf, -kInf}, dt);
  return cat({special, rnd(g, {n - 3}, dt, -2, 2)}).reshape(shape);
}

// The broadcasting shapes of the binary ops (as in table/binary.cpp), with values from fa, fb.
template <typename A, typename B>
std::vector<Sample> pairs_of(Generator& g, A fa, B fb) {
  return {{"same shape", {fa({3, 4}), fb({3, 4})}, {}},
          {"broadcast rhs", {fa({3, 4}), fb({4})}, {}},
          {"broadcast both", {fa({2, 1, 3}), fb({4, 1})}, {}},
          {"0-d rhs", {fa({3, 4}), fb({})}, {}},
          {"expanded lhs", {fa({1, 4}), fb({3, 4})}, {}, {{3, 4}}},
          {"empty", {fa({0, 4}), fb({4})}, {}},
          {"integer rhs", {fa({3, 4}), randint(1, 4, {4}, &g)}, {}}};
}

// fmod and remainder jump where a / b is an integer: every pair keeps a / b at least 0.1 from one.
std::vector<Sample> modulo_pairs(const std::string& name, DType dt) {
  Generator g = gen_for(name);
  auto b = [&](IntArrayRef s) { return away(g, s, dt, 0.5, 2); };
  auto q = [&](IntArrayRef s) { return rnd(g, s, dt, 0.2, 0.8) + randint(-3, 3, s, &g).to(dt); };  // quotients
  // k + f with f in [0.2, 0.4], against divisors +-1, +-2, +-3 (below): a / b is clear of integers.
  auto kf = [&](IntArrayRef s) { return rnd(g, s, dt, 0.2, 0.4) + randint(-3, 3, s, &g).to(dt); };
  auto small = [&](IntArrayRef s) { return (randint(1, 3, s, &g) * (randint(0, 2, s, &g) * 2 - 1)).to(dt); };
  Tensor b1 = b({3, 4}), b2 = b({4}), b0 = b({});
  return {{"same shape", {q({3, 4}) * b1, b1}, {}},
          {"broadcast rhs", {q({3, 4}) * b2, b2}, {}},
          {"0-d rhs", {q({3, 4}) * b0, b0}, {}},
          {"broadcast both", {kf({2, 1, 3}), small({4, 1})}, {}},
          {"expanded lhs", {kf({1, 4}), small({3, 4})}, {}, {{3, 4}}},
          {"empty", {rnd(g, {0, 4}, dt), b({4})}, {}},
          {"integer rhs", {kf({3, 4}), randint(1, 4, {4}, &g)}, {}},
          {"integers", {randint(-9, 9, {8}, &g), randint(1, 4, {8}, &g) * (randint(0, 2, {8}, &g) * 2 - 1)}, {}}};
}

template <typename F>
OpInfo binary_entry(std::string name, F fn, std::function<std::vector<Sample>(DType)> samples) {
  return OpInfo{name, "binary", true, [fn](const TensorList& in, const Args&) { return TensorList{fn(in[0], in[1])}; },
                std::move(samples)};
}

// x placed below lo, between lo and hi, or above hi (all of x's shape, lo < hi), 0.1 or more clear
// of both: clamp's gradient switches between x and the bounds there.
Tensor clear_of(Generator& g, const Tensor& lo, const Tensor& hi, DType dt) {
  IntArrayRef s = lo.sizes();
  Tensor region = randint(0, 3, s, &g);
  Tensor below = lo - rnd(g, s, dt, 0.1, 1.0), above = hi + rnd(g, s, dt, 0.1, 1.0);
  Tensor mid = lo + (hi - lo) * rnd(g, s, dt, 0.2, 0.8);
  return where(region.eq(0), below, where(region.eq(1), mid, above));
}

std::vector<Sample> clamp_samples(DType dt) {
  Generator g = gen_for("clamp_tensor");
  auto lo = [&](IntArrayRef s) { return rnd(g, s, dt, -1.0, -0.1); };
  auto hi = [&](IntArrayRef s) { return rnd(g, s, dt, 0.1, 1.0); };
  std::vector<Sample> s;
  Tensor l1 = lo({3, 4}), h1 = hi({3, 4});
  s.push_back({"same shape", {clear_of(g, l1, h1, dt), l1, h1}, {}});
  Tensor l2 = lo({4}), h2 = hi({3, 1});
  s.push_back({"broadcast", {clear_of(g, l2.expand({3, 4}), h2.expand({3, 4}), dt), l2, h2}, {}});
  Tensor l3 = lo({4});
  s.push_back({"min only", {l3 + away(g, {3, 4}, dt, 0.1, 1.0), l3}, {{"only", std::string("min")}}});
  Tensor h4 = hi({});
  s.push_back({"max only, 0-d", {h4 + away(g, {3, 4}, dt, 0.1, 1.0), h4}, {{"only", std::string("max")}}});
  s.push_back({"min > max gives max", {rnd(g, {5}, dt, -2, 2), scalar_tensor(0.5, dt), scalar_tensor(-0.5, dt)}, {}});
  s.push_back({"empty", {rnd(g, {0, 4}, dt), lo({4}), hi({4})}, {}});
  return s;
}

void add_activation_entries(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"prelu", "activation", true,
                     [](const TensorList& in, const Args&) { return TensorList{prelu(in[0], in[1])}; },
                     [](DType dt) {
                       Generator g = gen_for("prelu");
                       auto w = [&](IntArrayRef s) { return rnd(g, s, dt, 0.1, 0.5); };
                       return std::vector<Sample>{{"[2, 3, 4] per channel", {away(g, {2, 3, 4}, dt), w({3})}, {}},
                                                  {"[2, 3, 2, 2] per channel", {away(g, {2, 3, 2, 2}, dt), w({3})}, {}},
                                                  {"[2, 3] shared", {away(g, {2, 3}, dt), w({1})}, {}},
                                                  {"0-d weight", {away(g, {2, 3, 2}, dt), w({})}, {}},
                                                  {"1-d input", {away(g, {5}, dt), w({1})}, {}},
                                                  {"0-d input", {away(g, {}, dt), w({1})}, {}},
                                                  {"empty", {away(g, {0, 3}, dt), w({3})}, {}}};
                     }});
  t.push_back(OpInfo{"glu", "activation", true,
                     [](const TensorList& in, const Args& a) { return TensorList{glu(in[0], a.i("dim"))}; },
                     [](DType dt) {
                       Generator g = gen_for("glu");
                       auto r = [&](IntArrayRef s) { return rnd(g, s, dt, -2, 2); };
                       return std::vector<Sample>{{"[3, 4] dim -1", {r({3, 4})}, {{"dim", int64_t{-1}}}},
                                                  {"[2, 6, 3] dim 1", {r({2, 6, 3})}, {{"dim", int64_t{1}}}},
                                                  {"[4, 2] dim 0", {r({4, 2})}, {{"dim", int64_t{0}}}},
                                                  {"empty", {r({0, 4})}, {{"dim", int64_t{-1}}}}};
                     }});
}

void add_special_value_entries(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"nan_to_num", "unary", true,
                     [](const TensorList& in, const Args& a) {
                       std::optional<double> nan, posinf, neginf;
                       if (a.has("nan")) nan = a.d("nan");
                       if (a.has("posinf")) posinf = a.d("posinf");
                       if (a.has("neginf")) neginf = a.d("neginf");
                       return TensorList{nan_to_num(in[0], nan, posinf, neginf)};
                     },
                     [](DType dt) {
                       Generator g = gen_for("nan_to_num");
                       return std::vector<Sample>{
                           {"defaults", {with_specials(g, {3, 4}, dt)}, {}},
                           {"nan, posinf, neginf given", {with_specials(g, {2, 3}, dt)},
                            {{"nan", 1.5}, {"posinf", 100.0}, {"neginf", -100.0}}},
                           {"0-d NaN", {scalar_tensor(std::nan(""), dt)}, {{"nan", -1.0}}},
                           {"empty", {rnd(g, {0, 3}, dt)}, {}},
                           {"integers", {randint(-5, 5, {4}, &g)}, {}}};
                     }});
  using Pred = Tensor (*)(const Tensor&);
  const std::pair<const char*, Pred> preds[] = {{"isnan", isnan}, {"isinf", isinf}, {"isfinite", isfinite}};
  for (const auto& [name, fn] : preds) {
    std::string n = name;
    Pred f = fn;
    t.push_back(OpInfo{n, "unary", false, [f](const TensorList& in, const Args&) { return TensorList{f(in[0])}; },
                       [n](DType dt) {
                         Generator g = gen_for(n);
                         return std::vector<Sample>{{"NaN and infinities", {with_specials(g, {3, 4}, dt)}, {}},
                                                    {"0-d inf", {scalar_tensor(kInf, dt)}, {}},
                                                    {"empty", {rnd(g, {0, 2}, dt)}, {}},
                                                    {"integers", {randint(-5, 5, {4}, &g)}, {}},
                                                    {"bool", {mask(g, {4})}, {}}};
                       }});
  }
}

void add_binary_entries(std::vector<OpInfo>& t) {
  t.push_back(binary_entry("atan2", [](const Tensor& a, const Tensor& b) { return atan2(a, b); }, [](DType dt) {
    // a clear of 0: the angle jumps from pi to -pi across the negative b axis.
    Generator g = gen_for("atan2");
    return pairs_of(g, [&](IntArrayRef s) { return away(g, s, dt, 0.3, 2); },
                    [&](IntArrayRef s) { return rnd(g, s, dt, -2, 2); });
  }));
  t.push_back(binary_entry("fmod", [](const Tensor& a, const Tensor& b) { return fmod(a, b); },
                           [](DType dt) { return modulo_pairs("fmod", dt); }));
  t.push_back(binary_entry("remainder", [](const Tensor& a, const Tensor& b) { return remainder(a, b); },
                           [](DType dt) { return modulo_pairs("remainder", dt); }));
  t.push_back(binary_entry("logaddexp", [](const Tensor& a, const Tensor& b) { return logaddexp(a, b); }, [](DType dt) {
    Generator g = gen_for("logaddexp");
    auto r = [&](IntArrayRef sh) { return rnd(g, sh, dt, -3, 3); };
    auto s = pairs_of(g, r, r);
    s.push_back({"far apart", {rnd(g, {4}, dt, 40, 50), rnd(g, {4}, dt, -50, -40)}, {}});
    Sample inf{"infinities", {tensor(std::vector<double>{-kInf, 1.0, kInf, -kInf}, dt),
                              tensor(std::vector<double>{2.0, -kInf, 3.0, kInf}, dt)}, {}};
    inf.fd_gradcheck_skip = "infinite inputs (finite differences are undefined there)";
    s.push_back(inf);
    return s;
  }));
}

void add_ternary_entries(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"lerp", "binary", true,
                     [](const TensorList& in, const Args& a) {
                       if (in.size() == 3) return TensorList{lerp(in[0], in[1], in[2])};
                       return TensorList{lerp(in[0], in[1], a.d("weight"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("lerp");
                       auto r = [&](IntArrayRef s) { return rnd(g, s, dt, -2, 2); };
                       auto w = [&](IntArrayRef s) { return rnd(g, s, dt, -0.2, 1.2); };  // both of PyTorch's branches
                       return std::vector<Sample>{{"weight 0.3", {r({3, 4}), r({3, 4})}, {{"weight", 0.3}}},
                                                  {"weight 0.7, broadcast", {r({3, 4}), r({4})}, {{"weight", 0.7}}},
                                                  {"weight 1, 0-d end", {r({3}), r({})}, {{"weight", 1.0}}},
                                                  {"weight -0.4, empty", {r({0, 2}), r({2})}, {{"weight", -0.4}}},
                                                  {"tensor weight", {r({3, 4}), r({3, 4}), w({3, 4})}, {}},
                                                  {"tensor weight, broadcast", {r({4}), r({3, 1}), w({3, 4})}, {}},
                                                  {"0-d tensor weight", {r({2, 3}), r({2, 3}), w({})}, {}}};
                     }});
  auto triples = [](const std::string& name, DType dt, bool divide) {
    Generator g = gen_for(name);
    auto r = [&](IntArrayRef s) { return rnd(g, s, dt, -2, 2); };
    auto d = [&](IntArrayRef s) { return divide ? away(g, s, dt, 0.5, 2) : rnd(g, s, dt, -2, 2); };
    std::vector<Sample> s = {{"same shape", {r({3, 4}), r({3, 4}), d({3, 4})}, {}},
                             {"broadcast, value 0.5", {r({4}), r({3, 1}), d({3, 4})}, {{"value", 0.5}}},
                             {"0-d self, value -2", {r({}), r({2, 3}), d({2, 3})}, {{"value", -2.0}}},
                             {"empty", {r({0, 3}), r({3}), d({0, 3})}, {}},
                             {"integer tensor2, value 2", {r({3, 4}), r({3, 4}), randint(1, 4, {4}, &g)},
                              {{"value", 2.0}}}};
    if (divide) {
      s.back().pytorch_grad_differs =
          "PyTorch 1.13's addcdiv backward fails for an integer tensor2 (\"result type Float can't be cast to the "
          "desired output type Long\")";
    }
    return s;
  };
  t.push_back(OpInfo{"addcmul", "binary", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{addcmul(in[0], in[1], in[2], a.d_or("value", 1.0))};
                     },
                     [triples](DType dt) { return triples("addcmul", dt, false); }});
  t.push_back(OpInfo{"addcdiv", "binary", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{addcdiv(in[0], in[1], in[2], a.d_or("value", 1.0))};
                     },
                     [triples](DType dt) { return triples("addcdiv", dt, true); }});
  t.push_back(OpInfo{"clamp_tensor", "binary", true,
                     [](const TensorList& in, const Args& a) {
                       const std::string only = a.has("only") ? a.s("only") : "";
                       if (only == "min") return TensorList{clamp(in[0], in[1], Tensor())};
                       if (only == "max") return TensorList{clamp(in[0], Tensor(), in[1])};
                       return TensorList{clamp(in[0], in[1], in[2])};
                     },
                     clamp_samples});
}

}  // namespace

void add_pointwise_ops(std::vector<OpInfo>& t) {
  add_activation_entries(t);
  add_special_value_entries(t);
  add_binary_entries(t);
  add_ternary_entries(t);
}

}  // namespace hpml::ops::table
