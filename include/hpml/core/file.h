// Reading and writing whole files safely, for every reader of untrusted files (safetensors,
// checkpoints, IDX, CSV, the hpml command): a bounded read of a regular file, an atomic write,
// and `printable`, which makes bytes taken from a file safe to put into an error message.
//
//   std::vector<uint8_t> b = hpml::read_regular_file(path, "read_idx");
//   hpml::write_file_atomic(path, bytes, "save_safetensors");
//   HPML_FAIL(src, ": unknown dtype ", hpml::printable(dtype));   // 'F\xff16'
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hpml {

// The largest file read_regular_file reads unless told otherwise: 64 GiB.
inline constexpr uint64_t kMaxFileBytes = uint64_t{64} << 30;

// The whole content of the regular file at `path`. Opens with O_NONBLOCK (a FIFO cannot block the
// open), refuses anything but a regular file (naming what it is: a directory, a FIFO, a device,
// ...), refuses a file larger than `max_bytes` (both sizes in the message) and fails when the file
// shrinks or grows while it is read. `who` starts every message ("read_idx: ...").
// See Note [Reading a file safely] in src/core/file.cpp.
std::vector<uint8_t> read_regular_file(const std::string& path, std::string_view who,
                                       uint64_t max_bytes = kMaxFileBytes);
// The same as text (no encoding is checked).
std::string read_regular_file_string(const std::string& path, std::string_view who,
                                     uint64_t max_bytes = kMaxFileBytes);

// Replaces the file at `path` by `bytes` atomically: a new temporary file "<path>.tmp.<random>"
// (O_CREAT | O_EXCL | O_NOFOLLOW, mode 0644 less the umask), written, fsync'ed, renamed over
// `path`, then the folder fsync'ed. On any failure the temporary file is removed, the previous
// file at `path` is unchanged, and hpml::Error names the file and the reason. Leftover
// "<path>.tmp.*" files older than this process (from a run that was killed) are removed first.
// See Note [Atomic writes] in src/core/file.cpp.
void write_file_atomic(const std::string& path, std::string_view bytes, std::string_view who);

// Writes every byte of `bytes` to the open file `fd`, retrying after a signal or a short write.
// Returns 0, or the errno of the write that failed (ENOSPC when write() wrote nothing).
int write_fully(int fd, std::string_view bytes);

// `bytes` quoted and safe to print: printable ASCII is kept, a quote or backslash is escaped,
// every other byte becomes \xNN; longer than `max_bytes` input bytes, it is cut and ends in "...".
//   printable("a\nb\xff") == "'a\\x0ab\\xff'"
std::string printable(std::string_view bytes, size_t max_bytes = 64);

// The length of the valid UTF-8 sequence at s[i] (1 to 4), or 0 where none starts (Unicode 15,
// Table 3-7: no overlong forms, no surrogates U+D800-U+DFFF, nothing above U+10FFFF, none cut
// off by the end of s). i < s.size().
size_t utf8_sequence_length(std::string_view s, size_t i);

}  // namespace hpml
