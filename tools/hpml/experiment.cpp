// `hpml experiment NAME`: the experiments of docs/concepts.md on the blobs task (lr-decay,
// momentum, lr-range, batch-size, optimizers, batchnorm, init, activations), each writing its
// figures, a CSV and a short table; `--seeds N` repeats every run with N seeds and plots the
// median with a min-max band; `--data sklearn` uses scikit-learn's points, `--train-acc running`
// adds the train curve as Keras draws it.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "experiment.h"
#include "hpml/core/file.h"
#include "plot.h"
#include "profile_run.h"
#include "train.h"  // int_in, kMaxEpochs

namespace hpml::cli {

namespace {

// Note [The blobs protocol]
// Blobs data: 1000 points, 3 centres, 2 features, cluster spread 2.0, drawn once with a fixed
// seed; the first 500 points train, the last 500 test (make_blobs shuffles, so both halves mix
// the centres). --data default draws them with hpml's make_blobs (seed 1); --data sklearn takes
// the very points of scikit-learn's make_blobs(n_samples=1000, centers=3, n_features=2,
// cluster_std=2.0, random_state=2) that the course's figures were drawn from, reproduced bit for
// bit in C++ (data::sklearn_make_blobs, numpy's legacy RandomState), split by the same rule
// (X[:500] train, X[500:] test). Every experiment accepts either. MLP 2 -> 50 (ReLU, He-uniform weights)
// -> 3 (Glorot-uniform), zero biases, cross-entropy, plain SGD with batch 32 reshuffled every
// epoch. A run's seed changes the initial weights and the shuffling, never the data. Time-based
// decay lr0 / (1 + decay * t) counts t in updates (the classic Keras `decay`): InverseTimeDecay
// stepped after every update.

// Note [Two train curves]
// --train-acc pass (the default) measures train accuracy with one pass over the 500 training
// points after the epoch's last update, like the test curve. Keras's fit() reports (and the
// course plots) something else: the running accuracy of the epoch, every batch scored on the
// forward pass that computes its loss, BEFORE that batch's update, accumulated as correct /
// seen (Keras's Mean metric, weighted by batch size). It lags the end-of-epoch pass while the
// model improves within an epoch and mixes the model's states over the epoch. --train-acc
// running plots both, "train (running, as Keras)" and "train (end of epoch)", beside test, and
// adds the train_acc_running column to results.csv.
struct Run {
  std::vector<double> train_acc, test_acc, train_loss;  // per epoch
  std::vector<double> train_running;                    // per epoch: Note [Two train curves]
  std::vector<double> lrs;                              // per update
  Tensor weights;                                       // every parameter at the end, flattened
};

// How one run trains: the optimizer, time-based decay, the batch and the micro-batches per update.
struct Recipe {
  std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)> optimizer;
  double decay = 0;
  int64_t batch = 32;
  int64_t accumulate = 1;
  std::function<std::shared_ptr<nn::Sequential>()> model = nullptr;  // default: the protocol's MLP
};

// A deep MLP 2 -> width x depth -> 3 for the activation, init and batchnorm experiments. init:
// "xavier", "kaiming", "zeros", or "normal:STD"; biases start at zero.
std::shared_ptr<nn::Sequential> deep_mlp(int depth, const std::string& act, const std::string& init, bool batchnorm) {
  auto m = std::make_shared<nn::Sequential>();
  int64_t in = 2;
  for (int i = 0; i < depth; ++i) {
    m->emplace_back<nn::Linear>(in, 50);
    if (batchnorm) m->emplace_back<nn::BatchNorm1d>(50);
    if (act == "sigmoid") m->emplace_back<nn::Sigmoid>();
    else m->emplace_back<nn::ReLU>();
    in = 50;
  }
  m->emplace_back<nn::Linear>(in, 3);
  NoGradGuard ng;
  for (auto& [name, p] : m->named_parameters()) {
    if (p.dim() != 2) {
      if (name.find("weight") == std::string::npos) nn::init::zeros_(p);  // biases; BatchNorm keeps gamma = 1
      continue;
    }
    if (init == "xavier") nn::init::xavier_uniform_(p);
    else if (init == "kaiming") nn::init::kaiming_uniform_(p, 0.0, nn::init::FanMode::fan_in, "relu");
    else if (init == "zeros") nn::init::zeros_(p);
    else nn::init::normal_(p, 0.0, std::atof(init.c_str() + 7));  // "normal:STD"
  }
  return m;
}

Recipe sgd(double lr, double momentum = 0, double decay = 0, bool nesterov = false) {
  return {[=](const TensorList& p) {
            return std::make_unique<optim::SGD>(p, optim::SGDOptions{.lr = lr, .momentum = momentum, .nesterov = nesterov});
          },
          decay};
}

struct BlobsTask {
  Tensor xtr, ytr, xte, yte;
  explicit BlobsTask(const std::string& source) {
    const data::BlobsOptions o{.n_samples = 1000, .n_features = 2, .n_centers = 3, .cluster_std = {2.0}};
    data::BlobsOptions def = o, sk = o;
    def.seed = 1;
    sk.seed = 2;  // scikit-learn's random_state
    auto b = source == "sklearn" ? data::sklearn_make_blobs(sk) : data::make_blobs(def);
    xtr = b.X.slice(0, 0, 500);
    ytr = b.y.slice(0, 0, 500);
    xte = b.X.slice(0, 500, 1000);
    yte = b.y.slice(0, 500, 1000);
  }
};

double accuracy(nn::Module& m, const Tensor& x, const Tensor& y) {
  NoGradGuard ng;
  return eq(m.forward(x).argmax(1), y).to(kFloat64).mean().item<double>();
}

// With `prof`, the steps are also profiled (hpml experiment --profile: profile_run.h).
Run run_blobs(const BlobsTask& t, const Recipe& recipe, int epochs, uint64_t seed, StepProfiler* prof) {
  manual_seed(seed);
  std::shared_ptr<nn::Sequential> custom = recipe.model ? recipe.model() : nullptr;
  nn::Sequential protocol(nn::Linear(2, 50), nn::ReLU(), nn::Linear(50, 3));
  nn::Sequential& model = custom ? *custom : protocol;
  if (!custom) {
    NoGradGuard ng;
    auto params = model.parameters();  // weight, bias, weight, bias
    nn::init::kaiming_uniform_(params[0], 0.0, nn::init::FanMode::fan_in, "relu");
    nn::init::zeros_(params[1]);
    nn::init::xavier_uniform_(params[2]);
    nn::init::zeros_(params[3]);
  }
  std::unique_ptr<optim::Optimizer> owned = recipe.optimizer(model.parameters());
  optim::Optimizer& opt = *owned;
  std::unique_ptr<optim::InverseTimeDecay> sched;
  if (recipe.decay > 0) sched = std::make_unique<optim::InverseTimeDecay>(opt, recipe.decay);
  auto train = std::make_shared<data::TensorDataset>(std::vector<Tensor>{t.xtr, t.ytr});
  // The same generator seed gives the same permutation whatever the batch size, so batch 100 is
  // exactly four consecutive micro-batches of 25.
  data::DataLoader loader(train, {.batch_size = recipe.batch, .shuffle = true,
                                  .generator = std::make_shared<Generator>(seed + 1000)});
  Run r;
  for (int e = 0; e < epochs; ++e) {
    double loss_sum = 0, correct = 0;
    int64_t n = 0, micro = 0;
    for (data::Batch& b : loader) {
      Tensor logits, loss;
      {
        RECORD_FUNCTION("forward");  // the phases of a step, for --profile
        logits = model.forward(b[0]);
        loss = nn::functional::cross_entropy(logits, b[1]);
        NoGradGuard ng;  // this batch scored before its update: Note [Two train curves]
        correct += eq(logits.detach().argmax(1), b[1]).to(kFloat64).sum().item<double>();
      }
      {
        RECORD_FUNCTION("backward");
        (recipe.accumulate > 1 ? loss / static_cast<double>(recipe.accumulate) : loss).backward();
      }
      loss_sum += loss.item<double>() * static_cast<double>(b[0].size(0));
      n += b[0].size(0);
      if (++micro % recipe.accumulate != 0) continue;
      r.lrs.push_back(opt.lr(0));
      {
        RECORD_FUNCTION("optimizer");
        opt.step();
        opt.zero_grad();
        if (sched) sched->step();
      }
      if (prof) prof->step();
    }
    r.train_loss.push_back(loss_sum / static_cast<double>(n));
    r.train_running.push_back(correct / static_cast<double>(n));
    r.train_acc.push_back(accuracy(model, t.xtr, t.ytr));
    r.test_acc.push_back(accuracy(model, t.xte, t.yte));
  }
  TensorList flat;
  for (const Tensor& p : model.parameters()) flat.push_back(p.detach().reshape({-1}));
  r.weights = cat(flat);
  return r;
}

// Median and min-max over seeds of one per-epoch curve.
plot::Series summarize(const std::string& label, const std::vector<std::vector<double>>& runs) {
  plot::Series s{.label = label};
  const size_t n = runs.front().size();
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r[i]);
    std::sort(v.begin(), v.end());
    s.x.push_back(static_cast<double>(i + 1));
    s.y.push_back(v[v.size() / 2]);
    if (runs.size() > 1) {
      s.lo.push_back(v.front());
      s.hi.push_back(v.back());
    }
  }
  return s;
}

