// The options of `hpml train` (shared with `hpml eval` and `hpml graph`): every number is bounded
// and its error gives the allowed range; the argument list a checkpoint records (a JSON array),
// read back strictly; and the option-by-option comparison that `--resume` uses.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "hpml/core/file.h"
#include "tokenizer.h"
#include "train.h"

namespace hpml::cli {

// Note [Bounded options]
// Every number from the command line (or from a checkpoint's recorded arguments) is parsed whole
// (`12abc`, `1e3` for an integer, `nan`, `inf` and values past int64 are refused, not clamped) and
// must lie in a range that a run on this machine can use: CLI11's own Range lets NaN through and
// its integer conversion saturates, so hpml uses these two validators instead. The message is
// CLI11's "--name: ..." followed by the value and the range.
CLI::Validator int_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
          return "'" + s + "' is not an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
        return {};
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

namespace {
std::string show(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
}  // namespace

CLI::Validator real_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < lo || v > hi)
          return "'" + s + "' is not a number in [" + show(lo) + ", " + show(hi) + "]";
        return {};
      },
      "NUMBER in [" + show(lo) + ", " + show(hi) + "]");
}

namespace {
constexpr int64_t kMaxWidth = 1 << 16;  // a layer's width: keeps every shape product far from overflow
}  // namespace

