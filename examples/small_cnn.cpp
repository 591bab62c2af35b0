// A small CNN written as an nn::Module (the README's example): it learns which half of an 8x8
// image holds a bright square, then its state dict goes through a safetensors file into a second
// model, which must give the same outputs. Exits non-zero if either fails.
#include <hpml/hpml.h>

#include <cstdio>
#include <string>

using namespace hpml;

struct Net : nn::Module {
  nn::Sequential features{nn::Conv2d(1, 8, 3, {.padding = 1}), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2)};
  nn::Linear fc{8 * 4 * 4, 2};
  Net() : Module("Net") {
    register_module("features", features);  // names: features.0.weight, ..., fc.bias
    register_module("fc", fc);
  }
  Tensor forward(const Tensor& x) override { return fc(features(x).flatten(1)); }
};

int main() {
  manual_seed(3);
  // 256 noisy 8x8 images; label 1 when the bright 3x3 square sits in the right half.
  const int64_t n = 256;
  Tensor labels = randint(0, 2, {n});
  Tensor images = randn({n, 1, 8, 8}) * 0.3;
  {
    NoGradGuard no_grad;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t col = labels[i].item<int64_t>() == 1 ? 5 : 0;
      images[i][0].narrow(0, 2, 3).narrow(1, col, 3).add_(2.0);
    }
  }

  Net net;
  std::printf("%s\n", net.repr().c_str());
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    net.zero_grad();
    Tensor loss = nn::functional::cross_entropy(net(images), labels);
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor& p : net.parameters()) p.sub_(p.grad() * 0.1);
    }
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  net.eval();
  NoGradGuard no_grad;
  const double accuracy = net(images).argmax(1).eq(labels).to(kFloat32).mean().item<double>();
  std::printf("cross-entropy %.4f -> %.4f, training accuracy %.3f\n", first, last, accuracy);

  const std::string path = "small_cnn.safetensors";
  io::save(net, path);
  Net copy;
  io::load(copy, path);
  copy.eval();
  const double diff = (copy(images) - net(images)).abs().max().item<double>();
  std::printf("reloaded from %s: largest output difference %g\n", path.c_str(), diff);

  const bool ok = last < 0.5 * first && accuracy > 0.95 && diff == 0.0;
  std::printf("%s\n", ok ? "trained, saved and reloaded" : "FAILED");
  return ok ? 0 : 1;
}