constexpr const char* kExperiments =
    "lr-decay | momentum | lr-range | batch-size | optimizers | batchnorm | init | activations";

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

struct Sweep {
  std::string name, title, param;  // "lr-decay", ..., the swept parameter
  std::vector<std::string> settings;  // its values, as labels
  std::function<Run(const BlobsTask&, size_t setting, uint64_t seed, StepProfiler* prof)> run;
};

// Every seed's curves of one setting; each epoch is also a row of results.csv.
struct Curves {
  std::vector<std::vector<double>> train, test, loss, running;
  std::vector<double> lrs;  // seed 0's
  Tensor weights;           // seed 0's
};

// --profile: the first setting's first seed is profiled, into the experiment's folder.
Curves run_setting(const Sweep& sw, const BlobsTask& task, size_t k, const ExperimentOptions& o, std::ofstream& csv) {
  const bool running = o.train_acc == "running";
  Curves c;
  for (int s = 0; s < o.seeds; ++s) {
    std::unique_ptr<StepProfiler> prof;
    if (o.profile && k == 0 && s == 0)
      prof = std::make_unique<StepProfiler>(o.out + "/" + sw.name, default_profile_steps(20, -1, -1, -1),  // 500 points in batches of 25
                                            "hpml experiment " + sw.name);
    Run r = sw.run(task, k, static_cast<uint64_t>(s), prof.get());
    if (prof) std::fputs(prof->finish().c_str(), stdout);
    for (size_t e = 0; e < r.train_acc.size(); ++e) {
      csv << sw.settings[k] << ',' << s << ',' << e + 1 << ',' << r.train_loss[e] << ',' << r.train_acc[e] << ','
          << r.test_acc[e];
      if (running) csv << ',' << r.train_running[e];
      csv << '\n';
    }
    c.train.push_back(r.train_acc);
    c.test.push_back(r.test_acc);
    c.loss.push_back(r.train_loss);
    c.running.push_back(r.train_running);
    if (s == 0) c.lrs = r.lrs, c.weights = r.weights;
  }
  return c;
}

