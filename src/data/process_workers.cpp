// DataLoader worker processes (WorkerMode::process): each worker loads batches into its own
// shared-memory slots and tells the main process where they are; the main process hands out
// tensors that are views of the slot itself.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstring>
#include <sstream>

#include "data/loader_internal.h"
#include "data/worker_wire.h"
#include "data/worker_state.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/tensor_impl.h"
#include "hpml/core/threads.h"
#include "hpml/mp/shared_memory.h"
#include "mp/channel.h"

namespace hpml::data::detail {

// Note [Batch slots]
// Each worker owns a few slots: shared-memory segments it creates, resizes when a batch does not
// fit, and reuses. For every task the main process names a free slot; the worker collates the
// batch, copies its tensors into the slot (64-byte aligned, one after another) and answers with
// the slot, the segment's name when it is new, and each tensor's dtype, sizes and offset. The
// main process maps a new segment once and unlinks its name at once - both processes keep their
// mappings, so nothing is left in /dev/shm even if one of them dies (and the resource tracker
// covers the moment in between). The batch's tensors share one storage over the mapping whose
// deleter marks the slot free, so a slot is reused exactly when the last tensor of its batch dies;
// if the training loop keeps batches, the main process simply adds slots. A worker that dies is
// seen as end of file on its socket (at once), or at the next liveness check, and raised as an
// error naming the worker, its pid and the signal.

// Note [Workers die with their parent]
// A worker process must never outlive the main process, whatever kills it: a SIGKILLed main
// process runs no destructor and a stuck or stopped worker never reads end of file. So a worker
// asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG) first thing, and then
// compares getppid() with the pid its parent recorded before starting it: if the parent died
// before prctl ran, the worker was already reparented and would never get the signal, so it
// exits at once. (The signal follows the thread that started the worker: a loader started from a
// thread that exits first takes its workers with it; start loaders from a thread that lives as
// long as they do.) A forkserver worker's parent is the forkserver, which exits as soon as the
// main process's control socket closes. A fork child also closes every descriptor hpml holds for
// other children (other workers' sockets, the forkserver's), so a later worker does not keep an
// earlier one's connection open.
// Workers ignore SIGINT and SIGTERM: a Ctrl-C goes to the whole process group, and the main process
// (which may take it to write a checkpoint first) shuts its workers down itself; a worker dying of
// the Ctrl-C first would fail the very epoch the checkpoint needs. They still die with the main
// process (above) and by SIGKILL.

namespace {

// ---- the worker process -------------------------------------------------------------------

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "hpml DataLoader worker: %s\n", why.c_str());
  _exit(1);
}

