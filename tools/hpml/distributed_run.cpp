// `hpml train` on several processes (distributed_run.h): the process group, the numbers the
// ranks share, and --nproc's mpirun.
#include "distributed_run.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "hpml/distributed/distributed.h"
#include "hpml/ops/factories.h"
#include "signals.h"

#ifndef HPML_MPIEXEC
#define HPML_MPIEXEC "mpirun"
#endif

namespace hpml::cli {

namespace fs = std::filesystem;

bool under_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (const char* s = std::getenv(v); s && *s) return true;
  return false;
}

namespace {
// Note [A rank ended by its launcher]
// When one rank dies, mpirun sends the others SIGTERM and, a second later, SIGKILL. A rank
// waiting in a collective then never sees the end of its step, where a stop request is
// normally taken (Note [Stopping on a signal] in train.cpp). So a wait that goes on for half a
// second after SIGINT / SIGTERM came ends with an error that names the collective, this rank and
// the seconds it waited, before the SIGKILL; a graceful stop, where every rank reaches the end
// of its step in milliseconds, is not disturbed.
void wait_hook(const distributed::Work& work, double waited) {
  static std::atomic<int64_t> first_seen_ns{0};
  const int sig = stop_requested();
  if (sig == 0) return;
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  int64_t expected = 0;
  first_seen_ns.compare_exchange_strong(expected, now);
  if (now - first_seen_ns.load() < 500'000'000) return;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f", waited);
  throw distributed::DistributedError(detail::str_cat(
      work.op(), ": ", sig == SIGINT ? "SIGINT" : "SIGTERM", " came while this rank waited ", secs,
      " s for the others\nhint: the launcher ends every rank this way when one of them dies or fails: its message "
      "names that rank"));
}
}  // namespace

World join_world(const TrainConfig& c) {
  if (!under_launcher()) return {};
  distributed::set_wait_hook(wait_hook);
  distributed::init_process_group(
      {.backend = "mpi", .timeout = std::chrono::milliseconds(static_cast<int64_t>(c.dist_timeout * 1000))});
  return {.on = true, .rank = distributed::get_rank(), .size = distributed::get_world_size()};
}

void leave_world(const World& w) {
  if (w.on) distributed::destroy_process_group();
}

std::string world_prefix() {
  if (!distributed::is_initialized()) return "";
  return "rank " + std::to_string(distributed::get_rank()) + " of " + std::to_string(distributed::get_world_size()) +
         ": ";
}

namespace {
// v as a tensor, through `op`, and back.
template <typename Op>
void through(double* v, int n, Op op) {
  Tensor t = empty({n}, TensorOptions(DType::f64));
  std::copy(v, v + n, t.data_ptr<double>());
  op(t);
  std::copy(t.data_ptr<double>(), t.data_ptr<double>() + n, v);
}
}  // namespace

void sum_over_ranks(double* v, int n, const World& w) {
  if (w.on) through(v, n, [](Tensor& t) { distributed::all_reduce(t); });
}

void from_lead(double* v, int n, const World& w) {
  if (w.on) through(v, n, [](Tensor& t) { distributed::broadcast(t, 0); });
}

int max_over_ranks(int v, const World& w) {
  if (!w.on) return v;
  double d = v;
  through(&d, 1, [](Tensor& t) { distributed::all_reduce(t, distributed::ReduceOp::max); });
  return static_cast<int>(d);
}

