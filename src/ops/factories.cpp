// Factories: empty/zeros/ones/full, ranges, random tensors, from_blob and tensor(values).
#include "hpml/ops/factories.h"

#include <cmath>
#include <cstdint>
#include <numeric>

#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using kernels::view_of;
using ops::empty_tensor;

namespace {
Tensor finish(Tensor t, const TensorOptions& o) {
  if (o.requires_grad()) t.requires_grad_(true);
  return t;
}
Generator& gen_or_default(Generator* g) { return g ? *g : default_generator(); }
void check_float(const char* op, DType d) {
  HPML_CHECK(is_floating(d), op, ": expected a floating dtype (f32, f64, bf16 or f16), got ", d);
}
}  // namespace

Tensor empty(IntArrayRef sizes, TensorOptions o) {
  HPML_RECORD_OP("empty");
  return finish(empty_tensor(sizes, o.dtype(), o.device()), o);
}

Tensor full(IntArrayRef sizes, const Scalar& value, TensorOptions o) {
  HPML_RECORD_OP("full");
  // Without a dtype, full() takes the value's: f32 for 2.5, i64 for 7, bool for true (PyTorch).
  Tensor t = empty_tensor(sizes, o.has_dtype() ? o.dtype() : value.dtype(), o.device());
  ops::be(t, "full").fill(view_of(t), value);
  return finish(t, o);
}
Tensor zeros(IntArrayRef sizes, TensorOptions o) {
  HPML_RECORD_OP("zeros");
  return full(sizes, 0, o.dtype(o.dtype()));
}
Tensor ones(IntArrayRef sizes, TensorOptions o) {
  HPML_RECORD_OP("ones");
  return full(sizes, 1, o.dtype(o.dtype()));
}
Tensor scalar_tensor(const Scalar& value, TensorOptions o) {
  HPML_RECORD_OP("scalar_tensor");
  return full({}, value, o.dtype(o.dtype()));
}

Tensor arange(const Scalar& end) { return arange(0, end, 1); }
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step) {
  HPML_RECORD_OP("arange");
  bool all_int = !start.is_floating() && !end.is_floating() && !step.is_floating();
  return arange(start, end, step, TensorOptions(all_int ? kInt64 : kDefaultFloat));
}
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions o) {
  HPML_RECORD_OP("arange");
  double s = start.to_double(), e = end.to_double(), st = step.to_double();
  HPML_CHECK(st != 0, "arange: step must be nonzero");
  HPML_CHECK(std::isfinite(s) && std::isfinite(e), "arange: start (", s, ") and end (", e, ") must be finite");
  HPML_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), "arange: upper bound and lower bound inconsistent with step sign (start=",
             s, ", end=", e, ", step=", st, ")");
  int64_t n = static_cast<int64_t>(std::ceil((e - s) / st));
  Tensor t = empty_tensor({n}, o.dtype(), o.device());
  ops::be(t, "arange").arange(view_of(t), s, st);
  return finish(t, o);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions o) {
  HPML_RECORD_OP("linspace");
  HPML_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  Tensor t = empty_tensor({steps}, o.dtype(), o.device());
  if (steps == 1) {
    ops::be(t, "linspace").fill(view_of(t), start);
  } else if (steps > 1) {
    // PyTorch fills the first half from start and the second half from end, so both ends are exact.
    const double step = (end - start) / static_cast<double>(steps - 1);
    const int64_t half = steps / 2;
    Tensor lo = t.narrow(0, 0, half), hi = t.narrow(0, half, steps - half);
    ops::be(t, "linspace").arange(view_of(lo), start, step);
    ops::be(t, "linspace").arange(view_of(hi), end - step * static_cast<double>(steps - 1 - half), step);
  }
  return finish(t, o);
}