void worker_main(const LoaderSpec& spec, int id, int workers, int sock) {
  set_num_threads(1);
  bool initialized = false;
  std::map<uint32_t, std::shared_ptr<mp::SharedSegment>> slots;
  std::function<std::optional<Sample>()> iteration;
  std::string msg;
  while (mp::detail::recv_message(sock, msg)) {  // end of file: the loader is gone or done
    Reader in{msg};
    const char kind = in.get<char>();
    if (kind == 'E') {  // a new epoch: seeds, and a fresh pass for an iterable dataset
      const auto seed = in.get<uint64_t>();
      set_process_worker_info(WorkerInfo{id, workers, seed + static_cast<uint64_t>(id)});
      manual_seed(seed + static_cast<uint64_t>(id));
      if (!initialized) {  // as in PyTorch: after the seed and worker_info are set
        initialized = true;
        if (spec.options.worker_init_fn) {
          try {
            spec.options.worker_init_fn(id);
          } catch (const std::exception& e) {
            fail(std::string("worker_init_fn raised: ") + e.what());
          }
        }
      }
      if (spec.iterable) iteration = spec.iterable->iterate();
      continue;
    }
    if (kind != 'T') fail("unknown message kind " + std::to_string(static_cast<int>(kind)) + " from the main process");
    const auto batch = in.get<int64_t>();
    const auto slot = in.get<uint32_t>();
    const auto n = in.get<uint64_t>();
    std::vector<int64_t> indices(n);
    for (auto& i : indices) i = in.get<int64_t>();
    const auto profile = in.get<uint8_t>();  // Note [Worker processes in the profile]
    WorkerRecording recording(profile);
    Writer out;
    try {
      std::optional<Batch> b;
      if (spec.dataset) b = fetch_batch(spec, indices, id, batch);
      else b = fetch_iterable(spec, iteration, id, batch);
      if (!b) {
        out.put('Z');
        out.put(batch);
      } else {
        std::vector<Tensor> ts;
        size_t total = 0;
        for (const Tensor& t : *b) {
          ts.push_back(t.contiguous());
          total = align_up(total) + ts.back().nbytes();
        }
        auto& seg = slots[slot];
        std::string new_name;
        if (!seg || seg->size() < std::max<size_t>(total, 1)) {
          seg.reset();
          const size_t want = std::max<size_t>(total + total / 4, 1);
          try {
            seg = mp::SharedSegment::create(want);
          } catch (const std::exception& e) {
            throw Error("DataLoader worker " + std::to_string(id) + " (pid " + std::to_string(getpid()) +
                        "): batch " + std::to_string(batch) + " needs a slot of " + std::to_string(want) +
                        " bytes: " + e.what());
          }
          new_name = seg->name();
        }
        out.put('B');
        out.put(batch);
        out.put(slot);
        out.str(new_name);
        out.put<uint32_t>(static_cast<uint32_t>(ts.size()));
        {
          record::Scope copy(record::Kind::data, "DataLoader.to_shared_memory");
          size_t off = 0;
          for (const Tensor& t : ts) {
            off = align_up(off);
            if (t.nbytes()) std::memcpy(static_cast<char*>(seg->data()) + off, t.data_ptr(), t.nbytes());
            out.put<uint8_t>(static_cast<uint8_t>(t.dtype()));
            out.put<uint8_t>(static_cast<uint8_t>(t.dim()));
            for (int64_t s : t.sizes()) out.put(s);
            out.put<uint64_t>(off);
            off += t.nbytes();
          }
        }
        out.str(recording.take());
      }
    } catch (const std::exception& e) {
      out = Writer{};
      out.put('X');
      out.put(batch);
      out.str(e.what());
    }
    if (!mp::detail::send_message(sock, out.s)) break;
  }
  slots.clear();  // unlinks the names of slots whose batches the main process never read
  std::fflush(nullptr);
  _exit(0);
}

// Spawned / forkserver workers: args = "id workers fd ntensors\n" + one tensor handle per line.
void spawned_worker(const std::string& args) {
  std::istringstream is(args);
  int id = 0, workers = 0, fd = -1;
  size_t n = 0;
  is >> id >> workers >> fd >> n;
  is.get();
  mp::detail::die_with_parent(mp::detail::expected_parent());
  fcntl(fd, F_SETFD, FD_CLOEXEC);  // a program the dataset runs must not hold our socket
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < n; ++i) {
    std::string line;
    std::getline(is, line);
    tensors.push_back(mp::from_handle(mp::TensorHandle::deserialize(line)));
  }
  LoaderSpec spec;
  spec.dataset = std::make_shared<TensorDataset>(tensors);
  worker_main(spec, id, workers, fd);
}
HPML_MP_ENTRY(hpml_data_worker, spawned_worker);

// ---- the main process's side ------------------------------------------------------------

struct Slot {
  std::shared_ptr<mp::SharedSegment> segment;
  std::atomic<bool> busy{false};
};

struct Worker {
  std::unique_ptr<mp::Process> process;
  int sock = -1;
  std::vector<std::shared_ptr<Slot>> slots;
  std::map<int64_t, uint32_t> reserved;  // batch -> the slot its task was given
  int in_flight = 0;
};

std::string describe_death(int id, mp::Process& p, double waited = -1, int64_t batch = -1) {
  p.join(2.0);
  std::ostringstream os;
  os << "DataLoader worker " << id << " (pid " << p.pid() << ") ";
  auto code = p.exitcode();
  if (!code) os << "stopped answering";
  else if (*code < 0) os << "was killed by signal " << -*code << " (" << strsignal(-*code) << ")";
  else os << "exited unexpectedly with exit code " << *code;
  if (!p.error().empty()) os << ": " << p.error();
  if (waited >= 0) os << "; noticed after waiting " << waited << " s for batch " << batch;
  return os.str();
}

