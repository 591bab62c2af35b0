// Printing tensors the way PyTorch does: tensor([[1., 2.], ...]) with a shared element width,
// fixed or scientific notation chosen from the values, summarised ("...") above 1000 elements.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "hpml/autograd/node.h"
#include "hpml/core/tensor.h"

namespace hpml {

namespace {

// Wide enough to hold every i64 and f64 value exactly (x87 extended precision on x86-64).
using Value = long double;

constexpr int64_t kThreshold = 1000, kEdgeItems = 3, kLineWidth = 80;

struct Formatter {
  DType dtype;
  bool int_mode = true, sci_mode = false;
  size_t width = 1;

  // PyTorch's _Formatter: the mode and the width come from the finite non-zero values only.
  explicit Formatter(DType d, const std::vector<Value>& shown) : dtype(d) {
    if (!is_floating(d)) {
      for (Value v : shown) width = std::max(width, format(v).size());
      return;
    }
    Value max_abs = 0, min_abs = INFINITY;
    std::vector<Value> nonzero_finite;
    for (Value v : shown) {
      if (!std::isfinite(v) || v == 0) continue;
      nonzero_finite.push_back(v);
      if (v != std::ceil(v)) int_mode = false;
      max_abs = std::max(max_abs, std::fabs(v));
      min_abs = std::min(min_abs, std::fabs(v));
    }
    if (!nonzero_finite.empty()) {
      sci_mode = max_abs / min_abs > 1000.0 || max_abs > 1.0e8 || (!int_mode && min_abs < 1.0e-4);
    }
    for (Value v : nonzero_finite) width = std::max(width, format(v).size());
  }

  std::string format(Value v) const {
    char buf[96];
    if (dtype == DType::b8) return v != 0 ? "True" : "False";
    if (!is_floating(dtype)) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
      return buf;
    }
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    const double d = static_cast<double>(v);
    if (sci_mode) std::snprintf(buf, sizeof buf, "%.4e", d);
    else if (int_mode) std::snprintf(buf, sizeof buf, "%.0f.", d);
    else std::snprintf(buf, sizeof buf, "%.4f", d);
    return buf;
  }
  std::string padded(Value v) const {
    std::string s = format(v);
    return std::string(width - std::min(width, s.size()), ' ') + s;
  }
};

struct Printer {
  const std::vector<Value>& values;  // row-major values of the whole tensor
  IntArrayRef sizes;
  bool summarize;
  const Formatter& fmt;
  std::ostringstream& os;

  // Indices shown along a dim of size n.
  std::vector<int64_t> shown(int64_t n) const {
    std::vector<int64_t> idx;
    if (summarize && n > 2 * kEdgeItems) {
      for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);  // "..."
      for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  void print(size_t dim, int64_t offset, int64_t stride, size_t indent) {
    const int64_t n = sizes[dim];
    const int64_t inner = stride / std::max<int64_t>(n, 1);
    os << '[';
    auto idx = shown(n);
    if (dim + 1 == sizes.size()) {
      const size_t per_line = std::max<size_t>(1, (kLineWidth - indent) / (fmt.width + 2));
      for (size_t k = 0; k < idx.size(); ++k) {
        if (k) os << ((k % per_line == 0) ? ",\n" + std::string(indent + 1, ' ') : ", ");
        if (idx[k] < 0) os << " ...";  // PyTorch's vector summary has the extra space
        else os << fmt.padded(values[static_cast<size_t>(offset + idx[k])]);
      }
    } else {
      for (size_t k = 0; k < idx.size(); ++k) {
        if (k) os << ',' << std::string(sizes.size() - dim - 1, '\n') << std::string(indent + 1, ' ');
        if (idx[k] < 0) os << "...";
        else print(dim + 1, offset + idx[k] * inner, inner, indent + 1);
      }
    }
    os << ']';
  }
};

void collect_shown(const std::vector<Value>& all, IntArrayRef sizes, bool summarize, std::vector<Value>* out) {
  if (!summarize) {
    *out = all;
    return;
  }
  // Values at the kEdgeItems borders of every dim (what will be printed).
  int64_t n = static_cast<int64_t>(all.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i;
    bool keep = true;
    for (size_t d = sizes.size(); d-- > 0 && keep;) {
      int64_t c = rem % sizes[d];
      rem /= sizes[d];
      keep = sizes[d] <= 2 * kEdgeItems || c < kEdgeItems || c >= sizes[d] - kEdgeItems;
    }
    if (keep) out->push_back(all[static_cast<size_t>(i)]);
  }
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "[ undefined tensor ]";
  Tensor c = t.detach().contiguous().cpu();  // host read: one copy (waits for the device)
  std::vector<Value> values(static_cast<size_t>(c.numel()));
  dispatch_with_half(c.dtype(), "print", [&]<typename T>() {
    const T* p = static_cast<const T*>(c.data_ptr());
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<Value>(p[i]);
  });
  const bool summarize = c.numel() > kThreshold;
  std::vector<Value> shown;
  collect_shown(values, t.sizes(), summarize, &shown);
  Formatter fmt(t.dtype(), shown);
  std::ostringstream os;
  os << "tensor(";
  if (t.dim() == 0) {
    os << fmt.format(values[0]);
  } else if (t.numel() == 0) {
    os << "[]";
  } else {
    Printer{values, t.sizes(), summarize, fmt, os}.print(0, 0, c.numel(), 7);
  }
  std::vector<std::string> suffix;
  if (t.numel() == 0 && !(t.dim() == 1)) {
    std::ostringstream s;
    s << "size=" << t.sizes();
    suffix.push_back(s.str());
  }
  const bool default_dtype = t.dtype() == kDefaultFloat || t.dtype() == kInt64 || t.dtype() == kBool;
  if (!t.device().is_cpu()) suffix.push_back("device='" + t.device().str() + "'");
  if (!default_dtype) suffix.push_back(std::string("dtype=") + dtype_name(t.dtype()));
  if (t.grad_fn()) suffix.push_back(std::string("grad_fn=<") + t.grad_fn()->name() + ">");
  else if (t.requires_grad()) suffix.push_back("requires_grad=True");
  for (const auto& s : suffix) os << ", " << s;
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace hpml
