// The pieces `hpml train` builds from its options: datasets, models, optimizers (schedules:
// schedules.cpp).
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "catalog.h"
#include "gpt.h"
#include "train.h"

namespace hpml::cli {

namespace {

// Note [Three splits]
// Choosing on the test set is the leak a course warns about: the best checkpoint, the plateau
// schedule and early stopping would all be tuned to the very points the run reports on. So
// every data set has three parts. Test is the data set's own test part (Fashion-MNIST's 10,000
// images) or, for synthetic and CSV data, 20 % of the points drawn with a fixed generator.
// Validation is --val-split of what remains, the last rows of a fixed permutation: a fixed
// generator, not --seed, so that runs with different seeds are compared on the same points.
// Each part is its own TensorDataset of gathered rows (not a Subset), so that spawn and
// forkserver workers can rebuild it from shared memory.
constexpr uint64_t kSplitSeed = 12345;

data::DatasetPtr rows(const std::vector<Tensor>& t, const Tensor& index) {
  std::vector<Tensor> parts;
  for (const Tensor& x : t) parts.push_back(x.index_select(0, index).contiguous());
  return std::make_shared<data::TensorDataset>(parts);
}

// `train` (X, y) cut into train and validation; `test` as given, or null to take 20 % of `train`.
void cut(DataSplits& d, const std::vector<Tensor>& train, data::DatasetPtr test, double val_split) {
  const int64_t n = train[0].size(0);
  Generator g(kSplitSeed);
  const Tensor perm = randperm(n, &g);
  int64_t n_fit = n;
  if (!test) {
    n_fit = n * 8 / 10;
    test = rows(train, perm.slice(0, n_fit, n));
  }
  const auto n_val = static_cast<int64_t>(std::llround(val_split * static_cast<double>(n_fit)));
  HPML_CHECK(val_split == 0 || (n_val >= 1 && n_fit - n_val >= 1), "--val-split ", val_split, " of ", n_fit,
             " training samples leaves ", n_fit - n_val, " to train on and ", n_val, " to validate on; both need one");
  d.train = rows(train, perm.slice(0, 0, n_fit - n_val));
  if (n_val > 0) d.val = rows(train, perm.slice(0, n_fit - n_val, n_fit));
  d.test = std::move(test);
}

std::string counts(const DataSplits& d) {
  return std::to_string(d.train->size()) + " train, " + std::to_string(d.val ? d.val->size() : 0) +
         " validation, " + std::to_string(d.test->size()) + " test";
}

// A synthetic or CSV set: X, y and the classes (0: regression); every part drawn from it.
DataSplits labelled(Tensor X, Tensor y, int64_t classes, const std::string& what, double val_split) {
  DataSplits d;
  d.input_shape.assign(X.sizes().begin() + 1, X.sizes().end());
  d.classes = classes;
  cut(d, {X, y}, nullptr, val_split);
  d.description = what + " (" + counts(d) + ")";
  return d;
}

std::shared_ptr<nn::Module> activation(const std::string& name) {
  if (name == "relu") return std::make_shared<nn::ReLU>();
  if (name == "tanh") return std::make_shared<nn::Tanh>();
  if (name == "sigmoid") return std::make_shared<nn::Sigmoid>();
  if (name == "gelu") return std::make_shared<nn::GELU>();
  HPML_CHECK(false, "unknown activation ", printable(name), " (relu, tanh, sigmoid, gelu)");
  return nullptr;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

void check_image(const std::string& model, const DataSplits& d) {
  HPML_CHECK(d.input_shape == std::vector<int64_t>({1, 28, 28}), "--model ", printable(model),
             " needs 28x28 single-channel images (fashion-mnist or mnist:PATH), the dataset gives ",
             IntArrayRef(d.input_shape));
}

}  // namespace

DataSplits make_data(const TrainConfig& c) {
  const std::string& d = c.dataset;
  HPML_CHECK(c.tokenizer == "char" || d.rfind("text:", 0) == 0, "--tokenizer ", printable(c.tokenizer), " reads a "
             "text:PATH dataset, not ", printable(d));
  HPML_CHECK(c.vocab_size == 0 || c.tokenizer == "bpe", "--vocab-size ", c.vocab_size, " is for --tokenizer bpe; "
             "with --tokenizer ", printable(c.tokenizer), " the vocabulary is the text's distinct bytes");
  DataSplits out;
  if (d == "fashion-mnist" || d.rfind("mnist:", 0) == 0) {
    std::shared_ptr<data::datasets::MNIST> train, test;
    if (d == "fashion-mnist") {
      train = std::make_shared<data::datasets::FashionMNIST>(data::datasets::kFashionMNISTRoot, true);
      test = std::make_shared<data::datasets::FashionMNIST>(data::datasets::kFashionMNISTRoot, false);
    } else {
      train = std::make_shared<data::datasets::MNIST>(d.substr(6), true);
      test = std::make_shared<data::datasets::MNIST>(d.substr(6), false);
    }
    out.input_shape = {1, 28, 28};
    out.classes = 10;
    out.class_names = train->classes();
    cut(out, {train->images(), train->labels()}, test, c.val_split);
    out.description = train->name() + " (" + counts(out) + " images)";
  } else if (d == "blobs") {
    auto b = data::make_blobs({.n_samples = 2000, .n_features = 2, .n_centers = 4, .cluster_std = {1.5}, .seed = 7});
    out = labelled(b.X, b.y, 4, "blobs: 2000 points, 4 centers, 2 features", c.val_split);
  } else if (d == "moons") {
    auto m = data::make_moons({.n_samples = 2000, .noise = 0.2, .seed = 7});
    out = labelled(m.X, m.y, 2, "moons: 2000 points, noise 0.2", c.val_split);
  } else if (d == "regression") {
    auto r = data::make_regression({.n_samples = 2000, .n_features = 10, .n_informative = 5, .noise = 1.0, .seed = 7});
    out = labelled(r.X, r.y.unsqueeze(1), 0, "regression: 2000 points, 10 features, noise 1", c.val_split);
  } else if (d.rfind("csv:", 0) == 0) {
    // Each label must lie in [0, kMaxClasses): -100 (cross_entropy's ignore_index: training would
    // skip the row in silence, and eval would index its confusion matrix with it) or a huge one
    // (the class count overflows) is refused by the reader, with its line.
    data::CsvTable t = data::read_csv(d.substr(4), {.num_classes = kMaxClasses});
    HPML_CHECK(t.labels.numel() >= 3, d.substr(4), ": ", t.labels.numel(), " rows; a run needs at least 3 (train, "
               "validation and test)");
    const int64_t classes = t.labels.max().item<int64_t>() + 1;
    out = labelled(t.features, t.labels, classes, d.substr(4) + ": " + std::to_string(t.features.size(0)) + " rows",
                   c.val_split);
  } else if (d.rfind("text:", 0) == 0) {
    out = text_data(d.substr(5), c.block_size, c.val_split,
                    {.tokenizer = c.tokenizer, .vocab_size = c.vocab_size, .threads = c.threads});
  } else {
    HPML_FAIL(unknown_name("dataset", d, "datasets"));
  }
  if (out.class_names.empty())
    for (int64_t k = 0; k < out.classes; ++k) out.class_names.push_back(std::to_string(k));
  return out;
}

// Note [Planning a model before building it]
// `hpml eval` rebuilds a model from the arguments a checkpoint recorded, and a checkpoint is a
// file from anywhere: its arguments could ask for --hidden 65536 65536 ... So the model is first
// planned as a list of layers, whose state-dict shapes are known without allocating anything;
// eval compares them with the checkpoint's own tensors, and every run checks the parameter count,
// before a single weight exists.
std::vector<LayerSpec> plan_model(const TrainConfig& c, const DataSplits& d) {
  using K = LayerSpec::Kind;
  const int64_t in = numel(d.input_shape);
  std::vector<LayerSpec> plan;
  auto act = [&] { plan.push_back({.kind = K::activation, .activation = c.activation}); };
  auto linear = [&](int64_t i, int64_t o) { plan.push_back({.kind = K::linear, .in = i, .out = o}); };
  auto conv = [&](int64_t i, int64_t o, int64_t k, int64_t pad) {
    plan.push_back({.kind = K::conv, .in = i, .out = o, .kernel = k, .padding = pad});
  };
  auto pool = [&](K kind) { plan.push_back({.kind = kind, .kernel = 2}); };
  activation(c.activation);  // an unknown name fails here, before anything is planned
  HPML_CHECK(c.init == "default" || c.init == "kaiming" || c.init == "xavier", "unknown init ", printable(c.init),
             " (default, kaiming, xavier)");
  if (c.model == "linreg") {
    HPML_CHECK(d.classes == 0, "--model linreg needs a regression dataset (regression, or csv:PATH with a numeric target)");
    plan.push_back({.kind = K::flatten});
    linear(in, 1);
    return plan;
  }
  HPML_CHECK(d.classes > 0, "--model ", printable(c.model), " is a classifier; the dataset is a regression one (use linreg)");
  const bool text = d.tokenizer != nullptr;
  HPML_CHECK(text == (c.model == "gpt"), text ? "a text:PATH dataset trains --model gpt, not --model "
             : "--model gpt trains on a text:PATH dataset, not ", printable(text ? c.model : c.dataset));
  if (c.model == "gpt") {
    HPML_CHECK(c.init == "default", "--model gpt has its own initialization (GPT-2's); --init ", printable(c.init),
               " does not apply");
    plan.push_back({.kind = K::gpt, .in = d.classes, .out = c.width, .p = c.dropout, .layers = c.layers,
                    .heads = c.heads, .block = c.block_size});
    return plan;
  }
  if (c.model == "logreg") {
    plan.push_back({.kind = K::flatten});
    linear(in, d.classes);
  } else if (c.model == "mlp") {
    plan.push_back({.kind = K::flatten});
    int64_t width = in;
    for (int64_t h : c.hidden) {
      HPML_CHECK(h > 0, "--hidden sizes must be positive, got ", h);
      linear(width, h);
      if (c.batchnorm) plan.push_back({.kind = K::batchnorm1d, .out = h});
      act();
      if (c.dropout > 0) plan.push_back({.kind = K::dropout, .p = c.dropout});
      width = h;
    }
    linear(width, d.classes);
  } else if (c.model == "cnn") {  // two 3x3 convolutions with max-pooling, two linear layers
    check_image(c.model, d);
    for (auto [i, o] : {std::pair<int64_t, int64_t>{1, 32}, {32, 64}}) {
      conv(i, o, 3, 1);
      if (c.batchnorm) plan.push_back({.kind = K::batchnorm2d, .out = o});
      act();
      pool(K::maxpool);
    }
    plan.push_back({.kind = K::flatten});
    linear(64 * 7 * 7, 128);
    act();
    if (c.dropout > 0) plan.push_back({.kind = K::dropout, .p = c.dropout});
    linear(128, d.classes);
  } else if (c.model == "lenet") {  // LeNet-5 on 28x28 (padding 2 on the first convolution)
    check_image(c.model, d);
    conv(1, 6, 5, 2);
    act();
    pool(K::avgpool);
    conv(6, 16, 5, 0);
    act();
    pool(K::avgpool);
    plan.push_back({.kind = K::flatten});
    linear(16 * 5 * 5, 120);
    act();
    linear(120, 84);
    act();
    linear(84, d.classes);
  } else {
    HPML_FAIL(unknown_name("model", c.model, "models"));
  }
  return plan;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> state_shapes(const std::vector<LayerSpec>& plan) {
  using K = LayerSpec::Kind;
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (size_t i = 0; i < plan.size(); ++i) {
    const LayerSpec& l = plan[i];
    const std::string p = std::to_string(i) + ".";
    if (l.kind == K::linear) {
      out.push_back({p + "weight", {l.out, l.in}});
      out.push_back({p + "bias", {l.out}});
    } else if (l.kind == K::conv) {
      out.push_back({p + "weight", {l.out, l.in, l.kernel, l.kernel}});
      out.push_back({p + "bias", {l.out}});
    } else if (l.kind == K::gpt) {
      for (auto& [name, shape] : gpt_state_shapes(gpt_config(l))) out.push_back({p + name, shape});
    } else if (l.kind == K::batchnorm1d || l.kind == K::batchnorm2d) {
      for (const char* n : {"weight", "bias", "running_mean", "running_var"}) out.push_back({p + n, {l.out}});
      out.push_back({p + "num_batches_tracked", {}});
    }
  }
  return out;
}

int64_t parameter_count(const std::vector<LayerSpec>& plan) {  // tensors of the state dict included
  int64_t n = 0;
  for (const auto& [name, shape] : state_shapes(plan)) {
    int64_t k = 1;
    for (int64_t s : shape) k *= s;  // widths <= 2^16, inputs and classes < 2^31: fits in int64
    n += k;
  }
  return n;
}

void check_model_matches(const std::vector<LayerSpec>& plan, const io::NamedTensors& model, const std::string& source) {
  const auto want = state_shapes(plan);
  std::map<std::string, const Tensor*> have;
  for (const auto& [name, t] : model) have[name] = &t;
  for (const auto& [name, shape] : want) {
    auto it = have.find(name);
    HPML_CHECK(it != have.end(), source, ": the model its arguments describe has ", name, " ", IntArrayRef(shape),
               ", the checkpoint has no such tensor");
    HPML_CHECK(it->second->sizes() == IntArrayRef(shape), source, ": the model its arguments describe has ", name, " ",
               IntArrayRef(shape), ", the checkpoint's is ", it->second->sizes());
    have.erase(it);
  }
  HPML_CHECK(have.empty(), source, ": the checkpoint has ", have.size(), " model tensors that the model its arguments "
             "describe does not, the first is ", printable(have.begin()->first));
}

std::shared_ptr<nn::Module> build_model(const std::vector<LayerSpec>& plan, const std::string& init) {
  using K = LayerSpec::Kind;
  const int64_t n = parameter_count(plan);
  HPML_CHECK(n <= kMaxParameters, "the model has ", n, " parameters; hpml train builds at most ", kMaxParameters,
             " (hint: smaller --hidden sizes)");
  auto seq = std::make_shared<nn::Sequential>();
  for (const LayerSpec& l : plan) {
    switch (l.kind) {
      case K::flatten: seq->emplace_back<nn::Flatten>(); break;
      case K::linear: seq->emplace_back<nn::Linear>(l.in, l.out); break;
      case K::conv: seq->emplace_back<nn::Conv2d>(l.in, l.out, l.kernel, nn::ConvOptions{.padding = l.padding}); break;
      case K::batchnorm1d: seq->emplace_back<nn::BatchNorm1d>(l.out); break;
      case K::batchnorm2d: seq->emplace_back<nn::BatchNorm2d>(l.out); break;
      case K::activation: seq->push_back(activation(l.activation)); break;
      case K::dropout: seq->emplace_back<nn::Dropout>(l.p); break;
      case K::maxpool: seq->emplace_back<nn::MaxPool2d>(l.kernel); break;
      case K::avgpool: seq->emplace_back<nn::AvgPool2d>(l.kernel); break;
      case K::gpt: seq->emplace_back<GPT>(gpt_config(l)); break;
    }
  }
  if (init != "default") {
    for (auto& [name, p] : seq->named_parameters()) {
      if (p.dim() < 2) continue;  // weights only; biases keep their default
      NoGradGuard ng;
      if (init == "kaiming") nn::init::kaiming_normal_(p);
      else nn::init::xavier_uniform_(p);
    }
  }
  return seq;
}

std::shared_ptr<nn::Module> make_model(const TrainConfig& c, const DataSplits& d) {
  return build_model(plan_model(c, d), c.init);
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const TensorList& params) {
  const auto lr = [&](double usual) { return c.lr > 0 ? c.lr : usual; };
  const std::string& o = c.optimizer;
  if (o == "sgd")
    return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr(0.05), .momentum = c.momentum,
                                                                  .weight_decay = c.weight_decay, .nesterov = c.nesterov});
  if (o == "adagrad")
    return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions{.lr = lr(1e-2), .weight_decay = c.weight_decay});
  if (o == "adadelta")
    return std::make_unique<optim::Adadelta>(params, optim::AdadeltaOptions{.lr = lr(1.0), .weight_decay = c.weight_decay});
  if (o == "rmsprop")
    return std::make_unique<optim::RMSprop>(
        params, optim::RMSpropOptions{.lr = lr(1e-3), .weight_decay = c.weight_decay, .momentum = c.momentum});
  if (o == "adam")
    return std::make_unique<optim::Adam>(
        params, optim::AdamOptions{.lr = lr(1e-3), .betas = {c.beta1, c.beta2}, .weight_decay = c.weight_decay,
                                   .capturable = c.cuda_graph});
  if (o == "adamw")
    return std::make_unique<optim::AdamW>(
        params, optim::AdamWOptions{.lr = lr(1e-3), .betas = {c.beta1, c.beta2},
                                    .weight_decay = c.weight_decay > 0 ? c.weight_decay : 1e-2, .capturable = c.cuda_graph});
  HPML_FAIL(unknown_name("optimizer", o, "optimizers"));
}

}  // namespace hpml::cli