// "stopped (SIGSTOP)", "running", ... from /proc/<pid>/stat, for a timeout's message.
std::string process_state(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return "gone";
  char line[512] = {};
  const size_t n = std::fread(line, 1, sizeof line - 1, f);
  std::fclose(f);
  const char* close = std::strrchr(line, ')');
  const char st = close && close + 2 < line + n ? close[2] : '?';
  switch (st) {
    case 'T': case 't': return "stopped (SIGSTOP or a debugger)";
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "in uninterruptible I/O";
    case 'Z': return "dead (not yet reaped)";
    default: return std::string("in state ") + st;
  }
}

class ProcessPool : public WorkerPool {
 public:
  explicit ProcessPool(const LoaderSpec& spec) : spec_(spec), n_(spec.options.num_workers) {
    const auto method = spec.options.multiprocessing_context;
    if (method != mp::StartMethod::fork) {
      const char* m = mp::start_method_name(method);
      HPML_CHECK(spec.dataset != nullptr, "DataLoader(", m, "): an IterableDataset cannot be sent to a ", m,
                 " worker\nhint: use multiprocessing_context = fork, or worker_mode = thread");
      shared_ = spec.dataset->shareable_tensors();
      HPML_CHECK(!shared_.empty(), "DataLoader(", m, "): ", spec.dataset->name(), " cannot be sent to a ", m,
                 " worker: only a plain TensorDataset (or a dataset built on one without transforms) is rebuilt "
                 "there from shared memory\nhint: use multiprocessing_context = fork");
      HPML_CHECK(!spec.options.collate_fn && !spec.options.worker_init_fn, "DataLoader(", m,
                 "): collate_fn and worker_init_fn are functions of this process and cannot be sent to a ", m,
                 " worker\nhint: use multiprocessing_context = fork");
      for (Tensor& t : shared_) t.share_memory_();
    }
  }
  ~ProcessPool() override { shutdown(); }

  void start_epoch(uint64_t base_seed) override {
    if (workers_.empty()) launch();
    Writer w;
    w.put('E');
    w.put(base_seed);
    for (int i = 0; i < n_; ++i)
      if (!mp::detail::send_message(workers_[static_cast<size_t>(i)].sock, w.s))
        HPML_CHECK(false, describe_death(i, *workers_[static_cast<size_t>(i)].process));
  }

  void submit(int worker, Task task) override {
    Worker& w = workers_[static_cast<size_t>(worker)];
    uint32_t slot = 0;
    while (slot < w.slots.size() && w.slots[slot]->busy) ++slot;
    if (slot == w.slots.size()) w.slots.push_back(std::make_shared<Slot>());
    w.slots[slot]->busy = true;
    w.reserved[task.batch] = slot;
    Writer m;
    m.put('T');
    m.put(task.batch);
    m.put(slot);
    m.put<uint64_t>(task.indices.size());
    for (int64_t i : task.indices) m.put(i);
    m.put(profile_flags());
    if (!mp::detail::send_message(w.sock, m.s)) HPML_CHECK(false, describe_death(worker, *w.process));
    ++w.in_flight;
  }

  std::optional<Result> wait_any(double timeout, const std::atomic<bool>* stop) override {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto last_check = t0;
    for (;;) {
      std::vector<pollfd> fds;
      for (auto& w : workers_) fds.push_back({w.sock, POLLIN, 0});
      const int r = ::poll(fds.data(), fds.size(), 50);
      if (r > 0) {
        for (size_t i = 0; i < fds.size(); ++i)
          if (fds[i].revents) return receive(static_cast<int>(i), std::chrono::duration<double>(clock::now() - t0).count());
      }
      if (stop && *stop) return std::nullopt;
      const auto now = clock::now();
      const double waited = std::chrono::duration<double>(now - t0).count();
      if (timeout > 0 && waited >= timeout) timed_out(timeout, waited);
      if (std::chrono::duration<double>(now - last_check).count() >= spec_.options.death_check_interval) {
        last_check = now;
        for (size_t i = 0; i < workers_.size(); ++i)
          if (!workers_[i].process->is_alive())
            HPML_CHECK(false, describe_death(static_cast<int>(i), *workers_[i].process, waited, awaited().second));
      }
    }
  }