// One setting's accuracy panel: train and test; with --train-acc running also Keras's running
// train accuracy (Note [Two train curves]), drawn third so that the other two keep their colours.
plot::Chart accuracy_panel(const std::string& title, const Curves& c, bool running) {
  plot::Chart p{.title = title, .xlabel = "epoch", .ylabel = "accuracy", .integer_x = true};
  p.series.push_back(summarize(running ? "train (end of epoch)" : "train", c.train));
  p.series.push_back(summarize("test", c.test));
  if (running) p.series.push_back(summarize("train (running, as Keras)", c.running));
  return p;
}

int run_sweep(const Sweep& sw, const ExperimentOptions& o) {
  const std::string out = o.out + "/" + sw.name;
  const bool running = o.train_acc == "running";
  std::filesystem::create_directories(out);
  BlobsTask task(o.data);
  std::ofstream csv(out + "/results.csv");
  csv << sw.param << ",seed,epoch,train_loss,train_acc,test_acc" << (running ? ",train_acc_running" : "") << '\n';
  std::vector<plot::Chart> panels;
  plot::Chart lr_chart{.title = "learning rate per update", .xlabel = "update", .ylabel = "lr"};
  plot::Chart loss_chart{.title = "training loss (median over seeds)", .xlabel = "epoch", .ylabel = "loss", .log_y = true,
                         .integer_x = true};
  std::printf("%s: %d seed(s) per setting, %s data\n%-10s %12s %12s %12s%s\n", sw.title.c_str(), o.seeds,
              o.data.c_str(), sw.param.c_str(), "train acc", "test acc", "train loss", running ? "  running acc" : "");
  plot::Chart test_chart{.title = "test accuracy (median over seeds)", .xlabel = "epoch", .ylabel = "accuracy",
                         .integer_x = true};
  std::vector<Tensor> seed0_weights;
  for (size_t k = 0; k < sw.settings.size(); ++k) {
    const std::string& v = sw.settings[k];
    const Curves c = run_setting(sw, task, k, o, csv);
    seed0_weights.push_back(c.weights);
    panels.push_back(accuracy_panel(sw.param + " = " + v, c, running));
    plot::Series tb = summarize(v, c.test), l = summarize(sw.param + " " + v, c.loss);
    tb.lo.clear();
    tb.hi.clear();
    test_chart.series.push_back(tb);
    for (double& y : l.y)
      if (!(y > 0) || !std::isfinite(y)) y = NAN;  // a diverged run leaves the log axis
    l.lo.clear();
    l.hi.clear();
    loss_chart.series.push_back(l);
    plot::Series lr{.label = sw.param + " " + v};
    for (size_t i = 0; i < std::min<size_t>(c.lrs.size(), 200); ++i) {
      lr.x.push_back(static_cast<double>(i + 1));
      lr.y.push_back(c.lrs[i]);
    }
    lr_chart.series.push_back(lr);
    std::printf("%-10s %12.4f %12.4f %12.4g", v.c_str(), summarize("", c.train).y.back(), tb.y.back(),
                summarize("", c.loss).y.back());
    if (running) std::printf(" %12.4f", summarize("", c.running).y.back());
    std::printf("\n");
  }
  if (sw.name == "batch-size")
    std::printf("largest |weight difference| between %s and %s (seed 0): %.3g\n", sw.settings[0].c_str(),
                sw.settings[1].c_str(), (seed0_weights[0] - seed0_weights[1]).abs().max().item<double>());
  if (panels.size() <= 4)
    plot::save_grid(panels, {.title = sw.title + ": accuracy per epoch", .shared_y = true}, out + "/accuracy");
  else plot::save(test_chart, out + "/accuracy");
  plot::save(loss_chart, out + "/loss");
  if (sw.name == "lr-decay") plot::save(lr_chart, out + "/lr");
  std::printf("wrote %s/accuracy.png, %s/loss.png%s and %s/results.csv (and .svg)\n", out.c_str(), out.c_str(),
              sw.name == "lr-decay" ? (", " + out + "/lr.png").c_str() : "", out.c_str());
  return 0;
}

