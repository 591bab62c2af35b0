// The training loop of `hpml train`: progress, per-epoch metrics (CSV and JSON lines),
// checkpoints (last and best), resume, and SIGINT / SIGTERM handling.
#include "train.h"

#include "plot.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace hpml::cli {

namespace {

// Note [Stopping on a signal]
// SIGINT or SIGTERM only sets a flag. The loop looks at it after each optimizer step (never
// inside one, nor between the micro-batches of an accumulated step), writes a checkpoint of
// exactly that point, says how to resume, and exits with 128 + the signal (130 / 143), as a
// shell expects of a process stopped by it. A second signal while the checkpoint is being
// written is ignored: the write is atomic either way.
std::atomic<int> g_signal{0};
bool g_started = false;
void on_signal(int sig) { g_signal.store(sig); }

struct EpochMetrics {
  int64_t epoch = 0;
  double train_loss = 0, train_acc = NAN, test_loss = 0, test_acc = NAN, lr = 0;
  double seconds = 0;        // the whole epoch: training and evaluation
  double train_seconds = 0;  // its training steps alone
};

std::string csv_line(const EpochMetrics& m) {
  std::ostringstream os;
  os << m.epoch << ',' << m.train_loss << ',' << m.train_acc << ',' << m.test_loss << ',' << m.test_acc << ','
     << m.lr << ',' << m.seconds << ',' << m.train_seconds;
  return os.str();
}

// Every digit of a double (std::to_string keeps 6 decimals: an lr of 1e-7 would read 0.000000).
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string json_line(const EpochMetrics& m) {
  auto num = [](double v) { return std::isfinite(v) ? exact(v) : std::string("null"); };  // JSON has no inf / nan
  std::ostringstream os;
  os << "{\"epoch\": " << m.epoch << ", \"train_loss\": " << num(m.train_loss) << ", \"train_acc\": "
     << num(m.train_acc) << ", \"test_loss\": " << num(m.test_loss) << ", \"test_acc\": " << num(m.test_acc)
     << ", \"lr\": " << num(m.lr) << ", \"seconds\": " << num(m.seconds)
     << ", \"train_seconds\": " << num(m.train_seconds) << "}";
  return os.str();
}

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
  return {loss / static_cast<double>(std::max<int64_t>(n, 1)),
          classify ? static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(n, 1)) : NAN};
}

// Keeps the metric lines of the first `done` epochs (a resumed run writes the rest again).
void trim_metrics(const std::string& path, int64_t done, bool header) {
  std::ifstream in(path);
  if (!in) return;
  std::vector<std::string> keep;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (header && first) {
      keep.push_back(line);
      first = false;
      continue;
    }
    first = false;
    int64_t e = -1;
    if (line.rfind("{\"epoch\": ", 0) == 0) e = std::atoll(line.c_str() + 10);
    else e = std::atoll(line.c_str());
    if (e <= done) keep.push_back(line);
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : keep) out << l << '\n';
}

// loss.{png,svg} and accuracy.{png,svg} from metrics.csv (so a resumed run plots every epoch).
void plot_metrics(const std::string& out, bool classify) {
  std::ifstream in(out + "/metrics.csv");
  std::string line;
  std::getline(in, line);  // header
  plot::Series tl{"train loss"}, vl{"test loss"}, ta{"train accuracy"}, va{"test accuracy"};
  while (std::getline(in, line)) {
    std::vector<double> v;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) v.push_back(f == "nan" ? NAN : std::atof(f.c_str()));
    if (v.size() < 5) continue;
    for (plot::Series* s : {&tl, &vl, &ta, &va}) s->x.push_back(v[0]);
    tl.y.push_back(v[1]);
    ta.y.push_back(v[2]);
    vl.y.push_back(v[3]);
    va.y.push_back(v[4]);
  }
  plot::save({.title = "loss", .xlabel = "epoch", .ylabel = "loss", .series = {tl, vl}}, out + "/loss");
  if (classify)
    plot::save({.title = "accuracy", .xlabel = "epoch", .ylabel = "accuracy", .series = {ta, va}}, out + "/accuracy");
}

}  // namespace

bool training_started() { return g_started; }