  void end_epoch(bool abandon) override {
    // An abandoned epoch (an error, a timeout, a break out of the loop) may have batches in flight
    // or a worker that is stuck or dead: rather than wait for them, stop the workers (killing any
    // still busy after a moment); persistent ones are started again by the next epoch.
    if (abandon) shutdown(0.2);
    else if (!spec_.options.persistent_workers) shutdown();
  }

 private:
  // The worker and batch the main process waits for: the lowest batch given out and not answered.
  std::pair<int, int64_t> awaited() const {
    std::pair<int, int64_t> best{-1, -1};
    for (size_t i = 0; i < workers_.size(); ++i)
      if (!workers_[i].reserved.empty() && (best.first < 0 || workers_[i].reserved.begin()->first < best.second))
        best = {static_cast<int>(i), workers_[i].reserved.begin()->first};
    return best;
  }

  [[noreturn]] void timed_out(double timeout, double waited) const {
    const auto [id, batch] = awaited();
    std::ostringstream os;
    os << "DataLoader timed out after " << timeout << " s (waited " << waited << " s)";
    if (id >= 0) {
      const pid_t pid = workers_[static_cast<size_t>(id)].process->pid();
      os << " waiting for batch " << batch << " from worker " << id << " (pid " << pid << "), which is "
         << process_state(pid);
    } else {
      os << " waiting for a batch from its worker processes";
    }
    os << "\nhint: the epoch is abandoned and its workers stopped; raise DataLoaderOptions::timeout for slow datasets";
    throw Error(os.str());
  }

