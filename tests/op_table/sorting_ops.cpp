// Op table entries: scans, sorting and selection, unique, nonzero and the searches. Sort-like
// samples use distinct values (ties would make finite differences and unstable orders
// ambiguous); the samples with ties sort stably, which PyTorch's stable=true pins down.
#include <cmath>

#include "hpml/ops/indexing.h"
#include "hpml/ops/sorting.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {

const char* const kTies =
    "ties (or NaN): not differentiable where two elements are equal; PyTorch pins the subgradient";

Tensor f(std::initializer_list<double> v) { return tensor(TensorData(std::vector<double>(v))); }
Tensor idx(std::initializer_list<int64_t> v) { return tensor(TensorData(std::vector<int64_t>(v))); }
// Distinct integers in [-n/2, n/2) of dtype dt, shuffled.
Tensor distinct_ints(Generator& g, IntArrayRef shape, DType dt) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return (randperm(n, &g) - n / 2).to(dt).reshape(shape);
}
Sample skip_fd(Sample s, const char* why = kTies) {
  s.fd_gradcheck_skip = why;
  return s;
}

std::vector<Sample> scan_samples(const std::string& name, DType dt, bool prod) {
  Generator g = gen_for(name);
  // cumprod: magnitudes in [0.5, 1.5] keep products tame and clear of 0.
  auto x = [&](IntArrayRef s) { return prod ? away(g, s, dt, 0.5, 1.5) : rnd(g, s, dt); };
  std::vector<Sample> s = {{"dim 1", {x({3, 4})}, {{"dim", int64_t{1}}}},
                           {"dim 0", {x({3, 4})}, {{"dim", int64_t{0}}}},
                           {"dim -1 of 3-d", {x({2, 3, 4})}, {{"dim", int64_t{-1}}}},
                           {"dim -2 of 3-d", {x({2, 3, 4})}, {{"dim", int64_t{-2}}}},
                           {"0-d", {x({})}, {{"dim", int64_t{0}}}},
                           {"empty", {x({0, 3})}, {{"dim", int64_t{1}}}},
                           {"i64 gives i64", {ints(g, {3, 4}, -3, 4)}, {{"dim", int64_t{1}}}},
                           {"i32 gives i64", {ints(g, {5}, -3, 4).to(kInt32)}, {{"dim", int64_t{0}}}},
                           {"bool gives i64", {mask(g, {3, 4})}, {{"dim", int64_t{0}}}}};
  if (prod) {  // See Note [cumprod's gradient at zeros]: exact there, and gradchecked.
    Tensor z = x({3, 4}), pos = arange(12).reshape({3, 4});
    s.push_back({"one zero", {masked_fill(z, eq(pos, scalar_tensor(5, kInt64)), 0)}, {{"dim", int64_t{1}}}});
    Tensor zz = masked_fill(z, logical_or(eq(pos, scalar_tensor(4, kInt64)), eq(pos, scalar_tensor(6, kInt64))), 0);
    s.push_back({"two zeros in a row", {zz}, {{"dim", int64_t{1}}}});
    s.push_back({"zeros, dim 0", {zz}, {{"dim", int64_t{0}}}});
  }
  return s;
}

