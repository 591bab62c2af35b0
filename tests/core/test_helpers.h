// Small helpers shared by the core and ops semantic tests: error-message checks and raw element access.
#pragma once

#include <gtest/gtest.h>
#include <hpml/hpml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace hpml::testing {

// Success iff f() throws hpml::Error whose message contains every one of `subs`.
template <typename F>
::testing::AssertionResult ThrowsHpmlError(F&& f, std::initializer_list<std::string_view> subs) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (std::string_view s : subs)
      if (msg.find(s) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << s << "\": " << msg;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-hpml exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// EXPECT_HPML_ERROR(expr, "substring", ...). Wrap expr in parentheses when it has a top-level comma,
// e.g. EXPECT_HPML_ERROR((zeros({2, 3})), "...").
#define EXPECT_HPML_ERROR(stmt, ...) EXPECT_TRUE(::hpml::testing::ThrowsHpmlError([&] { (void)(stmt); }, {__VA_ARGS__}))

// Address of element `idx` of t, computed from its data pointer and strides (no hpml ops involved).
template <typename T>
T* elem_ptr(const Tensor& t, std::initializer_list<int64_t> idx) {
  EXPECT_EQ(static_cast<int64_t>(idx.size()), t.dim());
  T* p = t.data_ptr<T>();
  int64_t d = 0;
  for (int64_t i : idx) p += i * t.strides()[static_cast<size_t>(d++)];
  return p;
}
template <typename T>
T at(const Tensor& t, std::initializer_list<int64_t> idx) {
  return *elem_ptr<T>(t, idx);
}

// All elements of t in row-major order, read through sizes/strides directly.
template <typename T>
std::vector<T> values(const Tensor& t) {
  std::vector<T> out;
  const T* base = t.data_ptr<T>();
  const int64_t n = t.numel(), nd = t.dim();
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (int64_t d = 0; d < nd; ++d) off += idx[static_cast<size_t>(d)] * t.strides()[static_cast<size_t>(d)];
    out.push_back(base[off]);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < t.sizes()[static_cast<size_t>(d)]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
  return out;
}

inline std::vector<int64_t> shape_of(const Tensor& t) { return t.sizes().vec(); }

}  // namespace hpml::testing
