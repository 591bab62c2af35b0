// Logistic regression (docs/concepts.md §7): nn::Linear + BCEWithLogitsLoss, plain gradient descent
// on 2,000 samples drawn with P(y = 1 | x) = sigmoid(2 x1 - 3 x2 + 0.5); recovers the weights [2, -3]
// and the bias 0.5 each to within 0.3 (the fit to 2,000 samples, not the exact values) or exits non-zero.
#include <hpml/hpml.h>

#include <cmath>
#include <cstdio>

using namespace hpml;

namespace {

// "a x1 + b x2 + c" with the signs written as operators: "2.0000 x1 - 3.0000 x2 + 0.5000".
void print_logit(const char* label, double a, double b, double c) {
  std::printf("%s logit = %.4f x1 %c %.4f x2 %c %.4f", label, a, b < 0 ? '-' : '+', std::fabs(b), c < 0 ? '-' : '+',
              std::fabs(c));
}

}  // namespace

int main() {
  // Binary events from known coefficients, with a fixed seed: P(y = 1 | x) = sigmoid(2 x1 - 3 x2 + 0.5).
  const double true_w[2] = {2.0, -3.0}, true_b = 0.5, tolerance = 0.3;
  manual_seed(7);
  const int64_t n = 2000;
  Tensor x = randn({n, 2});
  Tensor p = sigmoid(x.matmul(tensor({{true_w[0]}, {true_w[1]}})) + true_b);
  Tensor y = rand({n, 1}).lt(p).to(kFloat32);  // y ~ Bernoulli(p)

  nn::Linear model(2, 1);  // the logit: x w^T + b
  nn::BCEWithLogitsLoss bce;
  const double lr = 2.0;
  for (int step = 0; step <= 1000; ++step) {
    model.zero_grad();
    Tensor loss = bce(model(x), y);
    loss.backward();
    {
      NoGradGuard no_grad;  // the update is not part of the graph
      for (Tensor& param : model.parameters()) param.sub_(param.grad() * lr);
    }
    if (step % 250 == 0) std::printf("step %4d  bce %.6f\n", step, loss.item<double>());
  }

  NoGradGuard no_grad;
  const double accuracy = model(x).gt(0.0).to(kFloat32).eq(y).to(kFloat32).mean().item<double>();
  const double w1 = model.weight[0][0].item<double>(), w2 = model.weight[0][1].item<double>();
  const double b = model.bias[0].item<double>();
  print_logit("recovered:", w1, w2, b);
  std::printf("   (training accuracy %.3f)\n", accuracy);
  print_logit("true:     ", true_w[0], true_w[1], true_b);
  std::printf("   (tolerance %.2f)\n", tolerance);
  const bool ok = std::fabs(w1 - true_w[0]) < tolerance && std::fabs(w2 - true_w[1]) < tolerance &&
                  std::fabs(b - true_b) < tolerance;
  std::printf("%s\n", ok ? "coefficients recovered" : "FAILED: coefficients outside the tolerance");
  return ok ? 0 : 1;
}
