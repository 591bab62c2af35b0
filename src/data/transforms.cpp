// Transforms: Normalize (and its fit on a training split), Lambda, Compose, RandomHorizontalFlip,
// RandomCrop, and TransformedDataset.
#include "hpml/data/transforms.h"

#include <algorithm>
#include <cmath>

#include "hpml/core/error.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/reduce.h"

namespace hpml::data {

namespace transforms {

// ---- Normalize ----------------------------------------------------------------------------------

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  HPML_CHECK(!mean_.empty(), "Normalize: mean is empty");
  HPML_CHECK(mean_.size() == std_.size(), "Normalize: mean has ", mean_.size(), " values but std has ", std_.size());
  for (size_t c = 0; c < std_.size(); ++c) {
    HPML_CHECK(std::isfinite(mean_[c]) && std::isfinite(std_[c]), "Normalize: mean ", mean_[c], " / std ", std_[c],
               " of channel ", c, " is not finite");
    HPML_CHECK(std_[c] != 0, "Normalize: std of channel ", c, " is zero, which would divide by zero");
  }
}

Tensor Normalize::operator()(const Tensor& x) const {
  HPML_CHECK(x.defined(), "Normalize: the input is undefined");
  HPML_CHECK(x.is_floating_point(), "Normalize: expects a floating tensor, got ", x.dtype(),
             " (convert images to f32 first, e.g. x.to(kFloat32) / 255)");
  const int64_t c = static_cast<int64_t>(mean_.size());
  if (c == 1) return (x - mean_[0]) / std_[0];
  Tensor m = tensor(TensorData(mean_), x.dtype()), s = tensor(TensorData(std_), x.dtype());  // [C]
  if (x.dim() == 1) {
    HPML_CHECK(x.size(0) == c, "Normalize: ", c, " means for a vector of ", x.size(0), " features");
  } else {
    HPML_CHECK(x.dim() >= 3, "Normalize: ", c,
               " per-channel means need a [..., C, H, W] image or an [F] vector, got shape ", x.sizes());
    HPML_CHECK(x.size(-3) == c, "Normalize: ", c, " means for an image of shape ", x.sizes(), " with ", x.size(-3),
               " channels");
    m = m.view({c, 1, 1}), s = s.view({c, 1, 1});
  }
  return (x - m) / s;
}

// Note [Normalize::fit]
// Batches (the dataset's get_batch, or get_many stacked) of [B, ...] are reshaped to [rows, C, rest] and reduced in f64 to a
// per-channel (count, mean, M2); batches combine with Chan et al.'s pairwise update, so the result
// is accurate for data far from zero and never holds more than one batch in memory.
Normalize Normalize::fit(const Dataset& dataset, int field) {
  const int64_t n = dataset.size();
  HPML_CHECK(n > 0, "Normalize::fit: ", dataset.name(), " is empty");
  constexpr int64_t kBatch = 4096;
  int64_t channels = -1;
  double count = 0;
  Tensor mean, m2;  // [C] f64
  for (int64_t begin = 0; begin < n; begin += kBatch) {
    std::vector<int64_t> idx;
    for (int64_t i = begin; i < std::min(n, begin + kBatch); ++i) idx.push_back(i);
    // [B, ...sample dims]: the dataset's own batch when it can build one, else get_many stacked.
    Tensor b;
    if (std::optional<std::vector<Tensor>> direct = dataset.get_batch(idx)) {
      HPML_CHECK(field >= 0 && static_cast<size_t>(field) < direct->size(), "Normalize::fit: ", dataset.name(),
                 " samples have ", direct->size(), " fields, no field ", field);
      b = (*direct)[static_cast<size_t>(field)].to(kFloat64);
    } else {
      TensorList fields;
      for (const Sample& s : dataset.get_many(idx)) {
        HPML_CHECK(field >= 0 && static_cast<size_t>(field) < s.size(), "Normalize::fit: ", dataset.name(),
                   " samples have ", s.size(), " fields, no field ", field);
        fields.push_back(s[static_cast<size_t>(field)]);
      }
      b = stack(fields).to(kFloat64);
    }
    const int64_t d = b.dim() - 1;
    Tensor rows;  // [rows, C, rest]
    if (d == 0 || d == 2)
      rows = b.reshape({b.size(0), 1, -1});
    else if (d == 1)
      rows = b.reshape({b.size(0), b.size(1), 1});
    else
      rows = b.reshape({-1, b.size(-3), b.size(-2) * b.size(-1)});
    HPML_CHECK(channels < 0 || rows.size(1) == channels, "Normalize::fit: samples of ", dataset.name(),
               " change their number of channels from ", channels, " to ", rows.size(1));
    channels = rows.size(1);
    const double nb = static_cast<double>(rows.size(0) * rows.size(2));
    if (nb == 0) continue;
    auto [vb, mb] = var_mean(rows, {0, 2}, /*correction=*/0);
    Tensor m2b = vb * nb;
    if (!mean.defined()) {
      mean = mb, m2 = m2b, count = nb;
      continue;
    }
    Tensor delta = mb - mean;
    const double total = count + nb;
    m2 = m2 + m2b + delta.square() * (count * nb / total);
    mean = mean + delta * (nb / total);
    count = total;
  }
  HPML_CHECK(mean.defined(), "Normalize::fit: field ", field, " of ", dataset.name(), " has no elements");
  std::vector<double> mv, sv;
  const double* pm = mean.contiguous().data_ptr<double>();
  Tensor sd = (m2 / count).sqrt().contiguous();
  const double* ps = sd.data_ptr<double>();
  for (int64_t c = 0; c < channels; ++c) {
    mv.push_back(pm[c]);
    sv.push_back(ps[c]);
    HPML_CHECK(sv.back() > 0, "Normalize::fit: channel ", c, " of field ", field, " of ", dataset.name(),
               " is constant (std 0); it cannot be normalized");
  }
  return Normalize(std::move(mv), std::move(sv));
}

// ---- Lambda, Compose ----------------------------------------------------------------------------

Lambda::Lambda(Transform fn) : fn_(std::move(fn)) { HPML_CHECK(fn_ != nullptr, "Lambda: the function is empty"); }

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {
  for (size_t k = 0; k < transforms_.size(); ++k)
    HPML_CHECK(transforms_[k] != nullptr, "Compose: transform ", k, " is empty");
}

Tensor Compose::operator()(const Tensor& x) const {
  Tensor y = x;
  for (const Transform& t : transforms_) y = t(y);
  return y;
}

// ---- random transforms --------------------------------------------------------------------------

RandomHorizontalFlip::RandomHorizontalFlip(double p, Generator* generator) : p_(p), generator_(generator) {
  HPML_CHECK(p >= 0 && p <= 1, "RandomHorizontalFlip: p must be in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& x) const {
  HPML_CHECK(x.defined() && x.dim() >= 1, "RandomHorizontalFlip: expects a tensor with at least one dimension");
  Generator& g = generator_ ? *generator_ : default_generator();
  return g.next_double() < p_ ? flip(x, {-1}) : x;
}

RandomCrop::RandomCrop(int64_t size, RandomCropOptions options) : RandomCrop({size, size}, options) {}

RandomCrop::RandomCrop(std::pair<int64_t, int64_t> size, RandomCropOptions options)
    : height_(size.first), width_(size.second), options_(options) {
  HPML_CHECK(height_ > 0 && width_ > 0, "RandomCrop: the crop size must be positive, got (", height_, ", ", width_,
             ")");
  HPML_CHECK(options_.padding >= 0, "RandomCrop: padding must be non-negative, got ", options_.padding);
}

Tensor RandomCrop::operator()(const Tensor& x) const {
  HPML_CHECK(x.defined() && x.dim() >= 2, "RandomCrop: expects a [..., H, W] tensor");
  Tensor y = x;
  const int64_t p = options_.padding;
  if (p > 0) y = pad(y, {p, p, p, p}, options_.fill);
  // As torchvision: pad_if_needed adds the missing amount on both sides.
  if (options_.pad_if_needed && y.size(-1) < width_) {
    const int64_t d = width_ - y.size(-1);
    y = pad(y, {d, d, 0, 0}, options_.fill);
  }
  if (options_.pad_if_needed && y.size(-2) < height_) {
    const int64_t d = height_ - y.size(-2);
    y = pad(y, {0, 0, d, d}, options_.fill);
  }
  const int64_t h = y.size(-2), w = y.size(-1);
  HPML_CHECK(h >= height_ && w >= width_, "RandomCrop: the crop size (", height_, ", ", width_,
             ") is larger than the (padded) input size (", h, ", ", w, ")");
  Generator& g = options_.generator ? *options_.generator : default_generator();
  const int64_t i = static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(h - height_ + 1));
  const int64_t j = static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(w - width_ + 1));
  return y.narrow(-2, i, height_).narrow(-1, j, width_).contiguous();
}

}  // namespace transforms

