// data::worker_info(): which DataLoader worker the calling thread or process is.
#include "hpml/data/dataset.h"
#include "data/worker_state.h"

namespace hpml::data {

namespace {
thread_local std::optional<WorkerInfo> t_info;  // a worker thread's own
std::optional<WorkerInfo> g_process_info;       // set once in a worker process
}  // namespace

std::optional<WorkerInfo> worker_info() { return t_info ? t_info : g_process_info; }

namespace detail {
void set_thread_worker_info(std::optional<WorkerInfo> info) { t_info = info; }
void set_process_worker_info(std::optional<WorkerInfo> info) { g_process_info = info; }
}  // namespace detail

}  // namespace hpml::data
