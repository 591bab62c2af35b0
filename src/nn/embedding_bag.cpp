// F::embedding_bag and nn::EmbeddingBag: the bags are worked out on the host from the indices and
// offsets, then the reduction is composed from index_select, index_add and max (autograd follows
// the parts). Note [embedding_bag as gathers].
#include <algorithm>
#include <cmath>
#include <vector>

#include "hpml/autograd/grad_mode.h"
#include "hpml/core/record.h"
#include "hpml/nn/functional.h"
#include "hpml/nn/init.h"
#include "hpml/nn/layers.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/checks.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"

namespace hpml::nn::functional {

// Note [embedding_bag as gathers]
// The kept entries (indices other than padding_idx) are gathered once, E = weight[idx] [K, dim]
// (times per_sample_weights for "sum"), in bag order. The bags are then laid out as a block
// [bags, longest, dim] of rows of E, the slots past each bag's end masked (0 for "sum" and
// "mean", -inf for "max"), and reduced over the slots: sum (mean then divides by the bag's count,
// at least 1 so an empty bag stays 0) or max, where the first maximum wins as in PyTorch's kernel
// (strict >) and the backward sends each gradient to that one row; an empty bag gives 0. When
// every bag has the same length (a 2-d input) E is already the block. When the block would be
// more than twice E (very uneven bags), "sum" and "mean" add each row into its bag with one
// index_add instead (slower per element, but no padding).
namespace {

struct Bags {
  std::vector<int64_t> idx, pos, bag;  // kept entries: embedding index, position in input, bag
  std::vector<int64_t> count;          // kept entries per bag
};

Tensor i64_tensor(const std::vector<int64_t>& v, Device device) {
  Tensor t = empty({static_cast<int64_t>(v.size())}, kInt64);  // written on the host
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return device.is_cpu() ? t : t.to(device);
}

// The bag of every input position from offsets, checked; entries equal to pad (>= 0) left out.
Bags make_bags(const Tensor& flat, const Tensor& offs, bool include_last, int64_t num, int64_t pad) {
  const int64_t n = flat.numel(), no = offs.numel();
  const int64_t* ip = flat.data_ptr<int64_t>();
  const int64_t* op = offs.data_ptr<int64_t>();
  HPML_CHECK(!include_last || no >= 1, "embedding_bag: include_last_offset needs at least one offset, got none");
  const int64_t nb = include_last ? no - 1 : no;
  if (no > 0)
    HPML_CHECK(op[0] == 0, "embedding_bag: offsets[0] has to be 0 (the first bag starts at position 0), got ", op[0]);
  // PyTorch's docs: the extra last offset is the number of indices (1.13 overruns its output otherwise).
  if (include_last)
    HPML_CHECK(op[no - 1] == n, "embedding_bag: with include_last_offset the last offset must be the number of ",
               "indices (", n, "), got ", op[no - 1]);
  for (int64_t i = 0; i < no; ++i)
    HPML_CHECK(op[i] <= n && (i == 0 || op[i] >= op[i - 1]), "embedding_bag: offsets must be non-decreasing and at ",
               "most the number of indices (", n, "), got offsets[", i, "] = ", op[i], i ? " after " : "",
               i ? std::to_string(op[i - 1]) : std::string());
  Bags b;
  b.count.assign(static_cast<size_t>(nb), 0);
  b.idx.reserve(static_cast<size_t>(n)), b.pos.reserve(static_cast<size_t>(n)), b.bag.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t end = i + 1 < no ? op[i + 1] : n;
    for (int64_t j = op[i]; j < end; ++j) {
      HPML_CHECK(ip[j] >= 0 && ip[j] < num, "embedding_bag: index ", ip[j], " (position ", j, ") is out of range for ",
                 num, " embeddings");
      if (ip[j] == pad) continue;
      b.idx.push_back(ip[j]), b.pos.push_back(j), b.bag.push_back(i);
      ++b.count[i];
    }
  }
  return b;
}

// max(count, 1) of each bag, [bags, 1]: the divisor of "mean".
Tensor counts(const Bags& b, TensorOptions opt) {
  Tensor c = empty({static_cast<int64_t>(b.count.size()), 1}, kInt64);
  std::transform(b.count.begin(), b.count.end(), c.data_ptr<int64_t>(), [](int64_t n) { return std::max<int64_t>(n, 1); });
  return c.to(opt.device()).to(opt.dtype());
}

// e [K, dim], the kept rows in bag order -> [bags, dim]. See Note [embedding_bag as gathers].
Tensor reduce_bags(const Tensor& e, const Bags& b, const std::string& mode, int64_t dim, TensorOptions opt) {
  const auto nb = static_cast<int64_t>(b.count.size()), K = static_cast<int64_t>(b.idx.size());
  const int64_t longest = nb ? *std::max_element(b.count.begin(), b.count.end()) : 0;
  const bool uniform = longest > 0 && K == nb * longest;  // every bag this long: E is the block
  if (longest == 0 || (!uniform && mode != "max" && nb * longest > 2 * K)) {
    Tensor out = index_add(zeros({nb, dim}, opt), 0, i64_tensor(b.bag, opt.device()), e);
    return mode == "mean" ? out / counts(b, opt) : out;
  }
  Tensor block, mask;  // [nb, longest, dim], and [nb, longest, 1] (true: a real entry) unless uniform
  if (uniform) {
    block = e.view({nb, longest, dim});
  } else {
    // Slot s of bag i holds E's row start_i + s if the bag is that long (else row 0, masked).
    std::vector<int64_t> slot(static_cast<size_t>(nb * longest), 0);
    std::vector<bool> valid(static_cast<size_t>(nb * longest), false);
    for (int64_t i = 0, start = 0; i < nb; start += b.count[i++])
      for (int64_t s = 0; s < b.count[i]; ++s) slot[i * longest + s] = start + s, valid[i * longest + s] = true;
    mask = tensor(TensorData(valid), TensorOptions(kBool).device(e.device())).view({nb, longest, 1});
    block = index_select(e, 0, i64_tensor(slot, e.device())).view({nb, longest, dim});
  }
  if (mode != "max") {
    Tensor out = sum(uniform ? block : where(mask, block, 0.0), {1});
    return mode == "mean" ? out / counts(b, opt) : out;
  }
  Tensor v = max(uniform ? block : where(mask, block, -INFINITY), 1).first;
  if (uniform) return v;
  std::vector<bool> nonempty(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) nonempty[i] = b.count[i] > 0;
  return where(tensor(TensorData(nonempty), TensorOptions(kBool).device(v.device())).unsqueeze(1), v, 0.0);
}

void check_embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets,
                         const EmbeddingBagFuncOptions& o) {
  HPML_CHECK(input.defined() && weight.defined(), "embedding_bag: input and weight must be defined");
  ops::check_same_device("embedding_bag", {{"input", &input}, {"weight", &weight}, {"offsets", &offsets},
                                           {"per_sample_weights", &o.per_sample_weights}});
  HPML_CHECK(input.dtype() == kInt64 || input.dtype() == kInt32, "embedding_bag: input must be i64 or i32, got ",
             input.dtype());
  HPML_CHECK(weight.dim() == 2 && weight.is_floating_point(), "embedding_bag: weight must be a 2-d floating tensor ",
             "[num_embeddings, embedding_dim], got ", weight.dtype(), " ", weight.sizes());
  HPML_CHECK(o.mode == "sum" || o.mode == "mean" || o.mode == "max",
             "embedding_bag: mode must be \"sum\", \"mean\" or \"max\", got \"", o.mode, "\"");
  HPML_CHECK(input.dim() == 1 || input.dim() == 2, "embedding_bag: input must be 1-d (with offsets) or 2-d [bags, ",
             "length], got shape ", input.sizes());
  if (input.dim() == 2)
    HPML_CHECK(!offsets.defined(), "embedding_bag: offsets must be undefined for a 2-d input (each row is a bag), got ",
               "offsets of shape ", offsets.sizes());
  else
    HPML_CHECK(offsets.defined() && offsets.dim() == 1 && (offsets.dtype() == kInt64 || offsets.dtype() == kInt32),
               "embedding_bag: a 1-d input needs 1-d i64 or i32 offsets, got ",
               offsets.defined() ? offsets.sizes() : IntArrayRef());
  const Tensor& psw = o.per_sample_weights;
  if (psw.defined()) {
    HPML_CHECK(o.mode == "sum", "embedding_bag: per_sample_weights is only supported for mode \"sum\", got mode \"",
               o.mode, "\"");
    HPML_CHECK(psw.sizes() == input.sizes() && psw.dtype() == weight.dtype(),
               "embedding_bag: per_sample_weights must have the input's shape ", input.sizes(),
               " and the weight's dtype ", weight.dtype(), ", got ", psw.dtype(), " ", psw.sizes());
  }
}

}  // namespace

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets,
                     const EmbeddingBagFuncOptions& o) {
  HPML_RECORD_OP("embedding_bag", input, weight, offsets, o.per_sample_weights);
  check_embedding_bag(input, weight, offsets, o);
  const int64_t num = weight.sizes()[0], dim = weight.sizes()[1];
  int64_t pad = -1;
  if (o.padding_idx) {
    HPML_CHECK(*o.padding_idx >= -num && *o.padding_idx < num, "embedding_bag: padding_idx ", *o.padding_idx,
               " must be within num_embeddings (", num, ")");
    pad = *o.padding_idx < 0 ? *o.padding_idx + num : *o.padding_idx;
  }
  Tensor flat = input.to(kInt64).reshape({-1}).contiguous();
  // A 2-d input [B, L] is B bags of L: offsets 0, L, 2L, ... (as F.embedding_bag makes them).
  Tensor offs = input.dim() == 2 ? arange(0, input.numel(), std::max<int64_t>(input.sizes()[1], 1))
                                 : offsets.to(kInt64).contiguous();
  if (input.dim() == 2 && input.sizes()[1] == 0) offs = zeros({input.sizes()[0]}, kInt64);
  // host read: the indices and offsets, once each (the bags are laid out on the host)
  const Bags b = make_bags(flat.cpu(), offs.cpu(), o.include_last_offset, num, pad);
  Tensor e = index_select(weight, 0, i64_tensor(b.idx, weight.device()));  // [K, dim]; See Note [embedding_bag as gathers]
  if (o.per_sample_weights.defined())
    e = e * index_select(o.per_sample_weights.reshape({-1}), 0, i64_tensor(b.pos, weight.device())).unsqueeze(1);
  return reduce_bags(e, b, o.mode, dim, TensorOptions(weight.dtype()).device(weight.device()));
}

}  // namespace hpml::nn::functional

