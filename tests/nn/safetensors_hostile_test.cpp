// Hostile safetensors files: repeated keys inside an entry, holes, overlaps and trailing bytes in
// the data section, raw bytes in names, non-regular files, and a header of 200,000 tensors (the
// parser was quadratic in their number: Note [Safetensors header parsing]).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <chrono>
#include <cstring>
#include <string>

#include "hpml/io/safetensors.h"
#include "nn/nn_test_util.h"

namespace hpml {
namespace {

std::string file_of(const std::string& json, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json + std::string(data_bytes, '\0');
}

std::string parse_error(const std::string& bytes) {
  return nntest::error_of([&] {
    io::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.safetensors");
  });
}

TEST(HostileSafetensors, RepeatedKeyInsideAnEntryIsRefused) {
  const std::string f = file_of(R"({"a":{"dtype":"F32","shape":[1],"dtype":"I32","data_offsets":[0,4]}})", 4);
  EXPECT_CONTAINS(parse_error(f), "x.safetensors: the entry 'a' has the key 'dtype' twice");
  const std::string g = file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"shape":[1]}})", 4);
  EXPECT_CONTAINS(parse_error(g), "the entry 'a' has the key 'shape' twice");
}

TEST(HostileSafetensors, GapsOverlapsAndTrailingBytesAreRefused) {
  EXPECT_CONTAINS(parse_error(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                      12)),
                  "a gap in the data section: bytes [4, 8) before tensor 'b' belong to no tensor");
  EXPECT_CONTAINS(parse_error(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                      8)),
                  "tensors 'a' [0, 8] and 'b' [4, 8] overlap in the data section");
  EXPECT_CONTAINS(parse_error(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8)),
                  "4 trailing bytes after the last tensor ('a'): the data section has 8 bytes, the tensors end at 4");
  EXPECT_CONTAINS(parse_error(file_of(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
                  "bytes [0, 4) before tensor 'a'");
}

TEST(HostileSafetensors, RawBytesInNamesAreEscaped) {
  // JSON strings are UTF-8 with escapes: U+00E9, an ESC (a terminal control sequence), U+00FF.
  const std::string e =
      parse_error(file_of(R"({"\u00e9\u001b[2J":{"dtype":"F\u00ff","shape":[1],"data_offsets":[0,4]}})", 4));
  EXPECT_CONTAINS(e, "tensor '\\xc3\\xa9\\x1b[2J': unsupported dtype 'F\\xc3\\xbf'");
  const std::string bad = parse_error(file_of("{\"\xff\":1}", 0));  // not UTF-8: the JSON error quotes it
  EXPECT_CONTAINS(bad, "ill-formed UTF-8");
  for (char c : bad) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << static_cast<int>(static_cast<unsigned char>(c));
  for (char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << static_cast<int>(static_cast<unsigned char>(c));
}

TEST(HostileSafetensors, ManySmallTensorsParseInLinearTime) {
  constexpr int kN = 200'000;
  std::string json = "{";
  for (int i = 0; i < kN; ++i)
    json += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" +
            std::to_string(i) + "," + std::to_string(i + 1) + "]}";
  json += "}";
  const std::string f = file_of(json, kN);
  const auto t0 = std::chrono::steady_clock::now();
  const io::NamedTensors got = io::parse_safetensors(reinterpret_cast<const uint8_t*>(f.data()), f.size(), "many");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(got.size(), static_cast<size_t>(kN));
  EXPECT_LT(secs, 30.0) << "parsing 200,000 tensors took " << secs << " s (it was quadratic once: over 40 s)";
}

TEST(HostileSafetensors, NonRegularFilesAreRefusedByKind) {
  EXPECT_CONTAINS(nntest::error_of([] { io::load_safetensors("/dev/zero"); }),
                  "load_safetensors: /dev/zero is a character device, not a regular file");
  nntest::TempDir dir;
  EXPECT_CONTAINS(nntest::error_of([&] { io::load_safetensors(dir.path()); }), "is a directory, not a regular file");
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_CONTAINS(nntest::error_of([&] { io::load_safetensors(fifo); }), "is a FIFO (named pipe), not a regular file");
}


std::string contents(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

TEST(AtomicWrite, APlantedSymlinkAtTheOldTemporaryNameIsNotFollowed) {
  nntest::TempDir dir;
  const std::string path = dir.file("m.safetensors"), victim = dir.file("victim");
  { std::ofstream(victim) << "precious"; }
  const std::string old_tmp = path + ".tmp." + std::to_string(::getpid());  // the name once used
  ASSERT_EQ(::symlink(victim.c_str(), old_tmp.c_str()), 0);
  io::save_safetensors(path, {{"x", ones({2})}});
  EXPECT_EQ(contents(victim), "precious");
  struct ::stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << path << " is not a regular file after the write";
}

TEST(AtomicWrite, LeftoversOfEarlierRunsAreRemovedOthersKept) {
  nntest::TempDir dir;
  const std::string path = dir.file("m.safetensors");
  const std::string stale = path + ".tmp.12345", fresh = path + ".tmp.0123456789abcdef", other = dir.file("n.tmp.1");
  for (const std::string& f : {stale, fresh, other}) std::ofstream(f) << "partial";
  const struct timespec old_times[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  const struct timespec new_times[2] = {{::time(nullptr) + 3600, 0}, {::time(nullptr) + 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), old_times, 0), 0);   // a killed run's, an hour ago
  ASSERT_EQ(::utimensat(AT_FDCWD, other.c_str(), old_times, 0), 0);   // another target's
  ASSERT_EQ(::utimensat(AT_FDCWD, fresh.c_str(), new_times, 0), 0);   // newer than this process
  io::save_safetensors(path, {{"x", ones({2})}});
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"m.safetensors", "m.safetensors.tmp.0123456789abcdef", "n.tmp.1"}));
}

// Root writes into a read-only folder regardless of its mode bits, so when run as root the write
// runs in a child process that first becomes user "nobody" (65534).
TEST(AtomicWrite, AReadOnlyFolderKeepsThePreviousFileAndSaysWhy) {
  nntest::TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string sub = dir.file("ro"), path = sub + "/m.safetensors";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  io::save_safetensors(path, {{"x", ones({2})}});
  const std::string before = contents(path);
  ASSERT_EQ(::chmod(sub.c_str(), 0555), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) _exit(3);
    const std::string e = nntest::error_of([&] { io::save_safetensors(path, {{"y", zeros({3})}}); });
    if (::write(fds[1], e.data(), e.size()) < 0) _exit(4);
    _exit(0);
  }
  ::close(fds[1]);
  std::string e;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) e.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::chmod(sub.c_str(), 0755);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child could not drop to user nobody";
  EXPECT_CONTAINS(e, "save_safetensors: cannot create a temporary file " + path + ".tmp.");
  EXPECT_CONTAINS(e, "Permission denied");
  EXPECT_EQ(contents(path), before);
}

}  // namespace
}  // namespace hpml