// sort and argsort: dim, descending, stable.
std::vector<Sample> sort_samples(const std::string& name, DType dt) {
  Generator g = gen_for(name);
  auto a = [](int64_t dim, bool desc, bool stable = false) {
    return Args{{"dim", dim}, {"descending", desc}, {"stable", stable}};
  };
  Tensor ties = f({0.5, -1.0, 0.5, 2.0, -1.0, 0.5, 2.0, 0.25});
  Tensor nan = f({0.5, NAN, -1.0, 2.0, NAN, 0.25});
  return {{"last dim", {distinct(g, {3, 5}, dt)}, a(-1, false)},
          {"dim 0 descending", {distinct(g, {4, 3}, dt)}, a(0, true)},
          {"middle of 3-d", {distinct(g, {2, 4, 3}, dt)}, a(1, false)},
          {"dim -2 descending", {distinct(g, {2, 4, 3}, dt)}, a(-2, true)},
          {"0-d", {distinct(g, {}, dt)}, a(0, false)},
          {"empty", {distinct(g, {0, 4}, dt)}, a(-1, false)},
          {"empty sorted dim", {distinct(g, {3, 0}, dt)}, a(1, true)},
          {"i64", {distinct_ints(g, {3, 5}, kInt64)}, a(1, false)},
          {"i32 descending", {distinct_ints(g, {4, 3}, kInt32)}, a(0, true)},
          {"u8", {distinct_ints(g, {7}, kInt64).add(4).to(kUInt8)}, a(0, false)},
          {"i64 ties, stable", {idx({3, 1, 2, 1, 3, 3, 0, 2})}, a(0, false, true)},
          {"i64 ties, stable descending", {idx({3, 1, 2, 1, 3, 3, 0, 2})}, a(0, true, true)},
          {"bool, stable", {mask(g, {9})}, a(0, false, true)},
          skip_fd({"ties, stable", {ties}, a(0, false, true)}),
          skip_fd({"ties, stable descending", {ties}, a(0, true, true)}),
          skip_fd({"NaN last", {nan}, a(0, false, true)}),
          skip_fd({"NaN first descending", {nan}, a(-1, true, true)})};
}

std::vector<Sample> topk_samples(DType dt) {
  Generator g = gen_for("topk");
  auto a = [](int64_t k, int64_t dim, bool largest, bool sorted = true) {
    return Args{{"k", k}, {"dim", dim}, {"largest", largest}, {"sorted", sorted}};
  };
  return {{"k 2, last dim", {distinct(g, {3, 5}, dt)}, a(2, -1, true)},
          {"k 3, dim 0, smallest", {distinct(g, {4, 3}, dt)}, a(3, 0, false)},
          {"k = size", {distinct(g, {2, 4}, dt)}, a(4, 1, true)},
          {"k 0", {distinct(g, {3, 4}, dt)}, a(0, 1, true)},
          {"middle of 3-d", {distinct(g, {2, 5, 3}, dt)}, a(2, -2, false)},
          {"sorted=false", {distinct(g, {3, 6}, dt)}, a(3, 1, true, false)},
          {"0-d", {distinct(g, {}, dt)}, a(1, 0, true)},
          {"empty rows", {distinct(g, {0, 4}, dt)}, a(2, 1, true)},
          {"i64", {distinct_ints(g, {3, 5}, kInt64)}, a(2, 1, true)},
          {"i32 smallest", {distinct_ints(g, {6}, kInt32)}, a(3, 0, false)},
          skip_fd({"NaN largest", {f({0.5, NAN, -1.0, 2.0, 0.25})}, a(2, 0, true)}),
          skip_fd({"NaN, smallest", {f({0.5, NAN, -1.0, 2.0, 0.25})}, a(3, 0, false)})};
}

std::vector<Sample> median_samples(DType dt) {
  Generator g = gen_for("median");
  return {{"[3, 4]: even count", {distinct(g, {3, 4}, dt)}, {}},
          {"[5]: odd count", {distinct(g, {5}, dt)}, {}},
          {"0-d", {distinct(g, {}, dt)}, {}},
          {"i64", {distinct_ints(g, {2, 3}, kInt64)}, {}},
          // The global median shares the gradient evenly between equal elements (PyTorch's
          // evenly_distribute_backward), NaNs included.
          skip_fd({"ties", {f({0.5, -1.0, 0.5, 2.0, 0.5})}, {}}),
          skip_fd({"NaN", {f({0.5, NAN, -1.0, NAN})}, {}})};
}

