// MNIST and Fashion-MNIST: the IDX files of a split read, checked and scaled into a TensorDataset.
#include "hpml/data/datasets.h"

#include <sys/stat.h>

#include "hpml/core/error.h"
#include "hpml/data/idx.h"

namespace hpml::data::datasets {

namespace {

bool is_file(const std::string& path) {
  struct ::stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// root/<stem>.gz if it exists, else root/<stem>, else an error saying how to get the files.
std::string find_file(const std::string& kind, const std::string& root, const std::string& stem) {
  const std::string raw = root + "/" + stem, gz = raw + ".gz";
  if (is_file(gz)) return gz;
  if (is_file(raw)) return raw;
  const std::string hint = kind == "FashionMNIST"
                               ? std::string("scripts/setup installs Fashion-MNIST into ") + kFashionMNISTRoot +
                                     " (the dataset-fashion-mnist package)"
                               : "put the four IDX files of " + kind + " (train-images-idx3-ubyte.gz, ...) there";
  HPML_FAIL(kind, ": cannot find ", gz, " (nor ", raw, "); ", hint);
}

// {images f32 [N, 1, 28, 28] in [0, 1], labels i64 [N]}.
std::vector<Tensor> load(const std::string& kind, const std::string& root, bool train) {
  const std::string split = train ? "train" : "t10k";
  const std::string image_file = find_file(kind, root, split + "-images-idx3-ubyte");
  const std::string label_file = find_file(kind, root, split + "-labels-idx1-ubyte");
  Tensor images = read_idx(image_file);  // u8 [N, 28, 28]
  HPML_CHECK(images.dtype() == kUInt8 && images.dim() == 3 && images.size(1) == 28 && images.size(2) == 28, kind, ": ",
             image_file, " holds ", images.dtype(), " of shape ", images.sizes(),
             "; expected u8 images of shape [N, 28, 28]");
  Tensor labels = read_idx_labels(label_file, 10);  // i64 [N], each in [0, 10)
  HPML_CHECK(labels.size(0) == images.size(0), kind, ": ", image_file, " holds ", images.size(0), " images but ",
             label_file, " holds ", labels.size(0), " labels");
  return {images.to(kFloat32).div_(255.0).unsqueeze(1), labels};
}

}  // namespace

MNIST::MNIST(std::string root, bool train, Transform transform, Transform target_transform)
    : MNIST("MNIST",
            {"0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight",
             "9 - nine"},
            std::move(root), train, std::move(transform), std::move(target_transform)) {}

MNIST::MNIST(std::string kind, std::vector<std::string> classes, std::string root, bool train, Transform transform,
             Transform target_transform)
    : TensorDataset(load(kind, root, train)),
      kind_(std::move(kind)),
      root_(std::move(root)),
      classes_(std::move(classes)),
      train_(train),
      transform_(std::move(transform)),
      target_transform_(std::move(target_transform)) {}

Sample MNIST::get(int64_t index) const {
  Sample s = TensorDataset::get(index);
  if (transform_ || target_transform_) apply_transforms(s, transform_, target_transform_, name());
  return s;
}

std::vector<Sample> MNIST::get_many(const std::vector<int64_t>& indices) const {
  std::vector<Sample> out = TensorDataset::get_many(indices);
  if (transform_ || target_transform_) {
    const std::string who = name();
    for (Sample& s : out) apply_transforms(s, transform_, target_transform_, who);
  }
  return out;
}

std::optional<std::vector<Tensor>> MNIST::get_batch(const std::vector<int64_t>& indices) const {
  if (transform_ || target_transform_) return std::nullopt;  // get_many applies them
  return TensorDataset::get_batch(indices);
}

std::vector<Tensor> MNIST::shareable_tensors() const {
  if (transform_ || target_transform_) return {};
  return tensors();
}

std::string MNIST::name() const { return kind_ + (train_ ? "(train)" : "(test)"); }

FashionMNIST::FashionMNIST(std::string root, bool train, Transform transform, Transform target_transform)
    : MNIST("FashionMNIST",
            {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
            std::move(root), train, std::move(transform), std::move(target_transform)) {}

}  // namespace hpml::data::datasets