// Per-layer gradient norms at initialization (one forward and backward over the 500 training
// points), for activation / initialization pairs: vanishing and exploding gradients.
int gradient_norms(const ExperimentOptions& o) {
  const int seeds = o.seeds;
  const std::string out = o.out + "/activations";
  std::filesystem::create_directories(out);
  BlobsTask task(o.data);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"sigmoid", "normal:1"}, {"sigmoid", "xavier"}, {"relu", "normal:1"}, {"relu", "kaiming"}};
  const int depth = 8;
  plot::Chart chart{.title = "gradient norm of each layer's weight at initialization (MLP, 8 hidden layers of 50)",
                    .xlabel = "layer (1 = next to the input)", .ylabel = "||dL/dW||", .log_y = true};
  std::ofstream csv(out + "/results.csv");
  csv << "activation,init,seed,layer,grad_norm\n";
  std::printf("per-layer gradient norms at initialization, median of %d seed(s)\n%-8s %-9s %12s %12s\n", seeds,
              "act", "init", "layer 1", "layer 9");
  for (const auto& [act, init] : cases) {
    std::vector<std::vector<double>> runs;
    for (int s = 0; s < seeds; ++s) {
      manual_seed(static_cast<uint64_t>(s));
      auto m = deep_mlp(depth, act, init, false);
      nn::functional::cross_entropy(m->forward(task.xtr), task.ytr).backward();
      std::vector<double> norms;
      for (auto& [name, p] : m->named_parameters())
        if (p.dim() == 2) norms.push_back(p.grad().norm().item<double>());
      for (size_t l = 0; l < norms.size(); ++l)
        csv << act << ',' << init << ',' << s << ',' << l + 1 << ',' << norms[l] << '\n';
      runs.push_back(norms);
    }
    plot::Series series = summarize(act + ", " + init, runs);
    chart.series.push_back(series);
    std::printf("%-8s %-9s %12.3g %12.3g\n", act.c_str(), init.c_str(), series.y.front(), series.y.back());
  }
  plot::save(chart, out + "/grad-norms");
  std::printf("wrote %s/grad-norms.png and %s/results.csv (and .svg)\n", out.c_str(), out.c_str());
  return 0;
}

}  // namespace

