// The resource tracker: a small process that remembers every shared-memory segment hpml creates
// in this process tree and removes the ones still present once the last process has gone.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <mutex>
#include <cstdio>
#include <string>
#include <vector>

#include "mp/channel.h"

#include "hpml/core/error.h"
#include "hpml/mp/process.h"
#include "hpml/mp/shared_memory.h"


namespace hpml::mp {

// Note [Resource tracker]
// A segment's name lives in /dev/shm until someone unlinks it, even after every process that
// mapped it has died; a process killed with SIGKILL runs no destructor. So, as Python's
// multiprocessing does, the first process that needs one starts a tracker: a fresh run of this
// program with HPML_MP_ROLE=tracker (mp::init turns it into the tracker), or, in a program that
// does not call mp::init, a double fork (nobody's child, so no waitpid of ours can reap it). It
// keeps one end of a SOCK_SEQPACKET socket pair. Every process of the tree holds the other end
// (fork children inherit it, spawned children get it as a file descriptor, see channel.cpp) and
// sends a 128-byte packet "R<name>" when it creates a segment and "U<name>" when it unlinks one;
// packets from many processes never interleave. When every writer is gone - every process of the
// tree has exited, however it died - read() returns 0, and the tracker unlinks what is still
// registered, says so on stderr, and exits. It ignores SIGINT and SIGTERM so that a Ctrl-C to the
// whole process group cannot stop it before it has cleaned up. Its loop calls only
// async-signal-safe functions (its table is an open-addressing hash set in memory from mmap,
// doubled when half full), so the forked variant is safe in the child of a threaded parent. The
// table is bounded by memory only (it was a fixed 16,384 entries that silently dropped the rest);
// if mmap ever refuses, the tracker says so on stderr for each name it cannot keep. Writers send with MSG_NOSIGNAL: if the tracker is killed, they
// warn once and carry on instead of dying of SIGPIPE.

namespace {

constexpr size_t kRecord = 128;

struct TrackerState {
  std::mutex mu;
  int write_fd = -1;
  int pid = -1;
  pid_t owner = -1;  // the process that started or adopted it (fork children inherit it too)
};

TrackerState& state() {
  static TrackerState s;
  return s;
}

// The tracker's registry: names in slots of kRecord bytes; slot[0] is 0 (empty), 1 (removed) or
// the name's first byte ('/').
struct Table {
  char* slots = nullptr;
  size_t cap = 0, live = 0, used = 0;  // used: live + removed
};

void say(const char* a, const char* b) {
  ssize_t ignored = write(2, a, std::strlen(a));
  ignored = write(2, b, std::strlen(b));
  ignored = write(2, "\n", 1);
  (void)ignored;
}

size_t hash_name(const char* n) {
  size_t h = 1469598103934665603ULL;
  for (; *n; ++n) h = (h ^ static_cast<unsigned char>(*n)) * 1099511628211ULL;
  return h;
}

// The slot holding `name`, or (insert) the first free one on its probe path; nullptr if neither.
char* find_slot(Table& t, const char* name, bool insert) {
  if (t.cap == 0) return nullptr;
  char* reuse = nullptr;
  for (size_t i = hash_name(name) & (t.cap - 1), k = 0; k < t.cap; ++k, i = (i + 1) & (t.cap - 1)) {
    char* s = t.slots + i * kRecord;
    if (s[0] == '\0') return insert ? (reuse ? reuse : s) : nullptr;
    if (s[0] == 1) {
      if (!reuse) reuse = s;
    } else if (std::strcmp(s, name) == 0) {
      return s;
    }
  }
  return insert ? reuse : nullptr;
}

bool grow(Table& t) {
  const size_t cap = t.cap ? 2 * t.cap : 1024;
  void* m = mmap(nullptr, cap * kRecord, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return false;
  Table bigger{static_cast<char*>(m), cap, 0, 0};
  for (size_t i = 0; i < t.cap; ++i) {
    const char* s = t.slots + i * kRecord;
    if (s[0] == '\0' || s[0] == 1) continue;
    std::memcpy(find_slot(bigger, s, true), s, kRecord);
    ++bigger.live;
    ++bigger.used;
  }
  if (t.slots) munmap(t.slots, t.cap * kRecord);
  t = bigger;
  return true;
}

void table_add(Table& t, const char* name) {
  if (find_slot(t, name, false)) return;
  if ((t.used + 1) * 2 > t.cap && !grow(t) && t.used + 1 > t.cap) {
    say("hpml: resource tracker: out of memory; will not remove after a crash: ", name);
    return;
  }
  char* s = find_slot(t, name, true);
  if (s[0] == '\0') ++t.used;
  std::memcpy(s, name, kRecord - 1);
  ++t.live;
}

void table_remove(Table& t, const char* name) {
  if (char* s = find_slot(t, name, false)) {
    s[0] = 1;
    --t.live;
  }
}

// Unlinks every name still registered; returns how many existed.
int unlink_all(const Table& t) {
  int removed = 0;
  char path[kRecord + 16];
  for (size_t i = 0; i < t.cap; ++i) {
    const char* s = t.slots + i * kRecord;
    if (s[0] == '\0' || s[0] == 1) continue;
    std::memcpy(path, "/dev/shm", 8);
    std::memcpy(path + 8, s, std::strlen(s) + 1);
    if (unlink(path) == 0) ++removed;
  }
  return removed;
}

}  // namespace

[[noreturn]] void detail::tracker_main(int fd) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (fd != 3) {
    dup2(fd, 3);
    fd = 3;
  }
  syscall(SYS_close_range, 4U, ~0U, 0U);  // keep stdin/out/err and the pipe only
  Table table;
  char rec[kRecord];
  for (;;) {
    ssize_t n = read(fd, rec, kRecord);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (static_cast<size_t>(n) != kRecord) continue;  // cannot happen with atomic writes
    rec[kRecord - 1] = '\0';
    if (rec[1] != '/') continue;  // every name starts with '/'; 0 and 1 mark free slots
    if (rec[0] == 'R') table_add(table, rec + 1);
    else if (rec[0] == 'U') table_remove(table, rec + 1);
  }
  const int removed = unlink_all(table);
  if (removed > 0) {
    char msg[160];
    const char* head = "hpml: resource tracker: removed ";
    const char* tail = " shared-memory segment(s) left behind by exited processes\n";
    size_t k = 0;
    for (const char* c = head; *c; ++c) msg[k++] = *c;
    char digits[16];
    int d = 0;
    for (int v = removed; v > 0; v /= 10) digits[d++] = static_cast<char>('0' + v % 10);
    while (d > 0) msg[k++] = digits[--d];
    for (const char* c = tail; *c; ++c) msg[k++] = *c;
    ssize_t ignored = write(2, msg, k);
    (void)ignored;
  }
  _exit(0);
}

namespace {

// The tracker as a fresh run of this program (mp::init sees HPML_MP_ROLE=tracker), so that it holds
// no copy-on-write reference to the parent's memory; -1 if the program cannot be spawned.
pid_t spawn_tracker(int read_fd) {
  if (!initialized()) return -1;
  try {
    return detail::spawn_program("tracker", "", read_fd, -1, {});
  } catch (const std::exception&) {
    return -1;  // the caller falls back to forking
  }
}

// Without mp::init the program cannot be run as a tracker: fork it instead, twice, so that it is
// nobody's child (it then shares the parent's pages copy-on-write until they change).
pid_t fork_tracker(int read_fd, int write_fd) {
  int pid_pipe[2];
  if (pipe2(pid_pipe, O_CLOEXEC) != 0) return -1;
  pid_t mid = fork();
  if (mid < 0) {
    close(pid_pipe[0]);
    close(pid_pipe[1]);
    return -1;
  }
  if (mid == 0) {
    close(write_fd);
    close(pid_pipe[0]);
    pid_t tracker = fork();
    if (tracker == 0) {
      close(pid_pipe[1]);
      detail::tracker_main(read_fd);
    }
    int v = static_cast<int>(tracker);
    ssize_t ignored = write(pid_pipe[1], &v, sizeof v);
    (void)ignored;
    _exit(tracker > 0 ? 0 : 1);
  }
  close(pid_pipe[1]);
  int status = 0;
  while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  int tracker_pid = -1;
  if (read(pid_pipe[0], &tracker_pid, sizeof tracker_pid) != static_cast<ssize_t>(sizeof tracker_pid)) tracker_pid = -1;
  close(pid_pipe[0]);
  return tracker_pid;
}

void start_locked(TrackerState& s) {
  // SOCK_SEQPACKET: each record is one packet, delivered whole, and a write to a tracker that is
  // gone fails with EPIPE (sent with MSG_NOSIGNAL) instead of killing the writer with SIGPIPE.
  int fds[2];
  HPML_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0,
             "mp: cannot create the resource tracker's socket: ", std::strerror(errno));
  pid_t pid = spawn_tracker(fds[0]);
  if (pid <= 0) pid = fork_tracker(fds[0], fds[1]);
  const int err = errno;
  close(fds[0]);
  if (pid <= 0) {
    close(fds[1]);
    HPML_CHECK(false, "mp: the resource tracker did not start (", std::strerror(err), ")");
  }
  s.write_fd = fds[1];
  s.pid = pid;
  s.owner = getpid();
}

void send(char op, const std::string& name) {
  TrackerState& s = state();
  int fd;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.write_fd < 0) start_locked(s);
    fd = s.write_fd;
  }
  char rec[kRecord] = {};
  rec[0] = op;
  std::memcpy(rec + 1, name.data(), std::min(name.size(), kRecord - 2));
  for (;;) {
    ssize_t n = ::send(fd, rec, kRecord, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(kRecord)) return;
    if (n < 0 && errno == EINTR) continue;
    // The tracker is gone (killed): shared memory keeps working, but nothing will clean up
    // after a crash any more. Say so once.
    static std::once_flag warned;
    const int err = errno;
    std::call_once(warned, [err] {
      std::fprintf(stderr,
                   "hpml: warning: the shared-memory resource tracker is gone (%s); segments of processes "
                   "that crash from now on may stay in /dev/shm\n",
                   std::strerror(err));
    });
    return;
  }
}

}  // namespace

namespace detail {
int resource_tracker_fd() {
  TrackerState& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.write_fd < 0) start_locked(s);
  return s.write_fd;
}

void adopt_resource_tracker_fd(int fd) {
  TrackerState& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  s.write_fd = fd;
  s.pid = -1;  // started by an ancestor: its pid is not known here
  s.owner = getpid();
}

void tracker_register(const std::string& name) { send('R', name); }
void tracker_unregister(const std::string& name) { send('U', name); }
}  // namespace detail

int resource_tracker_pid() {
  detail::resource_tracker_fd();
  return state().pid;
}

}  // namespace hpml::mp
