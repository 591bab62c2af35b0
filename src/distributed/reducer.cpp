// DistributedDataParallel's reducer: gradient buckets filled by post-accumulate hooks and
// all-reduced while backward runs.
#include "distributed/reducer.h"

#include <algorithm>
#include <map>

#include "hpml/autograd/engine.h"
#include "hpml/autograd/grad_mode.h"
#include "hpml/ops/factories.h"

namespace hpml::distributed::detail {

// Note [Gradient buckets]
// One all-reduce per parameter pays the collective's latency (tens of microseconds) a hundred
// times for a model with a hundred small tensors; one all-reduce of everything after backward
// pays it once but cannot start until the last gradient exists. DDP puts the gradients in
// buckets of about bucket_cap_mb (the first one smaller, first_bucket_cap_mb, so communication
// starts soon after backward does) and starts a bucket's all-reduce as soon as all of its
// gradients have been accumulated — the hook on each parameter's AccumulateGrad copies the
// gradient into the bucket's flat buffer (or, with gradient_as_bucket_view, .grad already is its
// slice of the buffer) and counts down. Buckets start strictly in order (0, 1, ...) so every rank
// issues the same all-reduces in the same order, which collectives require.
// Which gradients arrive together is known only after a backward pass: the first iteration
// uses the reverse of the registration order (backward usually meets the last layer first);
// the next forward rebuilds the buckets in the order the gradients actually arrived, rank 0's
// order broadcast so that every rank builds the same buckets. At the end of backward (an engine
// callback) the reducer waits for every bucket and copies the averages back into .grad.

Reducer::Reducer(std::vector<std::pair<std::string, Tensor>> params, ProcessGroupPtr group, const DDPOptions& options)
    : group_(std::move(group)), options_(options) {
  HPML_CHECK(options.bucket_cap_mb >= 0 && options.first_bucket_cap_mb >= 0 && options.bucket_cap_mb < 1e6 &&
                 options.first_bucket_cap_mb < 1e6,
             "DistributedDataParallel: bucket sizes must be in [0, 1e6) MiB, got bucket_cap_mb=", options.bucket_cap_mb,
             ", first_bucket_cap_mb=", options.first_bucket_cap_mb);
  for (auto& [name, p] : params) {
    if (!p.requires_grad()) continue;
    names_.push_back(name);
    params_.push_back(p);
  }
  std::vector<size_t> order(params_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = order.size() - 1 - i;
  build_buckets(order);
  ready_.assign(params_.size(), false);
  for (size_t i = 0; i < params_.size(); ++i)
    hooks_.push_back(params_[i].register_post_accumulate_grad_hook([this, i](const Tensor&) { mark_ready(i); }));
}

Reducer::~Reducer() {
  for (size_t i = 0; i < hooks_.size(); ++i) params_[i].remove_post_accumulate_grad_hook(hooks_[i]);
}

// PyTorch's compute_bucket_assignment_by_size: one open bucket per dtype; a bucket closes once it
// holds at least the limit (so a large tensor makes a bucket of its own), and after the first
// bucket closes the limit becomes bucket_cap_mb.
void Reducer::build_buckets(const std::vector<size_t>& order) {
  const double mib = 1024.0 * 1024.0;
  double limit = options_.first_bucket_cap_mb * mib;
  std::map<DType, size_t> open;  // dtype -> index into buckets
  std::vector<Bucket> buckets;
  std::vector<double> bytes;
  for (size_t i : order) {
    const DType d = params_[i].dtype();
    auto it = open.find(d);
    if (it == open.end()) {
      it = open.emplace(d, buckets.size()).first;
      buckets.emplace_back();
      buckets.back().dtype = d;
      bytes.push_back(0);
    }
    const size_t b = it->second;
    buckets[b].params.push_back(i);
    bytes[b] += static_cast<double>(params_[i].numel() * static_cast<int64_t>(itemsize(d)));
    if (bytes[b] >= limit) {
      open.erase(it);
      limit = options_.bucket_cap_mb * mib;
    }
  }
  autograd::NoGradGuard no_grad;
  where_.assign(params_.size(), {0, 0});
  for (size_t b = 0; b < buckets.size(); ++b) {
    Bucket& bk = buckets[b];
    int64_t total = 0;
    for (size_t i : bk.params) total += params_[i].numel();
    bk.buffer = zeros({total}, TensorOptions(bk.dtype));
    int64_t offset = 0;
    for (size_t k = 0; k < bk.params.size(); ++k) {
      const Tensor& p = params_[bk.params[k]];
      bk.views.push_back(bk.buffer.narrow(0, offset, p.numel()).view(p.sizes()));
      offset += p.numel();
      where_[bk.params[k]] = {b, k};
      if (options_.gradient_as_bucket_view && p.grad().defined()) {  // a rebuild keeps what .grad holds
        bk.views[k].copy_(p.grad());
        Tensor(p).set_grad(bk.views[k]);
      }
    }
    bk.pending = bk.params.size();
  }
  buckets_ = std::move(buckets);
  next_bucket_ = 0;
}

void Reducer::prepare_for_forward() {
  if (iteration_ == 0 || rebuilt_ || in_backward_) return;
  rebuilt_ = true;
  // The first iteration's arrival order, then the parameters that got no gradient (in the
  // initial order); rank 0's order is the one every rank uses.
  std::vector<bool> seen(params_.size());
  Tensor order = empty({static_cast<int64_t>(params_.size())}, TensorOptions(DType::i64));
  int64_t* o = order.data_ptr<int64_t>();
  size_t n = 0;
  for (size_t i : arrival_) seen[i] = true, o[n++] = static_cast<int64_t>(i);
  for (size_t i = params_.size(); i-- > 0;)
    if (!seen[i]) o[n++] = static_cast<int64_t>(i);
  if (group_->size() > 1) group_->broadcast(order, 0, nullptr)->wait();
  std::vector<size_t> rebuilt(params_.size());
  for (size_t i = 0; i < rebuilt.size(); ++i) {
    HPML_CHECK(o[i] >= 0 && o[i] < static_cast<int64_t>(params_.size()), "DistributedDataParallel: rank 0 sent "
               "bucket order entry ", o[i], " for ", params_.size(), " parameters");
    rebuilt[i] = static_cast<size_t>(o[i]);
  }
  build_buckets(rebuilt);
}

void Reducer::mark_ready(size_t i) {
  if (!sync) return;
  if (!in_backward_) {
    in_backward_ = true;
    autograd::queue_callback([this] { finalize(); });
  }
  HPML_CHECK(!ready_[i], "DistributedDataParallel: parameter ", names_[i], " got its gradient twice in one backward "
             "pass\nhint: DDP averages each gradient once per backward; a parameter used by two graphs needs one "
             "backward over their sum");
  ready_[i] = true;
  if (iteration_ == 0) arrival_.push_back(i);
  if (group_->size() == 1) return;  // Note [DDP at world size 1]
  auto [b, k] = where_[i];
  Bucket& bk = buckets_[b];
  autograd::NoGradGuard no_grad;
  Tensor& grad = params_[i].mutable_grad();
  const Tensor& view = bk.views[k];
  if (!options_.gradient_as_bucket_view) {
    Tensor(view).copy_(grad);
  } else if (!(grad.defined() && grad.data_ptr() == view.data_ptr())) {
    Tensor(view).copy_(grad);
    grad = view;
  }
  --bk.pending;
  launch_ready_buckets();
}

void Reducer::launch_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& bk = buckets_[next_bucket_++];
    bk.work = group_->all_reduce(bk.buffer, ReduceOp::avg, nullptr);
  }
}

