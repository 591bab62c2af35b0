// A process group: the ranks that run collectives together, and the backend that moves the bytes
// (MPI here; NCCL with CUDA). Operations are asynchronous: each returns a Work that completes on
// the backend's communication thread, so communication overlaps with computation.
//
//   distributed::init_process_group({.backend = "mpi"});
//   Tensor g = ...;
//   auto work = distributed::all_reduce(g, distributed::ReduceOp::avg, {.async_op = true});
//   ...compute...
//   work->wait();  // g now holds the average over the ranks
//
// A backend implements ProcessGroup for contiguous tensors of the dtypes it supports; the free
// functions of distributed.h check the arguments (with errors that name the op, the shapes and
// the ranks), stage non-contiguous tensors and wait for synchronous calls.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/tensor.h"

namespace hpml::distributed {

// torch.distributed.ReduceOp. avg is for floating dtypes only.
enum class ReduceOp { sum, avg, product, min, max };
const char* reduce_op_name(ReduceOp op);

// A collective that timed out or a process group that can no longer be used. The message names
// the operation, the rank and the seconds waited.
class DistributedError : public Error {
 public:
  using Error::Error;
};

class ProcessGroup;

// One asynchronous operation (torch.distributed.Work).
class Work {
 public:
  Work(std::string op, std::shared_ptr<ProcessGroup> group);
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  bool is_completed() const;
  // Blocks until the operation has finished and returns true, or throws its error. After
  // `timeout` (default: the group's) it throws a DistributedError naming the operation, the rank
  // and the seconds waited, and marks the group broken: the operation may still be running in
  // the backend, so nothing else can be sent through the group (Note [Timeouts break the group]).
  bool wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  const std::string& op() const { return op_; }

  // The backend's side: the operation ended (with an error, or without).
  void finish(std::exception_ptr error = nullptr);

 private:
  [[noreturn]] void timed_out(std::chrono::milliseconds limit);

  std::string op_;
  std::shared_ptr<ProcessGroup> group_;
  std::chrono::steady_clock::time_point created_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
};
using WorkPtr = std::shared_ptr<Work>;

// Called on the waiting thread about every 100 ms while Work::wait waits, with the seconds since
// the operation was issued; it may throw to stop waiting. hpml train throws when SIGINT or
// SIGTERM has come during a long wait: the launcher (mpirun) ends every rank that way when one
// of them dies, and the rank then says which collective it was waiting in, and for how long.
using WaitHook = std::function<void(const Work& work, double waited_seconds)>;
void set_wait_hook(WaitHook hook);

// The backend interface. Every tensor is contiguous, on the CPU, of a dtype the backend took in
// supports(), and already checked against the group (sizes agree with world size, roots exist).
// `after` (may be empty) runs on the communication thread once the data has arrived, before the
// work completes: the caller copies a staged result back there.
class ProcessGroup : public std::enable_shared_from_this<ProcessGroup> {
 public:
  using After = std::function<void()>;
  ProcessGroup(int rank, int size, std::chrono::milliseconds timeout);
  virtual ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  virtual const char* backend() const = 0;
  // Why dtype `d` cannot travel through this backend, or nullptr when it can.
  virtual const char* unsupported(DType d, ReduceOp op) const = 0;

  virtual WorkPtr all_reduce(Tensor t, ReduceOp op, After after) = 0;
  virtual WorkPtr broadcast(Tensor t, int root, After after) = 0;
  virtual WorkPtr reduce(Tensor t, int root, ReduceOp op, After after) = 0;
  // out: size() * in.numel() elements, rank r's block at r * in.numel().
  virtual WorkPtr all_gather(Tensor out, Tensor in, After after) = 0;
  // in: size() * out.numel() elements; out = the reduction of every rank's block rank().
  virtual WorkPtr reduce_scatter(Tensor out, Tensor in, ReduceOp op, After after) = 0;
  // out (root only; undefined elsewhere): size() * in.numel() elements.
  virtual WorkPtr gather(Tensor out, Tensor in, int root, After after) = 0;
  // in (root only): size() * out.numel() elements.
  virtual WorkPtr scatter(Tensor out, Tensor in, int root, After after) = 0;
  virtual WorkPtr send(Tensor t, int dst, int tag) = 0;
  virtual WorkPtr recv(Tensor t, int src, int tag, After after) = 0;
  virtual WorkPtr barrier() = 0;
  // A group of the given ranks of this one (every rank of this group must call it, as with
  // MPI_Comm_split); nullptr on the ranks that are not in `ranks`.
  virtual std::shared_ptr<ProcessGroup> split(const std::vector<int>& ranks) = 0;

  // Note [Timeouts break the group]
  // After a timeout the backend may still be inside a collective that will never end (a peer
  // died or stopped), holding the communication thread. The group is then broken: every later
  // operation throws at once with the first error, and shutting down leaves the thread behind
  // instead of joining it, so the process can still exit (non-zero; the launcher then ends the
  // other ranks).
  void mark_broken(const std::string& why);
  bool broken() const;
  // Throws the DistributedError that broke the group, if one did.
  void check_usable(const char* op) const;
  // The global rank of this process (for messages; a subgroup's rank() is its rank within it).
  virtual int global_rank() const { return rank_; }

 private:
  int rank_, size_;
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::string broken_;
};
using ProcessGroupPtr = std::shared_ptr<ProcessGroup>;

}  // namespace hpml::distributed
