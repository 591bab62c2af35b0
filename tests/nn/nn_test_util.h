// Helpers shared by the nn tests: values out of tensors, error texts, scratch folders, file bytes.
#pragma once

#include <gtest/gtest.h>

#include "temp_dir.h"
#include <hpml/hpml.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace hpml::nntest {

// Row-major values of a tensor as doubles, read through data_ptr after contiguous() (no autograd).
inline std::vector<double> vals(const Tensor& t) {
  NoGradGuard ng;
  Tensor c = t.detach().contiguous();
  std::vector<double> out(static_cast<size_t>(c.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    switch (c.dtype()) {
      case DType::f32: out[i] = c.data_ptr<float>()[i]; break;
      case DType::f64: out[i] = c.data_ptr<double>()[i]; break;
      case DType::i64: out[i] = static_cast<double>(c.data_ptr<int64_t>()[i]); break;
      case DType::i32: out[i] = c.data_ptr<int32_t>()[i]; break;
      case DType::u8: out[i] = static_cast<const uint8_t*>(c.data_ptr())[i]; break;
      case DType::b8: out[i] = static_cast<const uint8_t*>(c.data_ptr())[i]; break;
      default: ADD_FAILURE() << "vals(): unsupported dtype " << c.dtype(); return {};
    }
  }
  return out;
}

// The text of the hpml::Error f throws, or "<no error>".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<non-hpml exception> ") + e.what();
  }
  return "<no error>";
}

// What error_of(f) says when the process may not grow files past `bytes` (RLIMIT_FSIZE; SIGXFSZ
// ignored, so the write fails with EFBIG instead of killing the test): a disk that fills up.
template <typename F>
std::string error_with_file_size_limit(rlim_t bytes, F&& f) {
  struct rlimit saved {};
  if (::getrlimit(RLIMIT_FSIZE, &saved) != 0) {
    ADD_FAILURE() << "getrlimit(RLIMIT_FSIZE) failed: " << std::strerror(errno);
    return "<getrlimit failed>";
  }
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = bytes;
  if (::setrlimit(RLIMIT_FSIZE, &small) != 0) {
    ADD_FAILURE() << "setrlimit(RLIMIT_FSIZE, " << bytes << ") failed: " << std::strerror(errno);
    ::signal(SIGXFSZ, old_handler);
    return "<setrlimit failed>";
  }
  std::string e = error_of(std::forward<F>(f));
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  return e;
}

inline void expect_near(const std::vector<double>& got, const std::vector<double>& want, double atol, double rtol = 0,
                        const std::string& what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " element " << i;
}

// The shared TempDir, its folders named after this layer.
struct TempDir : hpml::testing::TempDir {
  TempDir() : hpml::testing::TempDir("hpml_nn_test") {}
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace hpml::nntest

#define EXPECT_CONTAINS(text, sub) \
  EXPECT_NE(std::string(text).find(sub), std::string::npos) << "expected \"" << (sub) << "\" in: " << (text)