std::vector<Sample> median_dim_samples(DType dt) {
  Generator g = gen_for("median_dim");
  auto a = [](int64_t dim, bool keepdim) { return Args{{"dim", dim}, {"keepdim", keepdim}}; };
  Tensor nan_row = tensor({{3.0, NAN, 2.0, 4.0, NAN}, {1.0, 2.0, 5.0, 3.0, 4.0}});
  return {{"dim 1, odd", {distinct(g, {3, 5}, dt)}, a(1, false)},
          {"dim 0, even, keepdim", {distinct(g, {4, 3}, dt)}, a(0, true)},
          {"dim -1 of 3-d", {distinct(g, {2, 3, 4}, dt)}, a(-1, false)},
          {"0-d", {distinct(g, {}, dt)}, a(0, false)},
          {"empty rows", {distinct(g, {0, 3}, dt)}, a(1, false)},
          {"i64", {distinct_ints(g, {3, 4}, kInt64)}, a(-1, true)},
          skip_fd({"NaN row", {nan_row}, a(1, false)})};
}

std::vector<Sample> unique_samples(DType) {
  Generator g = gen_for("unique");
  auto a = [](bool sorted, bool inv, bool counts) {
    return Args{{"sorted", sorted}, {"return_inverse", inv}, {"return_counts", counts}};
  };
  Tensor reps = ints(g, {3, 4}, -2, 3);
  return {{"i64 repeats, inverse and counts", {reps}, a(true, true, true)},
          {"floats with repeats", {ints(g, {10}, 0, 4).to(kFloat64) * 0.5 - 0.75}, a(true, true, true)},
          {"values only", {reps}, a(true, false, false)},
          {"inverse only", {ints(g, {2, 3, 2}, 0, 4)}, a(true, true, false)},
          {"counts only, i32", {ints(g, {9}, 0, 3).to(kInt32)}, a(true, false, true)},
          {"sorted=false", {reps}, a(false, true, true)},
          {"0-d", {rnd(g, {}, kFloat64)}, a(true, true, true)},
          {"empty", {rnd(g, {0, 2}, kFloat64)}, a(true, true, true)},
          {"bool", {mask(g, {7})}, a(true, true, true)}};
}

std::vector<Sample> nonzero_samples(DType dt) {
  Generator g = gen_for("nonzero");
  Tensor x = masked_fill(rnd(g, {3, 4}, dt), mask(g, {3, 4}), 0);
  return {{"2-d floats", {x}, {}},
          {"3-d i64", {ints(g, {2, 3, 2}, -1, 2)}, {}},
          {"bool", {mask(g, {5})}, {}},
          {"NaN and -0.0", {f({0.0, NAN, -0.0, 1.5})}, {}},
          {"0-d non-zero", {scalar_tensor(2.5, dt)}, {}},
          {"0-d zero", {scalar_tensor(0, kInt64)}, {}},
          {"empty", {rnd(g, {2, 0}, dt)}, {}},
          {"all zero", {zeros({2, 3}, dt)}, {}}};
}

std::vector<Sample> search_samples(DType dt) {
  Generator g = gen_for("searchsorted");
  auto a = [](bool right) { return Args{{"right", right}}; };
  Tensor seq = f({1, 3, 3, 3, 5, 7, 9});
  Tensor hits = f({3, 0, 9, 6, 10, 1, 3.5});
  Tensor rows = sort(rnd(g, {2, 5}, dt, -2, 2), -1).first;
  return {{"1-d, left", {sort(rnd(g, {6}, dt, -2, 2)).first, rnd(g, {2, 3}, dt, -2.5, 2.5)}, a(false)},
          {"repeats and hits, left", {seq, hits}, a(false)},
          {"repeats and hits, right", {seq, hits}, a(true)},
          {"side=right", {seq, hits}, a(false).with("side", std::string("right"))},
          {"side=left", {seq, hits}, a(false).with("side", std::string("left"))},
          {"rows of sequences", {rows, rnd(g, {2, 3}, dt, -2.5, 2.5)}, a(false)},
          {"rows, right", {rows, rnd(g, {2, 4}, dt, -2.5, 2.5)}, a(true)},
          {"i64 sequence, float values", {idx({-2, 0, 1, 4}), f({-3, 0, 0.5, 4, 5})}, a(false)},
          {"i32 both", {idx({1, 2, 2, 8}).to(kInt32), idx({2, 0, 9, 5}).to(kInt32)}, a(true)},
          {"0-d value", {seq, scalar_tensor(3, dt)}, a(false)},
          {"empty values", {seq, rnd(g, {0}, dt)}, a(false)},
          {"empty sequence", {rnd(g, {0}, dt), f({1, 2})}, a(true)}};
}

