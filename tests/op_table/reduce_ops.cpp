// Op table entries: reductions, softmax and log_softmax.
#include <cmath>
#include <limits>

#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {

using V = std::vector<int64_t>;

// x [3, 4, 5] reduced over all dims, one dim, two dims and the last dim, with and without
// keepdim; a 0-d input; an empty input whose reduced dim is not empty.
std::vector<Sample> reductions(const std::string& name, DType dt, bool distinct_values) {
  Generator g = gen_for(name);
  auto x = [&](IntArrayRef s) { return distinct_values ? distinct(g, s, dt) : rnd(g, s, dt, -2, 2); };
  std::vector<Sample> s = {
      {"all dims", {x({3, 4, 5})}, {{"dims", V{}}, {"keepdim", false}}},
      {"dim 1", {x({3, 4, 5})}, {{"dims", V{1}}, {"keepdim", false}}},
      {"dims 0, 2 keepdim", {x({3, 4, 5})}, {{"dims", V{0, 2}}, {"keepdim", true}}},
      {"dim -1 keepdim", {x({3, 4, 5})}, {{"dims", V{-1}}, {"keepdim", true}}},
      {"0-d", {x({})}, {{"dims", V{}}, {"keepdim", false}}},
      {"empty kept dim", {x({0, 3})}, {{"dims", V{1}}, {"keepdim", false}}}};
  return s;
}

// Adds `extra` to every sample's args (correction, p).
std::vector<Sample> with_args(std::vector<Sample> s, const std::vector<std::pair<std::string, ArgValue>>& extra) {
  for (auto& smp : s)
    for (const auto& [k, v] : extra) smp.args = smp.args.with(k, v);
  return s;
}

std::vector<Sample> along_dim(const std::string& name, DType dt, bool distinct_values) {
  Generator g = gen_for(name);
  auto x = [&](IntArrayRef s) { return distinct_values ? distinct(g, s, dt) : rnd(g, s, dt, -2, 2); };
  return {{"dim 0", {x({3, 4})}, {{"dim", int64_t{0}}, {"keepdim", false}}},
          {"dim 1 keepdim", {x({3, 4})}, {{"dim", int64_t{1}}, {"keepdim", true}}},
          {"dim -1 of 3-d", {x({2, 3, 4})}, {{"dim", int64_t{-1}}, {"keepdim", false}}},
          {"empty kept dim", {x({0, 3})}, {{"dim", int64_t{1}}, {"keepdim", false}}}};
}

// x [3, 4] whose row 0 is constant (`c` everywhere): zero variance there, zero norm for c = 0.
Tensor constant_row(Generator& g, DType dt, double c) {
  return cat({full({1, 4}, c, TensorOptions(dt)), rnd(g, {2, 4}, dt, -2, 2)}, 0);
}
const char* const kKink = "not differentiable at 0 (std or norm of a constant / zero row); PyTorch's gradient there is 0";

template <typename F>
OpInfo reduction(std::string name, bool diff, bool distinct_values, F fn) {
  return OpInfo{name, "reduce", diff,
                [fn](const TensorList& in, const Args& a) { return TensorList{fn(in[0], a.ints("dims"), a.b("keepdim"), a)}; },
                [name, distinct_values](DType dt) { return reductions(name, dt, distinct_values); }};
}

}  // namespace

