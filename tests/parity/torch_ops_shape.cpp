// libtorch counterparts of the op-table entries in tests/op_table/shape_ops.cpp: roll, tile,
// repeat_interleave, diag, baddbmm, einsum, index_put, take, masked_scatter.
#include <algorithm>

#include "parity/torch_ops.h"

namespace hpml::testing {

namespace {
using TL = std::vector<torch::Tensor>;
using V = std::vector<int64_t>;
}  // namespace

void add_shape_twins(std::map<std::string, TorchFn>& t) {
  t["roll"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::roll(in[0], a.ints("shifts"), a.ints("dims"))};
  };
  t["tile"] = [](const TL& in, const ops::Args& a) { return TL{torch::tile(in[0], a.ints("reps"))}; };
  t["repeat_interleave"] = [](const TL& in, const ops::Args& a) {
    c10::optional<int64_t> dim;
    if (a.has("dim")) dim = a.i("dim");
    if (in.size() > 1) return TL{torch::repeat_interleave(in[0], in[1], dim)};
    return TL{torch::repeat_interleave(in[0], a.i("repeats"), dim)};
  };
  t["diag"] = [](const TL& in, const ops::Args& a) { return TL{torch::diag(in[0], a.i("diagonal"))}; };
  t["baddbmm"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::baddbmm(in[0], in[1], in[2], a.d("beta"), a.d("alpha"))};
  };
  t["einsum"] = [](const TL& in, const ops::Args& a) { return TL{torch::einsum(a.s("equation"), in)}; };
  t["index_put"] = [](const TL& in, const ops::Args& a) {
    // in: x, values, then one index per position not listed in "slices" (None there).
    c10::List<c10::optional<torch::Tensor>> indices;
    const V slices = a.ints("slices");
    const int64_t total = static_cast<int64_t>(in.size() - 2 + slices.size());
    size_t next = 2;
    for (int64_t p = 0; p < total; ++p) {
      const bool slice = std::find(slices.begin(), slices.end(), p) != slices.end();
      indices.push_back(slice ? c10::optional<torch::Tensor>() : c10::optional<torch::Tensor>(in[next++]));
    }
    return TL{torch::index_put(in[0], indices, in[1], a.b("accumulate"))};
  };
  t["take"] = [](const TL& in, const ops::Args&) { return TL{torch::take(in[0], in[1])}; };
  t["masked_scatter"] = [](const TL& in, const ops::Args&) { return TL{torch::masked_scatter(in[0], in[1], in[2])}; };
}

}  // namespace hpml::testing
