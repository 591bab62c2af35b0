// SIGINT and SIGTERM for the hpml command: blocked in every thread, waited for by one.
#include "signals.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

namespace hpml::cli {

namespace {

// Note [Signals in one place]
// A process-directed signal goes to any thread that does not block it: an OpenMP thread, a
// DataLoader worker thread, the main thread in the middle of a GEMM. A handler that runs there
// has only async-signal-safe calls, an alternate stack per thread, and a frame written under
// the thread's stack pointer. hpml avoids all of it: main() blocks SIGINT and SIGTERM before it
// starts any thread, so every thread inherits the mask, and one thread takes them with
// sigwait(), in ordinary code. While training can stop cleanly the signal is stored for the
// loop, which checks it after each optimizer step and after each epoch's evaluation, plots and
// checkpoints, and again when the run ends (Note [Stopping on a signal] in train.cpp); at any
// other time (loading data, eval, graph, experiments) the thread restores the default action and
// re-raises, so the process ends by that signal as a program without handlers would. Child
// processes reset their masks (hpml::mp): they are not bound by this one.
std::atomic<bool> g_accept{false};
std::atomic<int> g_signal{0};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

[[noreturn]] void die_by(int sig) {
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigaction(sig, &sa, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  raise(sig);  // pending on this thread now, and unblocked: the default action ends the process
  for (;;) pause();
}

void wait_for_signals() {
  const sigset_t set = stop_signals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (!g_accept.load()) die_by(sig);
    int none = 0;
    g_signal.compare_exchange_strong(none, sig);  // a second signal while stopping changes nothing
  }
}

}  // namespace

void start_signal_thread() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(wait_for_signals).detach();
}

void accept_stop_requests(bool accept) { g_accept.store(accept); }

int stop_requested() { return g_signal.load(); }

}  // namespace hpml::cli
