// Hogwild! training (examples/hogwild.h, the example's own code): two forked processes train one
// shared MLP on Fashion-MNIST without locks. The model learns, each process takes every step it
// should, and both write the same parameter memory: the parent's parameters move by exactly the
// sum of the two processes' updates. Without share_memory() the parent's model never changes
// (fork's copy-on-write), which is why the parameters must be shared.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hogwild.h"  // examples/ is on this binary's include path (examples/CMakeLists.txt)
#include "hpml/hpml.h"

using namespace hpml;

namespace {

struct FashionMNIST {
  std::shared_ptr<data::datasets::FashionMNIST> train;
  Tensor test_images, test_labels;  // the first 2,000 test images
  std::string error;
};

// Loaded once for the whole binary. Missing files are a failure, never a skip.
const FashionMNIST& fashion_mnist() {
  static const FashionMNIST d = [] {
    FashionMNIST f;
    try {
      f.train = std::make_shared<data::datasets::FashionMNIST>();
      data::datasets::FashionMNIST test(data::datasets::kFashionMNISTRoot, /*train=*/false);
      f.test_images = test.images().narrow(0, 0, 2000);
      f.test_labels = test.labels().narrow(0, 0, 2000);
    } catch (const std::exception& e) {
      f.error = std::string(e.what()) + "\nFashion-MNIST is missing from " + data::datasets::kFashionMNISTRoot +
                ": run scripts/setup (it installs the dataset-fashion-mnist package)";
    }
    return f;
  }();
  return d;
}

double l2(const Tensor& t) { return t.norm().item<double>(); }

}  // namespace

TEST(Hogwild, TwoProcessesTrainOneSharedModel) {
  const FashionMNIST& data = fashion_mnist();
  ASSERT_TRUE(data.error.empty()) << data.error;
  manual_seed(0);
  nn::Sequential model = hogwild::make_model();
  model.share_memory();
  const Tensor before = hogwild::flat_parameters(model);  // a private copy

  // One epoch of the whole training set: 30,000 images per process.
  const hogwild::Options options{.procs = 2, .epochs = 1, .limit = 0, .batch_size = 64, .lr = 0.05};
  const hogwild::Result r = hogwild::train(model, data.train, data.test_images, data.test_labels, options);
  std::printf("accuracy before %.4f, after %.4f; steps [%lld, %lld]; %.2f s of training\n", r.accuracy_before,
              r.accuracy_after, static_cast<long long>(r.steps[0]), static_cast<long long>(r.steps[1]), r.seconds);

  // (a) The shared model learns: from chance (10 classes) to well above 70%.
  EXPECT_LT(r.accuracy_before, 0.2);
  EXPECT_GT(r.accuracy_after, 0.72);

  // (b) Every process did all of its steps: ceil(30000 / 64) = 469 ...
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0], 469);
  EXPECT_EQ(r.steps[1], 469);
  // ... on the parent's shared segments, not on private copies ...
  EXPECT_TRUE(r.trained_shared[0]);
  EXPECT_TRUE(r.trained_shared[1]);
  // ... and the parent's own parameters changed.
  const Tensor moved = hogwild::flat_parameters(model) - before;
  EXPECT_GT(l2(moved), 0.1 * l2(before)) << "the parent's parameters barely moved";

  // (c) Both processes wrote the same memory: the parameters moved by the sum of the updates the
  // two processes applied, u0 + u1. Not exactly: Hogwild's collisions (both processes reading a
  // parameter before either writes it back) lose updates. Over 30 runs (Release, 2 cores) the
  // part of u0 + u1 missing from the parameters was < 0.2% in 25 and 6-12% in 5, where the
  // processes ran a step in lockstep. Had either process written private memory, the parameters
  // would show only the other's updates, missing about half of u0 + u1 (both processes push the
  // same model the same way, so u0 ~ u1 ~ (u0 + u1) / 2): the 30% bound tells the two apart.
  const Tensor u0 = r.updates.select(0, 0), u1 = r.updates.select(0, 1);
  const double missing = l2(moved - (u0 + u1)) / l2(u0 + u1);
  std::printf("|u0| / |u0 + u1| = %.2f, |u1| / |u0 + u1| = %.2f; missing from the parameters: %.2e of |u0 + u1|\n",
              l2(u0) / l2(u0 + u1), l2(u1) / l2(u0 + u1), missing);
  EXPECT_GT(l2(u0), 0.4 * l2(u0 + u1));
  EXPECT_GT(l2(u1), 0.4 * l2(u0 + u1));
  EXPECT_LT(missing, 0.3);
}

TEST(Hogwild, WithoutShareMemoryTheParentNeverSeesTheUpdates) {
  const FashionMNIST& data = fashion_mnist();
  ASSERT_TRUE(data.error.empty()) << data.error;
  manual_seed(0);
  nn::Sequential model = hogwild::make_model();  // no share_memory(): private, copy-on-write after fork
  const Tensor before = hogwild::flat_parameters(model);

  const hogwild::Options options{.procs = 2, .epochs = 1, .limit = 640, .batch_size = 64, .lr = 0.05};
  const hogwild::Result r = hogwild::train(model, data.train, data.test_images, data.test_labels, options);

  // The children trained (10 steps each, real updates) ...
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0], 10);
  EXPECT_EQ(r.steps[1], 10);
  EXPECT_GT(l2(r.updates.select(0, 0)), 0.0);
  EXPECT_GT(l2(r.updates.select(0, 1)), 0.0);
  EXPECT_FALSE(r.trained_shared[0]);
  EXPECT_FALSE(r.trained_shared[1]);
  // ... each on its own copy: the parent's model is exactly as it was.
  EXPECT_TRUE(all(eq(hogwild::flat_parameters(model), before)).item<bool>());
  EXPECT_EQ(l2(r.moved), 0.0);
  EXPECT_EQ(r.accuracy_after, r.accuracy_before);
}
