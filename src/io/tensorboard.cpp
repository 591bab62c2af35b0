// SummaryWriter: TensorBoard event files (TFRecord framing around serialized Event protos),
// written with a small protobuf wire encoder of its own; CRC-32C; PyTorch's default histogram
// buckets. The format and what is refused: include/hpml/io/tensorboard.h.
#include "hpml/io/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <utility>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/file.h"

namespace hpml::io {

// ---- CRC-32C ----------------------------------------------------------------------------------

namespace {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : bytes) c = kCrc32cTable[(c ^ static_cast<uint8_t>(ch)) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view bytes) {
  const uint32_t c = crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

namespace {

// ---- protobuf wire encoder --------------------------------------------------------------------

// Note [Event protos by hand]
// Only writing is needed, and only these fields, checked against tensorboard's
// tensorboard/compat/proto/{event,summary,histogram}.proto:
//   Event          { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3;
//                    Summary summary = 5; } }
//   Summary        { repeated Value value = 1; }
//   Summary.Value  { string tag = 1; oneof value { float simple_value = 2; HistogramProto histo = 5; } }
//   HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
//                    repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
// A field is its key varint (field_number << 3 | wire type: 0 varint, 1 fixed64, 2 length-
// delimited, 5 fixed32) and its value, little-endian; int64 is a varint of the two's complement
// (10 bytes when negative); a message or packed array is length-delimited. Every field is
// written, zeros too: proto3 readers take an explicit 0 as the default, and the oneof members
// (simple_value = 0.0 above all) must be present to say which member is set.
class ProtoWriter {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void key(uint32_t field, uint32_t wire_type) { varint(uint64_t{field} << 3 | wire_type); }
  void int64_field(uint32_t field, int64_t v) {
    key(field, 0);
    varint(static_cast<uint64_t>(v));
  }
  void double_field(uint32_t field, double v) {
    key(field, 1);
    raw_double(v);
  }
  void float_field(uint32_t field, float v) {
    uint32_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    key(field, 5);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }
  void bytes_field(uint32_t field, std::string_view b) {
    key(field, 2);
    varint(b.size());
    out_.append(b);
  }
  void packed_doubles(uint32_t field, const std::vector<double>& v) {
    if (v.empty()) return;
    key(field, 2);
    varint(v.size() * 8);
    for (double d : v) raw_double(d);
  }
  std::string take() { return std::move(out_); }

