// mp::Process with the fork, spawn and forkserver start methods, the entry-point registry and
// mp::init. The forkserver itself is in forkserver.cpp.
#include "hpml/mp/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/threads.h"
#include "hpml/mp/shared_memory.h"
#include "mp/channel.h"

namespace hpml::mp {

// Note [Start methods]
// fork: the child is this process, copied on write, and runs the given function; cheap and it
//   sees everything the parent had (datasets, models), but only the thread that called fork
//   exists in the child. hpml's OpenMP pool is gone there, so the child runs with one thread
//   (set_num_threads(1), as PyTorch's DataLoader workers do), and a warning says so when the
//   parent was running threads. Refused once CUDA is initialised, as PyTorch refuses it.
// spawn: posix_spawn of /proc/self/exe with HPML_MP_ROLE=spawn and the name of a registered
//   entry point in the environment; main() calls mp::init() first, which reads the arguments
//   from an inherited socket, runs the entry point and exits. Nothing is inherited but what is
//   passed: the arguments, the descriptors in pass_fds and the resource tracker's pipe.
// forkserver: a process spawned the same way (HPML_MP_ROLE=forkserver) the first time it is
//   needed, while the program is still clean; each request sends it a socket (SCM_RIGHTS) and
//   it forks a child that behaves like a spawned one, minus the exec. The server reaps its
//   children and writes each one's wait status to that socket, which is how join() learns it.
// In all three the child reports an exception that escapes it as a record on the socket
// ('E' + message), so the parent's error() holds the message; it then exits with status 1.

// Note [Signals of children]
// A program may block SIGINT and SIGTERM in all its threads and take them in one sigwait thread
// (the hpml command does), or install handlers. A child inherits the mask and, after fork, the
// handlers: it would then ignore Ctrl-C and terminate() for good, or run a handler meant for
// the parent's state. So every child hpml::mp starts (fork, spawn, forkserver) begins with an
// empty signal mask, handlers reset to the default and SIGINT/SIGTERM at SIG_DFL. DataLoader
// workers and the resource tracker then ignore SIGINT and SIGTERM on purpose (see Note [Workers
// die with their parent] in src/data/process_workers.cpp and Note [Resource tracker]).

namespace {

std::map<std::string, Entry>& entries() {
  static std::map<std::string, Entry> m;
  return m;
}
std::atomic<bool> g_initialized{false};

int count_threads() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

void socket_pair(int fds[2], const char* what) {
  HPML_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "mp::Process(", what,
             "): cannot create a socket pair: ", std::strerror(errno));
}

// Spawn and forkserver alike: a socket pair, the child started with one end (`launch` returns its
// pid), the arguments sent through the other, which becomes the parent's `sock`.
void start_child(const char* method, const std::function<int(int child_fd)>& launch, const std::string& args,
                 pid_t& pid, int& sock) {
  int fds[2];
  socket_pair(fds, method);
  try {
    pid = launch(fds[1]);
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  close(fds[1]);
  sock = fds[0];
  detail::mark_parent_only(sock);
  detail::send_message(sock, args);  // if the child already died, join() reports it
}

std::string env_or_empty(const char* k) {
  const char* v = std::getenv(k);
  return v ? v : "";
}

}  // namespace

const char* start_method_name(StartMethod m) {
  switch (m) {
    case StartMethod::fork: return "fork";
    case StartMethod::spawn: return "spawn";
    case StartMethod::forkserver: return "forkserver";
  }
  return "?";
}

StartMethod parse_start_method(const std::string& name) {
  if (name == "fork") return StartMethod::fork;
  if (name == "spawn") return StartMethod::spawn;
  if (name == "forkserver") return StartMethod::forkserver;
  HPML_CHECK(false, "mp: unknown start method '", name, "' (expected fork, spawn or forkserver)");
  return StartMethod::fork;
}

bool register_entry(const std::string& name, Entry fn) {
  auto [it, fresh] = entries().emplace(name, std::move(fn));
  HPML_CHECK(fresh, "mp::register_entry: an entry point named '", name, "' is already registered");
  return true;
}

bool initialized() { return g_initialized.load(); }

namespace detail {

[[noreturn]] void run_child(int fd, const std::function<void()>& fn) {
  char kind = kRecordOk;
  std::string message;
  try {
    fn();
  } catch (const std::exception& e) {
    kind = kRecordError;
    message = e.what();
  } catch (...) {
    kind = kRecordError;
    message = "unknown exception";
  }
  std::fflush(nullptr);
  if (fd >= 0) {
    write_all(fd, &kind, 1);
    if (kind == kRecordError) send_message(fd, message);
  }
  if (kind == kRecordError) std::fprintf(stderr, "hpml::mp child %d: %s\n", getpid(), message.c_str());
  std::fflush(nullptr);
  _exit(kind == kRecordOk ? 0 : 1);
}

[[noreturn]] void run_entry_child(int fd, const std::string& entry) {
  fcntl(fd, F_SETFD, FD_CLOEXEC);  // programs the entry point runs must not hold our socket
  run_child(fd, [&] {
    std::string args;
    HPML_CHECK(recv_message(fd, args), "mp: child could not read its arguments (the parent is gone)");
    auto it = entries().find(entry);
    HPML_CHECK(it != entries().end(), "mp: no entry point named '", entry,
               "' is registered in this executable (HPML_MP_ENTRY)");
    it->second(args);
  });
}

}  // namespace detail

void init(int /*argc*/, char** /*argv*/) {
  g_initialized.store(true);
  const std::string role = env_or_empty("HPML_MP_ROLE");
  if (role.empty()) return;
  const int fd = std::atoi(env_or_empty("HPML_MP_FD").c_str());
  const std::string entry = env_or_empty("HPML_MP_ENTRY");
  const std::string tracker = env_or_empty("HPML_MP_TRACKER_FD");
  const std::string parent = env_or_empty("HPML_MP_PARENT_PID");
  if (!parent.empty()) detail::set_expected_parent(std::atoi(parent.c_str()));
  for (const char* k : {"HPML_MP_ROLE", "HPML_MP_FD", "HPML_MP_ENTRY", "HPML_MP_TRACKER_FD", "HPML_MP_PARENT_PID"})
    unsetenv(k);
  if (!tracker.empty()) detail::adopt_resource_tracker_fd(std::atoi(tracker.c_str()));
  if (role == "tracker") detail::tracker_main(fd);
  if (role == "forkserver") {
    detail::forkserver_main(fd);
    _exit(0);
  }
  detail::run_entry_child(fd, entry);
}

Process::Process(std::function<void()> fn) : fn_(std::move(fn)) {
  HPML_CHECK(static_cast<bool>(fn_), "mp::Process: empty function");
}

Process::Process(std::string entry, std::string args, ProcessOptions options)
    : entry_(std::move(entry)), args_(std::move(args)), options_(std::move(options)) {
  HPML_CHECK(!entry_.empty(), "mp::Process: empty entry-point name");
}

Process::~Process() {
  if (started_ && !ended_) {
    kill();
    poll_end(5.0);
  }
  if (sock_ >= 0) {
    detail::unmark_parent_only(sock_);
    close(sock_);
  }
}

void Process::start() {
  HPML_CHECK(!started_, "mp::Process::start: already started (pid ", pid_, ")");
  detail::resource_tracker_fd();  // the tracker must exist before any child does
  switch (options_.start_method) {
    case StartMethod::fork: start_fork(); break;
    case StartMethod::spawn: start_spawn(); break;
    case StartMethod::forkserver: start_forkserver(); break;
  }
  started_ = true;
}

void Process::start_fork() {
  if (const DeviceRuntime* rt = initialized_device_runtime())
    HPML_FAIL("mp::Process(fork): the ", rt->name, " device is initialised in this process (its context and ",
              "stream threads do not survive fork); a forked child cannot use it",
              "\nhint: use the spawn or forkserver start method, or start the processes before the first ", rt->name,
              " op");
  static std::once_flag warned;
  if (int n = count_threads(); n > 1)
    std::call_once(warned, [n] {
      std::fprintf(stderr,
                   "hpml::mp: warning: fork() from a process running %d threads; only the calling thread "
                   "exists in the child, which runs hpml single-threaded. Use spawn or forkserver if a "
                   "library in the child needs its threads.\n",
                   n);
    });
  int fds[2];
  socket_pair(fds, "fork");
  std::fflush(nullptr);
  // Other children's sockets must not live on in this one (a copy would keep them open after
  // their own child died); the list is taken before fork, when it can be read.
  const std::vector<int> others = detail::parent_only_fds();
  const pid_t parent = getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    HPML_CHECK(false, "mp::Process(fork): fork failed: ", std::strerror(err));
  }
  if (pid == 0) {
    detail::reset_child_signals();
    detail::set_expected_parent(parent);
    detail::close_parent_only_fds(others);
    close(fds[0]);
    set_num_threads(1);
    if (fn_) detail::run_child(fds[1], fn_);
    detail::run_child(fds[1], [&] {
      auto it = entries().find(entry_);
      HPML_CHECK(it != entries().end(), "mp: no entry point named '", entry_, "' is registered");
      it->second(args_);
    });
  }
  close(fds[1]);
  pid_ = pid;
  sock_ = fds[0];
  detail::mark_parent_only(sock_);
}

