// `hpml train --schedule NAME`: every learning-rate schedule of hpml::optim, built from the
// command line's options. Most step once per epoch; onecycle and cyclic step after every
// optimizer step; plateau steps on each epoch's validation loss.
#include "catalog.h"
#include "train.h"

namespace hpml::cli {

namespace {

std::unique_ptr<optim::LRScheduler> per_epoch(const TrainConfig& c, optim::Optimizer& opt) {
  const std::string& s = c.schedule;
  if (s == "step") return std::make_unique<optim::StepLR>(opt, c.step_size, c.gamma);
  if (s == "multistep") return std::make_unique<optim::MultiStepLR>(opt, c.milestones, c.gamma);
  if (s == "exponential") return std::make_unique<optim::ExponentialLR>(opt, c.gamma);
  if (s == "multiplicative") {  // a constant factor: a C++ caller passes any function of the epoch
    const double g = c.gamma;
    return std::make_unique<optim::MultiplicativeLR>(opt, [g](int64_t) { return g; });
  }
  if (s == "constant")
    return std::make_unique<optim::ConstantLR>(opt, optim::ConstantLROptions{.factor = c.factor, .total_iters = c.warmup_epochs});
  if (s == "linear")
    return std::make_unique<optim::LinearLR>(
        opt, optim::LinearLROptions{.start_factor = 1.0, .end_factor = c.factor, .total_iters = c.epochs});
  if (s == "warmup")
    return std::make_unique<optim::LinearLR>(opt, optim::LinearLROptions{.start_factor = 0.1, .total_iters = c.warmup_epochs});
  if (s == "polynomial")
    return std::make_unique<optim::PolynomialLR>(opt, optim::PolynomialLROptions{.total_iters = c.epochs, .power = c.power});
  if (s == "cosine") return std::make_unique<optim::CosineAnnealingLR>(opt, c.epochs);
  if (s == "cosine-restarts") return std::make_unique<optim::CosineAnnealingWarmRestarts>(opt, c.t0, c.t_mult);
  if (s == "inverse-time") return std::make_unique<optim::InverseTimeDecay>(opt, c.decay);
  if (s == "warmup-cosine") {  // SequentialLR: linear warm-up, then cosine over the remaining epochs
    HPML_CHECK(c.epochs > c.warmup_epochs, "--schedule warmup-cosine needs --epochs (", c.epochs,
               ") greater than --warmup-epochs (", c.warmup_epochs, ")");
    auto warm = std::make_shared<optim::LinearLR>(
        opt, optim::LinearLROptions{.start_factor = 0.1, .total_iters = c.warmup_epochs});
    auto cos = std::make_shared<optim::CosineAnnealingLR>(opt, c.epochs - c.warmup_epochs);
    return std::make_unique<optim::SequentialLR>(opt, std::vector<std::shared_ptr<optim::LRScheduler>>{warm, cos},
                                                 std::vector<int64_t>{c.warmup_epochs});
  }
  if (s == "chained") {  // ChainedScheduler: --factor for --warmup-epochs, times --gamma every epoch
    auto low = std::make_shared<optim::ConstantLR>(
        opt, optim::ConstantLROptions{.factor = c.factor, .total_iters = c.warmup_epochs});
    auto decay = std::make_shared<optim::ExponentialLR>(opt, c.gamma);
    return std::make_unique<optim::ChainedScheduler>(std::vector<std::shared_ptr<optim::LRScheduler>>{low, decay});
  }
  return nullptr;
}

}  // namespace

bool schedule_spans_the_run(const std::string& s) {
  return s == "linear" || s == "polynomial" || s == "cosine" || s == "warmup-cosine" || s == "onecycle";
}

Schedule make_schedule(const TrainConfig& c, optim::Optimizer& opt, int64_t steps_per_epoch) {
  Schedule out;
  const std::string& s = c.schedule;
  const double max_lr = c.max_lr > 0 ? c.max_lr : opt.lr(0) * 10;
  if (s == "none") return out;
  if (s == "plateau") {  // on the validation loss (Note [Three splits] in models.cpp)
    HPML_CHECK(c.val_split > 0, "--schedule plateau steps on the validation loss; --val-split 0 leaves no validation "
               "data (hint: --val-split 0.1)");
    out.plateau = std::make_unique<optim::ReduceLROnPlateau>(
        opt, optim::ReduceLROnPlateauOptions{.factor = c.factor, .patience = c.patience});
    return out;
  }
  if (s == "onecycle") {
    out.per_batch = true;
    out.scheduler = std::make_unique<optim::OneCycleLR>(
        opt, optim::OneCycleLROptions{.max_lr = max_lr, .epochs = c.epochs, .steps_per_epoch = steps_per_epoch});
    return out;
  }
  if (s == "cyclic") {  // triangular, one cycle per --step-size epochs; momentum cycles for SGD with momentum
    out.per_batch = true;
    const bool momentum = c.optimizer == "sgd" && c.momentum > 0;
    out.scheduler = std::make_unique<optim::CyclicLR>(
        opt, optim::CyclicLROptions{.base_lr = opt.lr(0),
                                    .max_lr = max_lr,
                                    .step_size_up = std::max(1.0, static_cast<double>(c.step_size * steps_per_epoch) / 2),
                                    .cycle_momentum = momentum,
                                    .base_momentum = momentum ? std::min(0.8, c.momentum) : 0.8,
                                    .max_momentum = momentum ? c.momentum : 0.9});
    return out;
  }
  out.scheduler = per_epoch(c, opt);
  HPML_CHECK(out.scheduler != nullptr, unknown_name("schedule", s, "schedules"));
  return out;
}

}  // namespace hpml::cli
