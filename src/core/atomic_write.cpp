// write_file_atomic (include/hpml/core/file.h): a temporary file, fsync, rename, fsync the folder;
// and the removal of the temporary files a killed run left behind.
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/file.h"

namespace hpml {

// Note [Atomic writes]
// The new content goes to "<path>.tmp.<16 random hex digits>" in the same folder, created with
// O_CREAT | O_EXCL | O_NOFOLLOW: a name nobody can predict, and never a file or a symbolic link
// that someone placed there (O_EXCL fails on both; a clash is retried with a new name). It is
// written, fsync'ed and renamed over <path> (atomic within one file system: a reader, or a run
// restarted after a crash, sees the old file or the new one, never a mix); then the folder is
// fsync'ed so that the rename itself survives a power cut. Any failure before the rename (no
// space, a file size limit, a read-only or missing folder, a failed fsync or close) removes the
// temporary file and raises; <path> is untouched.
//
// A run killed between create and rename leaves its temporary file behind. Before each write the
// folder is scanned for "<name>.tmp.<letters and digits>" regular files (not links) whose mtime
// is older than the moment libhpml was loaded into this process (CLOCK_REALTIME_COARSE, the clock
// the kernel stamps files with); those belong to an earlier process and are removed. A temporary
// file of a process still writing the same target keeps being written, so its mtime is recent;
// two processes writing one target at the same time are a mistake anyway (the last rename wins).

namespace {

const struct timespec kLoaded = [] {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
  return t;
}();

bool older_than_load(const struct timespec& m) {
  return m.tv_sec < kLoaded.tv_sec || (m.tv_sec == kLoaded.tv_sec && m.tv_nsec < kLoaded.tv_nsec);
}

std::string random_suffix() {
  uint8_t r[8] = {};
  if (::getrandom(r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r)) {  // very early boot: mix
    static std::atomic<uint64_t> counter{0};
    struct timespec t {};
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    const uint64_t x = (static_cast<uint64_t>(::getpid()) << 40) ^ static_cast<uint64_t>(t.tv_nsec) ^
                       (static_cast<uint64_t>(t.tv_sec) << 20) ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL);
    std::memcpy(r, &x, sizeof r);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : r) s += kHex[b >> 4], s += kHex[b & 15];
  return s;
}

void split_path(const std::string& path, std::string& dir, std::string& base) {
  const size_t slash = path.find_last_of('/');
  dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  base = slash == std::string::npos ? path : path.substr(slash + 1);
}

// Removes "<base>.tmp.*" leftovers of earlier processes in `dir` (Note [Atomic writes]).
void remove_leftovers(const std::string& dir, const std::string& base) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // the create below reports the folder's problem
  const std::string prefix = base + ".tmp.";
  while (const struct dirent* e = ::readdir(d)) {
    const std::string_view name(e->d_name);
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    bool ours = true;
    for (char c : name.substr(prefix.size())) ours = ours && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'));
    struct ::stat st {};
    if (!ours || ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    if (older_than_load(st.st_mtim)) ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

// Creates a new temporary file next to `path`; returns its descriptor and sets `tmp`.
int create_temporary(const std::string& path, std::string_view who, std::string& tmp) {
  for (int attempt = 0;; ++attempt) {
    tmp = path + ".tmp." + random_suffix();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    HPML_CHECK(errno == EEXIST && attempt < 8, who, ": cannot create a temporary file ", tmp, " next to ", path, ": ",
               std::strerror(errno));
  }
}

}  // namespace

int write_fully(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : ENOSPC;
    done += static_cast<size_t>(w);
  }
  return 0;
}

void write_file_atomic(const std::string& path, std::string_view bytes, std::string_view who) {
  record::Scope event(record::Kind::io, "write_file_atomic");  // the write, fsync and rename
  std::string dir, base;
  split_path(path, dir, base);
  HPML_CHECK(!base.empty(), who, ": ", path, " names a folder, not a file");
  remove_leftovers(dir, base);
  std::string tmp;
  const int fd = create_temporary(path, who, tmp);
  auto fail = [&](const char* what, int err) {
    ::unlink(tmp.c_str());
    HPML_FAIL(who, ": ", what, " ", tmp, " failed: ", std::strerror(err));
  };
  if (const int err = write_fully(fd, bytes); err != 0) {
    ::close(fd);
    fail("writing", err);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("fsync of", err);
  }
  if (::close(fd) != 0) fail("closing", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    HPML_FAIL(who, ": cannot rename ", tmp, " to ", path, ": ", std::strerror(err));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // make the rename durable
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace hpml
