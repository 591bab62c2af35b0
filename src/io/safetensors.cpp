// safetensors reading and writing.
#include "hpml/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "hpml/core/error.h"
#include "hpml/nn/module.h"
#include "hpml/ops/factories.h"

namespace hpml::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

struct DTypeName {
  DType dtype;
  const char* name;
};
constexpr DTypeName kNames[] = {{DType::f32, "F32"}, {DType::f64, "F64"}, {DType::i64, "I64"},
                                {DType::i32, "I32"}, {DType::u8, "U8"},   {DType::b8, "BOOL"}};

const char* name_of(DType d) {
  for (const auto& n : kNames)
    if (n.dtype == d) return n.name;
  return "?";
}

}  // namespace

std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  std::vector<Tensor> contiguous;
  for (const auto& [name, t] : tensors) {
    HPML_CHECK(t.defined(), "save_safetensors: tensor '", name, "' is undefined");
    HPML_CHECK(name != "__metadata__" && seen.insert(name).second, "save_safetensors: duplicate or reserved name '", name, "'");
    Tensor c = t.detach().contiguous();
    const uint64_t n = c.nbytes();
    header[name] = {{"dtype", name_of(c.dtype())}, {"shape", std::vector<int64_t>(c.sizes().begin(), c.sizes().end())},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
    contiguous.push_back(c);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // pad so the data starts 8-byte aligned
  const uint64_t n = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  out += json;
  for (const Tensor& c : contiguous) out.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return out;
}

// Note [Reading safetensors safely]
// Nothing in the file is trusted: the header length must fit the file (and 100 MiB), the header
// must be a JSON object without repeated names, each entry must name a known dtype, a shape of
// non-negative sizes whose byte size does not overflow, and data offsets [begin, end] inside the
// data section with end - begin equal to that byte size; no two tensors may overlap. Every
// failure raises hpml::Error with the file name and what is wrong; the libFuzzer target
// (tests/fuzz/safetensors_fuzzer.cpp, scripts/fuzz) exercises this code.
NamedTensors parse_safetensors(const uint8_t* data, size_t size, const std::string& src, Metadata* metadata) {
  HPML_CHECK(size >= 8, src, ": not a safetensors file: ", size, " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, data, 8);
  HPML_CHECK(n <= kMaxSafetensorsHeader, src, ": header length ", n, " exceeds the limit of ", kMaxSafetensorsHeader, " bytes");
  HPML_CHECK(n <= size - 8, src, ": header length ", n, " runs past the end of the file (", size, " bytes)");
  const uint8_t* body = data + 8 + n;
  const uint64_t body_size = size - 8 - n;

  // Parse, refusing repeated keys at the top level (JSON parsers normally keep the last one).
  std::set<std::string> keys;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && !keys.insert(parsed.get<std::string>()).second &&
        duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(data + 8, data + 8 + n, on_event);
  } catch (const nlohmann::json::exception& e) {
    HPML_FAIL(src, ": the header is not valid JSON: ", e.what());
  }
  HPML_CHECK(duplicate.empty(), src, ": the name '", duplicate, "' appears twice in the header");
  HPML_CHECK(header.is_object(), src, ": the header must be a JSON object");

  struct Entry {
    std::string name;
    DType dtype;
    DimVector shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      HPML_CHECK(v.is_object(), src, ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        HPML_CHECK(m.value().is_string(), src, ": __metadata__ value for '", m.key(), "' is not a string");
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    HPML_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), src, ": tensor '",
               name, "' needs dtype, shape and data_offsets");
    HPML_CHECK(v["dtype"].is_string(), src, ": tensor '", name, "': dtype is not a string");
    const std::string dn = v["dtype"].get<std::string>();
    const DTypeName* dt = std::find_if(std::begin(kNames), std::end(kNames), [&](const DTypeName& d) { return dn == d.name; });
    HPML_CHECK(dt != std::end(kNames), src, ": tensor '", name, "': unsupported dtype '", dn,
               "' (hpml reads F32, F64, I64, I32, U8, BOOL)");
    HPML_CHECK(v["shape"].is_array() && v["shape"].size() <= 64, src, ": tensor '", name, "': shape must be an array of sizes");
    Entry e{name, dt->dtype, {}, 0, 0};
    uint64_t bytes = itemsize(dt->dtype);
    for (const auto& d : v["shape"]) {
      HPML_CHECK(d.is_number_unsigned(), src, ": tensor '", name, "': shape entries must be non-negative integers");
      const uint64_t s = d.get<uint64_t>();
      HPML_CHECK(s <= static_cast<uint64_t>(INT64_MAX) && !__builtin_mul_overflow(bytes, s, &bytes), src, ": tensor '", name,
                 "': shape is too large");
      e.shape.push_back(static_cast<int64_t>(s));
    }
    const auto& off = v["data_offsets"];
    HPML_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), src,
               ": tensor '", name, "': data_offsets must be two non-negative integers");
    e.begin = off[0].get<uint64_t>(), e.end = off[1].get<uint64_t>();
    HPML_CHECK(e.begin <= e.end && e.end <= body_size, src, ": tensor '", name, "': data_offsets [", e.begin, ", ", e.end,
               "] lie outside the data section of ", body_size, " bytes (file offset ", 8 + n + e.begin, ")");
    HPML_CHECK(e.end - e.begin == bytes, src, ": tensor '", name, "': data_offsets span ", e.end - e.begin,
               " bytes but shape ", e.shape, " of ", dn, " needs ", bytes);
    entries.push_back(std::move(e));
  }
  // No two non-empty tensors may share bytes.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    HPML_CHECK(by_offset[i]->begin >= by_offset[i - 1]->end, src, ": tensors '", by_offset[i - 1]->name, "' and '",
               by_offset[i]->name, "' overlap in the data section");

  NamedTensors out;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.data_ptr(), body + e.begin, e.end - e.begin);
    if (e.dtype == DType::b8) {  // only 0 and 1 are valid bools
      const uint8_t* p = static_cast<const uint8_t*>(t.data_ptr());
      for (int64_t i = 0; i < t.numel(); ++i)
        HPML_CHECK(p[i] <= 1, src, ": tensor '", e.name, "': BOOL byte ", static_cast<int>(p[i]), " at element ", i,
                   " is neither 0 nor 1");
    }
    out.emplace_back(e.name, t);
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  const std::string bytes = serialize_safetensors(tensors, metadata);
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  HPML_CHECK(fd >= 0, "save_safetensors: cannot create ", tmp, ": ", std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      HPML_FAIL("save_safetensors: writing ", tmp, " failed: ", std::strerror(err));
    }
    done += static_cast<size_t>(w);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    HPML_FAIL("save_safetensors: cannot write ", path, ": ", std::strerror(err));
  }
  // Make the rename itself durable.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

NamedTensors load_safetensors(const std::string& path, Metadata* metadata) {
  std::ifstream f(path, std::ios::binary);
  HPML_CHECK(f.good(), "load_safetensors: cannot open ", path, ": ", std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_safetensors(bytes.data(), bytes.size(), path, metadata);
}

void save(const nn::Module& module, const std::string& path, const Metadata& metadata) {
  save_safetensors(path, module.state_dict(), metadata);
}

void load(nn::Module& module, const std::string& path, bool strict) {
  module.load_state_dict(load_safetensors(path), strict);
}

}  // namespace hpml::io
