// The options of `hpml train` (shared with `hpml eval` and `hpml graph`, which rebuild a run's
// model from the command line its checkpoint recorded).
#include <CLI/CLI.hpp>

#include "train.h"

namespace hpml::cli {

void add_train_options(CLI::App& app, TrainConfig& tc) {
  app.add_option("--model", tc.model, "logreg | linreg | mlp | cnn | lenet")->capture_default_str();
  app.add_option("--hidden", tc.hidden, "hidden sizes of the mlp, e.g. --hidden 256 128")->capture_default_str();
  app.add_option("--activation", tc.activation, "relu | tanh | sigmoid | gelu")->capture_default_str();
  app.add_flag("--batchnorm", tc.batchnorm, "batch normalization after each hidden layer");
  app.add_option("--dropout", tc.dropout, "dropout probability")->check(CLI::Range(0.0, 0.999));
  app.add_option("--init", tc.init, "default | kaiming | xavier")->capture_default_str();
  app.add_option("--dataset", tc.dataset, "fashion-mnist | mnist:PATH | blobs | moons | regression | csv:PATH")
      ->capture_default_str();
  app.add_option("--epochs", tc.epochs, "epochs")->capture_default_str();
  app.add_option("--batch-size", tc.batch_size, "samples per batch")->capture_default_str();
  app.add_option("--workers", tc.workers, "DataLoader workers (0: load in the training thread)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--worker-mode", tc.worker_mode, "thread | process (forked, batches in shared memory)")
      ->check(CLI::IsMember({"thread", "process"}))
      ->capture_default_str();
  app.add_option("--optimizer", tc.optimizer, "sgd | adagrad | adadelta | rmsprop | adam | adamw")->capture_default_str();
  app.add_option("--lr", tc.lr, "learning rate (default: the optimizer's usual one; sgd 0.05)");
  app.add_option("--momentum", tc.momentum, "sgd / rmsprop momentum")->capture_default_str();
  app.add_option("--weight-decay", tc.weight_decay, "L2 weight decay (adamw: decoupled)");
  app.add_flag("--nesterov", tc.nesterov, "Nesterov momentum (sgd)");
  app.add_option("--beta1", tc.beta1, "adam / adamw beta1")->capture_default_str();
  app.add_option("--beta2", tc.beta2, "adam / adamw beta2")->capture_default_str();
  app.add_option("--schedule", tc.schedule,
                 "none | step | multistep | exponential | multiplicative | constant | linear | warmup | polynomial | "
                 "cosine | cosine-restarts | cyclic | onecycle | inverse-time | warmup-cosine | chained | plateau")
      ->capture_default_str();
  app.add_option("--step-size", tc.step_size, "step: epochs between decays; cyclic: epochs per cycle")
      ->capture_default_str();
  app.add_option("--milestones", tc.milestones, "multistep: the epochs at which the lr is multiplied by --gamma");
  app.add_option("--gamma", tc.gamma, "step / multistep / exponential / multiplicative / chained: decay factor")
      ->capture_default_str();
  app.add_option("--decay", tc.decay, "inverse-time: lr0 / (1 + decay * epoch)")->capture_default_str();
  app.add_option("--warmup-epochs", tc.warmup_epochs, "warmup / warmup-cosine: epochs of linear warm-up; "
                 "constant / chained: epochs at --factor")->capture_default_str();
  app.add_option("--factor", tc.factor, "constant / chained: lr factor at first; linear: at the end; plateau: "
                 "the factor on a plateau")->capture_default_str();
  app.add_option("--power", tc.power, "polynomial: the power")->capture_default_str();
  app.add_option("--t0", tc.t0, "cosine-restarts: epochs of the first cycle")->capture_default_str();
  app.add_option("--t-mult", tc.t_mult, "cosine-restarts: each cycle is this many times longer")->capture_default_str();
  app.add_option("--max-lr", tc.max_lr, "onecycle / cyclic: the peak lr (default 10 x --lr)");
  app.add_option("--patience", tc.patience, "plateau: epochs without a better test loss before the lr drops")
      ->capture_default_str();
  app.add_option("--accumulate", tc.accumulate, "micro-batches per optimizer step")->capture_default_str();
  app.add_option("--clip", tc.clip, "clip the gradient norm to this (0: off)");
  app.add_option("--seed", tc.seed, "random seed")->capture_default_str();
  app.add_option("--threads", tc.threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--out", tc.out, "output folder")->capture_default_str();
  app.add_option("--resume", tc.resume, "continue from this checkpoint (with the same options)");
  app.add_option("--stop-after", tc.stop_after, "end this run after that epoch, as if stopped by a signal "
                 "there; --resume continues it")->check(CLI::PositiveNumber);
  app.add_flag("--quiet", tc.quiet, "no progress lines");
}

TrainConfig parse_train_command(const std::string& command) {
  CLI::App app{"hpml"};
  TrainConfig tc;
  CLI::App* train = app.add_subcommand("train");
  add_train_options(*train, tc);
  app.allow_extras(true);
  try {
    app.parse(command, /*program_name_included=*/true);
  } catch (const CLI::ParseError& e) {
    HPML_CHECK(false, "cannot read the recorded command '", command, "': ", e.what());
  }
  HPML_CHECK(train->parsed(), "the recorded command '", command, "' is not an `hpml train` command");
  return tc;
}

}  // namespace hpml::cli