  void launch() {
    const auto method = spec_.options.multiprocessing_context;
    for (int i = 0; i < n_; ++i) {
      int fds[2];
      HPML_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "DataLoader: socketpair failed: ",
                 std::strerror(errno));
      Worker w;
      w.sock = fds[0];
      mp::detail::mark_parent_only(fds[0]);  // a fork child (this worker included) closes it
      if (method == mp::StartMethod::fork) {
        const int child = fds[1];
        const pid_t parent = getpid();
        w.process = std::make_unique<mp::Process>([this, i, child, parent] {
          mp::detail::die_with_parent(parent);
          worker_main(spec_, i, n_, child);
        });
      } else {
        std::ostringstream args;
        args << i << ' ' << n_ << ' ' << fds[1] << ' ' << shared_.size() << '\n';
        for (const Tensor& t : shared_) args << mp::share(t).serialize() << '\n';
        w.process = std::make_unique<mp::Process>(
            "hpml_data_worker", args.str(), mp::ProcessOptions{.start_method = method, .pass_fds = {fds[1]}});
      }
      try {
        w.process->start();
      } catch (...) {
        mp::detail::unmark_parent_only(fds[0]);
        close(fds[0]);
        close(fds[1]);
        shutdown();  // the workers already started: the next epoch starts from scratch
        throw;
      }
      close(fds[1]);
      workers_.push_back(std::move(w));
    }
  }

  Result receive(int i, double waited) {
    Worker& w = workers_[static_cast<size_t>(i)];
    std::string msg;
    if (!mp::detail::recv_message(w.sock, msg)) HPML_CHECK(false, describe_death(i, *w.process, waited, awaited().second));
    --w.in_flight;
    Reader in{msg};
    Result r;
    const char kind = in.get<char>();
    r.batch = in.get<int64_t>();
    auto res = w.reserved.find(r.batch);
    HPML_CHECK(res != w.reserved.end(), "DataLoader: worker ", i, " answered for batch ", r.batch, " it was not given");
    const uint32_t reserved_slot = res->second;
    w.reserved.erase(res);
    if (kind == 'X' || kind == 'Z') {  // no batch in the slot: free it now
      w.slots[reserved_slot]->busy = false;
      if (kind == 'X') r.error = std::make_exception_ptr(Error(in.str()));
      else r.exhausted = true;
      return r;
    }
    HPML_CHECK(kind == 'B', "DataLoader: unexpected message kind ", static_cast<int>(kind), " from worker ", i);
    const auto slot_id = in.get<uint32_t>();
    HPML_CHECK(slot_id == reserved_slot, "DataLoader: worker ", i, " answered in slot ", slot_id, " instead of ",
               reserved_slot);
    std::shared_ptr<Slot> slot = w.slots[slot_id];
    const std::string name = in.str();
    if (!name.empty()) {
      slot->segment = mp::SharedSegment::open(name);
      shm_unlink(name.c_str());  // both sides have it mapped; the name is no longer needed
    }
    HPML_CHECK(slot->segment != nullptr, "DataLoader: worker ", i, " used slot ", slot_id, " before creating it");
    auto seg = slot->segment;
    Storage st = Storage::make(seg->data(), seg->size(), [slot](void*) { slot->busy = false; }, kCPU);
    const auto count = in.get<uint32_t>();
    for (uint32_t k = 0; k < count; ++k) {
      const auto dtype_code = in.get<uint8_t>();
      HPML_CHECK(dtype_code < kNumDTypes, "DataLoader: worker ", i, " sent dtype code ", int{dtype_code});
      const auto dtype = static_cast<DType>(dtype_code);
      const auto nd = in.get<uint8_t>();
      std::vector<int64_t> sizes(nd), strides(nd);
      for (auto& s : sizes) s = in.get<int64_t>();
      int64_t stride = 1;
      for (int d = nd - 1; d >= 0; --d) {
        strides[static_cast<size_t>(d)] = stride;
        stride *= sizes[static_cast<size_t>(d)];
      }
      const auto off = in.get<uint64_t>();
      HPML_CHECK(off % itemsize(dtype) == 0 && off + static_cast<uint64_t>(stride) * itemsize(dtype) <= seg->size(),
                 "DataLoader: worker ", i, " described tensor ", k, " at offset ", off, " (", stride, " elements of ",
                 itemsize(dtype), " bytes) outside its slot ", slot_id, " of ", seg->size(), " bytes");
      r.data.emplace_back(IntrusivePtr<TensorImpl>::make(st, dtype, sizes, strides,
                                                         static_cast<int64_t>(off / itemsize(dtype))));
    }
    add_worker_events(i, *w.process, in.str());
    return r;
  }

  // The events a worker recorded for its task, under its pid (Note [Worker processes in the profile]).
  static void add_worker_events(int id, const mp::Process& p, const std::string& bytes) {
    if (bytes.empty() || !record::on()) return;
    const std::string who = "DataLoader worker " + std::to_string(id) + " (pid " + std::to_string(p.pid()) + ")";
    std::vector<record::Event> events = record::decode_events(bytes, who);
    for (record::Event& e : events) e.pid = p.pid();
    record::set_process_name(p.pid(), "DataLoader worker " + std::to_string(id));
    record::add_events(std::move(events));
  }

  // Closes every worker's socket, gives them `grace` seconds in all to exit, then kills the rest.
  void shutdown(double grace = 2.0) {
    for (auto& w : workers_) {
      // The worker reads end of file and exits. shutdown() first: fork workers started later
      // hold copies of this socket, so close() alone would not end the connection.
      if (w.sock >= 0) {
        ::shutdown(w.sock, SHUT_RDWR);
        mp::detail::unmark_parent_only(w.sock);
        close(w.sock);
      }
      w.sock = -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace);
    for (auto& w : workers_) {
      const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
      if (!w.process->join(std::max(left, 0.0))) {
        w.process->kill();
        w.process->join(2.0);
      }
    }
    workers_.clear();
  }

  LoaderSpec spec_;
  int n_;
  std::vector<Tensor> shared_;
  std::vector<Worker> workers_;
};

}  // namespace

std::unique_ptr<WorkerPool> make_process_pool(const LoaderSpec& spec) { return std::make_unique<ProcessPool>(spec); }

}  // namespace hpml::data::detail