int train(const TrainConfig& c, const std::string& command_line) {
  HPML_CHECK(c.epochs >= 1, "--epochs must be at least 1, got ", c.epochs);
  HPML_CHECK(c.batch_size >= 1, "--batch-size must be at least 1, got ", c.batch_size);
  HPML_CHECK(c.accumulate >= 1, "--accumulate must be at least 1, got ", c.accumulate);
  HPML_CHECK(c.clip >= 0, "--clip must be >= 0, got ", c.clip);
  if (c.threads > 0) set_num_threads(c.threads);
  manual_seed(c.seed);

  const DataSplits d = make_data(c);
  const bool classify = d.classes > 0;
  std::shared_ptr<nn::Module> model = make_model(c, d);
  const TensorList params = model->parameters();
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(c, params);
  auto data_gen = std::make_shared<Generator>(c.seed + 1);
  data::DataLoader loader(d.train, {.batch_size = c.batch_size, .shuffle = true, .num_workers = c.workers,
                                    .worker_mode = c.worker_mode == "process" ? data::WorkerMode::process
                                                                              : data::WorkerMode::thread,
                                    .generator = data_gen});
  const int64_t batches = loader.size();
  const int64_t steps_per_epoch = (batches + c.accumulate - 1) / c.accumulate;
  Schedule schedule = make_schedule(c, *opt, steps_per_epoch);
  optim::LRScheduler* sched = schedule.scheduler.get();
  const bool per_batch = schedule.per_batch;

  namespace fs = std::filesystem;
  fs::create_directories(c.out);
  const std::string last = c.out + "/last.safetensors", best = c.out + "/best.safetensors";
  const std::string csv = c.out + "/metrics.csv", jsonl = c.out + "/metrics.jsonl";

  // The loader's generator as it was when the epoch began: a checkpoint taken inside an epoch
  // stores it, so that the resumed run draws the same order and skips the batches already done.
  Generator epoch_gen = *data_gen;
  io::TrainingObjects objects{.model = model.get(), .optimizer = opt.get(), .scheduler = sched, .plateau = schedule.plateau.get(),
                              .generators = {{"data", data_gen.get()}}};
  io::TrainingProgress pos;
  double best_acc = -std::numeric_limits<double>::infinity();  // the best score: test accuracy, or -test loss
  if (!c.resume.empty()) {
    io::Metadata meta;
    pos = io::load_checkpoint(c.resume, objects, &meta);
    if (auto it = meta.find("best_test_acc"); it != meta.end()) best_acc = std::stod(it->second);
    trim_metrics(csv, pos.epoch, true);
    trim_metrics(jsonl, pos.epoch, false);
    if (!c.quiet)
      std::printf("resuming %s: epoch %lld, batch %lld, step %lld\n", c.resume.c_str(),
                  static_cast<long long>(pos.epoch + 1), static_cast<long long>(pos.batch),
                  static_cast<long long>(pos.step));
  } else {
    std::ofstream(csv, std::ios::trunc) << "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,train_seconds\n";
    std::ofstream(jsonl, std::ios::trunc);
  }
  if (!c.quiet) std::printf("%s; %s, %lld parameters\n", d.description.c_str(), c.model.c_str(),
                            static_cast<long long>([&] {
                              int64_t n = 0;
                              for (const Tensor& p : params) n += p.numel();
                              return n;
                            }()));

  // Note [Stopping on a signal]: the handler runs on its own stack. On the thread's stack, the
  // kernel writes the signal frame just below the stack pointer, and math kernels that keep
  // temporaries there (below the 128-byte red zone) would find them overwritten: we saw garbage
  // in a weight and a corrupted heap about one run in two when SIGINT landed mid-step.
  static std::vector<char> alt_stack(std::max<size_t>(SIGSTKSZ, 64 * 1024));
  stack_t ss{};
  ss.ss_sp = alt_stack.data();
  ss.ss_size = alt_stack.size();
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;  // and no EINTR from a system call in flight
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  const bool tty = isatty(1) != 0;
  io::Metadata meta{{"command", command_line}};
  g_started = true;

  const int64_t end = c.stop_after > 0 ? std::min(c.stop_after, c.epochs) : c.epochs;
  for (int64_t epoch = pos.epoch; epoch < end; ++epoch) {
    epoch_gen = *data_gen;
    model->train();
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, k = 0, micro = 0;
    const int64_t skip = epoch == pos.epoch ? pos.batch : 0;
    for (data::Batch& b : loader) {
      if (k < skip) {  // resumed inside this epoch: these batches are done
        ++k;
        continue;
      }
      auto [loss, right] = loss_and_correct(model->forward(b[0]), b[1], classify);
      (c.accumulate > 1 ? loss / static_cast<double>(c.accumulate) : loss).backward();
      loss_sum += loss.item<double>() * static_cast<double>(b[0].size(0));
      correct += right;
      seen += b[0].size(0);
      ++k;
      if (++micro % c.accumulate != 0 && k != batches) continue;
      if (c.clip > 0) nn::utils::clip_grad_norm_(params, c.clip);
      opt->step();
      opt->zero_grad();
      if (sched && per_batch) sched->step();
      ++pos.step;
      if (!c.quiet && (k % 50 == 0 || k == batches)) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = static_cast<double>(k - skip) / std::max(secs, 1e-9);
        std::printf("%sepoch %lld/%lld  batch %lld/%lld  loss %.4f%s  %.0f batches/s  ETA %.0fs%s", tty ? "\r" : "",
                    static_cast<long long>(epoch + 1), static_cast<long long>(c.epochs), static_cast<long long>(k),
                    static_cast<long long>(batches), loss_sum / static_cast<double>(seen),
                    classify ? (std::string("  acc ") + std::to_string(static_cast<double>(correct) / static_cast<double>(seen)).substr(0, 6)).c_str() : "",
                    rate, static_cast<double>(batches - k) / std::max(rate, 1e-9), tty ? "" : "\n");
        std::fflush(stdout);
      }
      if (int sig = g_signal.load(); sig != 0) {
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        Generator now = *data_gen;
        *data_gen = epoch_gen;  // saved as the epoch's start; see Note [Resuming inside an epoch]
        meta["best_test_acc"] = exact(best_acc);
        io::save_checkpoint(last, objects, {epoch, pos.step, k}, meta);
        *data_gen = now;
        std::printf("%s\n%s: stopped after batch %lld of epoch %lld; checkpoint %s\nresume with: hpml train --resume %s "
                    "(and the same options)\n",
                    tty ? "" : "", sig == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(k),
                    static_cast<long long>(epoch + 1), last.c_str(), last.c_str());
        std::fflush(stdout);
        return 128 + sig;
      }
    }
    if (sched && !per_batch) sched->step();
    EpochMetrics m;
    m.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.epoch = epoch + 1;
    m.train_loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
    m.train_acc = classify && seen ? static_cast<double>(correct) / static_cast<double>(seen) : NAN;
    std::tie(m.test_loss, m.test_acc) = evaluate(*model, d.test, classify);
    if (schedule.plateau) schedule.plateau->step(m.test_loss);
    m.lr = opt->lr(0);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ofstream(csv, std::ios::app) << csv_line(m) << '\n';
    std::ofstream(jsonl, std::ios::app) << json_line(m) << '\n';
    plot_metrics(c.out, classify);
    const double score = classify ? m.test_acc : -m.test_loss;
    const bool improved = score > best_acc;
    if (improved) best_acc = score;
    meta["best_test_acc"] = exact(best_acc);
    io::save_checkpoint(last, objects, {epoch + 1, pos.step, 0}, meta);
    if (improved) io::save_checkpoint(best, objects, {epoch + 1, pos.step, 0}, meta);
    if (!c.quiet) {
      if (tty) std::printf("\n");
      std::printf("epoch %lld: train loss %.4f%s, test loss %.4f%s, %.1f s\n", static_cast<long long>(m.epoch),
                  m.train_loss, classify ? (", acc " + std::to_string(m.train_acc).substr(0, 6)).c_str() : "",
                  m.test_loss, classify ? (", acc " + std::to_string(m.test_acc).substr(0, 6)).c_str() : "", m.seconds);
    }
    pos = {epoch + 1, pos.step, 0};
  }
  if (!c.quiet) std::printf("done: metrics in %s, checkpoints %s and %s\n", csv.c_str(), last.c_str(), best.c_str());
  if (!c.quiet && end < c.epochs)
    std::printf("stopped after epoch %lld of %lld (--stop-after); resume with: hpml train --resume %s (and the same "
                "options)\n", static_cast<long long>(end), static_cast<long long>(c.epochs), last.c_str());
  return 0;
}

}  // namespace hpml::cli
