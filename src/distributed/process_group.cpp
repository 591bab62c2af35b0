// Work (one asynchronous operation) and the parts of ProcessGroup every backend shares: the
// broken state of Note [Timeouts break the group].
#include "hpml/distributed/process_group.h"

#include <algorithm>
#include <cstdio>

namespace hpml::distributed {

namespace {
std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}
WaitHook& wait_hook() {
  static WaitHook hook;
  return hook;
}
}  // namespace

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::avg: return "avg";
    case ReduceOp::product: return "product";
    case ReduceOp::min: return "min";
    case ReduceOp::max: return "max";
  }
  return "?";
}

Work::Work(std::string op, std::shared_ptr<ProcessGroup> group)
    : op_(std::move(op)), group_(std::move(group)), created_(std::chrono::steady_clock::now()) {}

bool Work::is_completed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

void Work::finish(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

void set_wait_hook(WaitHook hook) { wait_hook() = std::move(hook); }

// The deadline counts from when the operation was issued, as PyTorch's does: an asynchronous
// all-reduce waited on late has had all that time to finish.
bool Work::wait(std::optional<std::chrono::milliseconds> timeout) {
  const std::chrono::milliseconds limit = timeout.value_or(group_ ? group_->timeout() : std::chrono::minutes(30));
  const auto deadline = created_ + limit;
  std::unique_lock<std::mutex> lock(mu_);
  while (!done_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      lock.unlock();
      timed_out(limit);
    }
    cv_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)), [&] { return done_; });
    if (!done_ && wait_hook()) {
      lock.unlock();
      wait_hook()(*this, std::chrono::duration<double>(std::chrono::steady_clock::now() - created_).count());
      lock.lock();
    }
  }
  if (error_) std::rethrow_exception(error_);
  return true;
}

void Work::timed_out(std::chrono::milliseconds limit) {
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - created_).count();
  const int rank = group_ ? group_->global_rank() : 0, size = group_ ? group_->size() : 1;
  std::string msg = detail::str_cat(
      op_, " timed out on rank ", rank, " (of ", size, " in its group, backend ", group_ ? group_->backend() : "?",
      ") after ", seconds(waited), " (timeout ", seconds(limit.count() / 1000.0),
      "): the other ranks did not take part\nhint: a rank may have died, been stopped, or gone down another "
      "path (every rank must call the same collectives in the same order)");
  if (group_) group_->mark_broken(msg);
  throw DistributedError(msg);
}

ProcessGroup::ProcessGroup(int rank, int size, std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), timeout_(timeout) {
  HPML_CHECK(timeout.count() > 0, "init_process_group: the timeout must be positive, got ", timeout.count(), " ms");
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::mark_broken(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_.empty()) broken_ = why;
}

bool ProcessGroup::broken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !broken_.empty();
}

void ProcessGroup::check_usable(const char* op) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!broken_.empty())
    throw DistributedError(detail::str_cat(op, ": the process group is broken by an earlier failure: ", broken_));
}

}  // namespace hpml::distributed
