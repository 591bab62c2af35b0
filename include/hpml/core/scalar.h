// Scalar: a number passed to an op (`x * 2`, `clamp(x, 0.0, 1.0)`), holding a double, an int64
// or a bool. Like a Python number in PyTorch it takes part in type promotion as a "wrapped
// number": f32 tensor * 2.5 stays f32, i64 tensor * 2.5 becomes f32.
#pragma once

#include <cstdint>
#include <ostream>
#include <type_traits>

#include "hpml/core/dtype.h"

namespace hpml {

class Scalar {
 public:
  enum class Kind : uint8_t { Float, Int, Bool };

  Scalar() : Scalar(int64_t{0}) {}
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : kind_(Kind::Float), d_(static_cast<double>(v)) {}  // NOLINT
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : kind_(Kind::Int), i_(static_cast<int64_t>(v)) {}  // NOLINT
  Scalar(bool v) : kind_(Kind::Bool), i_(v) {}  // NOLINT
  Scalar(BFloat16 v) : Scalar(static_cast<float>(v)) {}  // NOLINT
  Scalar(Half v) : Scalar(static_cast<float>(v)) {}      // NOLINT

  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ == Kind::Int; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  double to_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  int64_t to_int() const { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }
  template <typename T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0;
    else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(to_double());
    // PyTorch's rounding: the double to float, that float to the 2-byte type.
    else if constexpr (std::is_same_v<T, BFloat16> || std::is_same_v<T, Half>) return T(static_cast<float>(to_double()));
    else return kind_ == Kind::Float ? static_cast<T>(d_) : static_cast<T>(i_);
  }
  // The dtype a tensor made from this scalar gets: f32 (the default float), i64 or bool.
  DType dtype() const { return kind_ == Kind::Float ? kDefaultFloat : kind_ == Kind::Int ? DType::i64 : DType::b8; }

 private:
  Kind kind_;
  union {
    double d_;
    int64_t i_;
  };
};

inline std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  if (s.is_floating()) return os << s.to_double();
  if (s.is_bool()) return os << (s.to_int() ? "true" : "false");
  return os << s.to_int();
}

}  // namespace hpml
