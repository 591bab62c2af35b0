// Internal to src/data: the messages between the DataLoader and its worker processes
// (process_workers.cpp): a byte writer and a bounds-checked reader, and the recording a worker
// keeps of a task while the main process profiles.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "hpml/core/error.h"
#include "hpml/core/record.h"

namespace hpml::data::detail {

struct Writer {
  std::string s;
  template <typename T>
  void put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& v) {
    put<uint32_t>(static_cast<uint32_t>(v.size()));
    s += v;
  }
};

struct Reader {
  const std::string& s;
  size_t i = 0;
  template <typename T>
  T get() {
    HPML_CHECK(i + sizeof(T) <= s.size(), "DataLoader: truncated message: needed ", sizeof(T), " bytes at offset ",
               i, " of ", s.size());
    T v;
    std::memcpy(&v, s.data() + i, sizeof v);
    i += sizeof v;
    return v;
  }
  std::string str() {
    const auto n = get<uint32_t>();
    HPML_CHECK(i + n <= s.size(), "DataLoader: truncated message: a string of ", n, " bytes at offset ", i, " of ",
               s.size());
    std::string v = s.substr(i, n);
    i += n;
    return v;
  }
};

constexpr size_t kAlign = 64;
inline size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Note [Worker processes in the profile]
// A worker process cannot write into the main process's recording. So while the main process
// records, each task it sends says so (a byte of record::Config flags); the worker records that
// task by itself (fetch, collate, the copy into shared memory, and any op or RECORD_FUNCTION its
// dataset runs) and sends the events back after the batch's tensors. Both sides read the same
// clock (CLOCK_MONOTONIC), so the main process adds them as they are, under the worker's pid,
// and one trace shows every process.
class WorkerRecording {
 public:
  explicit WorkerRecording(uint8_t flags) : on_(flags != 0) {
    if (on_) record::start({.shapes = (flags & 2) != 0, .memory = (flags & 4) != 0});
  }
  ~WorkerRecording() {
    if (on_) record::stop();
  }
  // The task's events as bytes (empty when not recording); ends the recording.
  std::string take() {
    if (!on_) return {};
    on_ = false;
    return record::encode_events(record::stop().events);
  }

 private:
  bool on_;
};

inline uint8_t profile_flags() {
  if (!record::on()) return 0;
  const record::Config c = record::running_config();
  return static_cast<uint8_t>(1 | (c.shapes ? 2 : 0) | (c.memory ? 4 : 0));
}

}  // namespace hpml::data::detail
