// DistributedDataParallel: the checks and broadcasts at construction, and forward. The buckets
// live in the reducer (reducer.cpp).
#include "hpml/distributed/ddp.h"

#include "distributed/reducer.h"
#include "hpml/autograd/grad_mode.h"
#include "hpml/distributed/distributed.h"
#include "hpml/ops/factories.h"

namespace hpml::distributed {
namespace {

// One row per parameter: dtype, number of dimensions, up to 8 sizes (the 8th holds the product
// of the rest for tensors of more dimensions).
constexpr int64_t kRow = 10;

std::string describe_row(const int64_t* row) {
  std::string s = "[";
  const int64_t ndim = row[1];
  for (int64_t d = 0; d < std::min<int64_t>(ndim, 8); ++d) s += (d ? ", " : "") + std::to_string(row[2 + d]);
  s += "] ";
  return s + (row[0] >= 0 && row[0] < kNumDTypes ? dtype_name(static_cast<DType>(row[0])) : "?");
}

// Every rank must hold the same parameters: compares the counts, then the shapes and dtypes,
// and names the first parameter that differs and the ranks where it does.
void check_same_parameters(const std::vector<std::pair<std::string, Tensor>>& params, const ProcessGroupPtr& g) {
  const int world = g->size();
  Tensor count = full({1}, static_cast<int64_t>(params.size()), TensorOptions(DType::i64));
  Tensor counts = empty({world}, TensorOptions(DType::i64));
  g->all_gather(counts, count, nullptr)->wait();
  const int64_t* c = counts.data_ptr<int64_t>();
  for (int r = 1; r < world; ++r)
    HPML_CHECK(c[r] == c[0], "DistributedDataParallel: the ranks' models differ: rank 0 has ", c[0],
               " parameters, rank ", r, " has ", c[r], "\nhint: every rank must build the same model");
  const int64_t n = c[0];
  Tensor mine = zeros({n, kRow}, TensorOptions(DType::i64));
  int64_t* m = mine.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& p = params[i].second;
    int64_t* row = m + i * kRow;
    row[0] = static_cast<int64_t>(p.dtype());
    row[1] = p.dim();
    for (int64_t d = 0; d < p.dim(); ++d) {
      if (d < 7) row[2 + d] = p.size(d);
      else row[9] = (d == 7 ? 1 : row[9]) * p.size(d);
    }
  }
  Tensor all = empty({world * n * kRow}, TensorOptions(DType::i64));
  g->all_gather(all, mine, nullptr)->wait();
  const int64_t* a = all.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t* first = a + i * kRow;
    for (int r = 1; r < world; ++r) {
      const int64_t* row = a + (r * n + i) * kRow;
      if (std::equal(row, row + kRow, first)) continue;
      HPML_FAIL("DistributedDataParallel: parameter ", i, " (", params[i].first, " on this rank) differs across "
                "ranks: ", describe_row(first), " on rank 0, ", describe_row(row), " on rank ", r,
                "\nhint: every rank must build the same model");
    }
  }
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(nn::Module& module, DDPOptions options)
    : nn::Module("DistributedDataParallel"), module_(module), options_(std::move(options)) {
  group_ = options_.process_group ? options_.process_group : default_group();
  const auto params = module.named_parameters();
  check_same_parameters(params, group_);
  if (group_->size() > 1) {  // rank 0's weights everywhere
    autograd::NoGradGuard no_grad;
    for (auto [name, p] : params) broadcast(p, 0, {.group = group_});
    for (auto [name, b] : module.named_buffers())
      if (b.defined()) broadcast(b, 0, {.group = group_});
  }
  reducer_ = std::make_unique<detail::Reducer>(params, group_, options_);
  register_module("module", module);
}

DistributedDataParallel::~DistributedDataParallel() = default;

Tensor DistributedDataParallel::forward(const Tensor& x) {
  reducer_->prepare_for_forward();
  if (options_.broadcast_buffers && module_.is_training() && group_->size() > 1) {
    autograd::NoGradGuard no_grad;
    for (auto [name, b] : module_.named_buffers())
      if (b.defined()) broadcast(b, 0, {.group = group_});
  }
  return module_(x);
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& ddp) : ddp_(ddp), prev_(ddp.reducer_->sync) {
  ddp.reducer_->sync = false;
}
DistributedDataParallel::NoSync::~NoSync() { ddp_.reducer_->sync = prev_; }

std::vector<std::vector<std::string>> DistributedDataParallel::bucket_parameter_names() const {
  std::vector<std::vector<std::string>> out;
  for (const auto& b : reducer_->buckets()) {
    out.emplace_back();
    for (size_t i : b.params) out.back().push_back(reducer_->name(i));
  }
  return out;
}

size_t DistributedDataParallel::num_buckets() const { return reducer_->buckets().size(); }

}  // namespace hpml::distributed
