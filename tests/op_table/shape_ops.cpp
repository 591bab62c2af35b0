// Op table entries: roll, tile, repeat_interleave, diag, baddbmm, einsum, index_put, take and
// masked_scatter (bernoulli is random: tests/ops/bernoulli_test.cpp checks it on its own).
#include <algorithm>

#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
using V = std::vector<int64_t>;
Tensor idx(std::initializer_list<int64_t> v) { return tensor(TensorData(std::vector<int64_t>(v))); }

OpInfo op(const char* name, const char* family, std::function<TensorList(const TensorList&, const Args&)> call,
          std::function<std::vector<Sample>(DType, Generator&)> samples) {
  return OpInfo{name, family, true, std::move(call), [n = std::string(name), samples](DType dt) {
                  Generator g = gen_for(n);
                  return samples(dt, g);
                }};
}

void add_rearranging(std::vector<OpInfo>& t) {
  t.push_back(op("roll", "index",
                 [](const TensorList& in, const Args& a) {
                   return TensorList{roll(in[0], a.ints("shifts"), a.ints("dims"))};
                 },
                 [](DType dt, Generator& g) {
                   return std::vector<Sample>{
                       {"one dim", {rnd(g, {3, 4}, dt)}, {{"shifts", V{1}}, {"dims", V{1}}}},
                       {"two dims, negative and past the size", {rnd(g, {3, 4, 2}, dt)},
                        {{"shifts", V{-1, 5}}, {"dims", V{0, -1}}}},
                       {"flattened", {rnd(g, {2, 3}, dt)}, {{"shifts", V{4}}, {"dims", V{}}}},
                       {"whole turn", {rnd(g, {3}, dt)}, {{"shifts", V{3}}, {"dims", V{0}}}},
                       {"empty", {rnd(g, {0, 3}, dt)}, {{"shifts", V{2}}, {"dims", V{0}}}}};
                 }));
  t.push_back(op("tile", "index",
                 [](const TensorList& in, const Args& a) { return TensorList{tile(in[0], a.ints("reps"))}; },
                 [](DType dt, Generator& g) {
                   return std::vector<Sample>{{"fewer reps than dims", {rnd(g, {2, 3}, dt)}, {{"reps", V{2}}}},
                                              {"more reps than dims", {rnd(g, {2}, dt)}, {{"reps", V{3, 2}}}},
                                              {"same count", {rnd(g, {2, 3}, dt)}, {{"reps", V{2, 1}}}},
                                              {"0-d", {rnd(g, {}, dt)}, {{"reps", V{3}}}}};
                 }));
  t.push_back(op("repeat_interleave", "index",
                 [](const TensorList& in, const Args& a) {
                   std::optional<int64_t> dim;
                   if (a.has("dim")) dim = a.i("dim");
                   if (in.size() > 1) return TensorList{repeat_interleave(in[0], in[1], dim)};
                   return TensorList{repeat_interleave(in[0], a.i("repeats"), dim)};
                 },
                 [](DType dt, Generator& g) {
                   return std::vector<Sample>{
                       {"number, flattened", {rnd(g, {2, 3}, dt)}, {{"repeats", int64_t{2}}}},
                       {"number, dim 1", {rnd(g, {2, 3}, dt)}, {{"repeats", int64_t{3}}, {"dim", int64_t{1}}}},
                       {"tensor, dim 0", {rnd(g, {3, 2}, dt), idx({1, 0, 2})}, {{"dim", int64_t{0}}}},
                       {"tensor, flattened", {rnd(g, {2, 2}, dt), idx({2, 1, 0, 3})}, {}},
                       {"one-element tensor, dim -1", {rnd(g, {2, 3}, dt), idx({2})}, {{"dim", int64_t{-1}}}}};
                 }));
  t.push_back(op("diag", "index",
                 [](const TensorList& in, const Args& a) { return TensorList{diag(in[0], a.i("diagonal"))}; },
                 [](DType dt, Generator& g) {
                   auto k = [](int64_t v) { return Args{{"diagonal", v}}; };
                   return std::vector<Sample>{{"vector", {rnd(g, {3}, dt)}, k(0)},
                                              {"vector, above", {rnd(g, {3}, dt)}, k(1)},
                                              {"vector, below", {rnd(g, {2}, dt)}, k(-2)},
                                              {"square matrix", {rnd(g, {3, 3}, dt)}, k(0)},
                                              {"wide matrix, above", {rnd(g, {3, 4}, dt)}, k(1)},
                                              {"tall matrix, below", {rnd(g, {4, 3}, dt)}, k(-1)},
                                              {"matrix, last diagonal", {rnd(g, {3, 4}, dt)}, k(3)}};
                 }));
}