void add_train_options(CLI::App& app, TrainConfig& tc) {
  app.add_option("--model", tc.model, "logreg | linreg | mlp | cnn | lenet | gpt")->capture_default_str();
  app.add_option("--hidden", tc.hidden, "hidden sizes of the mlp, e.g. --hidden 256 128")
      ->check(int_in(1, kMaxWidth))->expected(1, kMaxHiddenLayers)->capture_default_str();
  app.add_option("--activation", tc.activation, "relu | tanh | sigmoid | gelu")->capture_default_str();
  app.add_flag("--batchnorm", tc.batchnorm, "batch normalization after each hidden layer");
  app.add_option("--dropout", tc.dropout, "dropout probability")->check(real_in(0, 0.999));
  app.add_option("--init", tc.init, "default | kaiming | xavier")->capture_default_str();
  app.add_option("--layers", tc.layers, "gpt: transformer blocks")->check(int_in(1, 64))->capture_default_str();
  app.add_option("--heads", tc.heads, "gpt: attention heads (divide --width)")->check(int_in(1, 64))
      ->capture_default_str();
  app.add_option("--width", tc.width, "gpt: embedding width")->check(int_in(1, 4096))->capture_default_str();
  app.add_option("--block-size", tc.block_size, "gpt: tokens of context (a training window's length)")
      ->check(int_in(1, 4096))->capture_default_str();
  app.add_option("--tokenizer", tc.tokenizer, "gpt: char (the text's bytes) | bpe (SentencePiece byte-pair "
                 "encoding with byte fallback, trained on the training part)")
      ->check(CLI::IsMember({"char", "bpe"}))->capture_default_str();
  app.add_option("--vocab-size", tc.vocab_size, "gpt, --tokenizer bpe: the vocabulary's pieces (default " +
                 std::to_string(kDefaultBpeVocab) + ")")->check(int_in(kMinBpeVocab, kMaxBpeVocab));
  app.add_option("--dataset", tc.dataset,
                 "fashion-mnist | mnist:PATH | blobs | moons | regression | csv:PATH | text:PATH")
      ->capture_default_str();
  app.add_option("--val-split", tc.val_split, "share of the training data held out for validation (best "
                 "checkpoint, plateau, early stopping); 0: none")->check(real_in(0, 0.9))->capture_default_str();
  app.add_option("--epochs", tc.epochs, "epochs")->check(int_in(1, kMaxEpochs))->capture_default_str();
  app.add_option("--batch-size", tc.batch_size, "samples per batch")->check(int_in(1, 1 << 20))->capture_default_str();
  app.add_option("--workers", tc.workers, "DataLoader workers (0: load in the training thread)")
      ->check(int_in(0, kMaxWorkers))->capture_default_str();
  app.add_option("--worker-mode", tc.worker_mode, "thread | fork | spawn | forkserver (worker processes, batches "
                 "in shared memory; process is fork)")
      ->check(CLI::IsMember({"thread", "fork", "spawn", "forkserver", "process"}))
      ->capture_default_str();
  app.add_option("--loader-timeout", tc.loader_timeout,
                 "seconds to wait for a batch before the run fails (a stuck worker; 0: no limit)")
      ->check(real_in(0, 86400))->capture_default_str();
  app.add_option("--optimizer", tc.optimizer, "sgd | adagrad | adadelta | rmsprop | adam | adamw")->capture_default_str();
  app.add_option("--lr", tc.lr, "learning rate (default: the optimizer's usual one; sgd 0.05)")->check(real_in(1e-12, 1e6));
  app.add_option("--momentum", tc.momentum, "sgd / rmsprop momentum")->check(real_in(0, 0.9999))->capture_default_str();
  app.add_option("--weight-decay", tc.weight_decay, "L2 weight decay (adamw: decoupled)")->check(real_in(0, 1e3));
  app.add_flag("--nesterov", tc.nesterov, "Nesterov momentum (sgd)");
  app.add_option("--beta1", tc.beta1, "adam / adamw beta1")->check(real_in(0, 0.9999999))->capture_default_str();
  app.add_option("--beta2", tc.beta2, "adam / adamw beta2")->check(real_in(0, 0.9999999))->capture_default_str();
  app.add_option("--schedule", tc.schedule,
                 "none | step | multistep | exponential | multiplicative | constant | linear | warmup | polynomial | "
                 "cosine | cosine-restarts | cyclic | onecycle | inverse-time | warmup-cosine | chained | plateau")
      ->capture_default_str();
  app.add_option("--step-size", tc.step_size, "step: epochs between decays; cyclic: epochs per cycle")
      ->check(int_in(1, kMaxEpochs))->capture_default_str();
  app.add_option("--milestones", tc.milestones, "multistep: the epochs at which the lr is multiplied by --gamma")
      ->check(int_in(1, kMaxEpochs))->expected(1, 1000);
  app.add_option("--gamma", tc.gamma, "step / multistep / exponential / multiplicative / chained: decay factor")
      ->check(real_in(1e-6, 1e3))->capture_default_str();
  app.add_option("--decay", tc.decay, "inverse-time: lr0 / (1 + decay * epoch)")->check(real_in(0, 1e6))->capture_default_str();
  app.add_option("--warmup-epochs", tc.warmup_epochs, "warmup / warmup-cosine: epochs of linear warm-up; "
                 "constant / chained: epochs at --factor")->check(int_in(1, kMaxEpochs))->capture_default_str();
  app.add_option("--factor", tc.factor, "constant / chained: lr factor at first; linear: at the end; plateau: "
                 "the factor on a plateau")->check(real_in(0, 1))->capture_default_str();
  app.add_option("--power", tc.power, "polynomial: the power")->check(real_in(0, 100))->capture_default_str();
  app.add_option("--t0", tc.t0, "cosine-restarts: epochs of the first cycle")->check(int_in(1, kMaxEpochs))->capture_default_str();
  app.add_option("--t-mult", tc.t_mult, "cosine-restarts: each cycle is this many times longer")
      ->check(int_in(1, 1000))->capture_default_str();
  app.add_option("--max-lr", tc.max_lr, "onecycle / cyclic: the peak lr (default 10 x --lr)")->check(real_in(1e-12, 1e6));
  app.add_option("--patience", tc.patience, "plateau: epochs without a better validation loss before the lr drops")
      ->check(int_in(0, kMaxEpochs))->capture_default_str();
  app.add_option("--early-stop", tc.early_stop, "stop after this many epochs without a better validation score "
                 "(0: never)")->check(int_in(0, kMaxEpochs))->capture_default_str();
  app.add_option("--accumulate", tc.accumulate, "micro-batches per optimizer step")->check(int_in(1, 1 << 16))->capture_default_str();
  app.add_option("--clip", tc.clip, "clip the gradient norm to this (0: off)")->check(real_in(0, 1e9));
  app.add_option("--seed", tc.seed, "random seed")->check(int_in(0, std::numeric_limits<int64_t>::max()))->capture_default_str();
  app.add_option("--threads", tc.threads, "threads (default: all cores)")->check(int_in(0, 1024));
  app.add_option("--device", tc.device, "where the model and batches live: cpu | sim | sim:N (the simulated GPU) | "
                 "cuda | cuda:N (hpml info lists them)")->capture_default_str();
  app.add_flag("--cuda-graph", tc.cuda_graph, "capture the training step (forward, backward, optimizer) once as a "
               "device graph and replay it for every batch: --device cuda or sim; sgd, adam or adamw (docs/cuda.md)");
  app.add_option("--nproc", tc.nproc, "train data-parallel on this many processes: starts mpirun itself, one "
                 "thread per process unless --threads (docs/distributed.md)")->check(int_in(1, kMaxProcesses));
  app.add_option("--dist-timeout", tc.dist_timeout, "seconds a collective waits for the other processes before the "
                 "run fails")->check(real_in(1, 7 * 86400))->capture_default_str();
  app.add_option("--out", tc.out, "output folder")->capture_default_str();
  app.add_option("--resume", tc.resume, "continue from this checkpoint with the options it recorded");
  app.add_option("--config", tc.config, "a TOML file of options (keys without --); the command line overrides it");
  app.add_option("--stop-after", tc.stop_after, "end this run after that epoch, as if stopped by a signal "
                 "there; --resume continues it")->check(int_in(1, kMaxEpochs));
  app.add_flag("--tensorboard", tc.tensorboard, "TensorBoard event files in OUT/tensorboard (scalars, and "
               "histograms of weights and gradients per epoch)");
  app.add_flag("--profile", tc.profile, "profile a few training steps: OUT/trace.json (Perfetto, chrome://tracing), "
               "OUT/profile.txt and OUT/profile.png (docs/profiling.md)");
  app.add_option("--profile-wait", tc.profile_wait, "--profile: steps to skip first (default: 5, fewer in a short epoch)")
      ->check(int_in(0, 1'000'000));
  app.add_option("--profile-warmup", tc.profile_warmup, "--profile: steps recorded and thrown away before the profiled "
                 "ones (default 2)")->check(int_in(0, 1'000'000));
  app.add_option("--profile-steps", tc.profile_steps, "--profile: steps to profile (default 10)")->check(int_in(1, 10'000));
  app.add_flag("--quiet", tc.quiet, "no progress lines");
}

// ---- the settings, option by option ---------------------------------------------------------

namespace {
// The shortest text that reads back as the same value (0.1, not 0.10000000000000001).
template <typename T>
std::string text(const T& v) {
  if constexpr (std::is_same_v<T, double>) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : std::string("nan");
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    std::ostringstream os;
    for (size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
    return os.str();
  } else {
    std::ostringstream os;
    os << v;
    return os.str();
  }
}

// One option's setting; its kind follows from the field's C++ type.
template <typename T>
OptionSetting option(const char* flag, const T& v, bool may_change, bool recorded = true) {
  using K = OptionSetting::Kind;
  const K kind = std::is_same_v<T, std::string>            ? K::text
                 : std::is_same_v<T, bool>                 ? K::flag
                 : std::is_same_v<T, std::vector<int64_t>> ? K::list
                                                           : K::number;
  return {flag, text(v), may_change, recorded, kind};
}
// A number left to the run to choose (--lr: the optimizer's usual one): `shown` instead of a value.
OptionSetting unset(const char* flag, const char* shown) {
  return {flag, shown, false, true, OptionSetting::Kind::number, false};
}
// A setting that the run records only when it is not the default (`given`).
OptionSetting defaulted(OptionSetting s, bool given) {
  s.given = given;
  return s;
}
}  // namespace

std::vector<OptionSetting> settings(const TrainConfig& c) {
  // may change on --resume: where the run writes, how far it goes, how it loads data and what it
  // logs; every other option decides the model, the data or the update and must stay as
  // recorded (--epochs only where the schedule does not span the run: resolve_config).
  return {
      option("--model", c.model, false),           option("--hidden", c.hidden, false),
      option("--activation", c.activation, false), option("--batchnorm", c.batchnorm, false),
      option("--dropout", c.dropout, false),       option("--init", c.init, false),
      option("--layers", c.layers, false),         option("--heads", c.heads, false),
      option("--width", c.width, false),           option("--block-size", c.block_size, false),
      // not written when not given, so that a char run records what it did before tokenizers
      defaulted(option("--tokenizer", c.tokenizer, false), c.tokenizer != "char"),
      defaulted(option("--vocab-size", c.vocab_size, false), c.vocab_size != 0),
      option("--dataset", c.dataset, false),       option("--val-split", c.val_split, false),
      option("--epochs", c.epochs, true),          option("--batch-size", c.batch_size, false),
      option("--workers", c.workers, true),        option("--worker-mode", c.worker_mode, true),
      option("--loader-timeout", c.loader_timeout, true), option("--optimizer", c.optimizer, false),
      c.lr < 0 ? unset("--lr", "default") : option("--lr", c.lr, false),
      option("--momentum", c.momentum, false),     option("--weight-decay", c.weight_decay, false),
      option("--nesterov", c.nesterov, false),     option("--beta1", c.beta1, false),
      option("--beta2", c.beta2, false),           option("--schedule", c.schedule, false),
      option("--step-size", c.step_size, false),   option("--milestones", c.milestones, false),
      option("--gamma", c.gamma, false),           option("--decay", c.decay, false),
      option("--warmup-epochs", c.warmup_epochs, false), option("--factor", c.factor, false),
      option("--power", c.power, false),           option("--t0", c.t0, false),
      option("--t-mult", c.t_mult, false),
      c.max_lr < 0 ? unset("--max-lr", "10x --lr") : option("--max-lr", c.max_lr, false),
      option("--patience", c.patience, false),     option("--early-stop", c.early_stop, true),
      option("--accumulate", c.accumulate, false), option("--clip", c.clip, false),
      option("--seed", c.seed, false),             option("--threads", c.threads, true),
      defaulted(option("--device", c.device, true), c.device != "cpu"),
      defaulted(option("--cuda-graph", c.cuda_graph, true), c.cuda_graph),
      option("--nproc", c.nproc, true, false),     option("--dist-timeout", c.dist_timeout, true, false),
      option("--out", c.out, true),                option("--tensorboard", c.tensorboard, true),
      option("--resume", c.resume, true, false),   option("--config", c.config, true, false),
      option("--stop-after", c.stop_after, true, false), option("--quiet", c.quiet, true, false),
      option("--profile", c.profile, true, false),  option("--profile-wait", c.profile_wait, true, false),
      option("--profile-warmup", c.profile_warmup, true, false), option("--profile-steps", c.profile_steps, true, false),
  };
}

bool written(const OptionSetting& s) { return s.recorded && s.given && !s.value.empty(); }

std::vector<std::string> canonical_arguments(const TrainConfig& c) {
  std::vector<std::string> args{"train"};
  for (const OptionSetting& s : settings(c)) {
    if (!written(s)) continue;
    if (s.kind == OptionSetting::Kind::flag) {
      if (s.value == "1") args.push_back(s.flag);
      continue;
    }
    args.push_back(s.flag);
    std::istringstream is(s.value);  // a list: one argument per value
    if (s.kind != OptionSetting::Kind::list) args.push_back(s.value);
    else for (std::string v; is >> v;) args.push_back(v);
  }
  return args;
}

TrainConfig overlay(TrainConfig base, const std::vector<std::string>& args, const std::string& source) {
  CLI::App app{"hpml train"};
  add_train_options(app, base);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    HPML_FAIL(source, ": ", printable(e.what(), 400));
  }
  return base;
}

std::vector<std::string> train_option_names() {
  std::vector<std::string> out;
  for (const OptionSetting& s : settings(TrainConfig{})) out.emplace_back(s.flag);
  return out;
}

std::vector<std::string> resume_differences(const TrainConfig& recorded, const TrainConfig& now) {
  const std::vector<OptionSetting> a = settings(recorded), b = settings(now);
  std::vector<std::string> out;
  for (size_t i = 0; i < a.size(); ++i)
    if (!a[i].may_change_on_resume && a[i].value != b[i].value)
      out.push_back(std::string(a[i].flag) + " was " + printable(a[i].value, 300) + ", now " + printable(b[i].value, 300));
  return out;
}

// ---- the recorded arguments -----------------------------------------------------------------

std::string record_arguments(const std::vector<std::string>& args) {
  for (const std::string& a : args) {  // the metadata is JSON text (safetensors' header), so UTF-8
    try {
      (void)nlohmann::json(a).dump();
    } catch (const nlohmann::json::exception&) {
      HPML_FAIL("hpml train: the argument ", printable(a), " is not valid UTF-8; a checkpoint records the "
                "arguments as JSON text (hint: rename the file or folder)");
    }
  }
  return nlohmann::json(args).dump();
}

TrainConfig parse_recorded_arguments(const std::string& json, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  HPML_CHECK(j.is_array() && !j.empty() && j.size() <= kMaxRecordedArguments, source,
             ": the recorded arguments are not a JSON array of 1 to ", kMaxRecordedArguments, " strings");
  std::vector<std::string> args;
  for (const auto& a : j) {
    HPML_CHECK(a.is_string() && a.get_ref<const std::string&>().size() <= 4096, source,
               ": a recorded argument is not a string of at most 4096 bytes");
    args.push_back(a.get<std::string>());
  }
  HPML_CHECK(args[0] == "train", source, ": the recorded arguments are not those of `hpml train` (they begin with '",
             printable(args[0]), ")");
  return overlay(TrainConfig{}, std::vector<std::string>(args.begin() + 1, args.end()),
                 source + ": cannot read the recorded arguments");
}

}  // namespace hpml::cli
