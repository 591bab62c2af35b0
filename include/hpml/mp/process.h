// Processes (PyTorch's torch.multiprocessing / Python's multiprocessing.Process) with the three
// start methods: fork (a copy-on-write copy of this process), spawn (a fresh run of this same
// executable that calls a registered entry point with serialized arguments) and forkserver (a
// clean server process, started once, forks the children on request). See Note [Start methods]
// in src/mp/process.cpp.
//
//   int main(int argc, char** argv) {
//     hpml::mp::init(argc, argv);           // first line: runs the entry point in spawned children
//     ...
//     mp::Process p("train_worker", "rank=1", {.start_method = mp::StartMethod::spawn});
//     p.start();
//     p.join();
//   }
//   HPML_MP_ENTRY(train_worker, [](const std::string& args) { ... });
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hpml::mp {

enum class StartMethod { fork, spawn, forkserver };
const char* start_method_name(StartMethod m);
// "fork" | "spawn" | "forkserver"; anything else is an error naming the value.
StartMethod parse_start_method(const std::string& name);

using Entry = std::function<void(const std::string& args)>;
// Registers an entry point that spawn and forkserver children can run. Returns true (so that it
// can initialize a static, which is what HPML_MP_ENTRY does). Registering a name twice is an error.
bool register_entry(const std::string& name, Entry fn);
#define HPML_MP_ENTRY(name, ...) \
  static const bool hpml_mp_entry_##name = ::hpml::mp::register_entry(#name, __VA_ARGS__)

// Call first thing in main(). In a process that mp started with spawn, or in the forkserver, it
// runs that process's job and exits (never returns); elsewhere it notes that the executable is
// ready to be spawned and returns.
void init(int argc, char** argv);
bool initialized();

struct ProcessOptions {
  StartMethod start_method = StartMethod::fork;
  // File descriptors the child gets under the same numbers (spawn / forkserver; fork keeps all).
  std::vector<int> pass_fds;
};

class Process {
 public:
  // Runs fn in a forked copy of this process (start method fork).
  explicit Process(std::function<void()> fn);
  // Runs the registered entry point `entry` with `args`, with any start method.
  Process(std::string entry, std::string args, ProcessOptions options = {});
  // A child still running when its Process is destroyed is killed (SIGKILL) and reaped, so a
  // child can never outlive its handle unnoticed.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void start();
  // Waits for the child to end; timeout_s < 0 waits forever. True once it has ended.
  bool join(double timeout_s = -1);
  bool is_alive();
  // Python's exitcode: the exit status, or -N when signal N killed it; nullopt while it runs.
  std::optional<int> exitcode();
  pid_t pid() const { return pid_; }
  void terminate();  // SIGTERM
  void kill();       // SIGKILL
  // The what() of the exception that ended the child, empty if none.
  const std::string& error() const { return error_; }
  StartMethod start_method() const { return options_.start_method; }

 private:
  void start_fork();
  void start_spawn();
  void start_forkserver();
  bool poll_end(double timeout_s);
  void read_result();

  std::function<void()> fn_;
  std::string entry_, args_;
  ProcessOptions options_;
  pid_t pid_ = -1;
  int sock_ = -1;  // parent's end: arguments out, the child's result (and the forkserver's status) in
  bool started_ = false, ended_ = false;
  int status_ = 0;  // waitpid status once ended_
  std::string error_;
  std::string inbox_;  // bytes read from sock_ so far
};

namespace detail {
// Runs fn as a child: reports an exception through fd, flushes stdio, and _exit()s.
[[noreturn]] void run_child(int fd, const std::function<void()>& fn);
}  // namespace detail

}  // namespace hpml::mp