void add_products(std::vector<OpInfo>& t) {
  t.push_back(op("baddbmm", "linalg",
                 [](const TensorList& in, const Args& a) {
                   return TensorList{baddbmm(in[0], in[1], in[2], a.d("beta"), a.d("alpha"))};
                 },
                 [](DType dt, Generator& g) {
                   auto ab = [](double beta, double alpha) { return Args{{"beta", beta}, {"alpha", alpha}}; };
                   auto r = [&](std::vector<int64_t> s) { return rnd(g, s, dt); };
                   return std::vector<Sample>{
                       {"full input", {r({2, 3, 4}), r({2, 3, 5}), r({2, 5, 4})}, ab(1, 1)},
                       {"broadcast input, beta, alpha", {r({4}), r({3, 2, 3}), r({3, 3, 4})}, ab(0.5, -2)},
                       {"beta 0", {r({2, 1, 3}), r({2, 2, 2}), r({2, 2, 3})}, ab(0, 1.5)},
                       {"empty batch", {r({0, 2, 2}), r({0, 2, 3}), r({0, 3, 2})}, ab(1, 1)}};
                 }));
  t.push_back(op("einsum", "linalg",
                 [](const TensorList& in, const Args& a) { return TensorList{einsum(a.s("equation"), in)}; },
                 [](DType dt, Generator& g) {
                   auto eq = [](const char* e) { return Args{{"equation", std::string(e)}}; };
                   auto r = [&](std::vector<int64_t> s) { return rnd(g, s, dt); };
                   return std::vector<Sample>{
                       {"matmul", {r({2, 3}), r({3, 4})}, eq("ij,jk->ik")},
                       {"implicit output", {r({2, 3}), r({3, 4})}, eq("ij,jk")},
                       {"implicit, capitals first", {r({2, 3}), r({3, 4})}, eq("bA,Ac")},
                       {"batched", {r({2, 2, 3}), r({2, 3, 4})}, eq("bij,bjk->bik")},
                       {"transpose", {r({2, 3})}, eq("ij->ji")},
                       {"trace", {r({3, 3})}, eq("ii")},
                       {"diagonal", {r({3, 3})}, eq("ii->i")},
                       {"diagonal of a batch", {r({2, 3, 3})}, eq("bii->bi")},
                       {"outer", {r({3}), r({2})}, eq("i,j->ij")},
                       {"dot", {r({4}), r({4})}, eq("i,i->")},
                       {"sum", {r({2, 3})}, eq("ij->")},
                       {"ellipsis, broadcast", {r({2, 1, 2, 3}), r({3, 3, 4})}, eq("...ij,...jk->...ik")},
                       {"ellipsis summed", {r({2, 3, 4})}, eq("...ij->j")},
                       {"ellipsis in the middle", {r({2, 3, 4})}, eq("i...->...i")},
                       {"three operands", {r({2, 3}), r({3, 4}), r({4, 2})}, eq("ij,jk,kl->il")},
                       {"bilinear", {r({2, 3}), r({4, 3, 5}), r({2, 5})}, eq("bn,anm,bm->ba")},
                       {"label shared later", {r({2, 3}), r({4}), r({2, 4})}, eq("ij,k,ik->j")},
                       {"repeated and contracted", {r({3, 3, 2}), r({2, 4})}, eq("iij,jk->ik")},
                       {"size-1 broadcast", {r({2, 1}), r({3, 4})}, eq("ij,jk")},
                       {"spaces", {r({2, 3}), r({3})}, eq(" ij , j -> i ")}};
                 }));
}