std::vector<Sample> bucketize_samples(DType dt) {
  Generator g = gen_for("bucketize");
  Tensor b = f({-1, 0, 0, 0.5, 2});
  Tensor hits = tensor({{0.0, -1.0, 2.0}, {0.25, 3.0, -2.0}});
  return {{"left", {rnd(g, {3, 4}, dt, -2, 3), b}, {{"right", false}}},
          {"hits, right=false", {hits, b}, {{"right", false}}},
          {"hits, right=true", {hits, b}, {{"right", true}}},
          {"0-d input", {scalar_tensor(0.5, dt), b}, {{"right", false}}},
          {"i64 input", {idx({-2, 0, 1, 3}), b}, {{"right", true}}}};
}

template <typename Call, typename Make>
OpInfo entry(std::string name, bool diff, Call call, Make make) {
  return OpInfo{std::move(name), "sorting", diff, std::move(call), std::move(make)};
}

}  // namespace

void add_sorting_ops(std::vector<OpInfo>& t) {
  t.push_back(entry("cumsum", true,
                    [](const TensorList& in, const Args& a) { return TensorList{cumsum(in[0], a.i("dim"))}; },
                    [](DType dt) { return scan_samples("cumsum", dt, false); }));
  t.push_back(entry("cumprod", true,
                    [](const TensorList& in, const Args& a) { return TensorList{cumprod(in[0], a.i("dim"))}; },
                    [](DType dt) { return scan_samples("cumprod", dt, true); }));
  t.push_back(entry("sort", true,
                    [](const TensorList& in, const Args& a) {
                      auto [v, i] = sort(in[0], a.i("dim"), a.b("descending"), a.b("stable"));
                      return TensorList{v, i};
                    },
                    [](DType dt) { return sort_samples("sort", dt); }));
  t.push_back(entry("argsort", false,
                    [](const TensorList& in, const Args& a) {
                      return TensorList{argsort(in[0], a.i("dim"), a.b("descending"), a.b("stable"))};
                    },
                    [](DType dt) { return sort_samples("argsort", dt); }));
  t.push_back(entry("topk", true,
                    [](const TensorList& in, const Args& a) {
                      auto [v, i] = topk(in[0], a.i("k"), a.i("dim"), a.b("largest"), a.b("sorted"));
                      return TensorList{v, i};
                    },
                    topk_samples));
  t.push_back(entry("median", true, [](const TensorList& in, const Args&) { return TensorList{median(in[0])}; },
                    median_samples));
  t.push_back(entry("median_dim", true,
                    [](const TensorList& in, const Args& a) {
                      auto [v, i] = median(in[0], a.i("dim"), a.b("keepdim"));
                      return TensorList{v, i};
                    },
                    median_dim_samples));
  t.push_back(entry("unique", false,
                    [](const TensorList& in, const Args& a) {
                      auto [v, inv, counts] = unique(in[0], a.b("sorted"), a.b("return_inverse"), a.b("return_counts"));
                      TensorList out{v};
                      if (a.b("return_inverse")) out.push_back(inv);
                      if (a.b("return_counts")) out.push_back(counts);
                      return out;
                    },
                    unique_samples));
  t.push_back(entry("nonzero", false, [](const TensorList& in, const Args&) { return TensorList{nonzero(in[0])}; },
                    nonzero_samples));
  t.push_back(entry("searchsorted", false,
                    [](const TensorList& in, const Args& a) {
                      std::optional<std::string> side;
                      if (a.has("side")) side = a.s("side");
                      return TensorList{searchsorted(in[0], in[1], a.b("right"), side)};
                    },
                    search_samples));
  t.push_back(entry("bucketize", false,
                    [](const TensorList& in, const Args& a) {
                      return TensorList{bucketize(in[0], in[1], a.b("right"))};
                    },
                    bucketize_samples));
}

}  // namespace hpml::ops::table
