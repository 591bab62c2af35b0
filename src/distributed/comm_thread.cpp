// The communication thread (Note [One communication thread]).
#include "distributed/comm_thread.h"

#include <utility>

#include "hpml/core/record.h"
#include "hpml/core/threads.h"

namespace hpml::distributed::detail {

CommThread::CommThread(std::string name) : name_(std::move(name)) {
  thread_ = std::thread([this] { loop(); });
}

CommThread::~CommThread() {
  if (thread_.joinable()) stop();
}

void CommThread::post(std::string event, std::function<void()> fn, WorkPtr work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(Job{std::move(event), std::move(fn), std::move(work)});
  }
  cv_.notify_one();
}

void CommThread::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void CommThread::detach() {
  if (thread_.joinable()) thread_.detach();
}

void CommThread::loop() {
  record::set_thread_name(name_);
  // Staging copies run here too; they must not start a team of OpenMP threads beside the
  // training thread's.
  hpml::detail::set_thread_serial(true);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::exception_ptr error;
    try {
      record::Scope event(record::Kind::comm, std::move(job.event));
      job.fn();
    } catch (...) {
      error = std::current_exception();
    }
    if (job.work) job.work->finish(error);
  }
}

}  // namespace hpml::distributed::detail