void add_experiment_options(CLI::App& app, ExperimentOptions& o) {
  app.add_option("name", o.name, kExperiments)->required();
  app.add_option("--seeds", o.seeds, "seeds per setting (median and min-max band)")
      ->check(int_in(1, 1000))->capture_default_str();
  app.add_option("--epochs", o.epochs, "epochs per run")->check(int_in(1, kMaxEpochs))->capture_default_str();
  app.add_option("--out", o.out, "output folder")->capture_default_str();
  app.add_option("--data", o.data,
                 "default: hpml's make_blobs (seed 1); sklearn: scikit-learn's make_blobs(n_samples=1000, centers=3, "
                 "n_features=2, cluster_std=2.0, random_state=2), bit for bit")
      ->check(CLI::IsMember({"default", "sklearn"}))
      ->capture_default_str();
  app.add_option("--train-acc", o.train_acc,
                 "pass: train accuracy from a pass over the training set after each epoch; running: also the running "
                 "mean over the epoch's batches, each scored before its update (as Keras reports it)")
      ->check(CLI::IsMember({"pass", "running"}))
      ->capture_default_str();
  app.add_flag("--profile", o.profile, "profile a few steps of the first run: OUT/NAME/trace.json, profile.txt and "
               "profile.png (docs/profiling.md)");
}

