// The training loop of `hpml train`: it builds the run's parts, trains epoch by epoch with
// progress lines, validates, stops early, on a non-finite loss or cleanly on SIGINT / SIGTERM
// (files and resume: run_files.cpp; the options: config.cpp).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "gpt.h"
#include "progress.h"
#include "run.h"
#include "signals.h"

namespace hpml::cli {

namespace {

// Note [Stopping on a signal]
// SIGINT or SIGTERM only sets a flag (Note [Signals in one place] in signals.cpp). The loop
// looks at it after each optimizer step (never inside one, nor between the micro-batches of an
// accumulated step) and after each epoch's evaluation, metrics and checkpoints, writes a
// checkpoint of exactly that point, says how to resume, and exits with 128 + the signal
// (130 / 143), as a shell expects of a process stopped by it. A signal that comes after the last
// epoch still ends the process with that status, its checkpoints complete. A second signal while
// the checkpoint is being written changes nothing: the write is atomic either way.
bool g_started = false;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Loss and, for classifiers, the number of correct predictions in a batch, in samples. The classes
// are the output's last dim: [B, C] for one label a sample, [B, T, vocab] for a gpt's one target
// a token, whose accuracy is then the share of tokens right (B * right tokens / all tokens).
// loss_and_right leaves both on the device (right: a 0-d int64 count of right labels, 0 for a
// regression); per_sample turns that count into samples.
std::pair<Tensor, Tensor> loss_and_right(const Tensor& out, const Tensor& y, bool classify) {
  if (!classify) return {nn::functional::mse_loss(out, y), zeros({}, TensorOptions(kInt64).device(out.device()))};
  const int64_t C = out.sizes().back();
  Tensor loss = nn::functional::cross_entropy(out.reshape({-1, C}), y.reshape({-1}));
  return {loss, eq(out.argmax(-1), y).sum()};
}
double per_sample(const Tensor& y) {
  return y.numel() > 0 ? static_cast<double>(y.sizes()[0]) / static_cast<double>(y.numel()) : 0;
}
std::pair<Tensor, double> loss_and_correct(const Tensor& out, const Tensor& y, bool classify) {
  auto [loss, right] = loss_and_right(out, y, classify);
  return {loss, classify ? static_cast<double>(right.item<int64_t>()) * per_sample(y) : 0};
}

// Mean loss and accuracy (NaN for regression) on a split; NaN and NaN for no split.
std::pair<double, double> evaluate(nn::Module& model, const data::DatasetPtr& test, bool classify, Device device) {
  if (!test) return {NAN, NAN};
  model.eval();
  NoGradGuard ng;
  data::DataLoader loader(test, {.batch_size = 512});
  double loss = 0, correct = 0;
  int64_t n = 0;
  for (data::Batch& b : loader) {
    auto [l, c] = loss_and_correct(model.forward(b[0].to(device)), b[1].to(device), classify);
    loss += l.item<double>() * static_cast<double>(b[0].size(0));
    correct += c;
    n += b[0].size(0);
  }
  model.train();
  const double count = static_cast<double>(std::max<int64_t>(n, 1));
  return {loss / count, classify ? correct / count : NAN};
}

// Batches for a run on a device are pinned for it, so that each copy (non_blocking) overlaps the
// work queued before it.
data::DataLoaderOptions loader_options(const TrainConfig& c, std::shared_ptr<Generator> gen, Device device) {
  data::DataLoaderOptions o{.batch_size = c.batch_size, .shuffle = true, .num_workers = c.workers,
                            .pin_memory = !device.is_cpu(), .timeout = c.loader_timeout, .generator = std::move(gen)};
  if (!device.is_cpu()) o.pin_memory_device = device.str();
  if (c.worker_mode != "thread") {
    o.worker_mode = data::WorkerMode::process;
    o.multiprocessing_context = mp::parse_start_method(c.worker_mode == "process" ? "fork" : c.worker_mode);
  }
  return o;
}

// The parts of a run from its options; no file is touched yet. The lr the optimizer chose (its
// usual one when --lr is not given) is written into the configuration the run records.
Run build(const TrainConfig& c) {
  HPML_CHECK(c.early_stop == 0 || c.val_split > 0, "--early-stop watches the validation score; --val-split 0 leaves "
             "no validation data (hint: --val-split 0.1)");
  Run r;
  r.config = c;
  r.device = resolve_device(Device(c.device), "hpml train --device");
  check_graphable(c);
  r.world = join_world(c);
  HPML_CHECK(!c.cuda_graph || !r.world.on, "--cuda-graph runs on one device, not in a data-parallel run of ",
             r.world.size, " processes");
  if (!r.world.lead()) r.config.quiet = true;  // the lead prints and writes for every rank
  if (c.threads > 0) set_num_threads(c.threads);
  manual_seed(c.seed);
  r.data = make_data(c);
  r.classify = r.data.classes > 0;
  r.model = make_model(c, r.data);
  r.model->to(r.device);  // before DDP and the optimizer see the parameters (they keep their identity anyway)
  if (r.world.on) r.ddp = std::make_unique<distributed::DistributedDataParallel>(*r.model);
  r.params = r.model->parameters();
  r.optimizer = make_optimizer(c, r.params);
  r.config.lr = r.optimizer->lr(0);
  if (r.config.max_lr < 0 && (c.schedule == "onecycle" || c.schedule == "cyclic")) r.config.max_lr = 10 * r.config.lr;
  r.data_gen = std::make_shared<Generator>(c.seed + 1);
  data::DataLoaderOptions lo = loader_options(c, r.data_gen, r.device);
  if (r.world.on) {  // each rank its shard of every epoch (torch's DistributedSampler)
    r.sampler = std::make_shared<data::DistributedSampler>(r.data.train->size(), r.world.size, r.world.rank,
                                                           data::DistributedSamplerOptions{.seed = c.seed});
    lo.sampler = r.sampler;
    lo.shuffle = false;
  }
  r.loader = std::make_unique<data::DataLoader>(r.data.train, lo);
  if (c.cuda_graph) r.graph = std::make_unique<GraphedStep>(r.device, c.batch_size);
  r.batches = r.loader->size();
  r.steps_per_epoch = (r.batches + c.accumulate - 1) / c.accumulate;
  r.schedule = make_schedule(r.config, *r.optimizer, r.steps_per_epoch);
  r.objects = {.model = r.model.get(), .optimizer = r.optimizer.get(), .scheduler = r.schedule.scheduler.get(),
               .plateau = r.schedule.plateau.get(), .generators = {{"data", r.data_gen.get()}}};
  r.meta = {{"argv", record_arguments(canonical_arguments(r.config))}, {"world_size", std::to_string(r.world.size)}};
  if (r.data.tokenizer) r.data.tokenizer->save(r.meta);  // hpml generate reads it
  r.last = c.out + "/last.safetensors";
  r.best = c.out + "/best.safetensors";
  r.csv = c.out + "/metrics.csv";
  r.jsonl = c.out + "/metrics.jsonl";
  return r;
}

// Note [Stopping on a non-finite loss]
// A loss of NaN or inf (an lr of 1000, a bad row of data) would otherwise run on to the end and
// exit 0, with every later checkpoint worthless. The loss of each batch is looked at before its
// backward pass (under --cuda-graph, after the replayed step: Note [The training step as a graph]),
// and each epoch's validation and test losses before its checkpoints: the first
// non-finite one ends the run with status 1, naming the step, the epoch, the batch and the lr,
// and the checkpoints are left as the last good epoch wrote them.
[[noreturn]] void non_finite(const Run& r, const std::string& what, double value) {
  const std::string kept = r.saved_epoch > 0 ? r.last + " (after epoch " + std::to_string(r.saved_epoch) + ") is the "
                                               "last good checkpoint, left as it was"
                                             : "No checkpoint was written (no epoch had finished)";
  HPML_FAIL("hpml train: the ", what, " is ", value, " (lr ", r.optimizer->lr(0), ", after ", r.pos.step,
            " optimizer steps); the run stopped before another update. ", kept, "\nhint: a smaller --lr (try ", r.optimizer->lr(0) / 10,
            "), --clip 1.0, or look for NaN / inf in the data");
}

std::string resume_hint(const Run& r) { return "resume with: hpml train --resume " + r.last; }

// Writes the checkpoint of a stopped run and says how to resume it; returns the exit status.
int stop(Run& r, int sig, const io::TrainingProgress& at) {
  Generator now = *r.data_gen;
  if (at.batch > 0) *r.data_gen = r.epoch_gen;  // saved as the epoch's start; see Note [Resuming inside an epoch]
  save(r, r.last, at);
  *r.data_gen = now;
  const std::string where = at.batch > 0 ? "batch " + std::to_string(at.batch) + " of epoch " + std::to_string(at.epoch + 1)
                                         : "epoch " + std::to_string(at.epoch);
  r.progress->end_epoch(0);
  if (r.world.lead())
    std::printf("%s: stopped after %s; checkpoint %s\n%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM", where.c_str(),
                r.last.c_str(), resume_hint(r).c_str());
  std::fflush(stdout);
  return 128 + sig;
}

struct EpochResult {
  EpochMetrics metrics;
  int stopped = 0;  // the exit status when a signal stopped the epoch (its checkpoint written), else 0
};

// The forward and backward passes of batch k (of epoch `epoch`) eagerly, op by op: its loss value
// (checked before the backward pass) and right predictions. `micro` counts the micro-batches.
void eager_forward_backward(Run& r, const data::Batch& b, int64_t k, int64_t epoch, int64_t micro, double& value,
                            double& right) {
  const TrainConfig& c = r.config;
  Tensor loss;
  {
    RECORD_FUNCTION("forward");  // the phases of a step for --profile (profile_run.h)
    const bool pinned = !r.device.is_cpu();  // the loader pinned the batch for the device
    std::tie(loss, right) =
        loss_and_correct(r.net().forward(b[0].to(r.device, pinned)), b[1].to(r.device, pinned), r.classify);
    value = loss.item<double>();
  }
  if (!std::isfinite(value))
    non_finite(r, "training loss of batch " + std::to_string(k + 1) + " of epoch " + std::to_string(epoch + 1), value);
  RECORD_FUNCTION("backward");
  // Micro-batches before the last of a step accumulate locally; the last one's backward
  // averages the sum over the ranks (DDP's no_sync).
  const bool steps = (micro + 1) % c.accumulate == 0 || k + 1 == r.batches;
  std::optional<distributed::DistributedDataParallel::NoSync> local;
  if (r.ddp && !steps) local.emplace(*r.ddp);
  (c.accumulate > 1 ? loss / static_cast<double>(c.accumulate) : loss).backward();
}

// A whole step through r.graph (--cuda-graph: graph_step.h): its loss value and right predictions.
std::pair<double, double> graph_step(Run& r, const data::Batch& b) {
  RECORD_FUNCTION("graph replay");
  std::vector<double> lrs;
  for (size_t g = 0; g < r.optimizer->num_param_groups(); ++g) lrs.push_back(r.optimizer->lr(g));
  auto [value, right] = r.graph->step(b, lrs, [&r](const Tensor& x, const Tensor& y) {
    auto [loss, right_count] = loss_and_right(r.net().forward(x), y, r.classify);
    loss.backward();
    if (r.config.clip > 0) nn::utils::clip_grad_norm_(r.params, r.config.clip);
    r.optimizer->step();
    r.optimizer->zero_grad();
    return stack({loss.detach().to(kFloat64), right_count.to(kFloat64)});
  });
  return {value, right * per_sample(b[1])};
}

// The training steps of one epoch, from batch pos.batch when it was resumed inside it.
EpochResult train_epoch(Run& r, int64_t epoch) {
  const TrainConfig& c = r.config;
  r.epoch_gen = *r.data_gen;
  if (r.sampler) r.sampler->set_epoch(static_cast<uint64_t>(epoch));
  r.model->train();
  const auto t0 = Clock::now();
  double loss_sum = 0;
  double correct = 0;
  int64_t seen = 0, k = 0, micro = 0;
  const int64_t skip = epoch == r.pos.epoch ? r.pos.batch : 0;
  r.progress->start_epoch(epoch, r.batches, skip);
  for (data::Batch& b : *r.loader) {
    if (k < skip) {  // resumed inside this epoch: these batches are done
      ++k;
      continue;
    }
    double right = 0, value = 0;
    const bool graphed = r.graph && r.graph->takes(b, k + 1 == r.batches && r.tensorboard);
    if (graphed) {
      std::tie(value, right) = graph_step(r, b);
      if (!std::isfinite(value))
        non_finite(r, "training loss of batch " + std::to_string(k + 1) + " of epoch " + std::to_string(epoch + 1) +
                   " (its update, inside the graph, was applied)", value);
    } else {
      eager_forward_backward(r, b, k, epoch, micro, value, right);
    }
    loss_sum += value * static_cast<double>(b[0].size(0));
    correct += right;
    seen += b[0].size(0);
    ++k;
    const double n = static_cast<double>(seen);
    r.progress->batch_done(k, loss_sum / n, r.classify ? correct / n : -1);
    if (!graphed) {
      if (++micro % c.accumulate != 0 && k != r.batches) continue;
      RECORD_FUNCTION("optimizer");
      if (c.clip > 0) nn::utils::clip_grad_norm_(r.params, c.clip);
      if (k == r.batches) log_gradients(r, epoch + 1);  // the gradients the step uses (clipped)
      r.optimizer->step();
      r.optimizer->zero_grad();
      if (r.schedule.scheduler && r.schedule.per_batch) r.schedule.scheduler->step();
      if (r.graph) r.graph->eager_step_done();
    }
    ++r.pos.step;
    if (r.profiler) r.profiler->step();
    if (int sig = max_over_ranks(stop_requested(), r.world); sig != 0)  // every rank stops at the same step
      return {.metrics = {}, .stopped = stop(r, sig, {epoch, r.pos.step, k})};
  }
  double sums[3] = {loss_sum, correct, static_cast<double>(seen)};  // over every rank's shard
  sum_over_ranks(sums, 3, r.world);
  loss_sum = sums[0];
  correct = sums[1];
  seen = static_cast<int64_t>(sums[2]);
  EpochResult out;
  out.metrics.train_seconds = since(t0);
  out.metrics.epoch = epoch + 1;
  out.metrics.train_loss = seen ? loss_sum / static_cast<double>(seen) : NAN;
  out.metrics.train_acc = r.classify && seen ? correct / static_cast<double>(seen) : NAN;
  return out;
}

void print_epoch(const Run& r, const EpochMetrics& m) {
  auto part = [&](const char* name, double loss, double acc) {
    if (std::isnan(loss)) return std::string();
    std::string s = std::string(", ") + name + " loss " + std::to_string(loss).substr(0, 6);
    if (r.classify) s += " acc " + std::to_string(acc).substr(0, 6);
    return s;
  };
  std::printf("epoch %lld:%s%s%s, lr %.4g, %.1f s\n", static_cast<long long>(m.epoch),
              part("train", m.train_loss, m.train_acc).c_str() + 1, part("val", m.val_loss, m.val_acc).c_str(),
              part("test", m.test_loss, m.test_acc).c_str(), m.lr, m.seconds);
  std::fflush(stdout);
}

// The end of an epoch: schedule, evaluation, metrics, plots, checkpoints, and its line. Returns
// true when early stopping ends the run here.
bool end_epoch(Run& r, int64_t epoch, EpochMetrics& m, Clock::time_point t0) {
  if (r.schedule.scheduler && !r.schedule.per_batch) r.schedule.scheduler->step();
  double scores[4] = {NAN, NAN, NAN, NAN};  // the lead evaluates; every rank gets its numbers
  if (r.world.lead()) {
    std::tie(scores[0], scores[1]) = evaluate(*r.model, r.data.val, r.classify, r.device);
    std::tie(scores[2], scores[3]) = evaluate(*r.model, r.data.test, r.classify, r.device);
  }
  from_lead(scores, 4, r.world);
  std::tie(m.val_loss, m.val_acc, m.test_loss, m.test_acc) = std::tie(scores[0], scores[1], scores[2], scores[3]);
  const std::string after = " after epoch " + std::to_string(epoch + 1);
  if (r.data.val && !std::isfinite(m.val_loss)) non_finite(r, "validation loss" + after, m.val_loss);
  if (!std::isfinite(m.test_loss)) non_finite(r, "test loss" + after, m.test_loss);
  if (r.schedule.plateau) r.schedule.plateau->step(m.val_loss);
  m.lr = r.optimizer->lr(0);
  m.seconds = since(t0);
  const double score = r.classify ? m.val_acc : -m.val_loss;  // never the test set: Note [Three splits]
  const bool improved = r.data.val && score > r.best_score;
  if (improved) {
    r.best_score = score;
    r.best_epoch = epoch + 1;
  }
  r.pos = {epoch + 1, r.pos.step, 0};
  r.checksum = check_replicas_agree(*r.model, epoch + 1, r.world);
  save(r, r.last, r.pos);  // the checkpoints first: a folder that cannot take the plots keeps them
  r.saved_epoch = epoch + 1;
  if (improved) save(r, r.best, r.pos);
  if (r.world.lead()) write_metrics(r, m);
  log_epoch(r, m);
  r.progress->end_epoch(m.seconds);
  if (!r.config.quiet) print_epoch(r, m);
  const TrainConfig& c = r.config;
  if (c.early_stop == 0 || epoch + 1 - r.best_epoch < c.early_stop) return false;
  if (r.world.lead())
    std::printf("early stop: no better validation %s for %lld epochs; the best, %.4f after epoch %lld, is in %s\n",
              r.classify ? "accuracy" : "loss", static_cast<long long>(c.early_stop),
              r.classify ? r.best_score : -r.best_score, static_cast<long long>(r.best_epoch), r.best.c_str());
  return true;
}

int64_t parameter_total(const TensorList& params) {
  int64_t n = 0;
  for (const Tensor& p : params) n += p.numel();
  return n;
}

}  // namespace

bool training_started() { return g_started; }

namespace {
// Every rank reaches here together (their stops are agreed on): the process group can close.
int left(Run& r, int status) {
  r.ddp.reset();
  leave_world(r.world);
  return status;
}
}  // namespace

int train(const TrainConfig& config, const io::CheckpointState* resumed) {
  Run r = build(config);
  const TrainConfig& c = r.config;
  if (r.world.lead()) {
    std::filesystem::create_directories(c.out);
    std::ofstream(c.out + "/config.toml", std::ios::trunc) << config_toml(c);
  }
  if (!c.resume.empty()) {
    std::optional<io::CheckpointState> read;
    if (!resumed) read = load_run_checkpoint(c.resume, "--resume");
    const io::CheckpointState& state = resumed ? *resumed : *read;
    if (r.data.tokenizer) check_same_tokenizer(*r.data.tokenizer, state.metadata, c.resume);  // bpe: retrained
    resume(r, state);
    r.saved_epoch = r.pos.epoch;
    if (!c.quiet)
      std::printf("resuming %s: epoch %lld, batch %lld, step %lld\n", c.resume.c_str(),
                  static_cast<long long>(r.pos.epoch + 1), static_cast<long long>(r.pos.batch),
                  static_cast<long long>(r.pos.step));
  } else if (r.world.lead()) {
    start_metrics(r);
  }
  if (!c.quiet)
    std::printf("%s; %s, %lld parameters\n", r.data.description.c_str(), c.model.c_str(),
                static_cast<long long>(parameter_total(r.params)));
  if (!c.quiet && r.world.on)
    std::printf("data-parallel on %d processes (mpi): batch %lld per process, %lld per step\n", r.world.size,
                static_cast<long long>(c.batch_size), static_cast<long long>(c.batch_size * r.world.size));
  r.progress = std::make_unique<Progress>(isatty(1) != 0, c.quiet, c.epochs);
  if (c.tensorboard && r.world.lead()) r.tensorboard = std::make_unique<io::SummaryWriter>(c.out + "/tensorboard");
  if (c.profile && r.world.lead())
    r.profiler = std::make_unique<StepProfiler>(
        c.out, default_profile_steps(r.steps_per_epoch, c.profile_wait, c.profile_warmup, c.profile_steps),
        "hpml train --model " + c.model);
  g_started = true;
  accept_stop_requests(true);

  const int64_t end = c.stop_after > 0 ? std::min(c.stop_after, c.epochs) : c.epochs;
  bool early = false;
  for (int64_t epoch = r.pos.epoch; epoch < end && !early; ++epoch) {
    const auto t0 = Clock::now();
    EpochResult e = train_epoch(r, epoch);
    if (e.stopped) return left(r, e.stopped);
    early = end_epoch(r, epoch, e.metrics, t0);
    if (int sig = max_over_ranks(stop_requested(), r.world); sig != 0 && epoch + 1 < end && !early)
      return left(r, stop(r, sig, r.pos));
  }
  if (r.profiler) std::fputs(r.profiler->finish().c_str(), stdout);
  if (!c.quiet)
    std::printf("done: metrics in %s, checkpoints %s%s\n", r.csv.c_str(), r.last.c_str(),
                r.data.val ? (" and " + r.best).c_str() : "");
  if (!c.quiet && r.graph)
    std::printf("--cuda-graph: %lld steps replayed from %lld capture(s) (%zu nodes), %lld eager (warm-up, other shapes)\n",
                static_cast<long long>(r.graph->replays()), static_cast<long long>(r.graph->captures()),
                r.graph->num_nodes(), static_cast<long long>(r.graph->eager_steps()));
  if (!c.quiet && r.world.on)
    std::printf("replicas: the weights of all %d processes were identical after every epoch (checksum %016llx)\n",
                r.world.size, static_cast<unsigned long long>(r.checksum));
  if (!c.quiet && end < c.epochs && !early)
    std::printf("stopped after epoch %lld of %lld (--stop-after); %s\n", static_cast<long long>(end),
                static_cast<long long>(c.epochs), resume_hint(r).c_str());
  std::fflush(stdout);
  if (int sig = max_over_ranks(stop_requested(), r.world); sig != 0) {  // after the last epoch: all written
    if (r.world.lead())
      std::printf("%s: received after the last epoch; its checkpoints are complete\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return left(r, 128 + sig);
  }
  return left(r, 0);
}

int train_command(const TrainConfig& parsed, const std::vector<std::string>& args) {
  const ResolvedRun run = resolve_config(parsed, args);
  check_graphable(run.config);  // before the device is looked for: the refusal says what to change
  const Device device = resolve_device(Device(run.config.device), "hpml train --device");  // before mpirun starts
  HPML_CHECK(run.config.nproc == 0 || device.is_cpu(), "hpml train: --nproc ", run.config.nproc, " with --device ",
             run.config.device, ": the mpi backend all-reduces cpu tensors\nhint: leave out --device (or --nproc)");
  if (run.config.nproc > 0) return launch_processes(run.config, args);
  return train(run.config, run.resumed ? &*run.resumed : nullptr);
}

}  // namespace hpml::cli
