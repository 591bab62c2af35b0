// Transforms (torchvision.transforms): functions from one sample's tensor to a new tensor, applied
// by a dataset as it hands out samples. A transform is any callable Tensor(const Tensor&); the
// classes here are such callables, and Compose chains them:
//   auto t = transforms::Compose({transforms::RandomCrop(28, {.padding = 4}),
//                                 transforms::RandomHorizontalFlip(),
//                                 transforms::Normalize({0.2860}, {0.3530})});
//   auto train = std::make_shared<TransformedDataset>(fashion, t);
// Images are [C, H, W] (or [H, W]) float tensors, feature vectors [F].
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"
#include "hpml/data/dataset.h"

namespace hpml::data {

// A transform of one field of a sample. An empty std::function means "no transform".
using Transform = std::function<Tensor(const Tensor&)>;

namespace transforms {

// (x - mean[c]) / std[c] for each channel c, like torchvision's Normalize: channels are dim -3 of a
// [..., C, H, W] image or the features of an [F] vector; a single mean/std applies to every element
// of any shape. Needs a floating tensor; the result has its dtype.
class Normalize {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(const Tensor& x) const;
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& std() const { return std_; }

  // The per-channel mean and population standard deviation of field `field` over the whole of
  // `dataset` (channels as above: dim 0 of a [C, H, W] sample, each feature of an [F] sample, one
  // channel for a 0-d or [H, W] sample). Compute it on the training split and apply the result
  // unchanged to the validation and test splits: statistics of the data one evaluates on must not
  // leak into the model. Samples are read in batches (get_batch, one gather for a TensorDataset
  // such as FashionMNIST; else get_many) and reduced in f64.
  static Normalize fit(const Dataset& dataset, int field = 0);

 private:
  std::vector<double> mean_, std_;
};

// Any function as a transform (torchvision's Lambda).
class Lambda {
 public:
  explicit Lambda(Transform fn);
  Tensor operator()(const Tensor& x) const { return fn_(x); }

 private:
  Transform fn_;
};

// The transforms one after another.
class Compose {
 public:
  explicit Compose(std::vector<Transform> transforms);
  Tensor operator()(const Tensor& x) const;
  const std::vector<Transform>& transforms() const { return transforms_; }

 private:
  std::vector<Transform> transforms_;
};

// Note [Randomness of transforms]
// A random transform draws from the Generator it was given, or else from default_generator() at
// the time it is called. Draws are atomic, so transforms may run on several threads at once; the
// sequence each sample gets then depends on the order the threads reach the generator. For runs
// that repeat exactly, seed the generator that the transform uses in each worker (a DataLoader
// worker seeds its own from WorkerInfo::seed) or give each worker its own transform.

// Mirrors the last dimension (the width of an image) with probability p.
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5, Generator* generator = nullptr);
  Tensor operator()(const Tensor& x) const;

 private:
  double p_;
  Generator* generator_;
};

struct RandomCropOptions {
  int64_t padding = 0;         // pixels of `fill` added on every side before cropping
  bool pad_if_needed = false;  // pad an image smaller than the crop up to its size
  double fill = 0;
  Generator* generator = nullptr;
};

// A random height x width window of the last two dims of a [..., H, W] tensor, after optional
// padding (torchvision's RandomCrop with padding_mode="constant").
//   RandomCrop(32, {.padding = 4})      // the CIFAR-10 augmentation
class RandomCrop {
 public:
  explicit RandomCrop(int64_t size, RandomCropOptions options = {});
  RandomCrop(std::pair<int64_t, int64_t> size, RandomCropOptions options = {});
  Tensor operator()(const Tensor& x) const;

 private:
  int64_t height_, width_;
  RandomCropOptions options_;
};

}  // namespace transforms

// A dataset whose samples have `transform` applied to field 0 (the input) and `target_transform`
// to field 1 (the target), as PyTorch datasets do with transform= and target_transform=. Either
// may be empty. get_many fetches the batch from the underlying dataset with its get_many.
class TransformedDataset : public Dataset {
 public:
  TransformedDataset(DatasetPtr dataset, Transform transform, Transform target_transform = {});
  int64_t size() const override { return dataset_->size(); }
  Sample get(int64_t index) const override;
  std::vector<Sample> get_many(const std::vector<int64_t>& indices) const override;
  std::string name() const override;
  const DatasetPtr& dataset() const { return dataset_; }

 private:
  DatasetPtr dataset_;
  Transform transform_, target_transform_;
};

// Applies the two transforms to a sample in place (what TransformedDataset and the datasets that
// take transform= do); `who` names the dataset in errors.
void apply_transforms(Sample& sample, const Transform& transform, const Transform& target_transform,
                      const std::string& who);

}  // namespace hpml::data