void Process::start_spawn() {
  HPML_CHECK(entry_.size() > 0, "mp::Process(spawn): needs a registered entry point, not a function",
             "\nhint: Process(\"name\", args, {.start_method = StartMethod::spawn}) with HPML_MP_ENTRY(name, ...)");
  HPML_CHECK(initialized(), "mp::Process(spawn): this executable's main() has not called hpml::mp::init(argc, argv)",
             "\nhint: a spawned child runs this executable again and needs mp::init to find its entry point");
  start_child("spawn", [&](int fd) { return detail::spawn_self("spawn", entry_, fd, options_.pass_fds); }, args_, pid_,
              sock_);
}

void Process::start_forkserver() {
  HPML_CHECK(entry_.size() > 0, "mp::Process(forkserver): needs a registered entry point, not a function");
  HPML_CHECK(initialized(), "mp::Process(forkserver): this executable's main() has not called hpml::mp::init",
             "\nhint: the forkserver runs this executable again and needs mp::init to become the server");
  start_child("forkserver", [&](int fd) { return detail::forkserver_request(entry_, fd, options_.pass_fds); }, args_,
              pid_, sock_);
}

void Process::read_result() {
  // Drain what the child (and the forkserver) wrote; the socket is at end of file or idle.
  char buf[4096];
  for (;;) {
    if (!detail::wait_readable(sock_, 0)) break;
    ssize_t k = ::read(sock_, buf, sizeof buf);
    if (k <= 0) break;
    inbox_.append(buf, static_cast<size_t>(k));
  }
  size_t i = 0;
  while (i < inbox_.size()) {
    const char kind = inbox_[i];
    if (kind == detail::kRecordOk) {
      ++i;
    } else if (kind == detail::kRecordError && i + 9 <= inbox_.size()) {
      uint64_t n = 0;
      std::memcpy(&n, inbox_.data() + i + 1, 8);
      if (i + 9 + n > inbox_.size()) break;
      error_ = inbox_.substr(i + 9, n);
      i += 9 + n;
    } else if (kind == detail::kRecordStatus && i + 5 <= inbox_.size()) {
      std::memcpy(&status_, inbox_.data() + i + 1, 4);
      ended_ = true;
      i += 5;
    } else {
      break;
    }
  }
  inbox_.erase(0, i);
}

