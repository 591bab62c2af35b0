// The whole content of a file as bytes, for the readers of untrusted files (idx.cpp, csv.cpp,
// io/checkpoint.cpp).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hpml/core/error.h"

namespace hpml::data::detail {

// `who` names the caller in errors ("read_idx: cannot open ...").
inline std::vector<uint8_t> read_file_bytes(const std::string& path, const char* who) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  HPML_CHECK(fd >= 0, who, ": cannot open ", path, ": ", std::strerror(errno));
  struct ::stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    HPML_FAIL(who, ": ", path, " is not a regular file");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int err = errno;
      ::close(fd);
      HPML_FAIL(who, ": reading ", path, " failed after ", done,
                " bytes: ", r == 0 ? "the file shrank" : std::strerror(err));
    }
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  return bytes;
}

}  // namespace hpml::data::detail
