// Turning samples into batches: default_collate, TensorDataset's direct row gather, and the
// fetch functions every DataLoader mode uses (with errors that name the worker and the sample).
#include <cstring>
#include <sstream>
#include <typeinfo>

#include "data/loader_internal.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"

namespace hpml::data {

namespace {

std::string shape_str(IntArrayRef s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

// out[i] = src for a contiguous destination row; a contiguous source is one memcpy.
void copy_row(Tensor& out, int64_t i, const Tensor& src) {
  const size_t row = src.nbytes();
  char* dst = static_cast<char*>(out.data_ptr()) + static_cast<size_t>(i) * row;
  if (src.is_contiguous()) {
    if (row) std::memcpy(dst, src.data_ptr(), row);
  } else {
    Tensor c = src.contiguous();
    if (row) std::memcpy(dst, c.data_ptr(), row);
  }
}

}  // namespace

Batch default_collate(const std::vector<Sample>& samples) {
  HPML_CHECK(!samples.empty(), "default_collate: no samples");
  const size_t fields = samples[0].size();
  Batch out;
  for (size_t f = 0; f < fields; ++f) {
    const Tensor& first = samples[0][f];
    HPML_CHECK(first.defined(), "default_collate: sample 0 field ", f, " is an undefined tensor");
    std::vector<int64_t> sizes{static_cast<int64_t>(samples.size())};
    sizes.insert(sizes.end(), first.sizes().begin(), first.sizes().end());
    const bool on_device = !first.device().is_cpu();  // device samples are stacked there, by ops
    Tensor batch = on_device ? Tensor() : empty(sizes, first.dtype());
    TensorList rows;
    for (size_t i = 0; i < samples.size(); ++i) {
      HPML_CHECK(samples[i].size() == fields, "default_collate: sample ", i, " has ", samples[i].size(),
                 " fields, sample 0 has ", fields);
      const Tensor& t = samples[i][f];
      HPML_CHECK(t.defined() && t.sizes() == first.sizes() && t.dtype() == first.dtype(), "default_collate: field ",
                 f, " of sample ", i, " is ", t.defined() ? shape_str(t.sizes()) : "undefined", " ",
                 t.defined() ? dtype_name(t.dtype()) : "", ", sample 0 has ", shape_str(first.sizes()), " ",
                 dtype_name(first.dtype()), "\nhint: pass a collate_fn for samples of different shapes");
      HPML_CHECK(t.device() == first.device(), "default_collate: field ", f, " of sample ", i, " is on ", t.device(),
                 ", sample 0's on ", first.device(), "\nhint: move with .to(", first.device(), ") first");
      if (on_device) rows.push_back(t);
      else copy_row(batch, static_cast<int64_t>(i), t);
    }
    out.push_back(on_device ? stack(rows) : std::move(batch));
  }
  return out;
}

std::optional<std::vector<Tensor>> TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  for (int64_t i : indices)
    HPML_CHECK(i >= 0 && i < n, name(), ": index ", i, " is out of range for a dataset of ", n, " samples");
  std::vector<Tensor> out;
  for (const Tensor& t : tensors()) {
    std::vector<int64_t> sizes{static_cast<int64_t>(indices.size())};
    sizes.insert(sizes.end(), t.sizes().begin() + 1, t.sizes().end());
    if (!t.is_contiguous() || !t.device().is_cpu()) {  // rare: index_select handles strides and devices
      out.push_back(index_select(t, 0, tensor(indices).to(t.device())).reshape(sizes));
      continue;
    }
    // Rows of a contiguous tensor are contiguous: one memcpy per sample.
    Tensor b = empty(sizes, t.dtype());
    const size_t row = t.numel() == 0 ? 0 : t.nbytes() / static_cast<size_t>(t.size(0));
    const char* src = static_cast<const char*>(t.data_ptr());
    char* dst = static_cast<char*>(b.data_ptr());
    for (size_t k = 0; k < indices.size(); ++k)
      if (row) std::memcpy(dst + k * row, src + static_cast<size_t>(indices[k]) * row, row);
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<Tensor> TensorDataset::shareable_tensors() const {
  // A subclass may transform samples; only a plain TensorDataset is its tensors.
  return typeid(*this) == typeid(TensorDataset) ? tensors() : std::vector<Tensor>{};
}

namespace detail {

namespace {
std::string who(int worker) {
  return worker < 0 ? std::string("DataLoader (main thread)") : "DataLoader worker " + std::to_string(worker);
}
}  // namespace

Batch fetch_batch(const LoaderSpec& spec, const std::vector<int64_t>& indices, int worker, int64_t batch) {
  const Dataset& ds = *spec.dataset;
  const CollateFn& collate = spec.options.collate_fn;
  try {
    std::vector<Sample> samples;
    {
      record::Scope fetch(record::Kind::data, "DataLoader.fetch");
      if (!collate)
        if (auto b = ds.get_batch(indices)) return std::move(*b);
      samples = ds.get_many(indices);
    }
    record::Scope collating(record::Kind::data, "DataLoader.collate");
    return collate ? collate(samples) : default_collate(samples);
  } catch (const std::exception& e) {
    // Find the sample that fails on its own, to name it.
    for (int64_t i : indices) {
      try {
        ds.get(i);
      } catch (const std::exception& inner) {
        HPML_CHECK(false, who(worker), ": ", ds.name(), " raised on sample ", i, " (batch ", batch, "): ", inner.what());
      }
    }
    HPML_CHECK(false, who(worker), ": batch ", batch, " (samples ", indices.empty() ? -1 : indices.front(), "...",
               indices.empty() ? -1 : indices.back(), ") failed in ", collate ? "collate_fn" : "collate", ": ",
               e.what());
  }
  return {};
}

std::optional<Batch> fetch_iterable(const LoaderSpec& spec, std::function<std::optional<Sample>()>& next, int worker,
                                    int64_t batch) {
  const auto& o = spec.options;
  std::vector<Sample> samples;
  try {
    record::Scope fetch(record::Kind::data, "DataLoader.fetch");
    while (static_cast<int64_t>(samples.size()) < o.batch_size) {
      std::optional<Sample> s = next();
      if (!s) break;
      samples.push_back(std::move(*s));
    }
    if (samples.empty() || (o.drop_last && static_cast<int64_t>(samples.size()) < o.batch_size)) return std::nullopt;
    return o.collate_fn ? o.collate_fn(samples) : default_collate(samples);
  } catch (const std::exception& e) {
    HPML_CHECK(false, who(worker), ": ", spec.iterable->name(), " raised after ", samples.size(),
               " samples of batch ", batch, ": ", e.what());
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace hpml::data
