// Op table entries: joining, indexing and rearranging.
#include "hpml/ops/indexing.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
using V = std::vector<int64_t>;
Tensor idx(std::initializer_list<int64_t> v) { return tensor(TensorData(std::vector<int64_t>(v))); }
}  // namespace

void add_index_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"cat", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{cat(in, a.i("dim"))}; },
                     [](DType dt) {
                       Generator g = gen_for("cat");
                       return std::vector<Sample>{
                           {"dim 0", {rnd(g, {2, 3}, dt), rnd(g, {1, 3}, dt), rnd(g, {4, 3}, dt)}, {{"dim", int64_t{0}}}},
                           {"dim -1", {rnd(g, {2, 3}, dt), rnd(g, {2, 1}, dt)}, {{"dim", int64_t{-1}}}},
                           {"with empty", {rnd(g, {2, 3}, dt), rnd(g, {0, 3}, dt)}, {{"dim", int64_t{0}}}},
                           // PyTorch 1.13 skips a legacy empty [0] tensor whatever the other shapes
                           // (Note [cat skips legacy empty tensors]).
                           {"legacy empty [0], dim 1", {rnd(g, {2, 3}, dt), rnd(g, {0}, dt), rnd(g, {2, 2}, dt)}, {{"dim", int64_t{1}}}},
                           {"legacy empty [0] first", {rnd(g, {0}, dt), rnd(g, {2, 3}, dt)}, {{"dim", int64_t{0}}}}};
                     }});
  t.push_back(OpInfo{"stack", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{stack(in, a.i("dim"))}; },
                     [](DType dt) {
                       Generator g = gen_for("stack");
                       return std::vector<Sample>{{"dim 0", {rnd(g, {2, 3}, dt), rnd(g, {2, 3}, dt)}, {{"dim", int64_t{0}}}},
                                                  {"dim 2", {rnd(g, {2, 3}, dt), rnd(g, {2, 3}, dt)}, {{"dim", int64_t{2}}}},
                                                  {"0-d", {rnd(g, {}, dt), rnd(g, {}, dt)}, {{"dim", int64_t{0}}}}};
                     }});
  t.push_back(OpInfo{"index_select", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{index_select(in[0], a.i("dim"), in[1])}; },
                     [](DType dt) {
                       Generator g = gen_for("index_select");
                       return std::vector<Sample>{{"dim 0 repeats", {rnd(g, {4, 3}, dt), idx({3, 0, 3, 1})}, {{"dim", int64_t{0}}}},
                                                  {"dim 1", {rnd(g, {2, 5}, dt), idx({4, 2})}, {{"dim", int64_t{1}}}},
                                                  {"empty index", {rnd(g, {3, 2}, dt), idx({})}, {{"dim", int64_t{0}}}}};
                     }});
  t.push_back(OpInfo{"gather", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{gather(in[0], a.i("dim"), in[1])}; },
                     [](DType dt) {
                       Generator g = gen_for("gather");
                       return std::vector<Sample>{
                           {"dim 1", {rnd(g, {3, 4}, dt), ints(g, {3, 2}, 0, 4)}, {{"dim", int64_t{1}}}},
                           {"dim 0 smaller index", {rnd(g, {4, 3}, dt), ints(g, {2, 2}, 0, 4)}, {{"dim", int64_t{0}}}},
                           {"3-d", {rnd(g, {2, 3, 4}, dt), ints(g, {2, 3, 5}, 0, 4)}, {{"dim", int64_t{2}}}}};
                     }});
  for (const char* name : {"scatter", "scatter_add"}) {
    bool add = std::string(name) == "scatter_add";
    t.push_back(OpInfo{name, "index", true,
                       [add](const TensorList& in, const Args& a) {
                         return TensorList{add ? scatter_add(in[0], a.i("dim"), in[1], in[2]) : scatter(in[0], a.i("dim"), in[1], in[2])};
                       },
                       [add, n = std::string(name)](DType dt) {
                         Generator g = gen_for(n);
                         // scatter: unique targets per column (repeated targets overwrite in an unspecified order).
                         Tensor uniq = tensor({{0, 2}, {1, 0}, {3, 1}});
                         return std::vector<Sample>{
                             {"dim 0", {rnd(g, {4, 2}, dt), add ? ints(g, {3, 2}, 0, 4) : uniq, rnd(g, {3, 2}, dt)}, {{"dim", int64_t{0}}}},
                             {"dim 1, larger src", {rnd(g, {2, 5}, dt), add ? ints(g, {2, 3}, 0, 5) : tensor({{4, 0, 2}, {1, 3, 0}}),
                                                    rnd(g, {3, 4}, dt)}, {{"dim", int64_t{1}}}, {},
                              "PyTorch 1.13's ScatterBackward returns a src gradient of the index's shape, not src's"}};
                       }});
  }
  t.push_back(OpInfo{"index_add", "index", true,
                     [](const TensorList& in, const Args& a) {
                       return TensorList{index_add(in[0], a.i("dim"), in[1], in[2], a.d("alpha"))};
                     },
                     [](DType dt) {
                       Generator g = gen_for("index_add");
                       return std::vector<Sample>{
                           {"dim 0 repeats", {rnd(g, {4, 3}, dt), idx({0, 2, 0}), rnd(g, {3, 3}, dt)}, {{"dim", int64_t{0}}, {"alpha", 1.0}}},
                           {"dim 1 alpha", {rnd(g, {2, 4}, dt), idx({3, 1}), rnd(g, {2, 2}, dt)}, {{"dim", int64_t{1}}, {"alpha", -0.5}}}};
                     }});
  t.push_back(OpInfo{"one_hot", "index", false,
                     [](const TensorList& in, const Args& a) { return TensorList{one_hot(in[0], a.i("num_classes"))}; },
                     [](DType) {
                       return std::vector<Sample>{{"inferred", {idx({2, 0, 1, 2})}, {{"num_classes", int64_t{-1}}}},
                                                  {"given, 2-d", {tensor({{0, 3}, {1, 1}})}, {{"num_classes", int64_t{5}}}}};
                     }});
  t.push_back(OpInfo{"masked_select", "index", true,
                     [](const TensorList& in, const Args&) { return TensorList{masked_select(in[0], in[1])}; },
                     [](DType dt) {
                       Generator g = gen_for("masked_select");
                       return std::vector<Sample>{{"same shape", {rnd(g, {3, 4}, dt), mask(g, {3, 4})}, {}},
                                                  {"broadcast mask", {rnd(g, {3, 4}, dt), mask(g, {4})}, {}},
                                                  {"broadcast input", {rnd(g, {4}, dt), mask(g, {2, 4})}, {}}};
                     }});
  t.push_back(OpInfo{"repeat", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{repeat(in[0], a.ints("repeats"))}; },
                     [](DType dt) {
                       Generator g = gen_for("repeat");
                       return std::vector<Sample>{{"2-d", {rnd(g, {2, 3}, dt)}, {{"repeats", V{2, 3}}}},
                                                  {"new dims", {rnd(g, {3}, dt)}, {{"repeats", V{2, 1, 2}}}},
                                                  {"zero", {rnd(g, {2}, dt)}, {{"repeats", V{0}}}}};
                     }});
  t.push_back(OpInfo{"flip", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{flip(in[0], a.ints("dims"))}; },
                     [](DType dt) {
                       Generator g = gen_for("flip");
                       return std::vector<Sample>{{"dim 0", {rnd(g, {3, 4}, dt)}, {{"dims", V{0}}}},
                                                  {"dims 0, 2", {rnd(g, {2, 3, 4}, dt)}, {{"dims", V{0, 2}}}},
                                                  {"last", {rnd(g, {5}, dt)}, {{"dims", V{-1}}}}};
                     }});
  t.push_back(OpInfo{"pad", "index", true,
                     [](const TensorList& in, const Args& a) { return TensorList{pad(in[0], a.ints("pad"), a.d("value"))}; },
                     [](DType dt) {
                       Generator g = gen_for("pad");
                       return std::vector<Sample>{{"last dim", {rnd(g, {2, 3}, dt)}, {{"pad", V{1, 2}}, {"value", 0.0}}},
                                                  {"two dims, value", {rnd(g, {2, 3}, dt)}, {{"pad", V{0, 1, 2, 1}}, {"value", 1.5}}},
                                                  {"crop", {rnd(g, {3, 5}, dt)}, {{"pad", V{-1, 2, 1, -2}}, {"value", 0.0}}}};
                     }});
  for (const char* name : {"tril", "triu"}) {
    bool lower = std::string(name) == "tril";
    t.push_back(OpInfo{name, "index", true,
                       [lower](const TensorList& in, const Args& a) {
                         return TensorList{lower ? tril(in[0], a.i("diagonal")) : triu(in[0], a.i("diagonal"))};
                       },
                       [n = std::string(name)](DType dt) {
                         Generator g = gen_for(n);
                         return std::vector<Sample>{{"square", {rnd(g, {4, 4}, dt)}, {{"diagonal", int64_t{0}}}},
                                                    {"wide, +1", {rnd(g, {3, 5}, dt)}, {{"diagonal", int64_t{1}}}},
                                                    {"batched, -1", {rnd(g, {2, 4, 3}, dt)}, {{"diagonal", int64_t{-1}}}}};
                       }});
  }
}

}  // namespace hpml::ops::table
