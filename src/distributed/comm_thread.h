// The communication thread: runs a backend's operations one at a time, in the order they were
// issued, so that the calling thread goes on computing while they run.
//
// Note [One communication thread]
// Open MPI here makes progress only inside MPI calls (no asynchronous progress thread), so a
// non-blocking MPI_Iallreduce started from the training thread would sit idle until that thread
// next called MPI. Instead every MPI call after MPI_Init is made from this one thread (PyTorch's
// MPI backend does the same): a blocking MPI_Allreduce there overlaps with backward on the
// training thread. One thread for every group keeps the order of operations the order the
// program issued them, which is what keeps the ranks matched.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "hpml/distributed/process_group.h"

namespace hpml::distributed::detail {

class CommThread {
 public:
  explicit CommThread(std::string name);
  ~CommThread();  // stop() must have run (or detach())
  CommThread(const CommThread&) = delete;
  CommThread& operator=(const CommThread&) = delete;

  // Queues fn; work completes when it returns (or with the exception it throws). The profiler
  // sees `event` as a comm event on this thread.
  void post(std::string event, std::function<void()> fn, WorkPtr work);
  // Runs what is queued, then ends the thread.
  void stop();
  // Leaves the thread running (it may be stuck in a collective that will never end).
  void detach();

 private:
  struct Job {
    std::string event;
    std::function<void()> fn;
    WorkPtr work;
  };
  void loop();

  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hpml::distributed::detail
