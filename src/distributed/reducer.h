// DistributedDataParallel's reducer: the gradient buckets, the hooks that fill them during
// backward, and the end-of-backward step that waits for their all-reduces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hpml/distributed/ddp.h"
#include "hpml/distributed/process_group.h"

namespace hpml::distributed::detail {

struct Bucket {
  DType dtype = DType::f32;
  std::vector<size_t> params;  // indices into the reducer's parameters, in bucket order
  Tensor buffer;               // flat: every parameter's gradient, back to back
  std::vector<Tensor> views;   // per parameter: its slice of buffer, shaped like it
  size_t pending = 0;          // parameters whose gradient has not arrived this iteration
  WorkPtr work;
};

class Reducer {
 public:
  Reducer(std::vector<std::pair<std::string, Tensor>> params, ProcessGroupPtr group, const DDPOptions& options);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  void prepare_for_forward();  // rebuilds the buckets once, after the first iteration
  bool sync = true;            // false under no_sync()
  const std::vector<Bucket>& buckets() const { return buckets_; }
  const std::string& name(size_t i) const { return names_[i]; }

 private:
  void mark_ready(size_t i);
  void launch_ready_buckets();
  void finalize();
  void finish_unused();
  void finish_unused_alone();
  [[noreturn]] void unused_error(size_t count, const std::string& missing) const;
  void write_back(const std::vector<bool>& globally_unused);
  void reset_iteration();
  void build_buckets(const std::vector<size_t>& order);

  std::vector<std::string> names_;
  std::vector<Tensor> params_;
  std::vector<size_t> hooks_;
  ProcessGroupPtr group_;
  DDPOptions options_;

  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, size_t>> where_;  // param -> (bucket, index in bucket)
  std::vector<bool> ready_;                       // this iteration
  size_t next_bucket_ = 0;                        // the next to launch (buckets start in order)
  bool in_backward_ = false;
  int64_t iteration_ = 0;
  std::vector<size_t> arrival_;         // the first iteration's order of gradients
  bool rebuilt_ = false;
  std::vector<bool> static_unused_;     // static_graph: the first iteration's global unused set
};

}  // namespace hpml::distributed::detail
