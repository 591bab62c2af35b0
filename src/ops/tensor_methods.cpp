// Tensor's op methods and operators: one-line forwards to the free functions.
#include "hpml/core/tensor.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/sorting.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

namespace {
Tensor wrap(const Scalar& s, const Tensor& like) { return ops::wrap_scalar(s, like.device()); }
}  // namespace

Tensor Tensor::clone() const { return hpml::clone(*this); }
Tensor Tensor::contiguous() const { return hpml::contiguous(*this); }
Tensor Tensor::to(DType d, bool copy) const { return hpml::to(*this, d, copy); }
Tensor Tensor::to(Device d, bool non_blocking, bool copy) const { return hpml::to(*this, d, non_blocking, copy); }

Scalar Tensor::item() const {
  HPML_CHECK(defined(), "item: tensor is undefined");
  HPML_CHECK(numel() == 1, "item: a tensor with ", numel(), " elements (shape ", sizes(),
             ") cannot be converted to a scalar");
  const Tensor h = ops::to_host(*this);  // host read: one copy
  return dispatch_with_half(dtype(), "item", [&]<typename T>() -> Scalar {
    return Scalar(*static_cast<const T*>(h.data_ptr()));
  });
}
Tensor& Tensor::copy_(const Tensor& src) { return hpml::copy_(*this, src); }
Tensor& Tensor::zero_() { return hpml::zero_(*this); }
Tensor& Tensor::fill_(const Scalar& v) { return hpml::fill_(*this, v); }
Tensor& Tensor::uniform_(double from, double to) { return hpml::uniform_(*this, from, to); }
Tensor& Tensor::normal_(double mean, double std) { return hpml::normal_(*this, mean, std); }
Tensor& Tensor::bernoulli_(double p, Generator* gen) { return hpml::bernoulli_(*this, p, gen); }
Tensor& Tensor::bernoulli_(const Tensor& p, Generator* gen) { return hpml::bernoulli_(*this, p, gen); }

