// The progress display of `hpml train`: on a terminal one line redrawn in place (a bar, the
// percentage, batches/s, the running loss and accuracy, the ETA of the epoch and of the run) at
// a steady rate; elsewhere (a log file, a pipe) a plain line, without the bar, at each tenth of
// an epoch of 100 batches or more (shorter epochs print only their summary line).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hpml::cli {

// What one line shows.
struct ProgressState {
  int64_t epoch = 0, epochs = 1;        // epoch counts from 1
  int64_t batch = 0, batches = 1;       // batches done of the epoch's
  double loss = 0, acc = -1;            // running means; acc < 0: none (regression)
  double rate = 0;                      // batches per second over this epoch
  double eta_epoch = 0, eta_run = 0;    // seconds
};

// "epoch 2/6 [#############.................]  45% 211/469 loss 0.3121 acc 0.8873 52.1 batches/s ETA 5s/1m12s"
// in at most `width` columns where it fits (the bar takes 10 to 30 of them).
std::string progress_line(const ProgressState& s, int width);
// 75 -> "1m15s", 3700 -> "1h01m", 4 -> "4s".
std::string duration_text(double seconds);

class Progress {
 public:
  // tty: redraw in place; quiet: print nothing.
  Progress(bool tty, bool quiet, int64_t epochs);
  // An epoch starts at `first_batch` (a resumed epoch skips the batches it had done).
  void start_epoch(int64_t epoch, int64_t batches, int64_t first_batch);
  // After each batch (micro-batch: the rate is steady whatever --accumulate is). Prints when
  // 0.1 s passed since the last redraw on a terminal (and at the epoch's last batch); elsewhere
  // at each tenth of an epoch of 100 batches or more.
  void batch_done(int64_t batch, double loss, double acc);
  // Before the epoch's own summary line: ends the redrawn line; `seconds` is the whole epoch,
  // evaluation included, for the run's ETA.
  void end_epoch(double seconds);

 private:
  using Clock = std::chrono::steady_clock;
  void print();
  bool tty_, quiet_;
  ProgressState s_;
  int64_t first_ = 0, next_line_ = 0;
  double epoch_seconds_ = 0;  // the last whole epoch, 0 before one ended
  Clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace hpml::cli
