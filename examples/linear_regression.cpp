// Linear regression (docs/concepts.md §7): nn::Linear + MSELoss, plain gradient descent on 1,000
// noisy samples of y = 3 x1 - 2 x2 + 0.5; recovers each coefficient to within 0.02 or exits non-zero.
#include <hpml/hpml.h>

#include <cmath>
#include <cstdio>

using namespace hpml;

namespace {

// "a x1 + b x2 + c" with the signs written as operators: "3.0000 x1 - 2.0000 x2 + 0.5000".
void print_plane(const char* label, double a, double b, double c) {
  std::printf("%s y = %.4f x1 %c %.4f x2 %c %.4f", label, a, b < 0 ? '-' : '+', std::fabs(b), c < 0 ? '-' : '+',
              std::fabs(c));
}

}  // namespace

int main() {
  // Data from known coefficients, with a fixed seed: y = 3 x1 - 2 x2 + 0.5 + noise (std 0.1).
  const double true_w[2] = {3.0, -2.0}, true_b = 0.5, tolerance = 0.02;
  manual_seed(42);
  const int64_t n = 1000;
  Tensor x = randn({n, 2});
  Tensor y = x.matmul(tensor({{true_w[0]}, {true_w[1]}})) + true_b + randn({n, 1}) * 0.1;

  nn::Linear model(2, 1);  // y_hat = x w^T + b, PyTorch's default initialization
  nn::MSELoss mse;
  const double lr = 0.1;
  double loss_value = 0;
  for (int step = 0; step <= 300; ++step) {
    model.zero_grad();
    Tensor loss = mse(model(x), y);
    loss.backward();
    {
      NoGradGuard no_grad;  // the update is not part of the graph
      for (Tensor& p : model.parameters()) p.sub_(p.grad() * lr);
    }
    loss_value = loss.item<double>();
    if (step % 50 == 0) std::printf("step %3d  mse %.6f\n", step, loss_value);
  }

  const double w1 = model.weight[0][0].item<double>(), w2 = model.weight[0][1].item<double>();
  const double b = model.bias[0].item<double>();
  print_plane("recovered:", w1, w2, b);
  std::printf("\n");
  print_plane("true:     ", true_w[0], true_w[1], true_b);
  std::printf("   (tolerance %.2f)\n", tolerance);
  const bool ok = std::fabs(w1 - true_w[0]) < tolerance && std::fabs(w2 - true_w[1]) < tolerance &&
                  std::fabs(b - true_b) < tolerance;
  std::printf("%s\n", ok ? "coefficients recovered" : "FAILED: coefficients outside the tolerance");
  return ok ? 0 : 1;
}