void add_reduce_ops(std::vector<OpInfo>& t) {
  t.push_back(reduction("sum", true, false, [](const Tensor& x, V d, bool k, const Args&) { return sum(x, d, k); }));
  t.push_back(reduction("mean", true, false, [](const Tensor& x, V d, bool k, const Args&) { return mean(x, d, k); }));
  t.push_back(reduction("amax", true, true, [](const Tensor& x, V d, bool k, const Args&) { return amax(x, d, k); }));
  t.push_back(reduction("amin", true, true, [](const Tensor& x, V d, bool k, const Args&) { return amin(x, d, k); }));
  for (const char* name : {"var", "std"}) {
    bool is_var = std::string(name) == "var";
    t.push_back(OpInfo{name, "reduce", true,
                       [is_var](const TensorList& in, const Args& a) {
                         auto f = is_var ? static_cast<Tensor (*)(const Tensor&, IntArrayRef, double, bool)>(var)
                                         : static_cast<Tensor (*)(const Tensor&, IntArrayRef, double, bool)>(hpml::std);
                         return TensorList{f(in[0], a.ints("dims"), a.d("correction"), a.b("keepdim"))};
                       },
                       [n = std::string(name)](DType dt) {
                         auto s = with_args(reductions(n, dt, false), {{"correction", int64_t{1}}});
                         auto s0 = with_args(reductions(n + "0", dt, false), {{"correction", int64_t{0}}});
                         s.erase(s.begin() + 4, s.end());  // a 0-d variance divides by zero
                         s.push_back(s0[1]);
                         // Zero variance in row 0, both corrections (std's gradient was once NaN there).
                         Generator g = gen_for(n + " constant");
                         for (int64_t corr : {int64_t{0}, int64_t{1}}) {
                           Sample c{"constant row, correction " + std::to_string(corr), {constant_row(g, dt, 0.7)},
                                    {{"dims", V{1}}, {"keepdim", false}, {"correction", corr}}};
                           if (n == "std") c.fd_gradcheck_skip = kKink;
                           s.push_back(c);
                         }
                         return s;
                       }});
  }
  t.push_back(OpInfo{"var_mean", "reduce", true,
                     [](const TensorList& in, const Args& a) {
                       auto [v, m] = var_mean(in[0], a.ints("dims"), a.d("correction"), a.b("keepdim"));
                       return TensorList{v, m};
                     },
                     [](DType dt) {
                       auto s = with_args(reductions("var_mean", dt, false), {{"correction", int64_t{1}}});
                       s.erase(s.begin() + 4, s.end());
                       Generator g = gen_for("var_mean constant");
                       s.push_back({"constant row", {constant_row(g, dt, 0.7)}, {{"dims", V{1}}, {"keepdim", true}, {"correction", int64_t{0}}}});
                       return s;
                     }});
  t.push_back(OpInfo{"prod", "reduce", true,
                     [](const TensorList& in, const Args& a) { return TensorList{prod(in[0], a.ints("dims"), a.b("keepdim"))}; },
                     [](DType dt) {
                       Generator g = gen_for("prod");
                       auto s = reductions("prod", dt, false);
                       for (auto& smp : s) smp.inputs[0] = away(g, smp.inputs[0].sizes(), dt, 0.5, 1.5);
                       Tensor z = away(g, {3, 4}, dt, 0.5, 1.5);
                       z = masked_fill(z, eq(arange(12).reshape({3, 4}), scalar_tensor(5, kInt64)), 0);   // one zero
                       Tensor zz = masked_fill(z, eq(arange(12).reshape({3, 4}), scalar_tensor(6, kInt64)), 0);  // two
                       s.push_back({"one zero", {z}, {{"dims", V{1}}, {"keepdim", false}}});
                       s.push_back({"two zeros", {zz}, {{"dims", V{1}}, {"keepdim", true}}});
                       return s;
                     }});
  t.push_back(OpInfo{"max", "reduce", true, [](const TensorList& in, const Args&) { return TensorList{max(in[0])}; },
                     [](DType dt) {
                       Generator g = gen_for("max");
                       return std::vector<Sample>{{"[3, 4]", {distinct(g, {3, 4}, dt)}, {}}, {"0-d", {distinct(g, {}, dt)}, {}}};
                     }});
  t.push_back(OpInfo{"min", "reduce", true, [](const TensorList& in, const Args&) { return TensorList{min(in[0])}; },
                     [](DType dt) {
                       Generator g = gen_for("min");
                       return std::vector<Sample>{{"[3, 4]", {distinct(g, {3, 4}, dt)}, {}}, {"0-d", {distinct(g, {}, dt)}, {}}};
                     }});
  t.push_back(OpInfo{"max_dim", "reduce", true,
                     [](const TensorList& in, const Args& a) {
                       auto [v, i] = max(in[0], a.i("dim"), a.b("keepdim"));
                       return TensorList{v, i};
                     },
                     [](DType dt) { return along_dim("max_dim", dt, true); }});
  t.push_back(OpInfo{"min_dim", "reduce", true,
                     [](const TensorList& in, const Args& a) {
                       auto [v, i] = min(in[0], a.i("dim"), a.b("keepdim"));
                       return TensorList{v, i};
                     },
                     [](DType dt) { return along_dim("min_dim", dt, true); }});
  t.push_back(OpInfo{"argmax", "reduce", false,
                     [](const TensorList& in, const Args& a) {
                       if (!a.has("dim")) return TensorList{argmax(in[0])};
                       return TensorList{argmax(in[0], a.i("dim"), a.b("keepdim"))};
                     },
                     [](DType dt) {
                       auto s = along_dim("argmax", dt, true);
                       s.pop_back();
                       Generator g(21);
                       s.push_back({"flattened", {distinct(g, {3, 4}, dt)}, {}});
                       return s;
                     }});
  t.push_back(OpInfo{"argmin", "reduce", false,
                     [](const TensorList& in, const Args& a) {
                       if (!a.has("dim")) return TensorList{argmin(in[0])};
                       return TensorList{argmin(in[0], a.i("dim"), a.b("keepdim"))};
                     },
                     [](DType dt) {
                       auto s = along_dim("argmin", dt, true);
                       s.pop_back();
                       Generator g(22);
                       s.push_back({"flattened", {distinct(g, {3, 4}, dt)}, {}});
                       return s;
                     }});
  for (const char* name : {"any", "all"}) {
    bool is_any = std::string(name) == "any";
    t.push_back(OpInfo{name, "reduce", false,
                       [is_any](const TensorList& in, const Args& a) {
                         return TensorList{is_any ? any(in[0], a.ints("dims"), a.b("keepdim")) : all(in[0], a.ints("dims"), a.b("keepdim"))};
                       },
                       [n = std::string(name)](DType dt) {
                         Generator g = gen_for(n);
                         Tensor x = masked_fill(rnd(g, {3, 4}, dt), mask(g, {3, 4}), 0);
                         return std::vector<Sample>{{"all dims", {x}, {{"dims", V{}}, {"keepdim", false}}},
                                                    {"dim 1", {x}, {{"dims", V{1}}, {"keepdim", true}}},
                                                    {"bool", {mask(g, {2, 5})}, {{"dims", V{0}}, {"keepdim", false}}},
                                                    {"no zeros", {rnd(g, {3}, dt, 1, 2)}, {{"dims", V{}}, {"keepdim", false}}},
                                                    {"empty", {rnd(g, {0, 3}, dt)}, {{"dims", V{0}}, {"keepdim", false}}}};
                       }});
  }
  t.push_back(OpInfo{"logsumexp", "reduce", true,
                     [](const TensorList& in, const Args& a) { return TensorList{logsumexp(in[0], a.ints("dims"), a.b("keepdim"))}; },
                     [](DType dt) {
                       auto s = reductions("logsumexp", dt, false);
                       s.erase(s.begin());  // logsumexp needs explicit dims
                       s.erase(s.begin() + 3);
                       Generator g = gen_for("logsumexp constant");
                       s.push_back({"constant row", {constant_row(g, dt, 0.7)}, {{"dims", V{1}}, {"keepdim", false}}});
                       return s;
                     }});
  t.push_back(OpInfo{"norm", "reduce", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{norm(in[0], a.d("p"), a.ints("dims"), a.b("keepdim"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("norm");
                       Tensor x = distinct(g, {3, 4}, dt) + 0.05;  // no zeros, no ties in |x|
                       std::vector<Sample> s;
                       for (double p : {2.0, 1.0, 3.0, std::numeric_limits<double>::infinity()}) {
                         s.push_back({"p=" + std::to_string(p) + " all", {x}, {{"p", p}, {"dims", V{}}, {"keepdim", false}}});
                         s.push_back({"p=" + std::to_string(p) + " dim 1", {x}, {{"p", p}, {"dims", V{1}}, {"keepdim", true}}});
                       }
                       // A zero row: the norm is 0 there, a kink (gradcheck skips it, OpParity pins PyTorch's 0).
                       for (double p : {2.0, 1.0, 3.0}) {
                         Sample z{"p=" + std::to_string(p) + " zero row", {constant_row(g, dt, 0.0)},
                                  {{"p", p}, {"dims", V{1}}, {"keepdim", false}}};
                         z.fd_gradcheck_skip = kKink;
                         s.push_back(z);
                       }
                       return s;
                     }});
  for (const char* name : {"softmax", "log_softmax"}) {
    bool log = std::string(name) == "log_softmax";
    t.push_back(OpInfo{name, "reduce", true,
                       [log](const TensorList& in, const Args& a) {
                         return TensorList{log ? log_softmax(in[0], a.i("dim")) : softmax(in[0], a.i("dim"))};
                       },
                       [n = std::string(name)](DType dt) {
                         Generator g = gen_for(n);
                         return std::vector<Sample>{{"last dim", {rnd(g, {3, 5}, dt, -3, 3)}, {{"dim", int64_t{-1}}}},
                                                    {"dim 0", {rnd(g, {3, 5}, dt, -3, 3)}, {{"dim", int64_t{0}}}},
                                                    {"middle of 3-d", {rnd(g, {2, 3, 4}, dt, -3, 3)}, {{"dim", int64_t{1}}}},
                                                    {"0-d", {rnd(g, {}, dt)}, {{"dim", int64_t{0}}}},
                                                    {"empty", {rnd(g, {0, 4}, dt)}, {{"dim", int64_t{1}}}}};
                       }});
  }
  t.push_back(OpInfo{"sum_to", "reduce", true,
                     [](const TensorList& in, const Args& a) { return TensorList{sum_to(in[0], a.ints("shape"))}; },
                     [](DType dt) {
                       Generator g = gen_for("sum_to");
                       return std::vector<Sample>{{"leading dims", {rnd(g, {2, 3, 4}, dt)}, {{"shape", V{4}}}},
                                                  {"size-1 dims", {rnd(g, {2, 3, 4}, dt)}, {{"shape", V{2, 1, 4}}}},
                                                  {"same", {rnd(g, {2, 3}, dt)}, {{"shape", V{2, 3}}}}};
                     }});
}

}  // namespace hpml::ops::table
