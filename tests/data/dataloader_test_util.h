// A dataset for DataLoader tests: sample i = {[i, 10 i] f32, i i64, pid i64, worker id i64}, with
// optional failures (throw, SIGKILL, segfault, sleep) at one index.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "hpml/hpml.h"

namespace hpml::testing {

enum class Failure { none, throws, sigkill, segfault, sleeps };

class ProbeDataset : public data::Dataset {
 public:
  ProbeDataset(int64_t n, Failure failure = Failure::none, int64_t at = -1) : n_(n), failure_(failure), at_(at) {}
  int64_t size() const override { return n_; }
  data::Sample get(int64_t i) const override {
    if (i == at_) {
      switch (failure_) {
        case Failure::throws: throw std::runtime_error("probe dataset cannot read sample " + std::to_string(i));
        case Failure::sigkill: ::raise(SIGKILL); break;
        case Failure::segfault: ::raise(SIGSEGV); break;
        case Failure::sleeps: std::this_thread::sleep_for(std::chrono::seconds(3)); break;
        case Failure::none: break;
      }
    }
    auto info = data::worker_info();
    return {tensor({static_cast<float>(i), 10.0f * static_cast<float>(i)}), scalar_tensor(i, kInt64),
            scalar_tensor(static_cast<int64_t>(getpid()), kInt64), scalar_tensor(info ? info->id : -1, kInt64)};
  }
  std::string name() const override { return "ProbeDataset"; }

 private:
  int64_t n_;
  Failure failure_;
  int64_t at_;
};

// Sample indices of each batch (field 1), in the order the loader gave them.
inline std::vector<std::vector<int64_t>> indices_of(data::DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (data::Batch& b : loader) {
    std::vector<int64_t> ids;
    for (int64_t k = 0; k < b[1].numel(); ++k) ids.push_back(b[1].data_ptr<int64_t>()[k]);
    out.push_back(ids);
  }
  return out;
}

}  // namespace hpml::testing
