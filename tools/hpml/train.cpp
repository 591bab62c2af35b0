// The training loop of `hpml train`: it builds the run's parts, trains epoch by epoch with
// progress lines, and stops cleanly on SIGINT / SIGTERM (files and resume: run_files.cpp).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "run.h"
#include "signals.h"

namespace hpml::cli {

namespace {

// Note [Stopping on a signal]
// SIGINT or SIGTERM only sets a flag (Note [Signals in one place] in signals.cpp). The loop
// looks at it after each optimizer step (never inside one, nor between the micro-batches of an
// accumulated step) and after each epoch's evaluation, metrics and checkpoints, writes a
// checkpoint of exactly that point, says how to resume, and exits with 128 + the signal
// (130 / 143), as a shell expects of a process stopped by it. A signal that comes after the last
// epoch still ends the process with that status, its checkpoints complete. A second signal while
// the checkpoint is being written changes nothing: the write is atomic either way.
bool g_started = false;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Loss and, for classifiers, the number of correct predictions in a batch.
std::pair<Tensor, int64_t> loss_and_correct(const Tensor& out, const Tensor& y, bool classify) {
  if (!classify) return {nn::functional::mse_loss(out, y), 0};
  Tensor loss = nn::functional::cross_entropy(out, y);
  const int64_t correct = eq(out.argmax(1), y).sum().item<int64_t>();
  return {loss, correct};
}

std::pair<double, double> evaluate(nn::Module& model, const data::DatasetPtr& test, bool classify) {
  model.eval();
  NoGradGuard ng;
  data::DataLoader loader(test, {.batch_size = 512});
  double loss = 0;
  int64_t correct = 0, n = 0;
  for (data::Batch& b : loader) {
    auto [l, c] = loss_and_correct(model.forward(b[0]), b[1], classify);
    loss += l.item<double>() * static_cast<double>(b[0].size(0));
    correct += c;
    n += b[0].size(0);
  }
  model.train();
  const double count = static_cast<double>(std::max<int64_t>(n, 1));
  return {loss / count, classify ? static_cast<double>(correct) / count : NAN};
}

// The parts of a run from its options; no file is touched yet.
Run build(const TrainConfig& c, const std::string& arguments) {
  Run r;
  r.config = c;
  if (c.threads > 0) set_num_threads(c.threads);
  manual_seed(c.seed);
  r.data = make_data(c);
  r.classify = r.data.classes > 0;
  r.model = make_model(c, r.data);
  r.params = r.model->parameters();
  r.optimizer = make_optimizer(c, r.params);
  r.data_gen = std::make_shared<Generator>(c.seed + 1);
  r.loader = std::make_unique<data::DataLoader>(
      r.data.train, data::DataLoaderOptions{.batch_size = c.batch_size, .shuffle = true, .num_workers = c.workers,
                                            .worker_mode = c.worker_mode == "process" ? data::WorkerMode::process
                                                                                      : data::WorkerMode::thread,
                                            .timeout = c.loader_timeout, .generator = r.data_gen});
  r.batches = r.loader->size();
  r.steps_per_epoch = (r.batches + c.accumulate - 1) / c.accumulate;
  r.schedule = make_schedule(c, *r.optimizer, r.steps_per_epoch);
  r.objects = {.model = r.model.get(), .optimizer = r.optimizer.get(), .scheduler = r.schedule.scheduler.get(),
               .plateau = r.schedule.plateau.get(), .generators = {{"data", r.data_gen.get()}}};
  r.meta = {{"argv", arguments}};
  r.last = c.out + "/last.safetensors";
  r.best = c.out + "/best.safetensors";
  r.csv = c.out + "/metrics.csv";
  r.jsonl = c.out + "/metrics.jsonl";
  return r;
}

void print_progress(const Run& r, int64_t epoch, int64_t k, int64_t skip, double loss_sum, int64_t correct,
                    int64_t seen, Clock::time_point t0, bool tty) {
  const double rate = static_cast<double>(k - skip) / std::max(since(t0), 1e-9);
  std::string acc;
  if (r.classify) acc = "  acc " + std::to_string(static_cast<double>(correct) / static_cast<double>(seen)).substr(0, 6);
  std::printf("%sepoch %lld/%lld  batch %lld/%lld  loss %.4f%s  %.0f batches/s  ETA %.0fs%s", tty ? "\r" : "",
              static_cast<long long>(epoch + 1), static_cast<long long>(r.config.epochs), static_cast<long long>(k),
              static_cast<long long>(r.batches), loss_sum / static_cast<double>(seen), acc.c_str(), rate,
              static_cast<double>(r.batches - k) / std::max(rate, 1e-9), tty ? "" : "\n");
  std::fflush(stdout);
}

// Writes the checkpoint of a stopped run and says how to resume it; returns the exit status.
int stop(Run& r, int sig, const io::TrainingProgress& at, bool tty) {
  Generator now = *r.data_gen;
  if (at.batch > 0) *r.data_gen = r.epoch_gen;  // saved as the epoch's start; see Note [Resuming inside an epoch]
  save(r, r.last, at);
  *r.data_gen = now;
  const std::string where = at.batch > 0 ? "batch " + std::to_string(at.batch) + " of epoch " + std::to_string(at.epoch + 1)
                                         : "epoch " + std::to_string(at.epoch);
  std::printf("%s\n%s: stopped after %s; checkpoint %s\nresume with: hpml train --resume %s (and the same options)\n",
              tty ? "" : "", sig == SIGINT ? "SIGINT" : "SIGTERM", where.c_str(), r.last.c_str(), r.last.c_str());
  std::fflush(stdout);
  return 128 + sig;
}

struct EpochResult {
  EpochMetrics metrics;
  int stopped = 0;  // the exit status when a signal stopped the epoch (its checkpoint written), else 0
};

// The training steps of one epoch, from batch pos.batch when it was resumed inside it.
EpochResult train_epoch(Run& r, int64_t epoch, bool tty) {
  const TrainConfig& c = r.config;
  r.epoch_gen = *r.data_gen;
  r.model->train();
  const auto t0 = Clock::now();
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, k = 0, micro = 0;
  const int64_t skip = epoch == r.pos.epoch ? r.pos.batch : 0;
  for (data::Batch& b : *r.loader) {
    if (k < skip) {  // resumed inside this epoch: these batches are done
      ++k;
      continue;
    }
    auto [loss, right] = loss_and_correct(r.model->forward(b[0]), b[1], r.classify);
    (c.accumulate > 1 ? loss / static_cast<double>(c.accumulate) : loss).backward();
    loss_sum += loss.item<double>() * static_cast<double>(b[0].size(0));
    correct += right;
    seen += b[0].size(0);
    ++k;
    if (++micro % c.accumulate != 0 && k != r.batches) continue;
    if (c.clip > 0) nn::utils::clip_grad_norm_(r.params, c.clip);
    r.optimizer->step();
    r.optimizer->zero_grad();
    if (r.schedule.scheduler && r.schedule.per_batch) r.schedule.scheduler->step();
    ++r.pos.step;
    if (!c.quiet && (k % 50 == 0 || k == r.batches)) print_progress(r, epoch, k, skip, loss_sum, correct, seen, t0, tty);
    if (int sig = stop_requested(); sig != 0) return {.metrics = {}, .stopped = stop(r, sig, {epoch, r.pos.step, k}, tty)};
  }
  EpochResult out;
  out.metrics.train_seconds = since(t0);
  out.metrics.epoch = epoch + 1;
  out.metrics.train_loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
  out.metrics.train_acc = r.classify && seen ? static_cast<double>(correct) / static_cast<double>(seen) : NAN;
  return out;
}

// The end of an epoch: schedule, evaluation, metrics, plots, checkpoints, and its line.
void end_epoch(Run& r, int64_t epoch, EpochMetrics& m, Clock::time_point t0, bool tty) {
  if (r.schedule.scheduler && !r.schedule.per_batch) r.schedule.scheduler->step();
  std::tie(m.test_loss, m.test_acc) = evaluate(*r.model, r.data.test, r.classify);
  if (r.schedule.plateau) r.schedule.plateau->step(m.test_loss);
  m.lr = r.optimizer->lr(0);
  m.seconds = since(t0);
  const double score = r.classify ? m.test_acc : -m.test_loss;
  const bool improved = score > r.best_score;
  if (improved) r.best_score = score;
  r.pos = {epoch + 1, r.pos.step, 0};
  save(r, r.last, r.pos);  // the checkpoints first: a folder that cannot take the plots keeps them
  if (improved) save(r, r.best, r.pos);
  write_metrics(r, m);
  if (r.config.quiet) return;
  auto acc = [&](double a) { return r.classify ? ", acc " + std::to_string(a).substr(0, 6) : std::string(); };
  if (tty) std::printf("\n");
  std::printf("epoch %lld: train loss %.4f%s, test loss %.4f%s, %.1f s\n", static_cast<long long>(m.epoch),
              m.train_loss, acc(m.train_acc).c_str(), m.test_loss, acc(m.test_acc).c_str(), m.seconds);
  std::fflush(stdout);
}

int64_t parameter_total(const TensorList& params) {
  int64_t n = 0;
  for (const Tensor& p : params) n += p.numel();
  return n;
}

}  // namespace

bool training_started() { return g_started; }

int train(const TrainConfig& c, const std::string& arguments) {
  Run r = build(c, arguments);
  std::filesystem::create_directories(c.out);
  if (!c.resume.empty()) {
    resume(r);
    if (!c.quiet)
      std::printf("resuming %s: epoch %lld, batch %lld, step %lld\n", c.resume.c_str(),
                  static_cast<long long>(r.pos.epoch + 1), static_cast<long long>(r.pos.batch),
                  static_cast<long long>(r.pos.step));
  } else {
    start_metrics(r);
  }
  if (!c.quiet)
    std::printf("%s; %s, %lld parameters\n", r.data.description.c_str(), c.model.c_str(),
                static_cast<long long>(parameter_total(r.params)));
  const bool tty = isatty(1) != 0;
  g_started = true;
  accept_stop_requests(true);

  const int64_t end = c.stop_after > 0 ? std::min(c.stop_after, c.epochs) : c.epochs;
  for (int64_t epoch = r.pos.epoch; epoch < end; ++epoch) {
    const auto t0 = Clock::now();
    EpochResult e = train_epoch(r, epoch, tty);
    if (e.stopped) return e.stopped;
    end_epoch(r, epoch, e.metrics, t0, tty);
    if (int sig = stop_requested(); sig != 0 && epoch + 1 < end) return stop(r, sig, r.pos, tty);
  }
  if (!c.quiet) std::printf("done: metrics in %s, checkpoints %s and %s\n", r.csv.c_str(), r.last.c_str(), r.best.c_str());
  if (!c.quiet && end < c.epochs)
    std::printf("stopped after epoch %lld of %lld (--stop-after); resume with: hpml train --resume %s (and the same "
                "options)\n", static_cast<long long>(end), static_cast<long long>(c.epochs), r.last.c_str());
  std::fflush(stdout);
  if (int sig = stop_requested(); sig != 0) {  // came after the last epoch: everything is written
    std::printf("%s: received after the last epoch; its checkpoints are complete\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 128 + sig;
  }
  return 0;
}

}  // namespace hpml::cli