// ---- TransformedDataset -------------------------------------------------------------------------

void apply_transforms(Sample& sample, const Transform& transform, const Transform& target_transform,
                      const std::string& who) {
  if (transform) {
    HPML_CHECK(!sample.empty(), who, ": the sample has no field 0 for the transform");
    sample[0] = transform(sample[0]);
    HPML_CHECK(sample[0].defined(), who, ": the transform returned an undefined tensor");
  }
  if (target_transform) {
    HPML_CHECK(sample.size() >= 2, who, ": the sample has ", sample.size(),
               " field(s), none for the target_transform (field 1)");
    sample[1] = target_transform(sample[1]);
    HPML_CHECK(sample[1].defined(), who, ": the target_transform returned an undefined tensor");
  }
}

TransformedDataset::TransformedDataset(DatasetPtr dataset, Transform transform, Transform target_transform)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), target_transform_(std::move(target_transform)) {
  HPML_CHECK(dataset_ != nullptr, "TransformedDataset: the dataset is null");
}

Sample TransformedDataset::get(int64_t index) const {
  Sample s = dataset_->get(index);
  apply_transforms(s, transform_, target_transform_, name());
  return s;
}

std::vector<Sample> TransformedDataset::get_many(const std::vector<int64_t>& indices) const {
  std::vector<Sample> out = dataset_->get_many(indices);
  const std::string who = name();
  for (Sample& s : out) apply_transforms(s, transform_, target_transform_, who);
  return out;
}

std::string TransformedDataset::name() const { return "TransformedDataset(" + dataset_->name() + ")"; }

}  // namespace hpml::data
