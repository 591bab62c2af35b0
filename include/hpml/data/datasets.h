// Ready-made datasets (torchvision.datasets): MNIST and Fashion-MNIST from their IDX files.
//   datasets::FashionMNIST train;                          // /usr/share/datasets/fashion-mnist
//   datasets::FashionMNIST test(datasets::kFashionMNISTRoot, /*train=*/false);
//   Sample s = train.get(0);                               // {image f32 [1, 28, 28] in [0, 1], label i64 []}
// Both are TensorDatasets over the whole split in memory, so get_many gathers a batch in one copy.
// Nothing is downloaded: scripts/setup installs Fashion-MNIST (the dataset-fashion-mnist package).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hpml/data/dataset.h"
#include "hpml/data/transforms.h"

namespace hpml::data::datasets {

inline constexpr const char* kMNISTRoot = "/usr/share/datasets/mnist";
inline constexpr const char* kFashionMNISTRoot = "/usr/share/datasets/fashion-mnist";

// The 28x28 grey-scale digits 0-9: 60,000 training and 10,000 test images, read from
// root/{train,t10k}-{images-idx3,labels-idx1}-ubyte, gzip'd (.gz, tried first) or raw. The files
// are checked: u8 images of shape [N, 28, 28], as many labels as images, every label in [0, 10);
// a problem raises hpml::Error naming the file (and the byte offset). `transform` is applied to
// each image and `target_transform` to each label as samples are handed out.
class MNIST : public TensorDataset {
 public:
  explicit MNIST(std::string root = kMNISTRoot, bool train = true, Transform transform = {},
                 Transform target_transform = {});
  Sample get(int64_t index) const override;
  std::vector<Sample> get_many(const std::vector<int64_t>& indices) const override;
  // TensorDataset's direct batch gather and shared tensors, when there is no transform to apply.
  std::optional<std::vector<Tensor>> get_batch(const std::vector<int64_t>& indices) const override;
  std::vector<Tensor> shareable_tensors() const override;
  std::string name() const override;  // "MNIST(train)", "FashionMNIST(test)"

  const Tensor& images() const { return tensors()[0]; }  // f32 [N, 1, 28, 28], pixel / 255
  const Tensor& labels() const { return tensors()[1]; }  // i64 [N]
  const std::vector<std::string>& classes() const { return classes_; }
  const std::string& root() const { return root_; }
  bool train() const { return train_; }

 protected:
  MNIST(std::string kind, std::vector<std::string> classes, std::string root, bool train, Transform transform,
        Transform target_transform);

 private:
  std::string kind_, root_;
  std::vector<std::string> classes_;
  bool train_;
  Transform transform_, target_transform_;
};

// Zalando's Fashion-MNIST: the same format and sizes, ten kinds of clothing ("T-shirt/top",
// "Trouser", ..., "Ankle boot").
class FashionMNIST : public MNIST {
 public:
  explicit FashionMNIST(std::string root = kFashionMNISTRoot, bool train = true, Transform transform = {},
                        Transform target_transform = {});
};

}  // namespace hpml::data::datasets
