// `hpml eval` (a checkpoint on a split: accuracy, per-class report, confusion matrix) and
// `hpml graph` (the autograd graph of a model's loss as DOT / PNG).
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "plot.h"
#include "train.h"

extern char** environ;

namespace hpml::cli {

namespace {

constexpr int kNotFound = -2;

// Runs a program found on PATH with these arguments, no shell in between (a quote or a `;` in
// a path is just a character), and returns its exit status: kNotFound when there is no such
// program, -1 when it did not exit normally.
int run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (err == ENOENT) return kNotFound;
  HPML_CHECK(err == 0, "graph: cannot start ", args[0], ": ", std::strerror(err));
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// What the first bytes of a file that is not a safetensors file look like, for the error.
std::string kind_of_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  unsigned char b[16] = {};
  ssize_t n = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::read(fd, b, sizeof b);
  ::close(fd);
  if (n <= 0) return {};
  // safetensors: an 8-byte little-endian header length, then the JSON header's '{'
  if (n >= 9 && b[8] == '{') return {};
  if (n >= 4 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "a PNG image";
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "gzip data";
  if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return "a PGM/PPM image";
  if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 8) return "an IDX data file";
  bool text = true;
  for (ssize_t i = 0; i < n; ++i) text = text && (b[i] == '\n' || b[i] == '\r' || b[i] == '\t' || (b[i] >= 32 && b[i] < 127));
  return text ? "text" : "not a safetensors file";
}

}  // namespace

io::CheckpointState load_run_checkpoint(const std::string& path, const char* command) {
  try {
    return io::load_checkpoint(path);
  } catch (const Error& e) {
    const std::string kind = kind_of_file(path);
    if (kind.empty()) throw;  // a safetensors file that is damaged or not a checkpoint: its own message says how
    HPML_FAIL(command, ": ", printable(path, 4096), " is not an hpml checkpoint (a safetensors file written by hpml "
              "train); it looks like ", kind);
  }
}

TrainConfig recorded_config(const io::Metadata& metadata, const std::string& source) {
  auto it = metadata.find("argv");
  HPML_CHECK(it != metadata.end(), source, ": the checkpoint does not record the arguments of the run that "
             "wrote it (metadata \"argv\"), so its model cannot be rebuilt");
  return parse_recorded_arguments(it->second, source);
}

std::shared_ptr<nn::Module> rebuild_model(const TrainConfig& c, const DataSplits& d, const io::NamedTensors& model,
                                          const std::string& source) {
  const std::vector<LayerSpec> plan = plan_model(c, d);
  check_model_matches(plan, model, source);  // before a weight is allocated
  std::shared_ptr<nn::Module> m = build_model(plan, "default");
  m->load_state_dict(model);
  return m;
}

