// hpml's side of the nn benchmark groups: layers forward + backward (group "nn") and the
// Fashion-MNIST CNN training step with its peak memory (group "cnn").
#include <sys/resource.h>

#include <hpml/hpml.h>

#include "bench_util.h"

using namespace hpml;
namespace F = hpml::nn::functional;

namespace {
double ms(double s) { return s * 1e3; }

// Times forward + backward of `layer` on x with a fixed upstream gradient.
template <typename M>
void layer_case(const std::string& name, M& layer, const Tensor& x, int threads) {
  Tensor xr = x.detach().requires_grad_(true);
  Tensor g = ones_like(layer(xr));
  bench::report("nn", name, threads, "ms", bench::convert(bench::time_calls([&] {
    layer.zero_grad();
    xr.set_grad(Tensor());
    layer(xr).backward(g);
  }, 7, 0.3), ms));
}
}  // namespace

void nn_bench() {
  manual_seed(0);
  for (int t : {1, 2}) {
    set_num_threads(t);
    nn::Linear lin(784, 256);
    layer_case("Linear 784->256, batch 128", lin, rand({128, 784}), t);
    nn::Conv2d c1(1, 32, 3, {.padding = 1});
    layer_case("Conv2d 1->32 3x3 pad 1, 28x28, batch 128", c1, rand({128, 1, 28, 28}), t);
    nn::Conv2d c2(32, 64, 3, {.padding = 1});
    layer_case("Conv2d 32->64 3x3 pad 1, 14x14, batch 128", c2, rand({128, 32, 14, 14}), t);
    nn::BatchNorm2d bn(32);
    layer_case("BatchNorm2d(32) train, [128, 32, 28, 28]", bn, randn({128, 32, 28, 28}), t);
    nn::MaxPool2d pool(2);
    layer_case("MaxPool2d(2), [128, 32, 28, 28]", pool, randn({128, 32, 28, 28}), t);
    Tensor logits = randn({128, 10}).requires_grad_(), y = randint(0, 10, {128});
    bench::report("nn", "CrossEntropyLoss, [128, 10]", t, "ms", bench::convert(bench::time_calls([&] {
      logits.set_grad(Tensor());
      F::cross_entropy(logits, y).backward();
    }, 7, 0.3), ms));
  }
}

// conv 1->32, ReLU, maxpool 2, conv 32->64, ReLU, maxpool 2, flatten, linear 3136->128, ReLU,
// linear 128->10; cross-entropy; SGD with momentum 0.9 written out (the same update on both sides).
void cnn_bench() {
  manual_seed(0);
  nn::Sequential model(nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(32, 64, 3, {.padding = 1}),
                       nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(3136, 128), nn::ReLU(), nn::Linear(128, 10));
  Tensor x = rand({128, 1, 28, 28}), y = randint(0, 10, {128});
  TensorList params = model.parameters(), velocity;
  for (const Tensor& p : params) velocity.push_back(zeros_like(p));
  auto step = [&] {
    model.zero_grad();
    F::cross_entropy(model(x), y).backward();
    NoGradGuard ng;
    for (size_t i = 0; i < params.size(); ++i) {
      velocity[i].mul_(0.9).add_(params[i].grad());
      params[i].sub_(velocity[i], 0.01);
    }
  };
  for (int t : {1, 2}) {
    set_num_threads(t);
    bench::report("cnn", "Fashion-MNIST CNN train step, batch 128", t, "ms", bench::convert(bench::time_calls(step, 5, 1.0), ms));
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  bench::report("cnn", "peak RSS after the steps", 0, "MB", {static_cast<double>(ru.ru_maxrss) / 1024.0});
}
