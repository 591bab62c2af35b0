// The forkserver: a clean copy of this executable, spawned once, that forks children on request
// (Note [Start methods] in process.cpp).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "hpml/core/error.h"
#include "hpml/core/threads.h"
#include "hpml/mp/shared_memory.h"
#include "mp/channel.h"

namespace hpml::mp::detail {

namespace {

struct Server {
  std::mutex mu;
  int control = -1;  // our end of the SOCK_SEQPACKET pair
  pid_t pid = -1;
};

Server& server() {
  static Server s;
  return s;
}

void start_server_locked(Server& s) {
  int fds[2];
  HPML_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0,
             "mp: cannot create the forkserver's socket: ", std::strerror(errno));
  pid_t pid = -1;
  try {
    pid = spawn_self("forkserver", "", fds[1], {});
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  close(fds[1]);
  s.control = fds[0];
  mark_parent_only(s.control);
  s.pid = pid;
}

// In a forked child: puts fds[i + 1] at targets[i] (fds[0], the child's socket, stays where it is
// or moves above the targets). Every descriptor moves first to the lowest free number above all
// the targets and every received one - not to a fixed number, which a low RLIMIT_NOFILE refuses -
// so that no dup2 clobbers a descriptor not yet placed.
void place_fds(std::vector<int>& fds, const std::vector<int>& targets) {
  int base = 3;
  for (int t : targets) base = std::max(base, t + 1);
  for (int f : fds) base = std::max(base, f + 1);
  for (int& f : fds) {
    const int high = fcntl(f, F_DUPFD_CLOEXEC, base);
    if (high < 0) {
      std::fprintf(stderr, "hpml forkserver child: cannot move descriptor %d above %d: %s\n", f, base,
                   std::strerror(errno));
      _exit(127);
    }
    close(f);
    f = high;
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    dup2(fds[i + 1], targets[i]);  // dup2 clears close-on-exec
    close(fds[i + 1]);
  }
}

}  // namespace

int forkserver_request(const std::string& entry, int child_fd, const std::vector<int>& pass_fds) {
  Server& s = server();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.control < 0) start_server_locked(s);
  std::ostringstream req;
  req << entry << '\n' << pass_fds.size();
  for (int f : pass_fds) req << ' ' << f;
  std::vector<int> fds{child_fd};
  fds.insert(fds.end(), pass_fds.begin(), pass_fds.end());
  std::string reply;
  std::vector<int> none;
  if (!send_fds(s.control, req.str(), fds) || !wait_readable(s.control, 30) || !recv_fds(s.control, reply, none, 0)) {
    unmark_parent_only(s.control);
    close(s.control);
    s.control = -1;
    HPML_CHECK(false, "mp::Process(forkserver): the forkserver (pid ", s.pid, ") did not answer",
               "\nhint: it may have been killed; the next request starts a new one");
  }
  const int pid = std::atoi(reply.c_str());
  HPML_CHECK(pid > 0, "mp::Process(forkserver): the forkserver could not fork: ", reply);
  return pid;
}

void forkserver_main(int control_fd) {
  // A Ctrl-C belongs to the parent, which decides about the children.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  const pid_t server_pid = getpid();
  std::map<pid_t, int> children;  // pid -> the socket its parent listens on
  for (;;) {
    // Reap whatever ended, and tell each one's parent.
    for (;;) {
      int st = 0;
      pid_t r = waitpid(-1, &st, WNOHANG);
      if (r <= 0) break;
      auto it = children.find(r);
      if (it == children.end()) continue;
      const char kind = kRecordStatus;
      write_all(it->second, &kind, 1);
      write_all(it->second, &st, 4);
      close(it->second);
      children.erase(it);
    }
    pollfd p{control_fd, POLLIN, 0};
    int r = poll(&p, 1, 20);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    std::string req;
    std::vector<int> fds;
    if (!recv_fds(control_fd, req, fds, 64)) break;  // the parent is gone
    if (fds.empty()) continue;
    std::istringstream is(req);
    std::string entry;
    std::getline(is, entry);
    size_t n = 0;
    is >> n;
    std::vector<int> targets(n);
    for (auto& t : targets) is >> t;
    if (fds.size() != n + 1) {
      for (int f : fds) close(f);
      send_fds(control_fd, "-1 malformed request: " + std::to_string(fds.size()) + " descriptors for " +
                               std::to_string(n) + " passed ones plus the socket", {});
      continue;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(control_fd);
      for (auto& [cp, cfd] : children) close(cfd);
      reset_child_signals();
      set_expected_parent(server_pid);
      place_fds(fds, targets);
      run_entry_child(fds[0], entry);
    }
    for (size_t i = 1; i < fds.size(); ++i) close(fds[i]);
    if (pid < 0) {
      close(fds[0]);
      send_fds(control_fd, std::string("-1 ") + std::strerror(errno), {});
      continue;
    }
    children[pid] = fds[0];
    send_fds(control_fd, std::to_string(pid), {});
  }
  // Children still running keep going; nobody is left to tell their status to.
  for (auto& [cp, cfd] : children) close(cfd);
}

}  // namespace hpml::mp::detail