 private:
  void raw_double(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

void append_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// One TFRecord: length, masked CRC of the length's 8 bytes, data, masked CRC of the data.
void append_record(std::string& out, std::string_view data) {
  std::string len;
  append_le(len, data.size(), 8);
  out += len;
  append_le(out, masked_crc32c(len), 4);
  out.append(data);
  append_le(out, masked_crc32c(data), 4);
}

double wall_time_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// Event {wall_time, step, summary {value: [value]}} around one serialized Summary.Value.
std::string summary_event(int64_t step, std::string_view value) {
  ProtoWriter summary;
  summary.bytes_field(1, value);
  ProtoWriter event;
  event.double_field(1, wall_time_now());
  event.int64_field(2, step);
  event.bytes_field(5, summary.take());
  return event.take();
}

// ---- tags -------------------------------------------------------------------------------------

void check_tag(const char* op, const std::string& tag) {
  HPML_CHECK(!tag.empty(), "SummaryWriter::", op, ": the tag is empty");
  HPML_CHECK(tag.size() <= kMaxSummaryTagBytes, "SummaryWriter::", op, ": the tag ", printable(tag), " is ", tag.size(),
             " bytes, more than the limit of ", kMaxSummaryTagBytes);
  for (size_t i = 0; i < tag.size();) {
    const size_t n = utf8_sequence_length(tag, i);
    HPML_CHECK(n != 0, "SummaryWriter::", op, ": the tag ", printable(tag), " is not valid UTF-8 (at byte ", i, ")");
    const auto c0 = static_cast<uint8_t>(tag[i]), c1 = n > 1 ? static_cast<uint8_t>(tag[i + 1]) : uint8_t{0};
    const bool control = c0 < 0x20 || c0 == 0x7F || (c0 == 0xC2 && c1 <= 0x9F);  // U+0000-1F, U+007F-9F
    HPML_CHECK(!control, "SummaryWriter::", op, ": the tag ", printable(tag), " has a control character (at byte ", i,
               ")");
    i += n;
  }
}

// ---- histograms -------------------------------------------------------------------------------

// Note [Histogram buckets]
// torch.utils.tensorboard's add_histogram(bins="tensorflow"), the default, takes these rules
// (SummaryWriter.__init__'s default_bins and summary.make_histogram), and so does hpml:
//  - Edges: v = 1e-12, then v *= 1.1 while v < 1e20 (773 values, in doubles: the same bits as
//    Python's floats); the edges are the negated values reversed, 0, then the values.
//  - np.histogram(values, bins=edges): bin k holds edges[k] <= x < edges[k+1], the last bin
//    also x == edges.back(); values outside [edges.front(), edges.back()] (|x| > ~9.5e19) are
//    in no bin, though num, min, max, sum and sum_squares still count them.
//  - Only the support is kept: from the bin left of the first non-empty bin to the last
//    non-empty bin, each bucket given by its right edge (TensorBoard's bucket_limit); when the
//    first bin is non-empty, a bucket of count 0 with limit edges.front() comes first instead.
//    So the first bucket is always empty and marks where the histogram starts.
//  - min, max, num, sum, sum_squares of the values as float64, summed in order (numpy sums
//    pairwise and takes sum_squares from a BLAS dot, so their last bits may differ).
// max_bins (PyTorch's optional re-binning) is not offered. Compared once with torch 1.13's own
// SummaryWriter on 20,000 normal values plus zeros, -0.0, exact edges, both outermost edges and
// +-1e25: the same bucket_limit and bucket, value for value.
const std::vector<double>& default_edges() {
  static const std::vector<double> edges = [] {
    std::vector<double> pos;
    for (double v = 1e-12; v < 1e20; v *= 1.1) pos.push_back(v);
    std::vector<double> e;
    e.reserve(2 * pos.size() + 1);
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) e.push_back(-*it);
    e.push_back(0.0);
    e.insert(e.end(), pos.begin(), pos.end());
    return e;
  }();
  return edges;
}

struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> limits, counts;
};

// The values of `t` as float64, refusing what the header says (empty, non-finite).
std::vector<double> histogram_values(const std::string& tag, const Tensor& t) {
  HPML_CHECK(t.defined(), "SummaryWriter::add_histogram(", printable(tag), "): the tensor is undefined");
  HPML_CHECK(t.numel() > 0, "SummaryWriter::add_histogram(", printable(tag), "): the tensor has no elements (shape ",
             t.sizes(), ")");
  const Tensor c = t.detach().to(kCPU).to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  std::vector<double> v(p, p + c.numel());
  const auto bad = std::count_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); });
  HPML_CHECK(bad == 0, "SummaryWriter::add_histogram(", printable(tag), "): ", bad, " of ", v.size(),
             " values are NaN or inf; a histogram needs finite values (hint: check for a diverged run, or "
             "log t.nan_to_num())");
  return v;
}

