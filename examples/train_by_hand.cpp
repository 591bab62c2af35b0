// A tiny model built from raw ops and trained by hand: a 2-8-1 tanh network learns XOR-like
// data with plain gradient descent. README.md shows it without the printing and the exit status.
// It prints the first and last loss and exits non-zero unless the loss fell to a quarter; the test
// suite builds it against an installed hpml through find_package(hpml) and runs it.
#include <hpml/hpml.h>

#include <cstdio>

using namespace hpml;

int main() {
  manual_seed(0);
  Tensor x = tensor({{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}});
  Tensor y = tensor({{0.0}, {1.0}, {1.0}, {0.0}});
  Tensor w1 = (randn({2, 8}) * 0.5).requires_grad_(), b1 = zeros({8}).requires_grad_();
  Tensor w2 = (randn({8, 1}) * 0.5).requires_grad_(), b2 = zeros({1}).requires_grad_();
  double first = 0, last = 0;
  for (int step = 0; step < 500; ++step) {
    Tensor h = tanh(matmul(x, w1) + b1);
    Tensor loss = (sigmoid(matmul(h, w2) + b2) - y).square().mean();
    loss.backward();
    {
      NoGradGuard no_grad;  // the update itself is not part of the graph
      for (Tensor* p : {&w1, &b1, &w2, &b2}) {
        p->sub_(p->grad() * 2.0);
        p->mutable_grad().zero_();
      }
    }
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  std::printf("loss %.4f -> %.4f\n", first, last);
  return last < first / 4 ? 0 : 1;
}
