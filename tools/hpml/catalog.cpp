// The names `hpml` offers (models, datasets, optimizers, schedules, experiments) with one line
// each, in one table, and `hpml list`, which prints them; the errors for an unknown name list
// them from here too. The names follow models.cpp, schedules.cpp, options.cpp's help and
// experiment.cpp; the catalog test checks that each one is accepted where it is offered.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "catalog.h"
#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "suggest.h"

namespace hpml::cli {

namespace {

struct Group {
  const char* name;
  const char* singular;
  const char* heading;
};

constexpr Group kGroups[] = {
    {"models", "model", "models (hpml train --model NAME; every one reads --init)"},
    {"datasets", "dataset", "datasets (hpml train --dataset NAME; every one reads --val-split)"},
    {"optimizers", "optimizer", "optimizers (hpml train --optimizer NAME)"},
    {"schedules", "schedule", "learning-rate schedules (hpml train --schedule NAME)"},
    {"experiments", "experiment",
     "experiments on blobs (hpml experiment NAME; --seeds, --epochs, --data, --train-acc, --out)"},
};

// The table (clang-format would put each field on a line of its own).
// clang-format off
std::vector<CatalogEntry> make_catalog() {
  return {
      // models (models.cpp, plan_model)
      {"logreg", "models", "logistic regression: one linear layer from the flattened input to the classes", {}},
      {"linreg", "models", "linear regression: one linear layer to one output (regression data)", {}},
      {"mlp", "models", "multilayer perceptron: a linear layer of each --hidden size and the activation",
       {"--hidden", "--activation", "--batchnorm", "--dropout"}},
      {"cnn", "models", "two 3x3 convolutions (32, 64 channels) with max-pooling, linear 3136 -> 128 -> classes; "
       "28x28 images", {"--activation", "--batchnorm", "--dropout"}},
      {"lenet", "models", "LeNet-5: 5x5 convolutions (6, 16 channels) with average pooling, linear 400 -> 120 -> "
       "84 -> classes; 28x28 images", {"--activation"}},
      {"gpt", "models", "a decoder-only transformer over characters or BPE pieces (GPT-2's layout: pre-norm blocks "
       "of causal self-attention and a 4x GELU feed-forward); text:PATH data; sample with hpml generate",
       {"--layers", "--heads", "--width", "--block-size", "--dropout", "--tokenizer", "--vocab-size"}},
      // datasets (models.cpp, make_data)
      {"fashion-mnist", "datasets", "Zalando's Fashion-MNIST: 60,000 + 10,000 28x28 grayscale images of 10 kinds of "
       "clothing", {}},
      {"mnist:PATH", "datasets", "MNIST-format IDX files in folder PATH ({train,t10k}-{images-idx3,labels-idx1}-ubyte"
       "[.gz]): 28x28 images, 10 classes", {}},
      {"blobs", "datasets", "2,000 points around 4 centres, 2 features, spread 1.5", {}},
      {"moons", "datasets", "2,000 points on two interleaved half circles, noise 0.2, 2 classes", {}},
      {"regression", "datasets", "2,000 points, 10 features (5 informative), a real target with noise 1 (for "
       "linreg)", {}},
      {"csv:PATH", "datasets", "a numeric CSV file with a header line; the last column is the integer class label", {}},
      {"text:PATH", "datasets", "a text file, or a folder of them (/usr/share/games/fortunes from Debian's fortunes "
       "package), as characters or BPE pieces for --model gpt: windows of --block-size, the last 10 % for test",
       {"--block-size", "--tokenizer", "--vocab-size"}},
      // optimizers (models.cpp, make_optimizer)
      {"sgd", "optimizers", "stochastic gradient descent, lr 0.05 unless --lr, momentum 0.9 unless --momentum",
       {"--lr", "--momentum", "--nesterov", "--weight-decay"}},
      {"adagrad", "optimizers", "Adagrad: a per-weight rate from the sum of squared gradients, lr 1e-2",
       {"--lr", "--weight-decay"}},
      {"adadelta", "optimizers", "Adadelta: Adagrad with running averages instead of sums, lr 1",
       {"--lr", "--weight-decay"}},
      {"rmsprop", "optimizers", "RMSprop: a running average of squared gradients, lr 1e-3",
       {"--lr", "--momentum", "--weight-decay"}},
      {"adam", "optimizers", "Adam: running first and second moments of the gradient, lr 1e-3",
       {"--lr", "--beta1", "--beta2", "--weight-decay"}},
      {"adamw", "optimizers", "AdamW: Adam with decoupled weight decay (0.01 unless --weight-decay), lr 1e-3",
       {"--lr", "--beta1", "--beta2", "--weight-decay"}},
      // schedules (schedules.cpp)
      {"none", "schedules", "the same lr for the whole run", {}},
      {"step", "schedules", "the lr times --gamma every --step-size epochs", {"--step-size", "--gamma"}},
      {"multistep", "schedules", "the lr times --gamma at each of the --milestones epochs",
       {"--milestones", "--gamma"}},
      {"exponential", "schedules", "the lr times --gamma every epoch", {"--gamma"}},
      {"multiplicative", "schedules", "the lr times a constant factor --gamma every epoch (MultiplicativeLR)",
       {"--gamma"}},
      {"constant", "schedules", "--factor x the lr for --warmup-epochs epochs, then the lr",
       {"--factor", "--warmup-epochs"}},
      {"linear", "schedules", "from the lr down in a straight line to --factor x the lr over the run",
       {"--factor", "--epochs"}},
      {"warmup", "schedules", "a linear warm-up from 0.1 x the lr over --warmup-epochs, then the lr",
       {"--warmup-epochs"}},
      {"polynomial", "schedules", "the lr x (1 - epoch / epochs)^--power, down to 0 over the run",
       {"--power", "--epochs"}},
      {"cosine", "schedules", "cosine annealing from the lr to 0 over the run", {"--epochs"}},
      {"cosine-restarts", "schedules", "cosine annealing restarted after --t0 epochs, each cycle --t-mult times longer",
       {"--t0", "--t-mult"}},
      {"cyclic", "schedules", "triangular cycles between the lr and --max-lr, one per --step-size epochs, every batch",
       {"--max-lr", "--step-size", "--momentum"}},
      {"onecycle", "schedules", "one cycle up to --max-lr and down again over the run, every batch",
       {"--max-lr", "--epochs"}},
      {"inverse-time", "schedules", "lr / (1 + --decay x epoch)", {"--decay"}},
      {"warmup-cosine", "schedules", "a linear warm-up over --warmup-epochs, then cosine annealing to the end",
       {"--warmup-epochs", "--epochs"}},
      {"chained", "schedules", "--factor x the lr for --warmup-epochs epochs, and times --gamma every epoch",
       {"--factor", "--warmup-epochs", "--gamma"}},
      {"plateau", "schedules", "the lr times --factor after --patience epochs without a better validation loss",
       {"--factor", "--patience", "--val-split"}},
      // experiments (experiment.cpp)
      {"lr-decay", "experiments", "SGD lr 0.01 with time-based decay lr0 / (1 + decay t), decay 1e-1 to 1e-4", {}},
      {"momentum", "experiments", "SGD lr 0.01 with momentum 0, 0.5, 0.9 and 0.99", {}},
      {"lr-range", "experiments", "SGD at constant learning rates 1e-4, 1e-2, 0.5 and 5", {}},
      {"batch-size", "experiments", "one batch of 100, four accumulated micro-batches of 25, batches of 25", {}},
      {"optimizers", "experiments", "sgd, momentum, nesterov, adagrad, adadelta, rmsprop and adam at usual rates", {}},
      {"batchnorm", "experiments", "a 4-hidden-layer sigmoid MLP with and without BatchNorm, lr 0.1 and 1", {}},
      {"init", "experiments", "a 6-hidden-layer ReLU MLP from zeros, normal(0.01), normal(1) and He weights", {}},
      {"activations", "experiments", "per-layer gradient norms at initialization, activation by initialization", {}},
  };
}
// clang-format on

// The group a name given to `hpml list` means: a group's name or its singular.
const Group* find_group(std::string_view name) {
  for (const Group& g : kGroups)
    if (name == g.name || name == g.singular) return &g;
  return nullptr;
}

std::string group_text(const Group& g) {
  std::string out = std::string(g.heading) + "\n";
  for (const CatalogEntry& e : catalog()) {
    if (e.group != g.name) continue;
    std::string opts;
    for (const std::string& o : e.options) opts += (opts.empty() ? "" : " ") + o;
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %-16s ", e.name.c_str());
    out += buf + e.description + (opts.empty() ? "" : "  [" + opts + "]") + "\n";
  }
  return out;
}

}  // namespace

const std::vector<CatalogEntry>& catalog() {
  static const std::vector<CatalogEntry> table = make_catalog();
  return table;
}

std::vector<std::string> catalog_groups() {
  std::vector<std::string> out;
  for (const Group& g : kGroups) out.emplace_back(g.name);
  return out;
}

std::vector<std::string> names(std::string_view group) {
  std::vector<std::string> out;
  for (const CatalogEntry& e : catalog())
    if (e.group == group) out.push_back(e.name);
  return out;
}

std::string unknown_name(std::string_view what, const std::string& value, std::string_view group) {
  const std::vector<std::string> all = names(group);
  std::string list;
  for (const std::string& n : all) list += (list.empty() ? "" : ", ") + n;
  return "unknown " + std::string(what) + " " + printable(value) + did_you_mean(value, all) + " (" + list + ")";
}

std::string list_text(const std::string& group) {
  if (group.empty() || group == "all") {
    std::string out;
    for (const Group& g : kGroups) out += (out.empty() ? "" : "\n") + group_text(g);
    return out;
  }
  const Group* g = find_group(group);
  HPML_CHECK(g != nullptr, "hpml list: unknown group ", printable(group),
             " (models, datasets, optimizers, schedules, experiments, or nothing for all)");
  return group_text(*g);
}

void add_list_options(CLI::App& app, std::string& group) {
  app.add_option("what", group, "models | datasets | optimizers | schedules | experiments (default: all of them)");
}

int list(const std::string& group) {
  std::fputs(list_text(group).c_str(), stdout);
  return 0;
}

}  // namespace hpml::cli