// Parameters that got no gradient this iteration: an error, or (find_unused_parameters,
// static_graph) zero gradients, so that their buckets still go out in order.
void Reducer::finish_unused() {
  std::string missing;
  size_t count = 0;
  for (size_t i = 0; i < params_.size(); ++i)
    if (!ready_[i]) missing += (count++ ? ", " : "") + names_[i];
  if (count == 0) return;
  if (!options_.find_unused_parameters && !options_.static_graph) {
    reset_iteration();
    unused_error(count, missing);
  }
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (ready_[i]) continue;
    ready_[i] = true;
    auto [b, k] = where_[i];
    Tensor(buckets_[b].views[k]).zero_();
    --buckets_[b].pending;
  }
  launch_ready_buckets();
}

// Note [DDP at world size 1]
// The average over one rank is the gradient itself: with one process, the hooks only keep count
// (so that unused parameters are still found) and nothing is copied or sent. A run started
// under mpirun -np 1 then pays nothing for DDP (bench group ddp: its overhead row).
// World size 1: the unused parameters' error, or nothing.
void Reducer::finish_unused_alone() {
  if (options_.find_unused_parameters || options_.static_graph) return;
  std::string missing;
  size_t count = 0;
  for (size_t i = 0; i < params_.size(); ++i)
    if (!ready_[i]) missing += (count++ ? ", " : "") + names_[i];
  if (count == 0) return;
  reset_iteration();
  unused_error(count, missing);
}

void Reducer::unused_error(size_t count, const std::string& missing) const {
  HPML_FAIL("DistributedDataParallel: on rank ", group_->global_rank(), ", ", count, " of ", params_.size(),
            " parameters got no gradient in this backward pass: ", missing,
            "\nhint: construct DDP with find_unused_parameters = true if forward does not use every parameter");
}

void Reducer::finalize() {
  if (group_->size() == 1) {
    finish_unused_alone();
    ++iteration_;
    reset_iteration();
    return;
  }
  const std::vector<bool> used = ready_;
  finish_unused();
  HPML_ASSERT(next_bucket_ == buckets_.size(), "every bucket launched");
  for (Bucket& bk : buckets_) bk.work->wait();
  // Which parameters no rank used: their .grad stays as it was (PyTorch's behaviour).
  std::vector<bool> unused(params_.size(), false);
  if (options_.static_graph && iteration_ > 0) {
    unused = static_unused_;
  } else if (options_.find_unused_parameters || options_.static_graph) {
    Tensor flags = empty({static_cast<int64_t>(params_.size())}, TensorOptions(DType::i32));
    int32_t* f = flags.data_ptr<int32_t>();
    for (size_t i = 0; i < used.size(); ++i) f[i] = used[i] ? 1 : 0;
    if (group_->size() > 1) group_->all_reduce(flags, ReduceOp::max, nullptr)->wait();
    for (size_t i = 0; i < used.size(); ++i) unused[i] = f[i] == 0;
    if (options_.static_graph) static_unused_ = unused;
  }
  write_back(unused);
  ++iteration_;
  reset_iteration();
}

void Reducer::write_back(const std::vector<bool>& globally_unused) {
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (globally_unused[i]) continue;
    auto [b, k] = where_[i];
    const Tensor& view = buckets_[b].views[k];
    Tensor& grad = params_[i].mutable_grad();
    if (options_.gradient_as_bucket_view) {
      if (!(grad.defined() && grad.data_ptr() == view.data_ptr())) grad = view;
    } else if (grad.defined()) {
      grad.copy_(view);
    } else {
      grad = view.clone();
    }
  }
}

void Reducer::reset_iteration() {
  ready_.assign(params_.size(), false);
  for (Bucket& bk : buckets_) {
    bk.pending = bk.params.size();
    bk.work.reset();
  }
  next_bucket_ = 0;
  in_backward_ = false;
}

}  // namespace hpml::distributed::detail
