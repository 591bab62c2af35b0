// `hpml train`: the configuration a command line describes, the pieces it builds (dataset, model,
// optimizer, schedule) and the training loop with progress, metrics, checkpoints and resume.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hpml/core/file.h"  // printable(): bytes from a file or a command line, fit for a message
#include "hpml/hpml.h"

namespace CLI {
class App;
class Validator;
}

namespace hpml::cli {

class Tokenizer;

struct TrainConfig {
  // model
  std::string model = "cnn";  // logreg | linreg | mlp | cnn | lenet | gpt
  std::vector<int64_t> hidden = {256, 128};
  std::string activation = "relu";  // relu | tanh | sigmoid | gelu
  bool batchnorm = false;
  double dropout = 0;
  std::string init = "default";  // default | kaiming | xavier
  // gpt (gpt.h)
  int64_t layers = 4, heads = 4, width = 128;
  int64_t block_size = 256;  // tokens a gpt sees (the length of a training window)
  std::string tokenizer = "char";  // text:PATH as char | bpe tokens (tokenizer.h)
  int64_t vocab_size = 0;          // bpe: the vocabulary; 0: kDefaultBpeVocab
  // data
  std::string dataset = "fashion-mnist";  // fashion-mnist | mnist:PATH | blobs | moons | regression | csv:PATH | text:PATH
  int64_t epochs = 2;
  int64_t batch_size = 128;
  double val_split = 0.1;              // the share of the training data held out for validation
  int workers = 0;                     // DataLoader workers
  std::string worker_mode = "thread";  // thread | fork | spawn | forkserver (process: fork)
  double loader_timeout = 120;         // seconds to wait for a batch (a stuck worker); 0: no limit
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
  int64_t early_stop = 0;         // > 0: stop after this many epochs without a better validation score
  int64_t accumulate = 1;
  double clip = 0;  // max gradient norm; 0: no clipping
  // run
  uint64_t seed = 0;
  int threads = 0;  // 0: all cores
  std::string device = "cpu";  // where the model and its batches live: cpu | sim[:N] | cuda[:N]
  bool cuda_graph = false;     // capture the training step as a device graph (graph_step.h)
  int nproc = 0;     // > 0: start this many processes under mpirun (distributed_run.cpp)
  double dist_timeout = 1800;  // seconds a collective may wait for the other processes
  std::string out = "runs/train";
  std::string resume;  // a checkpoint to continue from
  std::string config;  // a TOML file of options (config.cpp); the command line overrides it
  int64_t stop_after = 0;  // > 0: end this run after that epoch (a checkpoint to resume from)
  bool tensorboard = false;  // TensorBoard event files in OUT/tensorboard
  bool profile = false;      // trace.json, profile.txt and profile.png in OUT (profile_run.h)
  int64_t profile_wait = -1, profile_warmup = -1, profile_steps = -1;  // -1: default_profile_steps
  bool quiet = false;  // no progress lines (tests)
};

// Bounds of the options (Note [Bounded options] in options.cpp) and of what a run builds.
inline constexpr int64_t kMaxEpochs = 1'000'000;
inline constexpr int kMaxWorkers = 64;
inline constexpr int kMaxProcesses = 256;  // --nproc
inline constexpr size_t kMaxHiddenLayers = 16;
inline constexpr size_t kMaxRecordedArguments = 512;
inline constexpr int64_t kMaxClasses = 100'000;
inline constexpr int64_t kMaxParameters = int64_t{1} << 28;  // 1 GiB of f32 weights

// Trains as configured; returns the process exit status (0, or 130 / 143 after SIGINT / SIGTERM,
// having written a checkpoint; 1 on a non-finite loss). The checkpoints record the resolved
// configuration (canonical_arguments()). Errors are thrown as hpml::Error.
// `resumed` is --resume's checkpoint when the caller has read it already (resolve_config did).
int train(const TrainConfig& config, const io::CheckpointState* resumed = nullptr);
// `hpml train ARGS` (ARGS after "train", already checked by the parser into `parsed`): applies
// --config and --resume (resolve_config) and trains.
int train_command(const TrainConfig& parsed, const std::vector<std::string>& args);
// False until train() has checked its options and built its pieces: an error before that is a
// usage error (exit status 2), after it a failure of the run (1).
bool training_started();

// ---- options (options.cpp) ----------------------------------------------------------------------
// The validators of every number option of the command (Note [Bounded options]): the value
// parsed whole and within [lo, hi], or CLI11's error with the value and the range.
CLI::Validator int_in(int64_t lo, int64_t hi);
CLI::Validator real_in(double lo, double hi);
void add_train_options(CLI::App& app, TrainConfig& config);
// The arguments of `hpml train ...` (from "train" on) as the JSON array a checkpoint keeps as its
// metadata "argv", and the configuration they give, read back strictly (every option must be
// known and within its bounds). `source` (the checkpoint) starts every error.
std::string record_arguments(const std::vector<std::string>& args);
TrainConfig parse_recorded_arguments(const std::string& json, const std::string& source);
// Each option's value as text, and what it is to a run: whether it may change when a run is
// resumed, and whether it is recorded (--resume, --config, --stop-after and --quiet describe
// one command, not the run).
struct OptionSetting {
  enum class Kind { text, number, flag, list };  // how it is written: "cnn", 0.1, a switch, "256 128"
  const char* flag;
  std::string value;
  bool may_change_on_resume;
  bool recorded = true;
  Kind kind = Kind::text;
  bool given = true;  // false: left to the run (--lr: the optimizer's usual one), `value` says so
};
std::vector<OptionSetting> settings(const TrainConfig& config);
// Whether a checkpoint's arguments and config.toml write the setting: recorded and given.
bool written(const OptionSetting& setting);
// "--lr was 0.1, now 0.5" for each option that differs and may not change on --resume.
std::vector<std::string> resume_differences(const TrainConfig& recorded, const TrainConfig& now);
// The configuration as the argument list that gives it ("train", "--model", "cnn", ...): every
// recorded option, so that a checkpoint's "argv" rebuilds the run without the command line or
// config file that started it.
std::vector<std::string> canonical_arguments(const TrainConfig& config);
// `base` with the options `args` (no "train") give applied on top: what is not given keeps its
// value in `base`. `source` starts any error.
TrainConfig overlay(TrainConfig base, const std::vector<std::string>& args, const std::string& source);
// The names of train's options ("--epochs", ...), for "did you mean".
std::vector<std::string> train_option_names();

// ---- the resolved configuration (config.cpp) ---------------------------------------------------
// Note [Resolving a run's options]: --config FILE first, the command line over it; with
// --resume, the checkpoint's recorded options, the command line over them, refusing any change
// that would break the resumed run.
struct ResolvedRun {
  TrainConfig config;
  std::optional<io::CheckpointState> resumed;  // --resume's checkpoint, read once
};
ResolvedRun resolve_config(const TrainConfig& parsed, const std::vector<std::string>& args);
// The options of a TOML file as arguments ("--lr", "0.1", ...): keys are option names without
// "--"; strings, numbers, booleans (flags) and arrays of integers; anything else is refused with
// the key and the file.
std::vector<std::string> read_config_file(const std::string& path);
// The configuration as TOML (every recorded option), as a run folder keeps it in config.toml.
std::string config_toml(const TrainConfig& config);

// `hpml eval` (eval.cpp): the checkpoint's model on a split: accuracy, a per-class report and the
// confusion matrix, printed and written to `out` (confusion.csv, confusion.png / .svg).
int eval(const std::string& checkpoint, const std::string& split, const std::string& out,
         const std::string& device = "cpu");
// The checkpoint's state, or an error saying plainly that `path` is not an hpml checkpoint (an
// image, a CSV, a bare safetensors model) before any detail of why.
io::CheckpointState load_run_checkpoint(const std::string& path, const char* command);
// `hpml graph` (eval.cpp): the autograd graph of the loss of one small batch as DOT (graph.dot),
// and as PNG when Graphviz's `dot` is installed.
int graph(const TrainConfig& config);

// ---- the pieces (models.cpp) ------------------------------------------------------------------
// Note [Three splits]: the model is trained on `train`, every choice (best checkpoint, plateau,
// early stopping) is made on `val`, and `test` is only reported.
struct DataSplits {
  data::DatasetPtr train, val, test;  // val: null when --val-split is 0
  std::vector<int64_t> input_shape;   // one sample's input, e.g. {1, 28, 28} or {2}
  int64_t classes = 0;                // 0: regression
  std::vector<std::string> class_names;  // one per class ("0", "1", ... when the data has none)
  std::shared_ptr<const Tokenizer> tokenizer;  // text:PATH: its tokens are the classes of a gpt (tokenizer.h)
  std::string description;
};
DataSplits make_data(const TrainConfig& c);
// A model as a list of layers (Note [Planning a model before building it] in models.cpp).
struct LayerSpec {
  enum class Kind { flatten, linear, conv, batchnorm1d, batchnorm2d, activation, dropout, maxpool, avgpool, gpt };
  Kind kind;
  int64_t in = 0, out = 0, kernel = 0, padding = 0;  // features or channels in / out
  double p = 0;                                      // dropout
  std::string activation = {};
  int64_t layers = 0, heads = 0, block = 0;  // gpt: in = vocabulary, out = width, p = dropout
};
std::vector<LayerSpec> plan_model(const TrainConfig& c, const DataSplits& d);
// The names and shapes of the state dict the plan's model will have, without building it.
std::vector<std::pair<std::string, std::vector<int64_t>>> state_shapes(const std::vector<LayerSpec>& plan);
// The elements of that state dict: at most kMaxParameters for a model hpml train builds.
int64_t parameter_count(const std::vector<LayerSpec>& plan);
// Refuses a checkpoint's model tensors that are not exactly the plan's (name and shape).
void check_model_matches(const std::vector<LayerSpec>& plan, const io::NamedTensors& model, const std::string& source);
// The model of a plan (at most kMaxParameters parameters), initialized by --init.
std::shared_ptr<nn::Module> build_model(const std::vector<LayerSpec>& plan, const std::string& init);
std::shared_ptr<nn::Module> make_model(const TrainConfig& c, const DataSplits& d);
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const TensorList& params);
// eval.cpp: the configuration of the run that wrote a checkpoint (its metadata "argv"), and its model
// rebuilt with the checkpoint's weights: the shapes are checked before anything is allocated.
TrainConfig recorded_config(const io::Metadata& metadata, const std::string& source);
std::shared_ptr<nn::Module> rebuild_model(const TrainConfig& c, const DataSplits& d, const io::NamedTensors& model,
                                          const std::string& source);

// ---- the schedule (schedules.cpp) ---------------------------------------------------------------
// At most one of the two is set (neither for "none"). per_batch: the scheduler steps after every
// optimizer step (onecycle, cyclic) rather than once per epoch; plateau steps on the validation loss.
struct Schedule {
  std::unique_ptr<optim::LRScheduler> scheduler;
  std::unique_ptr<optim::ReduceLROnPlateau> plateau;
  bool per_batch = false;
};
Schedule make_schedule(const TrainConfig& c, optim::Optimizer& opt, int64_t steps_per_epoch);
// True for the schedules whose shape is fixed by --epochs (cosine, linear, ...): a resumed run
// may not change --epochs under them.
bool schedule_spans_the_run(const std::string& schedule);

}  // namespace hpml::cli