namespace hpml::nn {

EmbeddingBag::EmbeddingBag(int64_t num, int64_t dim, EmbeddingBagOptions o)
    : Module("EmbeddingBag"),
      num_embeddings(num),
      embedding_dim(dim),
      options(o),
      padding_idx(o.padding_idx && *o.padding_idx < 0 ? std::optional<int64_t>(*o.padding_idx + num) : o.padding_idx) {
  HPML_CHECK(num > 0 && dim > 0, "EmbeddingBag: num_embeddings and embedding_dim must be positive, got ", num, " and ",
             dim);
  HPML_CHECK(o.mode == "sum" || o.mode == "mean" || o.mode == "max", "EmbeddingBag: mode must be \"sum\", \"mean\" or ",
             "\"max\", got \"", o.mode, "\"");
  if (o.padding_idx)
    HPML_CHECK(*o.padding_idx >= -num && *o.padding_idx < num, "EmbeddingBag: padding_idx ", *o.padding_idx,
               " must be within num_embeddings (", num, ")");
  weight = register_parameter("weight", empty({num, dim}));
  init::normal_(weight);
  if (padding_idx) {
    NoGradGuard ng;
    weight.select(0, *padding_idx).zero_();
  }
}

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
  return functional::embedding_bag(input, weight, offsets,
                                   {.mode = options.mode, .per_sample_weights = per_sample_weights,
                                    .include_last_offset = options.include_last_offset, .padding_idx = padding_idx});
}

Tensor EmbeddingBag::operator()(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
  return with_context([&] { return forward(input, offsets, per_sample_weights); });
}

std::string EmbeddingBag::extra_repr() const {
  std::string s = std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim) + ", mode=" + options.mode;
  if (padding_idx) s += ", padding_idx=" + std::to_string(*padding_idx);
  return s;
}

}  // namespace hpml::nn