Tensor eye(int64_t n, std::optional<int64_t> m, TensorOptions o) {
  HPML_RECORD_OP("eye");
  int64_t cols = m.value_or(n);
  HPML_CHECK(n >= 0 && cols >= 0, "eye: sizes must be non-negative, got n=", n, ", m=", cols);
  Tensor t = zeros({n, cols}, TensorOptions(o.dtype()).device(o.device()));
  Tensor diag = ops::make_view(t, {std::min(n, cols)}, {cols + 1}, 0);
  ops::be(t, "eye").fill(view_of(diag), 1);
  return finish(t, o);
}

Tensor rand(IntArrayRef sizes, Generator* gen, TensorOptions o) {
  HPML_RECORD_OP("rand");
  return uniform(sizes, 0.0, 1.0, gen, o);
}
Tensor rand(IntArrayRef sizes, TensorOptions o) { return rand(sizes, nullptr, o); }
Tensor randn(IntArrayRef sizes, Generator* gen, TensorOptions o) {
  HPML_RECORD_OP("randn");
  return normal(0.0, 1.0, sizes, gen, o);
}
Tensor randn(IntArrayRef sizes, TensorOptions o) { return randn(sizes, nullptr, o); }

Tensor uniform(IntArrayRef sizes, double low, double high, Generator* gen, TensorOptions o) {
  HPML_RECORD_OP("uniform");
  check_float("uniform", o.dtype());
  HPML_CHECK(low <= high, "uniform: expects low <= high, got low=", low, ", high=", high);
  if (is_reduced_float(o.dtype())) {
    // As PyTorch: a multiple of 2^-digits in [0, 1) (8 digits for bf16, 11 for f16), drawn in f32
    // and exact in the 2-byte type, so that rounding never gives `high`; then scaled.
    const double scale = o.dtype() == kBFloat16 ? 256.0 : 2048.0;
    Tensor u = empty_tensor(sizes, kFloat32, o.device());
    ops::be(u, "uniform").uniform(view_of(u), gen_or_default(gen), 0.0, 1.0);
    return finish(ops::cast(floor(u * scale) * ((high - low) / scale) + low, o.dtype()), o);
  }
  Tensor t = empty_tensor(sizes, o.dtype(), o.device());
  ops::be(t, "uniform").uniform(view_of(t), gen_or_default(gen), low, high);
  return finish(t, o);
}

Tensor normal(double mean, double std, IntArrayRef sizes, Generator* gen, TensorOptions o) {
  HPML_RECORD_OP("normal");
  check_float("normal", o.dtype());
  HPML_CHECK(std >= 0, "normal: expects std >= 0, got ", std);
  Tensor t = empty_tensor(sizes, ops::compute_dtype(o.dtype()), o.device());  // bf16, f16: drawn in f32
  ops::be(t, "normal").normal(view_of(t), gen_or_default(gen), mean, std);
  t = ops::cast(t, o.dtype());
  return finish(t, o);
}

Tensor randint(int64_t low, int64_t high, IntArrayRef sizes, Generator* gen, TensorOptions o) {
  HPML_RECORD_OP("randint");
  HPML_CHECK(low < high, "randint: expects low < high, got low=", low, ", high=", high);
  HPML_CHECK(o.dtype() != kBool, "randint: bool is not a valid dtype");
  if (!is_floating(o.dtype())) {
    const int64_t lo_ok = o.dtype() == kUInt8 ? 0 : o.dtype() == kInt32 ? INT32_MIN : INT64_MIN;
    const int64_t hi_ok = o.dtype() == kUInt8 ? 255 : o.dtype() == kInt32 ? INT32_MAX : INT64_MAX;
    HPML_CHECK(low >= lo_ok && high - 1 <= hi_ok, "randint: range [", low, ", ", high, ") does not fit dtype ", o.dtype());
  }
  Tensor t = empty_tensor(sizes, ops::compute_dtype(o.dtype()), o.device());  // bf16, f16: drawn in f32
  ops::be(t, "randint").randint(view_of(t), gen_or_default(gen), low, high);
  t = ops::cast(t, o.dtype());
  return finish(t, o);
}
Tensor randint(int64_t high, IntArrayRef sizes, Generator* gen, TensorOptions o) {
  return randint(0, high, sizes, gen, o);
}

