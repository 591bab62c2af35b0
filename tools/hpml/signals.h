// SIGINT and SIGTERM for the hpml command, taken in one place: a thread that waits for them
// (Note [Signals in one place] in signals.cpp).
#pragma once

namespace hpml::cli {

// Blocks SIGINT and SIGTERM in the calling thread, so in every thread and child started after it,
// and starts the one thread that waits for them. Call it first in main().
void start_signal_thread();
// While a training loop can stop cleanly (a checkpoint at the next step), a signal is recorded
// for it to find; at other times it ends the process as it would without hpml's handling.
void accept_stop_requests(bool accept);
// The signal that asked the run to stop (SIGINT or SIGTERM), or 0.
int stop_requested();

}  // namespace hpml::cli
