// The files of an `hpml train` run: metrics.csv / metrics.jsonl and the plots drawn from them,
// the last / best checkpoints, and what --resume reads back and checks.
#include <charconv>
#include <cstdio>
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
  os << m.epoch << ',' << m.train_loss << ',' << m.train_acc << ',' << m.test_loss << ',' << m.test_acc << ','
     << m.lr << ',' << m.seconds << ',' << m.train_seconds;
  return os.str();
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

// loss.{png,svg} and accuracy.{png,svg} from metrics.csv (so a resumed run plots every epoch).
void plot_metrics(const std::string& out, bool classify) {
  std::istringstream in = metrics_file(out + "/metrics.csv");
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

// The best score a checkpoint recorded: a finite number, or -inf before any epoch ended.
double read_best_score(const io::Metadata& meta, const std::string& source) {
  auto it = meta.find("best_test_acc");
  if (it == meta.end()) return -std::numeric_limits<double>::infinity();
  const std::string& s = it->second;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool ok = ec == std::errc() && end == s.data() + s.size() && !std::isnan(v) &&
                  v != std::numeric_limits<double>::infinity();
  HPML_CHECK(ok, source, ": metadata best_test_acc is ", printable(s),
             ", not a number (finite, or -inf before the first epoch ended)");
  return v;
}

// Where the checkpoint says the run stands, against what this run's loader and options allow.
void check_progress(const io::TrainingProgress& p, const Run& run, const std::string& source) {
  HPML_CHECK(p.epoch >= 0 && p.epoch <= kMaxEpochs, source, ": meta.epoch is ", p.epoch, ", not in [0, ",
             kMaxEpochs, "]");
  HPML_CHECK(p.batch >= 0 && p.batch <= run.batches, source, ": meta.batch is ", p.batch,
             ", an epoch of this run has ", run.batches, " batches");
  const int64_t most = (p.epoch + 1) * run.steps_per_epoch;  // <= (10^6 + 1) * 2^20: no overflow
  HPML_CHECK(p.step >= 0 && p.step <= most, source, ": meta.step is ", p.step, ", but ", p.epoch,
             " epochs and ", p.batch, " batches of ", run.steps_per_epoch, " steps each make at most ", most);
}

}  // namespace

void start_metrics(const Run& run) {
  std::ofstream(run.csv, std::ios::trunc) << "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,train_seconds\n";
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
// Before anything is restored, --resume reads the arguments it recorded (a JSON array) and
// refuses a run whose options differ, naming each (only where the run writes, how far it goes
// and how it loads data may change: settings() in options.cpp); it reads the best score as a
// number (NaN would switch off best checkpoints for good) and bounds the epoch, batch and step
// against this run's loader. Only then do restore()'s own checks (tensor names, shapes, dtypes,
// optimizer state) run.
void resume(Run& run) {
  const std::string& source = run.config.resume;
  const io::CheckpointState state = io::load_checkpoint(source);
  auto it = state.metadata.find("argv");
  HPML_CHECK(it != state.metadata.end(), source, ": the checkpoint does not record the arguments of the run that "
             "wrote it (metadata \"argv\"); hpml train cannot check that this run continues it");
  const TrainConfig recorded = parse_recorded_arguments(it->second, source);
  const std::vector<std::string> diff = resume_differences(recorded, run.config);
  if (!diff.empty()) {
    std::string list;
    for (const std::string& d : diff) list += "\n  " + d;
    HPML_FAIL("--resume ", source, ": ", diff.size(), " option(s) differ from the run that wrote it:", list,
              "\nhint: resume with the recorded options (only --epochs, --stop-after, --out, --workers, "
              "--worker-mode, --loader-timeout, --threads and --quiet may change)");
  }
  run.best_score = read_best_score(state.metadata, source);
  check_progress(state.progress, run, source);
  run.pos = io::restore(state, run.objects, source);
  trim_metrics(run.csv, run.pos.epoch, true);
  trim_metrics(run.jsonl, run.pos.epoch, false);
}

void save(Run& run, const std::string& path, const io::TrainingProgress& pos) {
  run.meta["best_test_acc"] = exact(run.best_score);
  io::save_checkpoint(path, run.objects, pos, run.meta);
}

}  // namespace hpml::cli
