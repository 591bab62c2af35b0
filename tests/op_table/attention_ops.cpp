// Op table entries: scaled_dot_product_attention as it picks its implementation (the fused kernel
// where it applies: Note [Which attention runs]) and pinned to the composed math form, on shapes
// that cross the kernel's 64-row blocks, causal and not, with masks, broadcasting and empty rows.
#include "hpml/ops/attention.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {

TensorList call_sdpa(const TensorList& in, const Args& a, bool math) {
  std::optional<double> scale;
  if (a.has("scale")) scale = a.d("scale");
  const Tensor mask = in.size() > 3 ? in[3] : Tensor();
  if (math) {
    SDPAKernel only(SDPBackend::math);
    return {scaled_dot_product_attention(in[0], in[1], in[2], mask, 0.0, a.b("is_causal"), scale)};
  }
  return {scaled_dot_product_attention(in[0], in[1], in[2], mask, 0.0, a.b("is_causal"), scale)};
}

// q [*, L, E], k [*, S, E], v [*, S, Ev] with the given batch dims, one sample.
Sample qkv(Generator& g, DType dt, std::string label, std::vector<int64_t> qb, std::vector<int64_t> kb, int64_t L,
           int64_t S, int64_t E, int64_t Ev, bool causal) {
  auto shape = [](std::vector<int64_t> b, int64_t r, int64_t c) {
    b.push_back(r);
    b.push_back(c);
    return b;
  };
  return {std::move(label),
          {rnd(g, shape(qb, L, E), dt), rnd(g, shape(kb, S, E), dt), rnd(g, shape(kb, S, Ev), dt)},
          {{"is_causal", causal}}};
}

std::vector<Sample> samples(DType dt) {
  Generator g = gen_for("scaled_dot_product_attention");
  std::vector<Sample> s;
  s.push_back(qkv(g, dt, "[2, 3] heads, L 5, S 7", {2, 3}, {2, 3}, 5, 7, 4, 3, false));
  s.push_back(qkv(g, dt, "causal L = S = 6", {2, 2}, {2, 2}, 6, 6, 4, 4, true));
  s.push_back(qkv(g, dt, "causal L 4 < S 6", {3}, {3}, 4, 6, 5, 2, true));
  s.push_back(qkv(g, dt, "causal, 70 rows: two 64-row blocks", {2}, {2}, 70, 70, 8, 8, true));
  s.push_back(qkv(g, dt, "70 queries, 130 keys", {1}, {1}, 70, 130, 4, 4, false));
  s.push_back(qkv(g, dt, "2-d", {}, {}, 5, 6, 3, 4, false));
  s.push_back(qkv(g, dt, "key and value broadcast over the batch", {2, 3}, {1, 3}, 4, 5, 4, 4, false));
  Sample scaled = qkv(g, dt, "scale 0.3", {2}, {2}, 4, 5, 4, 4, true);
  scaled.args = scaled.args.with("scale", 0.3);
  s.push_back(scaled);
  Sample bmask = qkv(g, dt, "bool mask [L, S], broadcast", {2, 2}, {2, 2}, 4, 5, 3, 3, false);
  Tensor keep = mask(g, {4, 5});
  keep.select(1, 0).fill_(true);  // every query keeps one key: no row of only -inf
  bmask.inputs.push_back(keep);
  s.push_back(bmask);
  Sample fmask = qkv(g, dt, "float mask [1, L, S]", {2}, {2}, 4, 5, 3, 3, false);
  fmask.inputs.push_back(rnd(g, {1, 4, 5}, dt));
  s.push_back(fmask);
  s.push_back(qkv(g, dt, "empty: L = 0", {2}, {2}, 0, 3, 4, 4, false));
  return s;
}

}  // namespace

void add_attention_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"scaled_dot_product_attention", "nn", true,
                     [](const TensorList& in, const Args& a) { return call_sdpa(in, a, false); }, samples});
  t.push_back(OpInfo{"scaled_dot_product_attention_math", "nn", true,
                     [](const TensorList& in, const Args& a) { return call_sdpa(in, a, true); }, samples});
}

}  // namespace hpml::ops::table
