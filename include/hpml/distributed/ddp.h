// DistributedDataParallel: a module replicated on every rank whose gradients are averaged over
// the ranks during backward, so every replica takes the same optimizer step.
//
//   distributed::init_process_group();
//   Net net;
//   distributed::DistributedDataParallel ddp(net);   // rank 0's weights on every rank
//   optim::SGD opt(ddp.parameters(), {.lr = 0.1});
//   loss_fn(ddp(x), y).backward();                   // all-reduces overlap the backward
//   opt.step();
//   { auto guard = ddp.no_sync(); loss_fn(ddp(x2), y2).backward(); }  // accumulate locally
//
// Gradients travel in buckets (Note [Gradient buckets] in src/distributed/reducer.cpp): a
// bucket's all-reduce starts, on the communication thread, as soon as its last gradient has been
// accumulated, while backward goes on computing the rest.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hpml/distributed/process_group.h"
#include "hpml/nn/module.h"

namespace hpml::distributed {

namespace detail {
class Reducer;
}

struct DDPOptions {
  ProcessGroupPtr process_group = nullptr;  // null: the default group
  double bucket_cap_mb = 25;                // MiB per bucket (PyTorch's default)
  double first_bucket_cap_mb = 1;           // the first bucket, so communication starts early
  bool broadcast_buffers = true;            // rank 0's buffers (BatchNorm statistics) before each forward
  bool find_unused_parameters = false;      // parameters without a gradient count as zero gradients
  bool gradient_as_bucket_view = false;     // .grad is a view into its bucket (no copy, less memory)
  bool static_graph = false;                // the same parameters are used in every iteration
};

class DistributedDataParallel : public nn::Module {
 public:
  // Checks that every rank has the same parameter shapes (the error names the first that
  // differs and the ranks), then copies rank 0's parameters and buffers to every rank.
  // `module` must outlive this object.
  explicit DistributedDataParallel(nn::Module& module, DDPOptions options = {});
  ~DistributedDataParallel() override;

  // Rebuilds the buckets after the first iteration (Note [Gradient buckets]), broadcasts rank
  // 0's buffers when training, and runs the module.
  Tensor forward(const Tensor& x) override;
  nn::Module& module() { return module_; }

  // While alive, backward accumulates into .grad on this rank only (gradient accumulation);
  // the first backward after it averages everything accumulated (torch's no_sync()).
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp);
    ~NoSync();
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool prev_;
  };
  NoSync no_sync() { return NoSync(*this); }

  // The buckets, in launch order: the dotted names of their parameters.
  std::vector<std::vector<std::string>> bucket_parameter_names() const;
  size_t num_buckets() const;
  const DDPOptions& options() const { return options_; }

 private:
  nn::Module& module_;
  DDPOptions options_;
  ProcessGroupPtr group_;
  std::unique_ptr<detail::Reducer> reducer_;
};

}  // namespace hpml::distributed
