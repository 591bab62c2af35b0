// libtorch's side of the nn benchmark groups (same layers, shapes and update as hpml_bench_nn.cpp).
#include <sys/resource.h>
#include <torch/torch.h>

#include "bench_util.h"

namespace {
double ms(double s) { return s * 1e3; }

template <typename M>
void layer_case(const std::string& name, M& layer, const torch::Tensor& x, int threads) {
  torch::Tensor xr = x.detach().requires_grad_(true);
  torch::Tensor g = torch::ones_like(layer->forward(xr));
  bench::report("nn", name, threads, "ms", bench::convert(bench::time_calls([&] {
    layer->zero_grad();
    xr.mutable_grad() = torch::Tensor();
    layer->forward(xr).backward(g);
  }, 7, 0.3), ms));
}
}  // namespace

void nn_bench() {
  torch::manual_seed(0);
  namespace tnn = torch::nn;
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    tnn::Linear lin(784, 256);
    layer_case("Linear 784->256, batch 128", lin, torch::rand({128, 784}), t);
    tnn::Conv2d c1(tnn::Conv2dOptions(1, 32, 3).padding(1));
    layer_case("Conv2d 1->32 3x3 pad 1, 28x28, batch 128", c1, torch::rand({128, 1, 28, 28}), t);
    tnn::Conv2d c2(tnn::Conv2dOptions(32, 64, 3).padding(1));
    layer_case("Conv2d 32->64 3x3 pad 1, 14x14, batch 128", c2, torch::rand({128, 32, 14, 14}), t);
    tnn::BatchNorm2d bn(32);
    layer_case("BatchNorm2d(32) train, [128, 32, 28, 28]", bn, torch::randn({128, 32, 28, 28}), t);
    tnn::MaxPool2d pool(2);
    layer_case("MaxPool2d(2), [128, 32, 28, 28]", pool, torch::randn({128, 32, 28, 28}), t);
    torch::Tensor logits = torch::randn({128, 10}).requires_grad_(), y = torch::randint(0, 10, {128});
    bench::report("nn", "CrossEntropyLoss, [128, 10]", t, "ms", bench::convert(bench::time_calls([&] {
      logits.mutable_grad() = torch::Tensor();
      torch::nn::functional::cross_entropy(logits, y).backward();
    }, 7, 0.3), ms));
  }
}

void cnn_bench() {
  torch::manual_seed(0);
  namespace tnn = torch::nn;
  tnn::Sequential model(tnn::Conv2d(tnn::Conv2dOptions(1, 32, 3).padding(1)), tnn::ReLU(), tnn::MaxPool2d(2),
                        tnn::Conv2d(tnn::Conv2dOptions(32, 64, 3).padding(1)), tnn::ReLU(), tnn::MaxPool2d(2), tnn::Flatten(),
                        tnn::Linear(3136, 128), tnn::ReLU(), tnn::Linear(128, 10));
  torch::Tensor x = torch::rand({128, 1, 28, 28}), y = torch::randint(0, 10, {128});
  std::vector<torch::Tensor> params = model->parameters(), velocity;
  for (auto& p : params) velocity.push_back(torch::zeros_like(p));
  auto step = [&] {
    model->zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    torch::NoGradGuard ng;
    for (size_t i = 0; i < params.size(); ++i) {
      velocity[i].mul_(0.9).add_(params[i].grad());
      params[i].sub_(velocity[i], 0.01);
    }
  };
  for (int t : {1, 2}) {
    torch::set_num_threads(t);
    bench::report("cnn", "Fashion-MNIST CNN train step, batch 128", t, "ms", bench::convert(bench::time_calls(step, 5, 1.0), ms));
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  bench::report("cnn", "peak RSS after the steps", 0, "MB", {static_cast<double>(ru.ru_maxrss) / 1024.0});
}
