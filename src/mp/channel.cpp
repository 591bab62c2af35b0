// Socket helpers for src/mp: whole reads/writes, framed messages, descriptor passing.
#include "mp/channel.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "hpml/core/error.h"
#include "hpml/mp/shared_memory.h"

extern char** environ;

namespace hpml::mp::detail {

bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == ENOTSOCK) k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool read_exact(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t k = ::read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool send_message(int fd, const std::string& bytes) {
  const uint64_t n = bytes.size();
  return write_all(fd, &n, sizeof n) && write_all(fd, bytes.data(), bytes.size());
}

bool recv_message(int fd, std::string& bytes, size_t max_bytes) {
  uint64_t n = 0;
  if (!read_exact(fd, &n, sizeof n) || n > max_bytes) return false;
  bytes.resize(n);
  return read_exact(fd, bytes.data(), n);
}

bool send_fds(int sock, const std::string& bytes, const std::vector<int>& fds) {
  std::string body = bytes.empty() ? std::string(1, '\0') : bytes;
  iovec iov{body.data(), body.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    ssize_t k = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    return k == static_cast<ssize_t>(body.size());
  }
}

bool recv_fds(int sock, std::string& bytes, std::vector<int>& fds, size_t max_fds, bool dontwait) {
  std::array<char, kMaxPacket> buf{};
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * max_fds));
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t k;
  do k = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (dontwait ? MSG_DONTWAIT : 0));
  while (k < 0 && errno == EINTR);
  if (k <= 0) return false;
  bytes.assign(buf.data(), static_cast<size_t>(k));
  fds.clear();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const size_t old = fds.size();
    fds.resize(old + n);
    std::memcpy(fds.data() + old, CMSG_DATA(c), n * sizeof(int));
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {  // senders keep under the limits; never half a message
    for (int f : fds) close(f);
    fds.clear();
    errno = EMSGSIZE;
    return false;
  }
  return true;
}

bool wait_readable(int fd, double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s < 0 ? 0 : timeout_s);
  for (;;) {
    int ms = -1;
    if (timeout_s >= 0) {
      const double left = std::chrono::duration<double>(deadline - clock::now()).count();
      ms = left <= 0 ? 0 : static_cast<int>(left * 1000) + 1;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

std::string self_exe() {
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
}

int spawn_program(const std::string& role, const std::string& entry, int sock, int tracker,
                  const std::vector<int>& pass_fds) {
  const std::string exe = self_exe();
  HPML_CHECK(!exe.empty(), "mp: cannot resolve /proc/self/exe to start a ", role, " process");
  // Above every descriptor moved, so no dup2 below overwrites one that is still to be placed, and
  // no higher than that: a fixed number (it was 200) fails under a low RLIMIT_NOFILE.
  int base = std::max({3, sock + 1, tracker + 1});
  for (int f : pass_fds) base = std::max(base, f + 1);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sock, base);
  if (tracker >= 0) posix_spawn_file_actions_adddup2(&fa, tracker, base + 1);
  for (int f : pass_fds) posix_spawn_file_actions_adddup2(&fa, f, f);  // clears close-on-exec
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "HPML_MP_", 8) != 0) env.emplace_back(*e);
  env.push_back("HPML_MP_ROLE=" + role);
  env.push_back("HPML_MP_ENTRY=" + entry);
  env.push_back("HPML_MP_FD=" + std::to_string(base));
  env.push_back("HPML_MP_PARENT_PID=" + std::to_string(getpid()));
  if (tracker >= 0) env.push_back("HPML_MP_TRACKER_FD=" + std::to_string(base + 1));
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = exe;
  char* argv[] = {arg0.data(), nullptr};
  // The child starts with no signal blocked and SIGINT/SIGTERM at their defaults, whatever the
  // spawning thread blocks (Note [Signals of children] in process.cpp).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  HPML_CHECK(rc == 0, "mp: posix_spawn of ", exe, " (", role, ") failed: ", std::strerror(rc));
  return pid;
}

void reset_child_signals() {
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
  // The asynchronous signals only: handlers of SIGSEGV, SIGBUS, ... (a sanitizer's, a crash
  // reporter's) stay, since they make sense in a copy of the same program.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGPIPE}) {
    struct sigaction sa {};
    if (sigaction(sig, nullptr, &sa) != 0) continue;
    const bool handled = (sa.sa_flags & SA_SIGINFO) || (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
    if (handled || sig == SIGINT || sig == SIGTERM) signal(sig, SIG_DFL);
  }
}

namespace {
std::mutex g_parent_only_mu;
std::vector<int> g_parent_only;
std::atomic<pid_t> g_expected_parent{-1};
}  // namespace

void mark_parent_only(int fd) {
  std::lock_guard<std::mutex> lock(g_parent_only_mu);
  g_parent_only.push_back(fd);
}

void unmark_parent_only(int fd) {
  std::lock_guard<std::mutex> lock(g_parent_only_mu);
  g_parent_only.erase(std::remove(g_parent_only.begin(), g_parent_only.end(), fd), g_parent_only.end());
}

std::vector<int> parent_only_fds() {
  std::lock_guard<std::mutex> lock(g_parent_only_mu);
  return g_parent_only;
}

void close_parent_only_fds(const std::vector<int>& snapshot) {
  for (int fd : snapshot) close(fd);
}

pid_t expected_parent() { return g_expected_parent.load(); }
void set_expected_parent(pid_t pid) { g_expected_parent.store(pid); }

void die_with_parent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the parent died before the line above: nobody would kill us
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
}

int spawn_self(const std::string& role, const std::string& entry, int sock, const std::vector<int>& pass_fds) {
  return spawn_program(role, entry, sock, resource_tracker_fd(), pass_fds);
}

}  // namespace hpml::mp::detail
