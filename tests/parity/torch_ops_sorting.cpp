// libtorch counterparts of the sorting family's op-table entries (tests/op_table/sorting_ops.cpp).
// Where PyTorch leaves an order unspecified (topk and unique with sorted=false), the twin sorts
// PyTorch's result, which is what hpml always returns.
#include <string>

#include "parity/torch_ops.h"

namespace hpml::testing {

namespace {
using TL = std::vector<torch::Tensor>;

// PyTorch's unsorted topk, put in the order hpml gives (largest or smallest first).
TL sorted_topk(const torch::Tensor& x, const ops::Args& a) {
  const int64_t dim = a.i("dim");
  auto [v, i] = torch::topk(x, a.i("k"), dim, a.b("largest"), a.b("sorted"));
  if (a.b("sorted")) return {v, i};
  torch::Tensor order = torch::argsort(v.detach(), /*stable=*/true, dim, /*descending=*/a.b("largest"));
  return {v.gather(dim, order), i.gather(dim, order)};
}

// PyTorch's _unique2 (what torch.unique calls), sorted if it was not, with the requested outputs.
TL sorted_unique(const torch::Tensor& x, const ops::Args& a) {
  const bool inv = a.b("return_inverse"), cnt = a.b("return_counts");
  auto [v, inverse, counts] = torch::_unique2(x, a.b("sorted"), inv, cnt);
  if (!a.b("sorted")) {
    torch::Tensor perm = torch::argsort(v, /*stable=*/true, 0, false);  // sorted position -> old position
    v = v.index_select(0, perm);
    if (cnt) counts = counts.index_select(0, perm);
    if (inv) inverse = torch::argsort(perm, true, 0, false).index_select(0, inverse.flatten()).reshape(inverse.sizes());
  }
  TL out{v};
  if (inv) out.push_back(inverse);
  if (cnt) out.push_back(counts);
  return out;
}
}  // namespace

void add_sorting_twins(std::map<std::string, TorchFn>& t) {
  t["cumsum"] = [](const TL& in, const ops::Args& a) { return TL{torch::cumsum(in[0], a.i("dim"))}; };
  t["cumprod"] = [](const TL& in, const ops::Args& a) { return TL{torch::cumprod(in[0], a.i("dim"))}; };
  t["sort"] = [](const TL& in, const ops::Args& a) {
    auto [v, i] = torch::sort(in[0], c10::optional<bool>(a.b("stable")), a.i("dim"), a.b("descending"));
    return TL{v, i};
  };
  t["argsort"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::argsort(in[0], a.b("stable"), a.i("dim"), a.b("descending"))};
  };
  t["topk"] = [](const TL& in, const ops::Args& a) { return sorted_topk(in[0], a); };
  t["median"] = [](const TL& in, const ops::Args&) { return TL{torch::median(in[0])}; };
  t["median_dim"] = [](const TL& in, const ops::Args& a) {
    auto [v, i] = torch::median(in[0], a.i("dim"), a.b("keepdim"));
    return TL{v, i};
  };
  t["unique"] = [](const TL& in, const ops::Args& a) { return sorted_unique(in[0], a); };
  t["nonzero"] = [](const TL& in, const ops::Args&) { return TL{torch::nonzero(in[0])}; };
  t["searchsorted"] = [](const TL& in, const ops::Args& a) {
    c10::optional<c10::string_view> side;
    std::string s = a.has("side") ? a.s("side") : "";
    if (a.has("side")) side = c10::string_view(s);
    return TL{torch::searchsorted(in[0], in[1], /*out_int32=*/false, a.b("right"), side)};
  };
  t["bucketize"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::bucketize(in[0], in[1], /*out_int32=*/false, a.b("right"))};
  };
}

}  // namespace hpml::testing
