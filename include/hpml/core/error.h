// hpml::Error and the checking macros. Both macros throw; nothing in hpml aborts on bad input.
//   HPML_CHECK(cond, ...)  — bad user input: the message names the op and the offending values.
//   HPML_ASSERT(cond, ...) — a broken internal invariant: a bug in hpml, reported with file:line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace hpml {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

[[noreturn]] void throw_error(std::string msg);
[[noreturn]] void throw_internal(const char* file, int line, const char* cond, std::string msg);

}  // namespace detail
}  // namespace hpml

#define HPML_CHECK(cond, ...)                                                 \
  do {                                                                        \
    if (!(cond)) [[unlikely]]                                                 \
      ::hpml::detail::throw_error(::hpml::detail::str_cat(__VA_ARGS__));      \
  } while (0)

#define HPML_ASSERT(cond, ...)                                                          \
  do {                                                                                  \
    if (!(cond)) [[unlikely]]                                                           \
      ::hpml::detail::throw_internal(__FILE__, __LINE__, #cond,                         \
                                     ::hpml::detail::str_cat("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)

// Unconditional user error.
#define HPML_FAIL(...) ::hpml::detail::throw_error(::hpml::detail::str_cat(__VA_ARGS__))
