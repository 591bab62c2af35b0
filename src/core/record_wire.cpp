// Events as bytes: how a DataLoader worker process hands its events to the process that
// records (include/hpml/core/record.h). The bytes come from another process, so decoding
// bounds every count and length by what is left of the string.
#include <cstring>

#include "hpml/core/error.h"
#include "hpml/core/record.h"

namespace hpml::record {

namespace {

constexpr uint32_t kMaxRank = 64;  // dims of an input; a DimVector holds any rank, this bounds the bytes' word

struct Out {
  std::string s;
  template <typename T>
  void put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
};

struct In {
  const std::string& s;
  const std::string& who;
  size_t i = 0;
  template <typename T>
  T get() {
    HPML_CHECK(i + sizeof(T) <= s.size(), who, ": truncated profiler events: needed ", sizeof(T), " bytes at offset ",
               i, " of ", s.size());
    T v;
    std::memcpy(&v, s.data() + i, sizeof v);
    i += sizeof v;
    return v;
  }
  // A count of items of at least `min_bytes` each, no more than the bytes left could hold.
  uint32_t count(size_t min_bytes, const char* what) {
    const auto n = get<uint32_t>();
    HPML_CHECK(n <= (s.size() - i) / min_bytes, who, ": profiler events claim ", n, " ", what, " at offset ", i,
               " with only ", s.size() - i, " bytes left");
    return n;
  }
};

}  // namespace

std::string encode_events(const std::vector<Event>& events) {
  Out o;
  o.put<uint32_t>(static_cast<uint32_t>(events.size()));
  for (const Event& e : events) {
    o.put<uint32_t>(static_cast<uint32_t>(e.name.size()));
    o.s += e.name;
    o.put<uint8_t>(static_cast<uint8_t>(e.kind));
    o.put(e.start_ns);
    o.put(e.end_ns);
    o.put(e.tid);
    o.put(e.depth);
    o.put(e.sequence_nr);
    o.put(e.bytes_allocated);
    o.put(e.bytes_freed);
    // Not sent: launch_tid/launch_ns and the device bytes. Worker processes run no device kernels.
    o.put<uint32_t>(static_cast<uint32_t>(e.inputs.size()));
    for (const InputMeta& m : e.inputs) {
      o.put<uint8_t>(static_cast<uint8_t>(m.dtype));
      o.put<uint32_t>(static_cast<uint32_t>(m.sizes.size()));
      for (int64_t d : m.sizes) o.put(d);
    }
  }
  return o.s;
}

std::vector<Event> decode_events(const std::string& bytes, const std::string& who) {
  In in{bytes, who};
  std::vector<Event> out;
  const uint32_t n = in.count(4 + 1 + 8 * 5 + 4 * 3, "events");
  out.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    Event e;
    const uint32_t len = in.count(1, "name bytes");
    e.name = bytes.substr(in.i, len);
    in.i += len;
    const auto kind = in.get<uint8_t>();
    HPML_CHECK(kind <= static_cast<uint8_t>(Kind::kernel), who, ": profiler event ", k, " has kind ", int{kind});
    e.kind = static_cast<Kind>(kind);
    e.start_ns = in.get<int64_t>();
    e.end_ns = in.get<int64_t>();
    HPML_CHECK(e.end_ns >= e.start_ns, who, ": profiler event ", k, " (", e.name, ") ends at ", e.end_ns,
               " before it starts at ", e.start_ns);
    e.tid = in.get<int32_t>();
    e.depth = in.get<int32_t>();
    HPML_CHECK(e.depth >= 0, who, ": profiler event ", k, " has depth ", e.depth);
    e.sequence_nr = in.get<int64_t>();
    e.bytes_allocated = in.get<int64_t>();
    e.bytes_freed = in.get<int64_t>();
    const uint32_t inputs = in.count(5, "inputs");
    for (uint32_t j = 0; j < inputs; ++j) {
      InputMeta m;
      const auto dt = in.get<uint8_t>();
      HPML_CHECK(dt < kNumDTypes, who, ": profiler event ", k, " input ", j, " has dtype code ", int{dt});
      m.dtype = static_cast<DType>(dt);
      const uint32_t rank = in.count(8, "dims");
      HPML_CHECK(rank <= kMaxRank, who, ": profiler event ", k, " input ", j, " has ", rank, " dims");
      for (uint32_t d = 0; d < rank; ++d) m.sizes.push_back(in.get<int64_t>());
      e.inputs.push_back(std::move(m));
    }
    out.push_back(std::move(e));
  }
  HPML_CHECK(in.i == bytes.size(), who, ": ", bytes.size() - in.i, " bytes after the last profiler event");
  return out;
}

}  // namespace hpml::record
