// One `hpml train` run as its parts: what train.cpp builds and loops over, and what
// run_files.cpp reads and writes for it (metrics, plots, checkpoints, resume).
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "distributed_run.h"
#include "graph_step.h"
#include "hpml/distributed/ddp.h"
#include "profile_run.h"
#include "progress.h"
#include "train.h"

namespace hpml::cli {

struct EpochMetrics {
  int64_t epoch = 0;
  double train_loss = 0, train_acc = NAN, val_loss = NAN, val_acc = NAN, test_loss = 0, test_acc = NAN, lr = 0;
  double seconds = 0;        // the whole epoch: training and evaluation
  double train_seconds = 0;  // its training steps alone
};

struct Run {
  TrainConfig config;
  Device device = kCPU;  // --device, resolved (sim is sim:0)
  World world;  // a data-parallel run: this rank's place (distributed_run.h)
  DataSplits data;
  bool classify = false;
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<distributed::DistributedDataParallel> ddp;  // data-parallel runs: wraps model
  std::shared_ptr<data::DistributedSampler> sampler;           // data-parallel runs: this rank's shard
  nn::Module& net() { return ddp ? static_cast<nn::Module&>(*ddp) : *model; }  // what training runs
  TensorList params;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::shared_ptr<Generator> data_gen;
  std::unique_ptr<data::DataLoader> loader;
  int64_t batches = 0, steps_per_epoch = 0;
  Schedule schedule;
  io::TrainingObjects objects;
  io::TrainingProgress pos;
  // The loader's generator as it was when the epoch began: a checkpoint taken inside an epoch
  // stores it, so that the resumed run draws the same order and skips the batches already done.
  Generator epoch_gen{0};
  // Validation accuracy, or -validation loss (Note [Three splits] in models.cpp), and its epoch.
  double best_score = -std::numeric_limits<double>::infinity();
  int64_t best_epoch = 0;
  uint64_t checksum = 0;    // of the weights after the last epoch (the same on every rank)
  int64_t saved_epoch = 0;  // the epoch after which last.safetensors was written (0: not yet)
  std::unique_ptr<Progress> progress;
  std::unique_ptr<io::SummaryWriter> tensorboard;  // --tensorboard: OUT/tensorboard
  std::unique_ptr<StepProfiler> profiler;          // --profile
  std::unique_ptr<GraphedStep> graph;              // --cuda-graph
  io::Metadata meta;  // "argv" (the JSON array of the arguments), "best_val_score", "best_epoch"
  std::string last, best, csv, jsonl;  // paths under config.out
};

// ---- run_files.cpp --------------------------------------------------------------------------
// A fresh run: metrics.csv with its header, an empty metrics.jsonl.
void start_metrics(const Run& run);
// Appends an epoch to metrics.csv / .jsonl and redraws loss and accuracy plots from the CSV.
void write_metrics(const Run& run, const EpochMetrics& m);
// --resume: checks the checkpoint against this run (its recorded arguments, its numbers) before
// restoring it into the run's objects, then trims the metric files to its epochs. Every refusal
// names the file and the value (Note [What resume checks]).
void resume(Run& run, const io::CheckpointState& state);
// --tensorboard: an epoch's scalars (losses, accuracies, lr) and the histograms of the weights.
void log_epoch(Run& run, const EpochMetrics& m);
// --tensorboard: the histograms of the gradients of an epoch's last optimizer step.
void log_gradients(Run& run, int64_t epoch);
// Writes `path` with the run's objects at `pos` (the best score and its epoch in the metadata).
void save(Run& run, const std::string& path, const io::TrainingProgress& pos);

}  // namespace hpml::cli