void add_index_writes(std::vector<OpInfo>& t) {
  t.push_back(op("index_put", "index",
                 [](const TensorList& in, const Args& a) {
                   // in: x, values, then one index per position not listed in "slices" (':').
                   TensorList indices;
                   const V slices = a.ints("slices");
                   const int64_t total = static_cast<int64_t>(in.size() - 2 + slices.size());
                   size_t next = 2;
                   for (int64_t p = 0; p < total; ++p) {
                     const bool slice = std::find(slices.begin(), slices.end(), p) != slices.end();
                     indices.push_back(slice ? Tensor() : in[next++]);
                   }
                   return TensorList{index_put(in[0], indices, in[1], a.b("accumulate"))};
                 },
                 [](DType dt, Generator& g) {
                   auto args = [](bool acc, V slices = {}) { return Args{{"accumulate", acc}, {"slices", slices}}; };
                   Tensor bmask = tensor({{true, false, true, true}, {false, false, true, false},
                                          {true, true, false, false}});  // 6 true
                   return std::vector<Sample>{
                       {"one index", {rnd(g, {5, 3}, dt), rnd(g, {3, 3}, dt), idx({4, 0, 2})}, args(false)},
                       {"accumulate repeats", {rnd(g, {5, 3}, dt), rnd(g, {4, 3}, dt), idx({1, 3, 1, 1})}, args(true)},
                       {"two broadcast indices, broadcast values",
                        {rnd(g, {4, 5}, dt), rnd(g, {3}, dt), tensor({{0}, {3}}), idx({1, 4, 2})}, args(false)},
                       {"negative indices", {rnd(g, {4, 2}, dt), rnd(g, {2, 2}, dt), idx({-1, 1})}, args(false)},
                       {"':' then an index", {rnd(g, {3, 4, 2}, dt), rnd(g, {2, 2}, dt), idx({1, 3})},
                        args(false, {0})},
                       {"indices apart: index dims first",
                        {rnd(g, {3, 4, 5}, dt), rnd(g, {2, 4}, dt), idx({0, 2}), idx({1, 4})}, args(true, {1})},
                       {"':', index, ':', index: index dims first",
                        {rnd(g, {2, 3, 2, 4}, dt), rnd(g, {2, 2, 2}, dt), idx({0, 2}), idx({1, 3})},
                        args(false, {0, 2})},
                       {"':', two adjacent indices, ':'",
                        {rnd(g, {2, 3, 4, 2}, dt), rnd(g, {2, 3, 2}, dt), idx({0, 2, 1}), idx({3, 0, 1})},
                        args(false, {0, 3})},
                       {"bool mask, scalar value", {rnd(g, {3, 4}, dt), rnd(g, {}, dt), bmask}, args(false)},
                       {"bool mask, accumulate", {rnd(g, {3, 4}, dt), rnd(g, {6}, dt), bmask}, args(true)},
                       {"nothing indexed", {rnd(g, {3, 2}, dt), rnd(g, {2}, dt), idx({})}, args(true)}};
                 }));
  t.push_back(op("take", "index",
                 [](const TensorList& in, const Args&) { return TensorList{take(in[0], in[1])}; },
                 [](DType dt, Generator& g) {
                   return std::vector<Sample>{
                       {"2-d index, negatives", {rnd(g, {3, 4}, dt), tensor({{0, -1, 5}, {11, 5, -12}})}, {}},
                       {"0-d index", {rnd(g, {2, 3}, dt), tensor(int64_t{4})}, {}},
                       {"0-d input", {rnd(g, {}, dt), idx({0, 0})}, {}},
                       {"empty index", {rnd(g, {2, 2}, dt), idx({})}, {}}};
                 }));
  t.push_back(op("masked_scatter", "index",
                 [](const TensorList& in, const Args&) { return TensorList{masked_scatter(in[0], in[1], in[2])}; },
                 [](DType dt, Generator& g) {
                   return std::vector<Sample>{
                       {"same shape", {rnd(g, {3, 4}, dt), mask(g, {3, 4}), rnd(g, {12}, dt)}, {}},
                       {"broadcast mask, larger source", {rnd(g, {3, 4}, dt), mask(g, {4}), rnd(g, {3, 5}, dt)}, {}},
                       {"broadcast input", {rnd(g, {4}, dt), mask(g, {2, 4}), rnd(g, {8}, dt)}, {}},
                       {"nothing selected", {rnd(g, {2, 2}, dt), tensor({false, false}), rnd(g, {1}, dt)}, {}}};
                 }));
}

}  // namespace

void add_shape_ops(std::vector<OpInfo>& t) {
  add_rearranging(t);
  add_products(t);
  add_index_writes(t);
}

}  // namespace hpml::ops::table