Tensor randperm(int64_t n, Generator* gen, TensorOptions o) {
  HPML_RECORD_OP("randperm");
  HPML_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  Generator& g = gen_or_default(gen);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    int64_t j = static_cast<int64_t>(g.next_u64() % static_cast<uint64_t>(i + 1));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  Tensor t = from_blob(p.data(), {n}, kInt64).clone();
  return finish(o.dtype() == kInt64 ? t : t.to(o.dtype()), o);
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen) {
  HPML_RECORD_OP("uniform_", t);
  ops::check_defined("uniform_", t);
  Tensor src = uniform(t.sizes(), low, high, gen, TensorOptions(t.dtype()).device(t.device()));
  return copy_(t, src);
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen) {
  HPML_RECORD_OP("normal_", t);
  ops::check_defined("normal_", t);
  Tensor src = normal(mean, std, t.sizes(), gen, TensorOptions(t.dtype()).device(t.device()));
  return copy_(t, src);
}

Tensor bernoulli(const Tensor& p, Generator* gen) {
  HPML_RECORD_OP("bernoulli", p);
  ops::check_defined("bernoulli", p, "p");
  check_float("bernoulli", p.dtype());
  Tensor pd = p.detach().to(kFloat64).contiguous();
  const Tensor ph = ops::to_host(pd);  // host read: one copy, to check the probabilities
  const double* pp = ph.data_ptr<double>();
  for (int64_t i = 0; i < pd.numel(); ++i)
    HPML_CHECK(pp[i] >= 0 && pp[i] <= 1, "bernoulli: every probability must lie in [0, 1], got ", pp[i],
               " at flat position ", i);
  // u ~ U[0, 1) in f64: u < p holds with probability p, never for p = 0 and always for p = 1.
  Tensor u = uniform(p.sizes(), 0.0, 1.0, gen, TensorOptions(kFloat64).device(p.device()));
  return lt(u, pd).to(p.dtype());
}

Tensor bernoulli(const Tensor& x, double p, Generator* gen) {
  HPML_RECORD_OP("bernoulli", x);
  ops::check_defined("bernoulli", x);
  return bernoulli(full(x.sizes(), p, TensorOptions(x.dtype()).device(x.device())), gen);
}

Tensor& bernoulli_(Tensor& t, const Tensor& p, Generator* gen) {
  HPML_RECORD_OP("bernoulli_", t, p);
  ops::check_defined("bernoulli_", t);
  ops::check_defined("bernoulli_", p, "p");
  HPML_CHECK(is_floating(t.dtype()), "bernoulli_: expected a floating tensor to fill, got ", t.dtype());
  return copy_(t, bernoulli(p.to(t.dtype()).expand(t.sizes()), gen));
}

Tensor& bernoulli_(Tensor& t, double p, Generator* gen) {
  HPML_RECORD_OP("bernoulli_", t);
  ops::check_defined("bernoulli_", t);
  HPML_CHECK(is_floating(t.dtype()), "bernoulli_: expected a floating tensor to fill, got ", t.dtype());
  return copy_(t, bernoulli(t, p, gen));
}

Tensor from_blob(void* data, IntArrayRef sizes, TensorOptions o, std::function<void(void*)> deleter) {
  return from_blob(data, sizes, contiguous_strides(sizes), o, std::move(deleter));
}

Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, TensorOptions o,
                 std::function<void(void*)> deleter) {
  HPML_RECORD_OP("from_blob");
  HPML_CHECK(sizes.size() == strides.size(), "from_blob: sizes ", sizes, " and strides ", strides,
             " have different lengths");
  const int64_t n = checked_numel(sizes, "from_blob");
  HPML_CHECK(data != nullptr || n == 0, "from_blob: data is null for a tensor of ", n, " elements");
  int64_t extent = n == 0 ? 0 : 1;
  for (size_t i = 0; i < sizes.size() && n > 0; ++i) {
    HPML_CHECK(strides[i] >= 0, "from_blob: negative stride ", strides[i], " in ", strides);
    extent += (sizes[i] - 1) * strides[i];
  }
  Storage st = Storage::make(data, static_cast<size_t>(extent) * itemsize(o.dtype()), std::move(deleter), o.device());
  return finish(Tensor(IntrusivePtr<TensorImpl>::make(std::move(st), o.dtype(), sizes, strides, 0)), o);
}