int experiment(const ExperimentOptions& o) {
  const std::string& name = o.name;
  HPML_CHECK(!(o.profile && name == "activations"), "experiment activations: --profile needs training steps, and "
             "activations runs one forward and backward at initialization\nhint: profile another experiment");
  const int epochs = o.epochs;
  auto numeric = [&](std::string title, std::string param, std::vector<double> values,
                     std::function<Recipe(double)> recipe) {
    std::vector<std::string> labels;
    for (double v : values) labels.push_back(fmt(v));
    return run_sweep({name, std::move(title), std::move(param), labels,
                      [=](const BlobsTask& t, size_t k, uint64_t s, StepProfiler* prof) {
                        return run_blobs(t, recipe(values[k]), epochs, s, prof);
                      }},
                     o);
  };
  if (name == "lr-decay")
    return numeric("SGD lr 0.01 with time-based decay lr0 / (1 + decay * t), t in updates", "decay",
                   {1e-1, 1e-2, 1e-3, 1e-4}, [](double d) { return sgd(0.01, 0, d); });
  if (name == "momentum")
    return numeric("SGD lr 0.01 with momentum, no decay", "momentum", {0.0, 0.5, 0.9, 0.99},
                   [](double m) { return sgd(0.01, m); });
  if (name == "lr-range")
    return numeric("SGD at constant learning rates", "lr", {1e-4, 1e-2, 0.5, 5.0}, [](double lr) { return sgd(lr); });
  if (name == "batch-size") {
    // Four micro-batches of 25 with the loss scaled by 1/4 are one batch of 100: the same weights
    // (up to float rounding); plain batches of 25 take four times as many, noisier steps.
    std::vector<Recipe> r{sgd(0.05), sgd(0.05), sgd(0.05)};
    r[0].batch = 100;
    r[1].batch = 25;
    r[1].accumulate = 4;
    r[2].batch = 25;
    return run_sweep({name, "SGD lr 0.05: one batch of 100, four accumulated micro-batches of 25, batches of 25",
                      "batch", {"100", "25x4", "25"},
                      [=](const BlobsTask& t, size_t k, uint64_t s, StepProfiler* prof) {
                        return run_blobs(t, r[k], epochs, s, prof);
                      }},
                     o);
  }
  if (name == "optimizers") {
    using F = std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)>;
    const std::vector<std::pair<std::string, F>> opts{
        {"sgd", sgd(0.01).optimizer},
        {"momentum", sgd(0.01, 0.9).optimizer},
        {"nesterov", sgd(0.01, 0.9, 0, true).optimizer},
        {"adagrad", [](const TensorList& p) { return std::make_unique<optim::Adagrad>(p, optim::AdagradOptions{.lr = 0.1}); }},
        {"adadelta", [](const TensorList& p) { return std::make_unique<optim::Adadelta>(p, optim::AdadeltaOptions{}); }},
        {"rmsprop", [](const TensorList& p) { return std::make_unique<optim::RMSprop>(p, optim::RMSpropOptions{.lr = 1e-3}); }},
        {"adam", [](const TensorList& p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions{}); }}};
    std::vector<std::string> labels;
    for (const auto& o : opts) labels.push_back(o.first);
    return run_sweep({name, "optimizers at their usual rates (sgd 0.01, adagrad 0.1, adadelta 1, rmsprop and adam 1e-3)",
                      "optimizer", labels,
                      [=](const BlobsTask& t, size_t k, uint64_t s, StepProfiler* prof) {
                        return run_blobs(t, Recipe{opts[k].second}, epochs, s, prof);
                      }},
                     o);
  }
  if (name == "activations") return gradient_norms(o);
  if (name == "batchnorm" || name == "init") {
    // batchnorm: a deep sigmoid MLP crawls without BatchNorm and trains with it, also at a 10x rate.
    // init: a deep ReLU MLP from zeros (stuck), too small (vanishing), too large (exploding), He.
    std::vector<std::string> labels;
    std::vector<Recipe> recipes;
    if (name == "batchnorm") {
      for (double lr : {0.1, 1.0})
        for (bool bn : {false, true}) {
          labels.push_back(std::string(bn ? "batchnorm" : "plain") + ", lr " + fmt(lr));
          Recipe r = sgd(lr);
          r.model = [bn] { return deep_mlp(4, "sigmoid", "xavier", bn); };
          recipes.push_back(r);
        }
    } else {
      for (const char* init : {"zeros", "normal:0.01", "normal:1", "kaiming"}) {
        labels.push_back(init);
        Recipe r = sgd(0.01);
        r.model = [init] { return deep_mlp(6, "relu", init, false); };
        recipes.push_back(r);
      }
    }
    return run_sweep({name, name == "batchnorm" ? "a 4-hidden-layer sigmoid MLP with and without BatchNorm, SGD"
                                                : "a 6-hidden-layer ReLU MLP from four initializations, SGD lr 0.01",
                      name == "batchnorm" ? "model" : "init", labels,
                      [=](const BlobsTask& t, size_t k, uint64_t s, StepProfiler* prof) {
                        return run_blobs(t, recipes[k], epochs, s, prof);
                      }},
                     o);
  }
  HPML_CHECK(false, "unknown experiment '", name,
             "' (lr-decay, momentum, lr-range, batch-size, optimizers, batchnorm, init, activations)");
  return 2;
}

}  // namespace hpml::cli
