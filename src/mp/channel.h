// Small helpers for the sockets between hpml processes: whole writes and reads, length-prefixed
// messages, and passing file descriptors (SCM_RIGHTS). Internal to src/mp.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hpml::mp::detail {

// Writes all of `data`; false if the peer is gone.
bool write_all(int fd, const void* data, size_t n);
// Reads exactly n bytes; false on end of file or error.
bool read_exact(int fd, void* data, size_t n);
// A u64 length, then the bytes.
bool send_message(int fd, const std::string& bytes);
bool recv_message(int fd, std::string& bytes, size_t max_bytes = size_t{1} << 30);
// One message with file descriptors attached (a SOCK_SEQPACKET or stream unix socket).
bool send_fds(int sock, const std::string& bytes, const std::vector<int>& fds);
// The largest message send_fds/recv_fds carry.
inline constexpr size_t kMaxPacket = 65536;
// Receives up to `max_fds` descriptors with the message; they arrive close-on-exec. False at end
// of file, on an error, for a message that did not fit (errno EMSGSIZE), or, with dontwait, when
// nothing is there (errno EAGAIN: another reader took it).
bool recv_fds(int sock, std::string& bytes, std::vector<int>& fds, size_t max_fds, bool dontwait = false);
// waits up to timeout_s (< 0: forever) for fd to become readable; true if it is.
bool wait_readable(int fd, double timeout_s);
// The path of this executable (/proc/self/exe resolved).
std::string self_exe();

// posix_spawn of this executable as an hpml::mp child (mp::init reads the environment): HPML_MP_ROLE
// = role, HPML_MP_ENTRY = entry, `sock` placed at descriptor `base` (HPML_MP_FD), the resource
// tracker's pipe at base + 1, and pass_fds kept under their own numbers. Returns the pid.
int spawn_self(const std::string& role, const std::string& entry, int sock, const std::vector<int>& pass_fds);
// The same without the resource tracker's pipe (tracker < 0): how the tracker itself is started.
int spawn_program(const std::string& role, const std::string& entry, int sock, int tracker,
                  const std::vector<int>& pass_fds);

// In a child just forked or spawned: no signal blocked, handlers and SIGINT/SIGTERM back to their
// defaults (Note [Signals of children] in process.cpp).
void reset_child_signals();
// In a DataLoader worker (Note [Workers die with their parent] in process_workers.cpp): SIGKILL
// when the parent thread dies (exits at once if `parent` is already gone), SIGINT/SIGTERM ignored.
void die_with_parent(pid_t parent);
// Descriptors of this process that no fork child may keep (the parent's ends of its children's
// sockets, the forkserver's control socket): a fork child closes them all at once.
void mark_parent_only(int fd);
void unmark_parent_only(int fd);
// Called in a fork child: closes every descriptor marked above.
void close_parent_only_fds(const std::vector<int>& snapshot);
std::vector<int> parent_only_fds();
// The parent pid a spawned or forkserver child should have (HPML_MP_PARENT_PID), -1 if unknown.
pid_t expected_parent();
void set_expected_parent(pid_t pid);

// Record kinds a child (or the forkserver) writes to the parent's socket.
inline constexpr char kRecordOk = 'O', kRecordError = 'E', kRecordStatus = 'S';

void forkserver_main(int control_fd);
// The resource tracker's loop (resource_tracker.cpp): reads records from fd until every writer is
// gone, then removes what is still registered. Never returns.
[[noreturn]] void tracker_main(int fd);
// Asks the forkserver (starting it if needed) to fork a child running `entry`; the child talks
// to the parent over `child_fd` and gets `pass_fds` under the same numbers. Returns its pid.
int forkserver_request(const std::string& entry, int child_fd, const std::vector<int>& pass_fds);
// Runs a registered entry point in this (child) process, reading its arguments from fd. Never returns.
[[noreturn]] void run_entry_child(int fd, const std::string& entry);

}  // namespace hpml::mp::detail
