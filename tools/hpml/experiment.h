// `hpml experiment NAME` (experiment.cpp): lr-decay, momentum, lr-range, batch-size, optimizers,
// batchnorm, init and activations on the blobs task of docs/concepts.md; figures, a CSV and a
// table under OUT/NAME/. --data picks the points (hpml's or scikit-learn's make_blobs), --train-acc
// how the train curve is measured.
#pragma once

#include <string>

#include "hpml/hpml.h"

namespace CLI {
class App;
}

namespace hpml::cli {

struct ExperimentOptions {
  std::string name;  // lr-decay | momentum | lr-range | batch-size | optimizers | batchnorm | init | activations
  int seeds = 1;
  int epochs = 200;
  std::string out = "runs/experiments";
  std::string data = "default";    // default (hpml's make_blobs) | sklearn (scikit-learn's, random_state=2)
  std::string train_acc = "pass";  // pass (end of epoch) | running (Keras's running mean, beside the pass)
  bool profile = false;            // the first run's steps profiled (profile_run.h)
};

// The experiment subcommand's positional NAME and its options, writing into `options`.
void add_experiment_options(CLI::App& experiment, ExperimentOptions& options);

int experiment(const ExperimentOptions& options);

}  // namespace hpml::cli