Histogram make_histogram(const std::string& tag, const std::vector<double>& v) {
  const std::vector<double>& e = default_edges();
  const size_t nbins = e.size() - 1;
  std::vector<int64_t> bins(nbins, 0);
  Histogram h;
  h.min = v[0];
  h.max = v[0];
  for (double x : v) {
    h.min = std::min(h.min, x);
    h.max = std::max(h.max, x);
    h.sum += x;
    h.sum_squares += x * x;
    if (x < e.front() || x > e.back()) continue;
    const auto k = static_cast<size_t>(std::upper_bound(e.begin(), e.end(), x) - e.begin()) - 1;
    ++bins[std::min(k, nbins - 1)];
  }
  h.num = static_cast<double>(v.size());
  const auto nonzero = [](int64_t n) { return n > 0; };
  const auto first = std::find_if(bins.begin(), bins.end(), nonzero);
  HPML_CHECK(first != bins.end(), "SummaryWriter::add_histogram(", printable(tag), "): all ", v.size(),
             " values lie outside the histogram buckets [", e.front(), ", ", e.back(), "] (min ", h.min, ", max ",
             h.max, ")");
  const auto f = static_cast<size_t>(first - bins.begin());
  const auto l = nbins - 1 - static_cast<size_t>(std::find_if(bins.rbegin(), bins.rend(), nonzero) - bins.rbegin());
  if (f == 0) {
    h.limits.push_back(e[0]);
    h.counts.push_back(0);
  }
  for (size_t k = f == 0 ? 0 : f - 1; k <= l; ++k) {
    h.limits.push_back(e[k + 1]);
    h.counts.push_back(static_cast<double>(bins[k]));
  }
  return h;
}

std::string histogram_value(const std::string& tag, const Histogram& h) {
  ProtoWriter histo;
  histo.double_field(1, h.min);
  histo.double_field(2, h.max);
  histo.double_field(3, h.num);
  histo.double_field(4, h.sum);
  histo.double_field(5, h.sum_squares);
  histo.packed_doubles(6, h.limits);
  histo.packed_doubles(7, h.counts);
  ProtoWriter value;
  value.bytes_field(1, tag);
  value.bytes_field(5, histo.take());
  return value.take();
}

}  // namespace

// ---- the writer -------------------------------------------------------------------------------

namespace detail {

struct SummaryWriterState {
  std::mutex mu;
  std::string path;
  SummaryWriterOptions options;
  int fd = -1;
  std::string pending;  // framed records not yet written
  int64_t pending_events = 0;
  uint64_t written = 0;  // bytes of whole records in the file
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  bool closed = false;
  std::string broken;  // the error of a failed write; every later call repeats it

  ~SummaryWriterState() {
    if (fd >= 0) ::close(fd);
  }

  [[noreturn]] void fail(std::string message) {
    broken = std::move(message);
    if (fd >= 0) ::close(fd);
    fd = -1;
    HPML_FAIL(broken);
  }

  void check_usable(const char* op) const {
    if (!broken.empty()) HPML_FAIL(broken);
    HPML_CHECK(!closed, "SummaryWriter::", op, ": ", path, " is closed");
  }

  // On a failure the file is cut back to its last whole record (best effort), so that readers
  // see every event written before; the writer stays broken (see the header).
  void write_pending() {
    if (const int err = write_fully(fd, pending); err != 0) {
      const bool cut = ::ftruncate(fd, static_cast<off_t>(written)) == 0;
      fail(hpml::detail::str_cat(
          "SummaryWriter: cannot write the event file ", path, ": ", std::strerror(err), " (", pending_events,
          " events lost; ", cut ? "the file keeps the events written before" : "the file may end in a partial record",
          ")"));
    }
    written += pending.size();
    pending.clear();
    pending_events = 0;
    last_write = std::chrono::steady_clock::now();
  }

  void add(std::string_view event) {
    append_record(pending, event);
    ++pending_events;
    const std::chrono::duration<double> since = std::chrono::steady_clock::now() - last_write;
    if (pending_events >= options.max_queue || since.count() >= options.flush_secs) write_pending();
  }
};

}  // namespace detail

namespace {

// "events.out.tfevents.<seconds, 10 digits>.<hostname>.<pid>.<n>", tensorboard's EventFileWriter
// naming (n: a per-process counter from 0, so two writers in one second never collide).
std::string event_file_name() {
  static std::atomic<int64_t> counter{0};
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') std::strcpy(host.data(), "localhost");
  std::string h = host.data();
  std::replace(h.begin(), h.end(), '/', '_');
  std::array<char, 32> secs{};
  std::snprintf(secs.data(), secs.size(), "%010lld", static_cast<long long>(std::time(nullptr)));
  return hpml::detail::str_cat("events.out.tfevents.", secs.data(), ".", h, ".", ::getpid(), ".", counter.fetch_add(1));
}

}  // namespace