int eval(const std::string& checkpoint, const std::string& split, const std::string& out_dir,
         const std::string& device_name) {
  const Device device = resolve_device(Device(device_name), "hpml eval --device");
  HPML_CHECK(split == "test" || split == "val" || split == "train", "--split must be test, val or train, got '",
             printable(split, 100), "'");
  io::CheckpointState state = load_run_checkpoint(checkpoint, "hpml eval");
  const TrainConfig c = recorded_config(state.metadata, checkpoint);
  HPML_CHECK(c.model != "gpt", "hpml eval reports per-class metrics of a classifier; ", checkpoint, " holds a gpt "
             "(its loss and accuracy per character are in metrics.csv; hpml generate samples from it)");
  const DataSplits d = make_data(c);
  HPML_CHECK(d.classes > 0, "hpml eval reports classification metrics; ", checkpoint, " holds a regression model");
  std::shared_ptr<nn::Module> model = rebuild_model(c, d, state.model, checkpoint);
  model->to(device);
  model->eval();
  NoGradGuard ng;

  const int64_t C = d.classes;
  std::vector<std::vector<int64_t>> confusion(static_cast<size_t>(C), std::vector<int64_t>(static_cast<size_t>(C), 0));
  const data::DatasetPtr& part = split == "test" ? d.test : split == "val" ? d.val : d.train;
  HPML_CHECK(part != nullptr, "hpml eval: ", checkpoint, " was trained with --val-split 0: it has no validation split");
  data::DataLoader loader(part, {.batch_size = 512});
  for (data::Batch& b : loader) {
    // host reads: the predictions and the labels of the batch, once
    const Tensor pred = model->forward(b[0].to(device)).argmax(1).contiguous().cpu(), labels = b[1].contiguous();
    const int64_t* p = pred.data_ptr<int64_t>();
    const int64_t* y = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < pred.numel(); ++i) {
      HPML_CHECK(y[i] >= 0 && y[i] < C && p[i] >= 0 && p[i] < C, "hpml eval: a label ", y[i], " or prediction ", p[i],
                 " is not a class in [0, ", C, ")");
      ++confusion[static_cast<size_t>(y[i])][static_cast<size_t>(p[i])];
    }
  }
  const std::vector<std::string>& names = d.class_names;

  int64_t right = 0, total = 0;
  for (int64_t k = 0; k < C; ++k)
    for (int64_t j = 0; j < C; ++j) {
      total += confusion[static_cast<size_t>(k)][static_cast<size_t>(j)];
      if (k == j) right += confusion[static_cast<size_t>(k)][static_cast<size_t>(j)];
    }
  std::printf("%s on the %s split: accuracy %.4f (%lld of %lld)\n\n", checkpoint.c_str(), split.c_str(),
              static_cast<double>(right) / static_cast<double>(std::max<int64_t>(total, 1)),
              static_cast<long long>(right), static_cast<long long>(total));
  std::printf("%-14s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
  for (int64_t k = 0; k < C; ++k) {
    int64_t tp = confusion[static_cast<size_t>(k)][static_cast<size_t>(k)], predicted = 0, actual = 0;
    for (int64_t j = 0; j < C; ++j) {
      predicted += confusion[static_cast<size_t>(j)][static_cast<size_t>(k)];
      actual += confusion[static_cast<size_t>(k)][static_cast<size_t>(j)];
    }
    const double prec = predicted ? static_cast<double>(tp) / static_cast<double>(predicted) : 0.0;
    const double rec = actual ? static_cast<double>(tp) / static_cast<double>(actual) : 0.0;
    const double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0.0;
    std::printf("%-14s %9.4f %9.4f %9.4f %8lld\n", names[static_cast<size_t>(k)].substr(0, 14).c_str(), prec, rec, f1,
                static_cast<long long>(actual));
  }
  std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n");
  for (int64_t k = 0; k < C; ++k) {
    for (int64_t j = 0; j < C; ++j) std::printf("%6lld", static_cast<long long>(confusion[static_cast<size_t>(k)][static_cast<size_t>(j)]));
    std::printf("   %s\n", names[static_cast<size_t>(k)].c_str());
  }
  const std::string out = out_dir.empty() ? std::filesystem::path(checkpoint).parent_path().string() : out_dir;
  std::filesystem::create_directories(out.empty() ? "." : out);
  const std::string base = (out.empty() ? std::string(".") : out) + "/confusion";
  std::ofstream csv(base + ".csv");
  csv << "true\\predicted";
  for (const auto& n : names) csv << ',' << n;
  csv << '\n';
  std::vector<std::vector<double>> rates;
  for (int64_t k = 0; k < C; ++k) {
    csv << names[static_cast<size_t>(k)];
    int64_t row = 0;
    for (int64_t v : confusion[static_cast<size_t>(k)]) row += v;
    std::vector<double> r;
    for (int64_t v : confusion[static_cast<size_t>(k)]) {
      csv << ',' << v;
      r.push_back(row ? static_cast<double>(v) / static_cast<double>(row) : 0.0);
    }
    csv << '\n';
    rates.push_back(r);
  }
  plot::save_heatmap(rates, names, "confusion matrix (" + split + ", fraction of each true class)", "predicted",
                     "true", base);
  std::printf("\nwrote %s.csv, %s.png and %s.svg\n", base.c_str(), base.c_str(), base.c_str());
  return 0;
}

int graph(const TrainConfig& c) {
  manual_seed(c.seed);
  const DataSplits d = make_data(c);
  std::shared_ptr<nn::Module> model = make_model(c, d);
  data::DataLoader loader(d.train, {.batch_size = 4});
  data::Batch b = *loader.begin();
  Tensor out = model->forward(b[0]);
  // The classes are the output's last dim, as in training: [B, C], or [B, T, vocab] for a gpt.
  Tensor loss = d.classes > 0 ? nn::functional::cross_entropy(out.reshape({-1, out.sizes().back()}), b[1].reshape({-1}))
                              : nn::functional::mse_loss(out, b[1]);
  std::filesystem::create_directories(c.out);
  const std::string dot = c.out + "/graph.dot", png = c.out + "/graph.png";
  std::ofstream(dot) << autograd::to_dot(loss);
  std::printf("wrote %s (the autograd graph of the loss of a batch of 4)\n", dot.c_str());
  const int status = run_program({"dot", "-Tpng", dot, "-o", png});
  if (status == kNotFound) {
    std::printf("no PNG: Graphviz's `dot` is not installed (apt-get install graphviz)\n");
    return 0;
  }
  HPML_CHECK(status == 0, "graph: Graphviz's dot -Tpng ", printable(dot, 4096), " -o ", printable(png, 4096),
             " failed with status ", status);
  std::printf("wrote %s\n", png.c_str());
  return 0;
}

}  // namespace hpml::cli
