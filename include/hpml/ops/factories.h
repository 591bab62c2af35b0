// Factories: tensors made from sizes, ranges, random draws, memory or C++ values.
// Random factories take an optional Generator (default: the one hpml::manual_seed seeds).
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <vector>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"

namespace hpml {

Tensor empty(IntArrayRef sizes, TensorOptions options = {});
Tensor zeros(IntArrayRef sizes, TensorOptions options = {});
Tensor ones(IntArrayRef sizes, TensorOptions options = {});
Tensor full(IntArrayRef sizes, const Scalar& value, TensorOptions options = {});
// A 0-d tensor holding `value`.
Tensor scalar_tensor(const Scalar& value, TensorOptions options = {});

// [start, end) in steps of `step`. The one-argument form is arange(0, end). dtype: i64 when all
// arguments are integers, else f32, unless options say otherwise.
Tensor arange(const Scalar& end);
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1);
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options);
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, TensorOptions options = {});

Tensor rand(IntArrayRef sizes, Generator* gen = nullptr, TensorOptions options = {});
Tensor randn(IntArrayRef sizes, Generator* gen = nullptr, TensorOptions options = {});
Tensor rand(IntArrayRef sizes, TensorOptions options);
Tensor randn(IntArrayRef sizes, TensorOptions options);
// Integers uniform in [low, high); dtype i64 unless options say otherwise.
Tensor randint(int64_t low, int64_t high, IntArrayRef sizes, Generator* gen = nullptr, TensorOptions options = kInt64);
Tensor randint(int64_t high, IntArrayRef sizes, Generator* gen = nullptr, TensorOptions options = kInt64);
// A random permutation of 0..n-1 (i64).
Tensor randperm(int64_t n, Generator* gen = nullptr, TensorOptions options = kInt64);
Tensor normal(double mean, double std, IntArrayRef sizes, Generator* gen = nullptr, TensorOptions options = {});
Tensor uniform(IntArrayRef sizes, double low, double high, Generator* gen = nullptr, TensorOptions options = {});
// In-place fills (bump the version).
Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
// 1 with probability p[i], else 0, in p's (floating) dtype; every p must lie in [0, 1]. Not
// differentiable. The double form draws every element with the same p, in x's shape and dtype.
Tensor bernoulli(const Tensor& p, Generator* gen = nullptr);
Tensor bernoulli(const Tensor& x, double p, Generator* gen = nullptr);
Tensor& bernoulli_(Tensor& t, const Tensor& p, Generator* gen = nullptr);  // p broadcasts to t
Tensor& bernoulli_(Tensor& t, double p = 0.5, Generator* gen = nullptr);

// Wraps memory the caller owns; `deleter` (optional) runs when the last tensor using it dies.
// strides default to contiguous. Nothing is copied.
Tensor from_blob(void* data, IntArrayRef sizes, TensorOptions options = {},
                 std::function<void(void*)> deleter = nullptr);
Tensor from_blob(void* data, IntArrayRef sizes, IntArrayRef strides, TensorOptions options = {},
                 std::function<void(void*)> deleter = nullptr);

// Nested C++ values for tensor(): tensor({{1.0, 2.0}, {3.0, 4.0}}), tensor(std::vector<float>{...}).
class TensorData {
 public:
  TensorData(double v) : sizes_{}, values_{Scalar(v)}, kind_(Scalar::Kind::Float) {}  // NOLINT
  TensorData(float v) : TensorData(static_cast<double>(v)) {}                          // NOLINT
  TensorData(int v) : sizes_{}, values_{Scalar(v)}, kind_(Scalar::Kind::Int) {}        // NOLINT
  TensorData(int64_t v) : sizes_{}, values_{Scalar(v)}, kind_(Scalar::Kind::Int) {}    // NOLINT
  TensorData(bool v) : sizes_{}, values_{Scalar(v)}, kind_(Scalar::Kind::Bool) {}      // NOLINT
  TensorData(std::initializer_list<TensorData> rows);                                   // NOLINT
  template <typename T>
  TensorData(const std::vector<T>& v) : sizes_{static_cast<int64_t>(v.size())}, kind_(kind_of<T>()) {  // NOLINT
    values_.reserve(v.size());
    for (const T& x : v) values_.emplace_back(x);
  }

  IntArrayRef sizes() const { return sizes_; }
  const std::vector<Scalar>& values() const { return values_; }
  // f32 for floats, i64 for integers, bool for bools (PyTorch's inference).
  DType inferred_dtype() const;

 private:
  template <typename T>
  static Scalar::Kind kind_of() {
    if constexpr (std::is_same_v<T, bool>) return Scalar::Kind::Bool;
    else if constexpr (std::is_floating_point_v<T>) return Scalar::Kind::Float;
    else return Scalar::Kind::Int;
  }
  DimVector sizes_;
  std::vector<Scalar> values_;
  Scalar::Kind kind_;
};

Tensor tensor(const TensorData& data);
Tensor tensor(const TensorData& data, TensorOptions options);

Tensor empty_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor full_like(const Tensor& t, const Scalar& value, std::optional<TensorOptions> options = std::nullopt);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);
Tensor randint_like(const Tensor& t, int64_t low, int64_t high, Generator* gen = nullptr);

}  // namespace hpml
