// Whole-file reading and atomic writing for the readers of untrusted files, and the escaping of
// file bytes in messages (include/hpml/core/file.h).
#include "hpml/core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "hpml/core/error.h"

namespace hpml {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symbolic link";
  return "not a regular file";
}

// Closes the descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// Note [Reading a file safely]
// A path given to hpml may name anything. open(O_RDONLY | O_NONBLOCK) returns at once even for a
// FIFO with no writer (a plain open would block forever); fstat on the open descriptor then tells
// what it is (no race with a rename between a stat and the open), and anything but a regular file
// is refused by name: reading /dev/zero or a pipe would grow without end. The size is bounded by
// `max_bytes` before allocating. Exactly st_size bytes are read; reaching the end earlier means
// the file shrank, and a byte more after them means it grew: both are errors (the caller would
// parse a torn file), named with the two sizes.
std::vector<uint8_t> read_regular_file(const std::string& path, std::string_view who, uint64_t max_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  HPML_CHECK(f.fd >= 0, who, ": cannot open ", path, ": ", std::strerror(errno));
  struct ::stat st {};
  HPML_CHECK(::fstat(f.fd, &st) == 0, who, ": cannot stat ", path, ": ", std::strerror(errno));
  HPML_CHECK(S_ISREG(st.st_mode), who, ": ", path, " is ", kind_of(st.st_mode), ", not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  HPML_CHECK(size <= max_bytes, who, ": ", path, " is ", size, " bytes, more than the limit of ", max_bytes, " bytes");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    HPML_CHECK(r >= 0, who, ": reading ", path, " failed after ", done, " of ", size, " bytes: ", std::strerror(errno));
    HPML_CHECK(r > 0, who, ": ", path, " shrank while it was read: it had ", size, " bytes, it ended after ", done);
    done += static_cast<size_t>(r);
  }
  uint8_t extra = 0;
  ssize_t r;
  while ((r = ::read(f.fd, &extra, 1)) < 0 && (errno == EINTR || errno == EAGAIN)) {
  }
  HPML_CHECK(r == 0, who, ": ", path, " grew while it was read: it had ", size, " bytes, there are more now");
  return bytes;
}

std::string read_regular_file_string(const std::string& path, std::string_view who, uint64_t max_bytes) {
  const std::vector<uint8_t> b = read_regular_file(path, who, max_bytes);
  return std::string(b.begin(), b.end());
}

std::string printable(std::string_view bytes, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(1, '\'');
  const size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (bytes.size() > n) out += "...";
  out += '\'';
  return out;
}

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return i + k < s.size() ? static_cast<uint8_t>(s[i + k]) : uint8_t{0}; };
  const auto in = [](uint8_t v, uint8_t lo, uint8_t hi) { return v >= lo && v <= hi; };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (in(c, 0xC2, 0xDF)) return in(b(1), 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    const uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(b(1), lo, hi) && in(b(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    const uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(b(1), lo, hi) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace hpml
