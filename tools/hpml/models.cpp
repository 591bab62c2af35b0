// The pieces `hpml train` builds from its options: datasets, models, optimizers (schedules:
// schedules.cpp).
#include <functional>

#include "train.h"

namespace hpml::cli {

namespace {

// 80 % / 20 % of a labelled set, split with a fixed generator so every run sees the same split.
DataSplits split(Tensor X, Tensor y, int64_t classes, std::string description) {
  auto all = std::make_shared<data::TensorDataset>(std::vector<Tensor>{X, y});
  const int64_t n = X.size(0), n_train = n * 8 / 10;
  Generator g(12345);
  auto parts = data::random_split(all, std::vector<int64_t>{n_train, n - n_train}, &g);
  std::vector<int64_t> shape(X.sizes().begin() + 1, X.sizes().end());
  return {parts[0], parts[1], shape, classes, std::move(description)};
}

std::shared_ptr<nn::Module> activation(const std::string& name) {
  if (name == "relu") return std::make_shared<nn::ReLU>();
  if (name == "tanh") return std::make_shared<nn::Tanh>();
  if (name == "sigmoid") return std::make_shared<nn::Sigmoid>();
  if (name == "gelu") return std::make_shared<nn::GELU>();
  HPML_CHECK(false, "unknown activation '", name, "' (relu, tanh, sigmoid, gelu)");
  return nullptr;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

void check_image(const std::string& model, const DataSplits& d) {
  HPML_CHECK(d.input_shape == std::vector<int64_t>({1, 28, 28}), "--model ", model,
             " needs 28x28 single-channel images (fashion-mnist or mnist:PATH), the dataset gives ",
             IntArrayRef(d.input_shape));
}

}  // namespace

DataSplits make_data(const TrainConfig& c) {
  const std::string& d = c.dataset;
  if (d == "fashion-mnist" || d.rfind("mnist:", 0) == 0) {
    std::shared_ptr<data::datasets::MNIST> train, test;
    if (d == "fashion-mnist") {
      train = std::make_shared<data::datasets::FashionMNIST>(data::datasets::kFashionMNISTRoot, true);
      test = std::make_shared<data::datasets::FashionMNIST>(data::datasets::kFashionMNISTRoot, false);
    } else {
      train = std::make_shared<data::datasets::MNIST>(d.substr(6), true);
      test = std::make_shared<data::datasets::MNIST>(d.substr(6), false);
    }
    return {train, test, {1, 28, 28}, 10, train->name() + ", " + std::to_string(train->size()) + " training images"};
  }
  if (d == "blobs") {
    auto b = data::make_blobs({.n_samples = 2000, .n_features = 2, .n_centers = 4, .cluster_std = {1.5}, .seed = 7});
    return split(b.X, b.y, 4, "blobs: 2000 points, 4 centers, 2 features");
  }
  if (d == "moons") {
    auto m = data::make_moons({.n_samples = 2000, .noise = 0.2, .seed = 7});
    return split(m.X, m.y, 2, "moons: 2000 points, noise 0.2");
  }
  if (d == "regression") {
    auto r = data::make_regression({.n_samples = 2000, .n_features = 10, .n_informative = 5, .noise = 1.0, .seed = 7});
    return split(r.X, r.y.unsqueeze(1), 0, "regression: 2000 points, 10 features, noise 1");
  }
  if (d.rfind("csv:", 0) == 0) {
    data::CsvTable t = data::read_csv(d.substr(4));
    const int64_t classes = t.labels.numel() ? t.labels.max().item<int64_t>() + 1 : 0;
    return split(t.features, t.labels, classes, d.substr(4) + ": " + std::to_string(t.features.size(0)) + " rows");
  }
  HPML_CHECK(false, "unknown dataset '", d, "' (fashion-mnist, mnist:PATH, blobs, moons, regression, csv:PATH)");
  return {};
}

std::shared_ptr<nn::Module> make_model(const TrainConfig& c, const DataSplits& d) {
  const int64_t in = numel(d.input_shape);
  auto seq = std::make_shared<nn::Sequential>();
  if (c.model == "linreg") {
    HPML_CHECK(d.classes == 0, "--model linreg needs a regression dataset (regression, or csv:PATH with a numeric target)");
    seq->emplace_back<nn::Flatten>();
    seq->emplace_back<nn::Linear>(in, 1);
  } else {
    HPML_CHECK(d.classes > 0, "--model ", c.model, " is a classifier; the dataset is a regression one (use linreg)");
    if (c.model == "logreg") {
      seq->emplace_back<nn::Flatten>();
      seq->emplace_back<nn::Linear>(in, d.classes);
    } else if (c.model == "mlp") {
      seq->emplace_back<nn::Flatten>();
      int64_t width = in;
      for (int64_t h : c.hidden) {
        HPML_CHECK(h > 0, "--hidden sizes must be positive, got ", h);
        seq->emplace_back<nn::Linear>(width, h);
        if (c.batchnorm) seq->emplace_back<nn::BatchNorm1d>(h);
        seq->push_back(activation(c.activation));
        if (c.dropout > 0) seq->emplace_back<nn::Dropout>(c.dropout);
        width = h;
      }
      seq->emplace_back<nn::Linear>(width, d.classes);
    } else if (c.model == "cnn") {  // the nn issue's Fashion-MNIST CNN
      check_image(c.model, d);
      seq->emplace_back<nn::Conv2d>(1, 32, 3, nn::ConvOptions{.padding = 1});
      if (c.batchnorm) seq->emplace_back<nn::BatchNorm2d>(32);
      seq->push_back(activation(c.activation));
      seq->emplace_back<nn::MaxPool2d>(2);
      seq->emplace_back<nn::Conv2d>(32, 64, 3, nn::ConvOptions{.padding = 1});
      if (c.batchnorm) seq->emplace_back<nn::BatchNorm2d>(64);
      seq->push_back(activation(c.activation));
      seq->emplace_back<nn::MaxPool2d>(2);
      seq->emplace_back<nn::Flatten>();
      seq->emplace_back<nn::Linear>(64 * 7 * 7, 128);
      seq->push_back(activation(c.activation));
      if (c.dropout > 0) seq->emplace_back<nn::Dropout>(c.dropout);
      seq->emplace_back<nn::Linear>(128, d.classes);
    } else if (c.model == "lenet") {  // LeNet-5 on 28x28 (padding 2 on the first convolution)
      check_image(c.model, d);
      seq->emplace_back<nn::Conv2d>(1, 6, 5, nn::ConvOptions{.padding = 2});
      seq->push_back(activation(c.activation));
      seq->emplace_back<nn::AvgPool2d>(2);
      seq->emplace_back<nn::Conv2d>(6, 16, 5);
      seq->push_back(activation(c.activation));
      seq->emplace_back<nn::AvgPool2d>(2);
      seq->emplace_back<nn::Flatten>();
      seq->emplace_back<nn::Linear>(16 * 5 * 5, 120);
      seq->push_back(activation(c.activation));
      seq->emplace_back<nn::Linear>(120, 84);
      seq->push_back(activation(c.activation));
      seq->emplace_back<nn::Linear>(84, d.classes);
    } else {
      HPML_CHECK(false, "unknown model '", c.model, "' (logreg, linreg, mlp, cnn, lenet)");
    }
  }
  if (c.init != "default") {
    HPML_CHECK(c.init == "kaiming" || c.init == "xavier", "unknown init '", c.init, "' (default, kaiming, xavier)");
    for (auto& [name, p] : seq->named_parameters()) {
      if (p.dim() < 2) continue;  // weights only; biases keep their default
      NoGradGuard ng;
      if (c.init == "kaiming") nn::init::kaiming_normal_(p);
      else nn::init::xavier_uniform_(p);
    }
  }
  return seq;
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
        params, optim::AdamOptions{.lr = lr(1e-3), .betas = {c.beta1, c.beta2}, .weight_decay = c.weight_decay});
  if (o == "adamw")
    return std::make_unique<optim::AdamW>(
        params, optim::AdamWOptions{.lr = lr(1e-3), .betas = {c.beta1, c.beta2}, .weight_decay = c.weight_decay > 0 ? c.weight_decay : 1e-2});
  HPML_CHECK(false, "unknown optimizer '", o, "' (sgd, adagrad, adadelta, rmsprop, adam, adamw)");
  return nullptr;
}

}  // namespace hpml::cli