SummaryWriter::SummaryWriter(const std::string& log_dir, SummaryWriterOptions options)
    : s_(std::make_unique<detail::SummaryWriterState>()) {
  HPML_CHECK(options.max_queue >= 1, "SummaryWriter: max_queue must be at least 1, got ", options.max_queue);
  HPML_CHECK(options.flush_secs >= 0,  // false for NaN too
             "SummaryWriter: flush_secs must be >= 0, got ", options.flush_secs);
  HPML_CHECK(!log_dir.empty(), "SummaryWriter: the log folder is empty (hint: SummaryWriter(\"runs/exp1\"))");
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  HPML_CHECK(!ec, "SummaryWriter: cannot create the log folder ", log_dir, ": ", ec.message());
  HPML_CHECK(std::filesystem::is_directory(log_dir, ec), "SummaryWriter: the log folder ", log_dir, " is not a folder");
  s_->options = options;
  s_->path = (std::filesystem::path(log_dir) / event_file_name()).string();
  s_->fd = ::open(s_->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  HPML_CHECK(s_->fd >= 0, "SummaryWriter: cannot create the event file ", s_->path, ": ", std::strerror(errno));
  ProtoWriter first;
  first.double_field(1, wall_time_now());
  first.bytes_field(3, "brain.Event:2");
  append_record(s_->pending, first.take());
  try {
    s_->write_pending();
  } catch (...) {
    ::unlink(s_->path.c_str());  // nothing readable was written: leave no file behind
    throw;
  }
}

SummaryWriter::SummaryWriter(SummaryWriter&&) noexcept = default;
SummaryWriter& SummaryWriter::operator=(SummaryWriter&& other) noexcept {
  if (this != &other) {
    SummaryWriter old(std::move(*this));  // closes (flushes) what this writer had
    s_ = std::move(other.s_);
  }
  return *this;
}

SummaryWriter::~SummaryWriter() {
  if (!s_) return;
  try {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->closed || !s_->broken.empty()) return;
    s_->write_pending();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpml SummaryWriter: %s\n", e.what());
  }
}

void SummaryWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  HPML_CHECK(s_, "SummaryWriter::add_scalar: the writer was moved from");
  check_tag("add_scalar", tag);
  ProtoWriter v;
  v.bytes_field(1, tag);
  v.float_field(2, static_cast<float>(value));
  const std::string event = summary_event(step, v.take());
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->check_usable("add_scalar");
  s_->add(event);
}

void SummaryWriter::add_histogram(const std::string& tag, const Tensor& values, int64_t step) {
  HPML_CHECK(s_, "SummaryWriter::add_histogram: the writer was moved from");
  check_tag("add_histogram", tag);
  const std::string event =
      summary_event(step, histogram_value(tag, make_histogram(tag, histogram_values(tag, values))));
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->check_usable("add_histogram");
  s_->add(event);
}

void SummaryWriter::flush() {
  HPML_CHECK(s_, "SummaryWriter::flush: the writer was moved from");
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->check_usable("flush");
  s_->write_pending();
}

void SummaryWriter::close() {
  HPML_CHECK(s_, "SummaryWriter::close: the writer was moved from");
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->closed) return;
  if (!s_->broken.empty()) HPML_FAIL(s_->broken);
  s_->write_pending();
  s_->closed = true;
  const int fd = std::exchange(s_->fd, -1);
  HPML_CHECK(::close(fd) == 0, "SummaryWriter: closing the event file ", s_->path, " failed: ", std::strerror(errno));
}

std::string SummaryWriter::path() const {
  HPML_CHECK(s_, "SummaryWriter::path: the writer was moved from");
  return s_->path;
}

}  // namespace hpml::io
