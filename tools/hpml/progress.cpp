// The progress bar and lines of `hpml train` (progress.h).
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hpml::cli {

namespace {

constexpr int64_t kPlainLinesFrom = 100;  // shorter epochs print their summary line alone

int terminal_width() {
  winsize w{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 20) return w.ws_col;
  return 80;
}

std::string format(const char* fmt, auto... args) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

}  // namespace

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s < 60) return format("%llds", s);
  if (s < 3600) return format("%lldm%02llds", s / 60, s % 60);
  return format("%lldh%02lldm", s / 3600, (s % 3600) / 60);
}

std::string progress_line(const ProgressState& s, int width) {
  const double frac =
      s.batches > 0 ? std::clamp(static_cast<double>(s.batch) / static_cast<double>(s.batches), 0.0, 1.0) : 1.0;
  const std::string head = format("epoch %lld/%lld ", static_cast<long long>(s.epoch), static_cast<long long>(s.epochs));
  const std::string count = format(" %lld/%lld", static_cast<long long>(s.batch), static_cast<long long>(s.batches));
  std::string rest = format(" loss %.4f", s.loss);
  if (s.acc >= 0) rest += format(" acc %.4f", s.acc);
  rest += format(" %.1f batches/s ETA %s/%s", s.rate, duration_text(s.eta_epoch).c_str(), duration_text(s.eta_run).c_str());
  const std::string pct = format(" %3.0f%%", frac * 100);
  // The bar takes what is left, 10 to 30 columns; on a narrow terminal the batch count goes
  // first, then the bar.
  for (const std::string& tail : {pct + count + rest, pct + rest}) {
    const int room = width - static_cast<int>(head.size() + tail.size()) - 2;
    if (room < 10) continue;
    const int bar = std::min(room, 30);
    const int full = static_cast<int>(frac * bar);
    return head + "[" + std::string(static_cast<size_t>(full), '#') +
           std::string(static_cast<size_t>(bar - full), '.') + "]" + tail;
  }
  return head + format("%.0f%%", frac * 100) + count + rest;
}

Progress::Progress(bool tty, bool quiet, int64_t epochs) : tty_(tty), quiet_(quiet) { s_.epochs = epochs; }

void Progress::start_epoch(int64_t epoch, int64_t batches, int64_t first_batch) {
  s_.epoch = epoch + 1;
  s_.batches = batches;
  s_.batch = first_ = first_batch;
  next_line_ = batches / 10;
  while (next_line_ <= first_batch) next_line_ += std::max<int64_t>(1, batches / 10);
  start_ = last_draw_ = Clock::now();
  drawn_ = false;
}

void Progress::batch_done(int64_t batch, double loss, double acc) {
  if (quiet_) return;
  s_.batch = batch;
  s_.loss = loss;
  s_.acc = acc;
  const auto now = Clock::now();
  const bool last = batch == s_.batches;
  if (tty_) {
    if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
  } else {  // a line at each tenth of an epoch of 100 batches or more, its last batch included
    if (s_.batches < kPlainLinesFrom || (!last && batch < next_line_)) return;
    while (next_line_ <= batch) next_line_ += s_.batches / 10;
  }
  last_draw_ = now;
  print();
}

void Progress::print() {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  s_.rate = static_cast<double>(s_.batch - first_) / std::max(elapsed, 1e-9);
  s_.eta_epoch = static_cast<double>(s_.batches - s_.batch) / std::max(s_.rate, 1e-9);
  // The epochs after this one take as long as the last whole epoch did (evaluation included),
  // or, before one ended, as long as this one's batches at this rate.
  const double per_epoch = epoch_seconds_ > 0 ? epoch_seconds_ : static_cast<double>(s_.batches) / std::max(s_.rate, 1e-9);
  s_.eta_run = s_.eta_epoch + static_cast<double>(s_.epochs - s_.epoch) * per_epoch;
  const std::string line = progress_line(s_, tty_ ? terminal_width() - 1 : 0);  // 0: no bar in a log
  if (tty_) std::printf("\r%s\033[K", line.c_str());  // \033[K: clear what a longer line left
  else std::printf("%s\n", line.c_str());
  drawn_ = true;
  std::fflush(stdout);
}

void Progress::end_epoch(double seconds) {
  epoch_seconds_ = seconds;
  if (!quiet_ && tty_ && drawn_) std::printf("\n");
}

}  // namespace hpml::cli