bool Process::poll_end(double timeout_s) {
  if (ended_) return true;
  HPML_CHECK(started_, "mp::Process: not started");
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto left = [&] {
    return timeout_s < 0 ? 1.0 : timeout_s - std::chrono::duration<double>(clock::now() - t0).count();
  };
  if (options_.start_method == StartMethod::forkserver) {
    // The server writes the wait status to our socket once the child is reaped.
    while (!ended_) {
      read_result();
      if (ended_) break;
      if (left() <= 0) return false;
      if (!detail::wait_readable(sock_, timeout_s < 0 ? -1 : left())) return false;
      char peek;
      if (::recv(sock_, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {  // server gone without a status
        read_result();
        if (!ended_) {
          ended_ = true;
          status_ = 0x7f00;  // unknown: reported as exit code 127
          if (error_.empty()) error_ = "the forkserver exited before reporting this child's status";
        }
      }
    }
    return true;
  }
  for (int sleep_us = 50;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      ended_ = true;
      read_result();
      return true;
    }
    if (r < 0 && errno != EINTR) {
      ended_ = true;
      status_ = 0x7f00;
      return true;
    }
    if (left() <= 0) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
    sleep_us = std::min(sleep_us * 2, 10000);
  }
}

bool Process::join(double timeout_s) { return poll_end(timeout_s); }

bool Process::is_alive() { return started_ && !poll_end(0); }

std::optional<int> Process::exitcode() {
  if (!started_ || !poll_end(0)) return std::nullopt;
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  return std::nullopt;
}

void Process::terminate() {
  if (started_ && !ended_) ::kill(pid_, SIGTERM);
}

void Process::kill() {
  if (started_ && !ended_) ::kill(pid_, SIGKILL);
}

}  // namespace hpml::mp
