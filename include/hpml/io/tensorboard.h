// TensorBoard event files: SummaryWriter, PyTorch's torch.utils.tensorboard.SummaryWriter for
// scalars and histograms, in C++ with no protobuf library (a small wire encoder inside
// src/io/tensorboard.cpp). Not a reader, and no images, graphs, hparams or embeddings.
//
//   hpml::io::SummaryWriter w("runs/mnist");      // creates the folder and one event file
//   w.add_scalar("loss/train", loss.item<double>(), step);  // `tensorboard --logdir runs` shows it
//   for (const auto& [name, p] : net.named_parameters()) w.add_histogram(name, p, step);
//
// The file, "<log_dir>/events.out.tfevents.<unix seconds, 10 digits>.<hostname>.<pid>.<n>" (n
// counts the writers of this process from 0, as PyTorch's does), is a TFRecord file: every record
// is a uint64 little-endian length, the masked CRC32C of those 8 bytes, the data, and the masked
// CRC32C of the data (mask(c) = ((c >> 15) | (c << 17)) + 0xa282ead8); each record's data is one
// serialized tensorboard.Event (tensorboard/compat/proto/event.proto). The first record is the
// event {wall_time, file_version: "brain.Event:2"}, written when the writer is made.
//
// What is written, and what is refused (hpml::Error naming the tag, the file or the folder):
//  - add_scalar: Summary.Value.simple_value, a float32 (PyTorch's default, new_style=False): the
//    double is rounded to float; NaN and inf are written as they are (a diverged loss shows).
//  - add_histogram: the tensor (any dtype, any shape, any device) as float64, in PyTorch's
//    default buckets (bins="tensorflow"; see Note [Histogram buckets] in src/io/tensorboard.cpp).
//    Refused: an empty tensor, any NaN or inf (the message counts them), and a tensor whose
//    values all lie outside the buckets' range, about +-9.5e19. PyTorch raises for the first and
//    the last; given NaN or inf it writes a histogram whose min, max or sum is NaN or inf.
//  - tags: 1 to 1024 bytes of valid UTF-8 (no overlong forms, no surrogates), with no control
//    characters (U+0000-U+001F, U+007F-U+009F); anything else is refused, the tag shown escaped.
//  - steps: any int64; wall_time: the system clock, in seconds since 1970 (a double).
// Events are kept in memory and written (one write(2) loop, no fsync) when max_queue of them are
// pending, when an add_* call comes flush_secs or more after the last write (there is no
// background thread: an idle writer writes nothing until flush, close or the destructor), and
// on flush() and close(). A failed write (no space, a file size limit, an I/O error) throws
// hpml::Error naming the file; the writer is then broken: every later call throws the same
// error, as the file may end in a partial record. Thread-safe: one mutex per writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hpml/core/tensor.h"

namespace hpml::io {

namespace detail {
struct SummaryWriterState;
}

// PyTorch's names and defaults.
struct SummaryWriterOptions {
  int64_t max_queue = 10;     // pending events that force a write (1 writes every event at once)
  double flush_secs = 120.0;  // an add_* call this long after the last write writes
};

class SummaryWriter {
 public:
  // Creates `log_dir` (and its parents) and a new event file in it (O_EXCL: never another's),
  // then writes the file_version record. Throws hpml::Error naming the folder or the file.
  explicit SummaryWriter(const std::string& log_dir, SummaryWriterOptions options = {});
  SummaryWriter(SummaryWriter&&) noexcept;
  SummaryWriter& operator=(SummaryWriter&&) noexcept;
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;
  // Writes what is pending and closes the file; never throws (a failure is printed on stderr).
  ~SummaryWriter();

  void add_scalar(const std::string& tag, double value, int64_t step);
  void add_histogram(const std::string& tag, const Tensor& values, int64_t step);
  // Writes every pending event to the file (the kernel's page cache; no fsync).
  void flush();
  // flush(), then closes the file; later add_* and flush calls throw. A second close does nothing.
  void close();
  // The event file's path.
  std::string path() const;

 private:
  std::unique_ptr<detail::SummaryWriterState> s_;
};

// The longest tag accepted, in bytes.
inline constexpr size_t kMaxSummaryTagBytes = 1024;

// TFRecord's checksum: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), crc32c("123456789")
// == 0xE3069283, and the masked form TFRecord stores.
uint32_t crc32c(std::string_view bytes);
uint32_t masked_crc32c(std::string_view bytes);

}  // namespace hpml::io