TensorData::TensorData(std::initializer_list<TensorData> rows) : kind_(Scalar::Kind::Bool) {
  sizes_.push_back(static_cast<int64_t>(rows.size()));
  bool first = true;
  for (const TensorData& r : rows) {
    if (first) {
      for (int64_t s : r.sizes_) sizes_.push_back(s);
      kind_ = r.kind_;
      first = false;
    } else {
      HPML_CHECK(r.sizes_ == DimVector(IntArrayRef(sizes_.data() + 1, sizes_.size() - 1)),
                 "tensor: nested lists have inconsistent sizes: expected ",
                 IntArrayRef(sizes_.data() + 1, sizes_.size() - 1), ", got ", r.sizes_);
      // int and float values mixed: float wins; bool with numbers: the number kind wins.
      if (r.kind_ == Scalar::Kind::Float || (r.kind_ == Scalar::Kind::Int && kind_ == Scalar::Kind::Bool)) kind_ = r.kind_;
    }
    values_.insert(values_.end(), r.values_.begin(), r.values_.end());
  }
  if (rows.size() == 0) kind_ = Scalar::Kind::Float;
}

DType TensorData::inferred_dtype() const {
  return kind_ == Scalar::Kind::Float ? kDefaultFloat : kind_ == Scalar::Kind::Int ? kInt64 : kBool;
}

Tensor tensor(const TensorData& data) { return tensor(data, TensorOptions(data.inferred_dtype())); }

Tensor tensor(const TensorData& data, TensorOptions o) {
  HPML_RECORD_OP("tensor");
  Tensor t = empty_tensor(data.sizes(), o.dtype(), kCPU);  // written on the host, then copied
  dispatch_with_half(o.dtype(), "tensor", [&]<typename T>() {
    T* p = t.data_ptr<T>();
    for (size_t i = 0; i < data.values().size(); ++i) p[i] = data.values()[i].to<T>();
  });
  return finish(o.device().is_cpu() ? t : t.to(o.device()), o);
}

namespace {
TensorOptions like(const Tensor& t, const std::optional<TensorOptions>& o) {
  return o ? *o : TensorOptions(t.dtype()).device(t.device());
}
}  // namespace

Tensor empty_like(const Tensor& t, std::optional<TensorOptions> o) {
  HPML_RECORD_OP("empty_like", t);
  return empty(t.sizes(), like(t, o));
}
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> o) {
  HPML_RECORD_OP("zeros_like", t);
  return zeros(t.sizes(), like(t, o));
}
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> o) {
  HPML_RECORD_OP("ones_like", t);
  return ones(t.sizes(), like(t, o));
}
Tensor full_like(const Tensor& t, const Scalar& v, std::optional<TensorOptions> o) {
  HPML_RECORD_OP("full_like", t);
  return full(t.sizes(), v, like(t, o));
}
Tensor rand_like(const Tensor& t, Generator* gen) {
  HPML_RECORD_OP("rand_like", t);
  return rand(t.sizes(), gen, like(t, std::nullopt));
}
Tensor randn_like(const Tensor& t, Generator* gen) {
  HPML_RECORD_OP("randn_like", t);
  return randn(t.sizes(), gen, like(t, std::nullopt));
}
Tensor randint_like(const Tensor& t, int64_t low, int64_t high, Generator* gen) {
  HPML_RECORD_OP("randint_like", t);
  return randint(low, high, t.sizes(), gen, like(t, std::nullopt));
}

}  // namespace hpml
