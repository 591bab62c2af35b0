// Elementwise functions of two tensors with PyTorch broadcasting and type promotion, where(),
// masked_fill, their in-place forms, and `_out` forms that write into a preallocated output.
#pragma once

#include <optional>
#include <string_view>

#include "hpml/core/tensor.h"

namespace hpml {

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);  // a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);  // a - alpha * b
Tensor mul(const Tensor& a, const Tensor& b);
// rounding_mode: none (true division; integers give f32), "trunc" or "floor".
Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode = std::nullopt);
Tensor pow(const Tensor& a, const Tensor& exponent);
Tensor pow(const Scalar& a, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // NaN propagates
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
// cond ? a : b elementwise (cond is bool; all three broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b);
Tensor masked_fill(const Tensor& t, const Tensor& mask, const Scalar& value);

// ---- more elementwise functions of two or three tensors (broadcasting, promotion as above) ----
Tensor atan2(const Tensor& a, const Tensor& b);  // the angle of (b, a); integers give f32
// a - trunc(a / b) b: the sign of a (C's fmod). Integer division by zero is an error.
Tensor fmod(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, const Scalar& b);
// a - floor(a / b) b: the sign of b (Python's %). Integer division by zero is an error.
Tensor remainder(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Scalar& b);
Tensor logaddexp(const Tensor& a, const Tensor& b);  // log(exp(a) + exp(b)) without overflow
// start + weight (end - start), exact at both ends; start, end (and a tensor weight) share one
// floating dtype.
Tensor lerp(const Tensor& start, const Tensor& end, const Scalar& weight);
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
Tensor addcmul(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value = 1);  // self + value t1 t2
// self + value t1 / t2 (true division; integer t1 and t2 are refused, as in PyTorch).
Tensor addcdiv(const Tensor& self, const Tensor& t1, const Tensor& t2, const Scalar& value = 1);
// clamp with tensor bounds broadcast with x; either bound may be undefined (Tensor()), not both.
// Where min > max the result is max.
Tensor clamp(const Tensor& x, const Tensor& min, const Tensor& max);
// The activation: x where x > 0, else weight x; weight has 1 element or one per channel (dim 1).
Tensor prelu(const Tensor& x, const Tensor& weight);

// Into a preallocated output of the broadcast shape (no autograd; `out` may be an input).
Tensor& add_out(Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor& sub_out(Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
Tensor& mul_out(Tensor& out, const Tensor& a, const Tensor& b);
Tensor& div_out(Tensor& out, const Tensor& a, const Tensor& b);

// In place (self keeps its shape and dtype).
Tensor& add_(Tensor& self, const Tensor& b, const Scalar& alpha = 1);
Tensor& sub_(Tensor& self, const Tensor& b, const Scalar& alpha = 1);
Tensor& mul_(Tensor& self, const Tensor& b);
Tensor& div_(Tensor& self, const Tensor& b);
Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Scalar& value);
Tensor& copy_(Tensor& self, const Tensor& src);  // src broadcasts to self; casts dtype
Tensor& fill_(Tensor& self, const Scalar& value);
Tensor& zero_(Tensor& self);

}  // namespace hpml