Tensor Tensor::view(IntArrayRef shape) const { return hpml::view(*this, shape); }
Tensor Tensor::reshape(IntArrayRef shape) const { return hpml::reshape(*this, shape); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return hpml::flatten(*this, s, e); }
Tensor Tensor::unflatten(int64_t dim, IntArrayRef sizes) const { return hpml::unflatten(*this, dim, sizes); }
Tensor Tensor::permute(IntArrayRef dims) const { return hpml::permute(*this, dims); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return hpml::transpose(*this, d0, d1); }
Tensor Tensor::t() const { return hpml::t(*this); }
Tensor Tensor::movedim(int64_t s, int64_t d) const { return hpml::movedim(*this, s, d); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const { return hpml::narrow(*this, dim, start, length); }
Tensor Tensor::slice(int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step) const {
  return hpml::slice(*this, dim, start, end, step);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return hpml::select(*this, dim, index); }
Tensor Tensor::expand(IntArrayRef sizes) const { return hpml::expand(*this, sizes); }
Tensor Tensor::squeeze() const { return hpml::squeeze(*this); }
Tensor Tensor::squeeze(int64_t dim) const { return hpml::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(int64_t dim) const { return hpml::unsqueeze(*this, dim); }
TensorList Tensor::chunk(int64_t chunks, int64_t dim) const { return hpml::chunk(*this, chunks, dim); }
TensorList Tensor::split(int64_t size, int64_t dim) const { return hpml::split(*this, size, dim); }
TensorList Tensor::split(IntArrayRef sizes, int64_t dim) const { return hpml::split(*this, sizes, dim); }
TensorList Tensor::unbind(int64_t dim) const { return hpml::unbind(*this, dim); }

Tensor Tensor::neg() const { return hpml::neg(*this); }
Tensor Tensor::abs() const { return hpml::abs(*this); }
Tensor Tensor::sign() const { return hpml::sign(*this); }
Tensor Tensor::exp() const { return hpml::exp(*this); }
Tensor Tensor::log() const { return hpml::log(*this); }
Tensor Tensor::log1p() const { return hpml::log1p(*this); }
Tensor Tensor::expm1() const { return hpml::expm1(*this); }
Tensor Tensor::sqrt() const { return hpml::sqrt(*this); }
Tensor Tensor::rsqrt() const { return hpml::rsqrt(*this); }
Tensor Tensor::square() const { return hpml::square(*this); }
Tensor Tensor::reciprocal() const { return hpml::reciprocal(*this); }
Tensor Tensor::sin() const { return hpml::sin(*this); }
Tensor Tensor::cos() const { return hpml::cos(*this); }
Tensor Tensor::tanh() const { return hpml::tanh(*this); }
Tensor Tensor::sigmoid() const { return hpml::sigmoid(*this); }
Tensor Tensor::relu() const { return hpml::relu(*this); }
Tensor Tensor::floor() const { return hpml::floor(*this); }
Tensor Tensor::ceil() const { return hpml::ceil(*this); }
Tensor Tensor::round() const { return hpml::round(*this); }
Tensor Tensor::clamp(std::optional<Scalar> min, std::optional<Scalar> max) const { return hpml::clamp(*this, min, max); }
Tensor Tensor::pow(const Scalar& e) const { return hpml::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return hpml::pow(*this, e); }
Tensor Tensor::logical_not() const { return hpml::logical_not(*this); }

Tensor Tensor::erf() const { return hpml::erf(*this); }
Tensor Tensor::erfc() const { return hpml::erfc(*this); }
Tensor Tensor::tan() const { return hpml::tan(*this); }
Tensor Tensor::asin() const { return hpml::asin(*this); }
Tensor Tensor::acos() const { return hpml::acos(*this); }
Tensor Tensor::atan() const { return hpml::atan(*this); }
Tensor Tensor::sinh() const { return hpml::sinh(*this); }
Tensor Tensor::cosh() const { return hpml::cosh(*this); }
Tensor Tensor::log2() const { return hpml::log2(*this); }
Tensor Tensor::log10() const { return hpml::log10(*this); }
Tensor Tensor::exp2() const { return hpml::exp2(*this); }
Tensor Tensor::trunc() const { return hpml::trunc(*this); }
Tensor Tensor::frac() const { return hpml::frac(*this); }
Tensor Tensor::isnan() const { return hpml::isnan(*this); }
Tensor Tensor::isinf() const { return hpml::isinf(*this); }
Tensor Tensor::isfinite() const { return hpml::isfinite(*this); }
Tensor Tensor::nan_to_num(std::optional<double> nan, std::optional<double> posinf, std::optional<double> neginf) const {
  return hpml::nan_to_num(*this, nan, posinf, neginf);
}
Tensor Tensor::atan2(const Tensor& o) const { return hpml::atan2(*this, o); }
Tensor Tensor::fmod(const Tensor& o) const { return hpml::fmod(*this, o); }
Tensor Tensor::fmod(const Scalar& o) const { return hpml::fmod(*this, o); }
Tensor Tensor::remainder(const Tensor& o) const { return hpml::remainder(*this, o); }
Tensor Tensor::remainder(const Scalar& o) const { return hpml::remainder(*this, o); }
Tensor Tensor::lerp(const Tensor& end, const Scalar& w) const { return hpml::lerp(*this, end, w); }
Tensor Tensor::lerp(const Tensor& end, const Tensor& w) const { return hpml::lerp(*this, end, w); }

Tensor Tensor::add(const Tensor& o, const Scalar& alpha) const { return hpml::add(*this, o, alpha); }
Tensor Tensor::add(const Scalar& o, const Scalar& alpha) const { return hpml::add(*this, wrap(o, *this), alpha); }
Tensor Tensor::sub(const Tensor& o, const Scalar& alpha) const { return hpml::sub(*this, o, alpha); }
Tensor Tensor::sub(const Scalar& o, const Scalar& alpha) const { return hpml::sub(*this, wrap(o, *this), alpha); }
Tensor Tensor::mul(const Tensor& o) const { return hpml::mul(*this, o); }
Tensor Tensor::mul(const Scalar& o) const { return hpml::mul(*this, wrap(o, *this)); }
Tensor Tensor::div(const Tensor& o) const { return hpml::div(*this, o); }
Tensor Tensor::div(const Scalar& o) const { return hpml::div(*this, wrap(o, *this)); }
Tensor Tensor::maximum(const Tensor& o) const { return hpml::maximum(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return hpml::minimum(*this, o); }
Tensor Tensor::eq(const Tensor& o) const { return hpml::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return hpml::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return hpml::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return hpml::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return hpml::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return hpml::ge(*this, o); }
Tensor Tensor::eq(const Scalar& o) const { return hpml::eq(*this, wrap(o, *this)); }
Tensor Tensor::ne(const Scalar& o) const { return hpml::ne(*this, wrap(o, *this)); }
Tensor Tensor::lt(const Scalar& o) const { return hpml::lt(*this, wrap(o, *this)); }
Tensor Tensor::le(const Scalar& o) const { return hpml::le(*this, wrap(o, *this)); }
Tensor Tensor::gt(const Scalar& o) const { return hpml::gt(*this, wrap(o, *this)); }
Tensor Tensor::ge(const Scalar& o) const { return hpml::ge(*this, wrap(o, *this)); }
Tensor Tensor::logical_and(const Tensor& o) const { return hpml::logical_and(*this, o); }
Tensor Tensor::logical_or(const Tensor& o) const { return hpml::logical_or(*this, o); }
Tensor Tensor::masked_fill(const Tensor& mask, const Scalar& v) const { return hpml::masked_fill(*this, mask, v); }

Tensor& Tensor::add_(const Tensor& o, const Scalar& alpha) { return hpml::add_(*this, o, alpha); }
Tensor& Tensor::add_(const Scalar& o, const Scalar& alpha) { return hpml::add_(*this, wrap(o, *this), alpha); }
Tensor& Tensor::sub_(const Tensor& o, const Scalar& alpha) { return hpml::sub_(*this, o, alpha); }
Tensor& Tensor::sub_(const Scalar& o, const Scalar& alpha) { return hpml::sub_(*this, wrap(o, *this), alpha); }
Tensor& Tensor::mul_(const Tensor& o) { return hpml::mul_(*this, o); }
Tensor& Tensor::mul_(const Scalar& o) { return hpml::mul_(*this, wrap(o, *this)); }
Tensor& Tensor::div_(const Tensor& o) { return hpml::div_(*this, o); }
Tensor& Tensor::div_(const Scalar& o) { return hpml::div_(*this, wrap(o, *this)); }
Tensor& Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max) { return hpml::clamp_(*this, min, max); }
Tensor& Tensor::relu_() { return hpml::relu_(*this); }
Tensor& Tensor::neg_() { return hpml::neg_(*this); }
Tensor& Tensor::exp_() { return hpml::exp_(*this); }
Tensor& Tensor::sqrt_() { return hpml::sqrt_(*this); }
Tensor& Tensor::masked_fill_(const Tensor& mask, const Scalar& v) { return hpml::masked_fill_(*this, mask, v); }

Tensor Tensor::sum(IntArrayRef dims, bool keepdim) const { return hpml::sum(*this, dims, keepdim); }
Tensor Tensor::mean(IntArrayRef dims, bool keepdim) const { return hpml::mean(*this, dims, keepdim); }
Tensor Tensor::var(IntArrayRef dims, double correction, bool keepdim) const { return hpml::var(*this, dims, correction, keepdim); }
Tensor Tensor::std(IntArrayRef dims, double correction, bool keepdim) const { return hpml::std(*this, dims, correction, keepdim); }
Tensor Tensor::prod(IntArrayRef dims, bool keepdim) const { return hpml::prod(*this, dims, keepdim); }
Tensor Tensor::amax(IntArrayRef dims, bool keepdim) const { return hpml::amax(*this, dims, keepdim); }
Tensor Tensor::amin(IntArrayRef dims, bool keepdim) const { return hpml::amin(*this, dims, keepdim); }
Tensor Tensor::any(IntArrayRef dims, bool keepdim) const { return hpml::any(*this, dims, keepdim); }
Tensor Tensor::all(IntArrayRef dims, bool keepdim) const { return hpml::all(*this, dims, keepdim); }
Tensor Tensor::max() const { return hpml::max(*this); }
Tensor Tensor::min() const { return hpml::min(*this); }
std::pair<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const { return hpml::max(*this, dim, keepdim); }
std::pair<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const { return hpml::min(*this, dim, keepdim); }
Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim) const { return hpml::argmax(*this, dim, keepdim); }
Tensor Tensor::argmin(std::optional<int64_t> dim, bool keepdim) const { return hpml::argmin(*this, dim, keepdim); }
Tensor Tensor::logsumexp(IntArrayRef dims, bool keepdim) const { return hpml::logsumexp(*this, dims, keepdim); }
Tensor Tensor::norm(double p, IntArrayRef dims, bool keepdim) const { return hpml::norm(*this, p, dims, keepdim); }
Tensor Tensor::softmax(int64_t dim) const { return hpml::softmax(*this, dim); }
Tensor Tensor::log_softmax(int64_t dim) const { return hpml::log_softmax(*this, dim); }

Tensor Tensor::matmul(const Tensor& o) const { return hpml::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return hpml::mm(*this, o); }
Tensor Tensor::bmm(const Tensor& o) const { return hpml::bmm(*this, o); }
Tensor Tensor::dot(const Tensor& o) const { return hpml::dot(*this, o); }

Tensor Tensor::index_select(int64_t dim, const Tensor& index) const { return hpml::index_select(*this, dim, index); }
Tensor Tensor::gather(int64_t dim, const Tensor& index) const { return hpml::gather(*this, dim, index); }
Tensor Tensor::repeat(IntArrayRef repeats) const { return hpml::repeat(*this, repeats); }
Tensor Tensor::flip(IntArrayRef dims) const { return hpml::flip(*this, dims); }
Tensor Tensor::tril(int64_t diagonal) const { return hpml::tril(*this, diagonal); }
Tensor Tensor::triu(int64_t diagonal) const { return hpml::triu(*this, diagonal); }

Tensor Tensor::cumsum(int64_t dim) const { return hpml::cumsum(*this, dim); }
Tensor Tensor::cumprod(int64_t dim) const { return hpml::cumprod(*this, dim); }
std::pair<Tensor, Tensor> Tensor::sort(int64_t dim, bool descending, bool stable) const {
  return hpml::sort(*this, dim, descending, stable);
}
Tensor Tensor::argsort(int64_t dim, bool descending, bool stable) const {
  return hpml::argsort(*this, dim, descending, stable);
}
std::pair<Tensor, Tensor> Tensor::topk(int64_t k, int64_t dim, bool largest, bool sorted) const {
  return hpml::topk(*this, k, dim, largest, sorted);
}
Tensor Tensor::median() const { return hpml::median(*this); }
std::pair<Tensor, Tensor> Tensor::median(int64_t dim, bool keepdim) const { return hpml::median(*this, dim, keepdim); }
std::tuple<Tensor, Tensor, Tensor> Tensor::unique(bool sorted, bool return_inverse, bool return_counts) const {
  return hpml::unique(*this, sorted, return_inverse, return_counts);
}
Tensor Tensor::nonzero() const { return hpml::nonzero(*this); }

Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, wrap(b, a)); }
Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, wrap(b, a)); }
Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, wrap(b, a)); }
Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, wrap(b, a)); }
Tensor operator+(const Scalar& a, const Tensor& b) { return add(wrap(a, b), b); }
Tensor operator-(const Scalar& a, const Tensor& b) { return sub(wrap(a, b), b); }
Tensor operator*(const Scalar& a, const Tensor& b) { return mul(wrap(a, b), b); }
Tensor operator/(const Scalar& a, const Tensor& b) { return div(wrap(a, b), b); }
Tensor& operator+=(Tensor& a, const Tensor& b) { return add_(a, b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return sub_(a, b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return mul_(a, b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return div_(a, b); }
Tensor& operator+=(Tensor& a, const Scalar& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Scalar& b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Scalar& b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Scalar& b) { return a.div_(b); }

}  // namespace hpml