uint64_t check_replicas_agree(const nn::Module& model, int64_t epoch, const World& w) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the bytes of every tensor of the state
  for (const auto& [name, t] : model.state_dict()) {
    if (!t.defined()) continue;
    Tensor c = t.detach().contiguous().cpu();  // host read: the bytes to hash
    const auto* p = static_cast<const unsigned char*>(c.data_ptr());
    for (int64_t i = 0; i < c.numel() * static_cast<int64_t>(itemsize(c.dtype())); ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  if (!w.on) return h;
  Tensor both = empty({2}, TensorOptions(DType::i64));  // the largest of h and of ~h: equal iff all agree
  both.data_ptr<int64_t>()[0] = static_cast<int64_t>(h);
  both.data_ptr<int64_t>()[1] = static_cast<int64_t>(~h);
  distributed::all_reduce(both, distributed::ReduceOp::max);
  HPML_CHECK(static_cast<uint64_t>(both.data_ptr<int64_t>()[0]) == h &&
                 static_cast<uint64_t>(both.data_ptr<int64_t>()[1]) == ~h,
             "hpml train: after epoch ", epoch, " the processes' weights differ (this one's checksum ", h,
             "): data-parallel replicas must stay identical\nhint: this is a bug in hpml; please report it");
  return h;
}

// ---- --nproc ------------------------------------------------------------------------------------

namespace {

// Note [What --nproc gives mpirun]
// - --allow-run-as-root when running as root (containers, CI): Open MPI refuses root otherwise.
// - --oversubscribe: more processes than cores is allowed (2 processes on a 2-core machine with
//   hyper-threads off counts as full for Open MPI's slot count).
// - --bind-to none: Open MPI would pin each rank to a core; hpml sizes its own threads.
// - OMP_NUM_THREADS=1 unless --threads was given: N processes of all-cores threads each would
//   oversubscribe the machine N times.
// - --mca pml ob1: the one messaging layer this machine has; without it MPI_Init spends 0.2 s
//   probing for InfiniBand libraries.
// - Its session directory (orte_tmpdir_base) and its shared-memory segments
//   (btl_vader_backing_directory, which must exist) in one folder of this launcher's own,
//   /dev/shm/hpml-mpi-<pid>, removed when mpirun has ended however it ended. mpirun itself
//   removes its files when a rank dies; only a killed mpirun leaves them, and then they are in
//   that folder. A launcher killed by SIGKILL cannot clean up; the next one removes folders whose
//   launcher is gone.
std::string exe_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  HPML_CHECK(!ec, "hpml train --nproc: cannot find this program (/proc/self/exe): ", ec.message());
  return p.string();
}

void remove_stale(const fs::path& root, const std::string& prefix) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

std::vector<std::string> mpirun_arguments(const TrainConfig& c, const std::vector<std::string>& train_args,
                                          const std::string& shm_dir) {
  std::vector<std::string> a{HPML_MPIEXEC};
  if (geteuid() == 0) a.push_back("--allow-run-as-root");
  for (const char* s : {"--oversubscribe", "--bind-to", "none"}) a.push_back(s);
  a.insert(a.end(), {"-np", std::to_string(c.nproc), "--mca", "pml", "ob1", "--mca", "btl_vader_backing_directory",
                     shm_dir, "--mca", "orte_tmpdir_base", shm_dir});
  if (c.threads == 0) a.insert(a.end(), {"-x", "OMP_NUM_THREADS=1"});
  a.push_back(exe_path());
  a.push_back("train");
  for (size_t i = 0; i < train_args.size(); ++i) {  // every argument but --nproc N
    const std::string& s = train_args[i];
    if (s == "--nproc") {
      ++i;
      continue;
    }
    if (s.rfind("--nproc=", 0) == 0) continue;
    a.push_back(s);
  }
  return a;
}

[[noreturn]] void exec_mpirun(const std::vector<std::string>& args) {
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);  // the signals this process blocks: mpirun's to take
  std::vector<char*> argv;
  for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  std::fprintf(stderr, "hpml train --nproc: cannot run %s: %s\nhint: install openmpi-bin (scripts/setup)\n", argv[0],
               std::strerror(errno));
  _exit(127);
}

}  // namespace

int launch_processes(const TrainConfig& c, const std::vector<std::string>& train_args) {
  HPML_CHECK(!under_launcher(), "hpml train --nproc: this process was itself started by a launcher (mpirun, srun)"
             "\nhint: leave --nproc out under mpirun or srun; they set the number of processes");
  HPML_CHECK(!distributed::available_backends().empty(), "hpml train --nproc: this hpml was built without MPI"
             "\nhint: install libopenmpi-dev and openmpi-bin (scripts/setup) and rebuild");
  const std::string tag = "hpml-mpi-" + std::to_string(getpid());
  remove_stale("/dev/shm", "hpml-mpi-");
  const fs::path shm_dir = fs::path("/dev/shm") / tag;
  fs::create_directories(shm_dir);
  const std::vector<std::string> args = mpirun_arguments(c, train_args, shm_dir.string());
  const pid_t child = fork();
  HPML_CHECK(child >= 0, "hpml train --nproc: fork failed: ", std::strerror(errno));
  if (child == 0) exec_mpirun(args);
  accept_stop_requests(true);  // SIGINT / SIGTERM go on to mpirun, which ends the ranks
  int status = 0, forwarded = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (int sig = stop_requested(); sig != 0 && sig != forwarded) {
      kill(child, sig);
      forwarded = sig;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::error_code ec;
  fs::remove_all(shm_dir, ec);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Stopped by a signal passed on: the status hpml train alone would have (130 / 143), not
  // mpirun's own 1 for "a rank exited non-zero".
  return forwarded != 0 && code != 0 ? 128 + forwarded : code;
}

}  // namespace hpml::cli
