// The files of an `hpml train` run: metrics.csv / metrics.jsonl and the plots drawn from them,
// the last / best checkpoints, and what --resume reads back and checks.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "plot.h"
#include "run.h"

namespace hpml::cli {

namespace {

// Every digit of a double (std::to_string keeps 6 decimals: an lr of 1e-7 would read 0.000000).
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string csv_line(const EpochMetrics& m) {
  std::ostringstream os;
  os << m.epoch << ',' << m.train_loss << ',' << m.train_acc << ',' << m.val_loss << ',' << m.val_acc << ','
     << m.test_loss << ',' << m.test_acc << ',' << m.lr << ',' << m.seconds << ',' << m.train_seconds;
  return os.str();
}

std::string json_line(const EpochMetrics& m) {
  auto num = [](double v) { return std::isfinite(v) ? exact(v) : std::string("null"); };  // JSON has no inf / nan
  std::ostringstream os;
  os << "{\"epoch\": " << m.epoch << ", \"train_loss\": " << num(m.train_loss) << ", \"train_acc\": "
     << num(m.train_acc) << ", \"val_loss\": " << num(m.val_loss) << ", \"val_acc\": " << num(m.val_acc)
     << ", \"test_loss\": " << num(m.test_loss) << ", \"test_acc\": " << num(m.test_acc)
     << ", \"lr\": " << num(m.lr) << ", \"seconds\": " << num(m.seconds)
     << ", \"train_seconds\": " << num(m.train_seconds) << "}";
  return os.str();
}

// Keeps the metric lines of the first `done` epochs (a resumed run writes the rest again).
// The run's own metric files, read like any other file (a FIFO put there cannot block the run).
std::istringstream metrics_file(const std::string& path) {
  return std::istringstream(read_regular_file_string(path, "hpml train", uint64_t{1} << 30));
}

void trim_metrics(const std::string& path, int64_t done, bool header) {
  if (!std::filesystem::exists(path)) return;
  std::istringstream in = metrics_file(path);
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
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : keep) out << l << '\n';
}

constexpr const char* kColumns = "epoch,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds,train_seconds";

// loss, accuracy and lr (.png and .svg) from metrics.csv (so a resumed run plots every epoch):
// train, validation and test on each chart.
void plot_metrics(const std::string& out, bool classify) {
  std::istringstream in = metrics_file(out + "/metrics.csv");
  std::string line;
  std::getline(in, line);  // the header: kColumns
  plot::Series loss[3] = {{"train"}, {"validation"}, {"test"}}, acc[3] = {{"train"}, {"validation"}, {"test"}};
  plot::Series lr{"lr"};
  while (std::getline(in, line)) {
    std::vector<double> v;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) v.push_back(f == "nan" ? NAN : std::atof(f.c_str()));
    if (v.size() < 8) continue;
    for (int k = 0; k < 3; ++k) {
      loss[k].x.push_back(v[0]);
      loss[k].y.push_back(v[1 + 2 * static_cast<size_t>(k)]);
      acc[k].x.push_back(v[0]);
      acc[k].y.push_back(v[2 + 2 * static_cast<size_t>(k)]);
    }
    lr.x.push_back(v[0]);
    lr.y.push_back(v[7]);
  }
  auto chart = [](const char* title, const char* y, std::vector<plot::Series> s) {
    return plot::Chart{.title = title, .xlabel = "epoch", .ylabel = y, .series = std::move(s), .integer_x = true};
  };
  plot::save(chart("loss", "loss", {loss[0], loss[1], loss[2]}), out + "/loss");
  if (classify) plot::save(chart("accuracy", "accuracy", {acc[0], acc[1], acc[2]}), out + "/accuracy");
  plot::save(chart("learning rate (at the end of each epoch)", "lr", {lr}), out + "/lr");
}

// The best score a checkpoint recorded: a finite number, or -inf before any epoch ended.
double read_best_score(const io::Metadata& meta, const std::string& source) {
  auto it = meta.find("best_val_score");
  if (it == meta.end()) return -std::numeric_limits<double>::infinity();
  const std::string& s = it->second;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool ok = ec == std::errc() && end == s.data() + s.size() && !std::isnan(v) &&
                  v != std::numeric_limits<double>::infinity();
  HPML_CHECK(ok, source, ": metadata best_val_score is ", printable(s),
             ", not a number (finite, or -inf before the first epoch ended)");
  return v;
}

// Where the checkpoint says the run stands, against what this run's loader and options allow.
void check_progress(const io::TrainingProgress& p, const Run& run, const std::string& source) {
  HPML_CHECK(p.epoch >= 0 && p.epoch <= kMaxEpochs, source, ": meta.epoch is ", p.epoch, ", not in [0, ",
             kMaxEpochs, "]");
  HPML_CHECK(p.epoch <= run.config.epochs, "--resume ", source, ": the checkpoint is after epoch ", p.epoch,
             ", past --epochs ", run.config.epochs, " (hint: a larger --epochs trains on)");
  HPML_CHECK(p.batch >= 0 && p.batch <= run.batches, source, ": meta.batch is ", p.batch,
             ", an epoch of this run has ", run.batches, " batches");
  const int64_t most = (p.epoch + 1) * run.steps_per_epoch;  // <= (10^6 + 1) * 2^20: no overflow
  HPML_CHECK(p.step >= 0 && p.step <= most, source, ": meta.step is ", p.step, ", but ", p.epoch,
             " epochs and ", p.batch, " batches of ", run.steps_per_epoch, " steps each make at most ", most);
}

