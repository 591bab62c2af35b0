// The hpml command. Subcommands so far: train, info. (eval, experiment and graph are the rest of
// the roadmap's item 5; see the README.) Bad arguments get a one-line error and exit status 2,
// never a stack trace.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "hpml/hpml.h"
#include "train.h"

namespace {

int run_info() {
  const hpml::BuildInfo b = hpml::build_info();
  std::printf("hpml %s (%s build, %s)\n", b.version.c_str(), b.build_type.c_str(), b.compiler.c_str());
  std::printf("threads:     %d (hpml::set_num_threads; OMP_NUM_THREADS sets the default)\n", b.threads);
  std::printf("BLAS:        %s\n", b.blas.c_str());
  std::printf("SIMD target: %s\n", b.simd_target.c_str());
  std::printf("CUDA:        %s\n", b.cuda.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hpml::mp::init(argc, argv);  // data-loader workers with spawn / forkserver start here
  CLI::App app{"hpml: train and inspect models (a C++ deep-learning framework)", "hpml"};
  app.require_subcommand(1);
  CLI::App* info = app.add_subcommand("info", "version, build options, threads, BLAS, SIMD target, CUDA");
  hpml::cli::TrainConfig tc;
  CLI::App* train = app.add_subcommand("train", "train a model, writing metrics, plots and checkpoints to --out");
  train->add_option("--model", tc.model, "logreg | linreg | mlp | cnn | lenet")->capture_default_str();
  train->add_option("--hidden", tc.hidden, "hidden sizes of the mlp, e.g. --hidden 256 128")->capture_default_str();
  train->add_option("--activation", tc.activation, "relu | tanh | sigmoid | gelu")->capture_default_str();
  train->add_flag("--batchnorm", tc.batchnorm, "batch normalization after each hidden layer");
  train->add_option("--dropout", tc.dropout, "dropout probability")->check(CLI::Range(0.0, 0.999));
  train->add_option("--init", tc.init, "default | kaiming | xavier")->capture_default_str();
  train->add_option("--dataset", tc.dataset, "fashion-mnist | mnist:PATH | blobs | moons | regression | csv:PATH")
      ->capture_default_str();
  train->add_option("--epochs", tc.epochs, "epochs")->capture_default_str();
  train->add_option("--batch-size", tc.batch_size, "samples per batch")->capture_default_str();
  train->add_option("--workers", tc.workers, "DataLoader worker threads")->check(CLI::NonNegativeNumber);
  train->add_option("--optimizer", tc.optimizer, "sgd | adagrad | adadelta | rmsprop | adam | adamw")->capture_default_str();
  train->add_option("--lr", tc.lr, "learning rate (default: the optimizer's usual one; sgd 0.05)");
  train->add_option("--momentum", tc.momentum, "sgd / rmsprop momentum")->capture_default_str();
  train->add_option("--weight-decay", tc.weight_decay, "L2 weight decay (adamw: decoupled)");
  train->add_flag("--nesterov", tc.nesterov, "Nesterov momentum (sgd)");
  train->add_option("--beta1", tc.beta1, "adam / adamw beta1")->capture_default_str();
  train->add_option("--beta2", tc.beta2, "adam / adamw beta2")->capture_default_str();
  train->add_option("--schedule", tc.schedule, "none | step | exponential | cosine | onecycle | inverse-time | warmup")
      ->capture_default_str();
  train->add_option("--step-size", tc.step_size, "step: epochs between decays")->capture_default_str();
  train->add_option("--gamma", tc.gamma, "step / exponential: decay factor")->capture_default_str();
  train->add_option("--decay", tc.decay, "inverse-time: lr0 / (1 + decay * epoch)")->capture_default_str();
  train->add_option("--warmup-epochs", tc.warmup_epochs, "warmup: epochs of linear warm-up")->capture_default_str();
  train->add_option("--accumulate", tc.accumulate, "micro-batches per optimizer step")->capture_default_str();
  train->add_option("--clip", tc.clip, "clip the gradient norm to this (0: off)");
  train->add_option("--seed", tc.seed, "random seed")->capture_default_str();
  train->add_option("--threads", tc.threads, "threads (default: all cores)")->check(CLI::NonNegativeNumber);
  train->add_option("--out", tc.out, "output folder")->capture_default_str();
  train->add_option("--resume", tc.resume, "continue from this checkpoint (with the same options)");
  train->add_flag("--quiet", tc.quiet, "no progress lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "hpml: %s (see hpml --help)\n", e.what());
    return 2;
  }
  try {
    if (info->parsed()) return run_info();
    if (train->parsed()) {
      std::string command_line;
      for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
      return hpml::cli::train(tc, command_line);
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (!hpml::cli::training_started()) {  // a bad option or a missing file: one line, status 2
      std::fprintf(stderr, "hpml: %s\n", what.substr(0, what.find('\n')).c_str());
      return 2;
    }
    std::fprintf(stderr, "hpml: %s\n", what.c_str());
    return 1;
  }
  return 2;
}
