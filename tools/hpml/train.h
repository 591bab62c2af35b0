// `hpml train`: the configuration a command line describes, the pieces it builds (dataset, model,
// optimizer, schedule) and the training loop with progress, metrics, checkpoints and resume.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hpml/hpml.h"

namespace CLI {
class App;
}

namespace hpml::cli {

struct TrainConfig {
  // model
  std::string model = "cnn";  // logreg | linreg | mlp | cnn | lenet
  std::vector<int64_t> hidden = {256, 128};
  std::string activation = "relu";  // relu | tanh | sigmoid | gelu
  bool batchnorm = false;
  double dropout = 0;
  std::string init = "default";  // default | kaiming | xavier
  // data
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist:PATH | blobs | moons | regression | csv:PATH
  int64_t epochs = 2;
  int64_t batch_size = 128;
  int workers = 0;                     // DataLoader workers
  std::string worker_mode = "thread";  // thread | process (forked worker processes)
  // optimizer and schedule
  std::string optimizer = "sgd";  // sgd | adagrad | adadelta | rmsprop | adam | adamw
  double lr = -1;                 // < 0: the optimizer's usual value (sgd 0.05)
  double momentum = 0.9;          // sgd, rmsprop
  double weight_decay = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999;
  std::string schedule = "none";  // see schedules.cpp
  int64_t step_size = 1;          // step (epochs between decays), cyclic (epochs per cycle)
  std::vector<int64_t> milestones = {};  // multistep
  double gamma = 0.5;             // step, multistep, exponential, multiplicative, chained
  double decay = 0.1;             // inverse-time
  int64_t warmup_epochs = 1;      // warmup, warmup-cosine, constant, chained
  double factor = 0.1;            // constant, chained (lr factor at first), linear (at the end), plateau
  double power = 1.0;             // polynomial
  int64_t t0 = 2, t_mult = 1;     // cosine-restarts
  double max_lr = -1;             // onecycle, cyclic; < 0: 10 x the lr
  int64_t patience = 2;           // plateau
  int64_t accumulate = 1;
  double clip = 0;  // max gradient norm; 0: no clipping
  // run
  uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  std::string out = "runs/train";
  std::string resume;  // a checkpoint to continue from
  int64_t stop_after = 0;  // > 0: end this run after that epoch (a checkpoint to resume from)
  bool quiet = false;  // no progress lines (tests)
};

// Trains as configured; returns the process exit status (0, or 130 / 143 after SIGINT / SIGTERM,
// having written a checkpoint). Errors are thrown as hpml::Error.
int train(const TrainConfig& config, const std::string& command_line);
// False until train() has checked its options and built its pieces: an error before that is a
// usage error (exit status 2), after it a failure of the run (1).
bool training_started();

// ---- options (options.cpp) ----------------------------------------------------------------------
void add_train_options(CLI::App& app, TrainConfig& config);
// The configuration of a recorded `hpml train ...` command line (a checkpoint's "command").
TrainConfig parse_train_command(const std::string& command);

// `hpml eval` (eval.cpp): the checkpoint's model on a split: accuracy, a per-class report and the
// confusion matrix, printed and written to `out` (confusion.csv, confusion.png / .svg).
int eval(const std::string& checkpoint, const std::string& split, const std::string& out);
// `hpml graph` (eval.cpp): the autograd graph of the loss of one small batch as DOT (graph.dot),
// and as PNG when Graphviz's `dot` is installed.
int graph(const TrainConfig& config);

// ---- the pieces (models.cpp) ------------------------------------------------------------------
struct DataSplits {
  data::DatasetPtr train, test;
  std::vector<int64_t> input_shape;  // one sample's input, e.g. {1, 28, 28} or {2}
  int64_t classes = 0;               // 0: regression
  std::string description;
};
DataSplits make_data(const TrainConfig& c);
std::shared_ptr<nn::Module> make_model(const TrainConfig& c, const DataSplits& d);
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const TensorList& params);

// ---- the schedule (schedules.cpp) ---------------------------------------------------------------
// At most one of the two is set (neither for "none"). per_batch: the scheduler steps after every
// optimizer step (onecycle, cyclic) rather than once per epoch; plateau steps on the test loss.
struct Schedule {
  std::unique_ptr<optim::LRScheduler> scheduler;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;
  bool per_batch = false;
};
Schedule make_schedule(const TrainConfig& c, optim::Optimizer& opt, int64_t steps_per_epoch);

}  // namespace hpml::cli