// The epoch of the best score: an integer in [0, the checkpoint's epoch] (0 before any).
int64_t read_best_epoch(const io::Metadata& meta, int64_t epoch, const std::string& source) {
  auto it = meta.find("best_epoch");
  if (it == meta.end()) return 0;
  const std::string& s = it->second;
  int64_t v = -1;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  HPML_CHECK(ec == std::errc() && end == s.data() + s.size() && v >= 0 && v <= epoch, source,
             ": metadata best_epoch is ", printable(s), ", not an epoch in [0, ", epoch, "]");
  return v;
}

}  // namespace

namespace {
// Note [Resuming at another world size]
// A checkpoint records how many processes wrote it. The weights, optimizer state and schedule
// are the same at any world size, so a run resumes at another one; what changes is the data
// order (each process draws its own shard of every epoch from the seed and the epoch) and the
// batch of a step (--batch-size per process times the world size). The run says so.
void note_world_size(const io::Metadata& meta, const Run& run) {
  auto it = meta.find("world_size");
  if (it == meta.end() || run.config.quiet) return;
  char* end = nullptr;
  const long n = std::strtol(it->second.c_str(), &end, 10);
  if (*end || n < 1 || n > kMaxProcesses || n == run.world.size) return;  // a number from a file: bounded
  std::printf("note: %s was written by %ld processes and this run has %d: from here each process draws another "
              "shard of every epoch, and a step sees %lld samples instead of %lld\n", run.config.resume.c_str(), n,
              run.world.size, static_cast<long long>(run.config.batch_size * run.world.size),
              static_cast<long long>(run.config.batch_size * n));
}
}  // namespace

void start_metrics(const Run& run) {
  std::ofstream(run.csv, std::ios::trunc) << kColumns << "\n";
  std::ofstream(run.jsonl, std::ios::trunc);
}

void write_metrics(const Run& run, const EpochMetrics& m) {
  for (const auto& [path, line] : {std::pair{run.csv, csv_line(m)}, std::pair{run.jsonl, json_line(m)}}) {
    std::ofstream f(path, std::ios::app);
    f << line << '\n';
    HPML_CHECK(f.flush().good(), "hpml train: cannot append epoch ", m.epoch, " to ", path);
  }
  plot_metrics(run.config.out, run.classify);
}

// Note [What resume checks]
// A checkpoint is a file like any other: its checksum says it is whole, not that it is honest.
// The options were resolved against the arguments it recorded before the run was built (Note
// [Resolving a run's options] in config.cpp: a changed option is refused there, with the list).
// Here, before anything is restored, the best score is read as a number (NaN would switch off
// best checkpoints for good), its epoch bounded, and the epoch, batch and step checked against
// this run's loader and --epochs. Only then do restore()'s own checks (tensor names, shapes,
// dtypes, optimizer state) run.
void resume(Run& run, const io::CheckpointState& state) {
  const std::string& source = run.config.resume;
  run.best_score = read_best_score(state.metadata, source);
  run.best_epoch = read_best_epoch(state.metadata, state.progress.epoch, source);
  check_progress(state.progress, run, source);
  run.pos = io::restore(state, run.objects, source);
  note_world_size(state.metadata, run);
  if (!run.world.lead()) return;  // the lead keeps the metric files
  if (!std::filesystem::exists(run.csv)) {  // resumed into another --out: its metrics start here
    start_metrics(run);
    return;
  }
  trim_metrics(run.csv, run.pos.epoch, true);
  trim_metrics(run.jsonl, run.pos.epoch, false);
}

// Note [What TensorBoard gets]
// One step per epoch (the epoch number): the scalars of metrics.csv, grouped as TensorBoard
// groups them by the tag's prefix (loss/train, loss/val, loss/test, accuracy/..., lr), and the
// histograms of every parameter ("weights/0.weight") after the epoch and of its gradient
// ("gradients/0.weight") at the epoch's last optimizer step, before zero_grad() clears it.
void log_epoch(Run& run, const EpochMetrics& m) {
  if (!run.tensorboard) return;
  io::SummaryWriter& w = *run.tensorboard;
  const struct {
    const char* tag;
    double v;
  } scalars[] = {{"loss/train", m.train_loss}, {"loss/val", m.val_loss},     {"loss/test", m.test_loss},
                 {"accuracy/train", m.train_acc}, {"accuracy/val", m.val_acc}, {"accuracy/test", m.test_acc},
                 {"lr", m.lr}};
  for (const auto& s : scalars)
    if (!std::isnan(s.v)) w.add_scalar(s.tag, s.v, m.epoch);
  for (const auto& [name, p] : run.model->named_parameters()) w.add_histogram("weights/" + name, p.detach(), m.epoch);
  w.flush();
}

void log_gradients(Run& run, int64_t epoch) {
  if (!run.tensorboard) return;
  for (const auto& [name, p] : run.model->named_parameters())
    if (p.grad().defined()) run.tensorboard->add_histogram("gradients/" + name, p.grad(), epoch);
}

void save(Run& run, const std::string& path, const io::TrainingProgress& pos) {
  if (!run.world.lead()) return;  // every rank holds the same weights: the lead writes them
  run.meta["best_val_score"] = exact(run.best_score);
  run.meta["best_epoch"] = std::to_string(run.best_epoch);
  io::save_checkpoint(path, run.objects, pos, run.meta);
}

}  // namespace hpml::cli
