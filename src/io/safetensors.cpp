// safetensors reading and writing.
#include "hpml/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/file.h"
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
                                {DType::i32, "I32"}, {DType::u8, "U8"},   {DType::b8, "BOOL"},
                                {DType::bf16, "BF16"}, {DType::f16, "F16"}};

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
    Tensor c = t.detach().contiguous().cpu();  // host read: one copy per tensor
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

namespace {

// Note [Safetensors header parsing]
// The header is parsed with a SAX handler of our own that builds the JSON value and refuses a key
// repeated in any object (JSON parsers keep the last one silently: two "dtype"s, or two tensors
// of one name, would make the file mean what the last one says). nlohmann's parse-with-callback
// is not used: its DOM builder scans the parent object at each object's end, which made a header
// of 200,000 tensors quadratic (more than 40 s); this handler does O(log n) per key.
class HeaderBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  nlohmann::json root;
  std::string duplicate, where;  // the first repeated key and the object it is in ("" at the top)

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return put(v); }
  bool string(string_t& v) override { return put(std::move(v)); }
  bool binary(binary_t&) override { return put(nullptr); }
  bool start_object(std::size_t) override { return open(nlohmann::json::object()); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(nlohmann::json::array()); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    nlohmann::json& obj = *stack_.back();
    if (obj.contains(k) && duplicate.empty()) duplicate = k, where = stack_.size() > 1 ? names_.back() : "";
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = e.what();
    return false;
  }
  std::string error;

 private:
  nlohmann::json* put(nlohmann::json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    nlohmann::json& c = *stack_.back();
    if (c.is_array()) {
      c.push_back(std::move(v));
      return &c.back();
    }
    nlohmann::json& slot = c[key_];
    slot = std::move(v);
    return &slot;
  }
  bool open(nlohmann::json v) {
    std::string name = stack_.size() == 1 ? key_ : stack_.empty() ? std::string() : names_.back();
    stack_.push_back(put(std::move(v)));
    names_.push_back(std::move(name));
    return true;
  }
  bool close() {
    stack_.pop_back();
    names_.pop_back();
    return true;
  }
  std::vector<nlohmann::json*> stack_;
  std::vector<std::string> names_;  // the top-level entry each open container belongs to
  std::string key_;
};

struct Entry {
  std::string name;
  DType dtype;
  DimVector shape;
  uint64_t begin, end;
};

// The tensors must tile the data section: in offset order each begins where the one before ends,
// the first at 0, the last at the end (the format allows no holes, no overlaps, no trailing bytes).
void check_layout(const std::vector<Entry>& entries, uint64_t body_size, const std::string& src) {
  std::vector<const Entry*> order;
  order.reserve(entries.size());
  for (const Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const Entry* a, const Entry* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  uint64_t at = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : order) {
    HPML_CHECK(e->begin >= at, src, ": tensors ", printable(prev ? prev->name : ""), " [", prev ? prev->begin : 0, ", ",
               at, "] and ", printable(e->name), " [", e->begin, ", ", e->end, "] overlap in the data section");
    HPML_CHECK(e->begin == at, src, ": a gap in the data section: bytes [", at, ", ", e->begin, ") before tensor ",
               printable(e->name), " belong to no tensor");
    at = e->end, prev = e;
  }
  HPML_CHECK(at == body_size, src, ": ", body_size - at, " trailing bytes after the last tensor",
             prev ? " (" + printable(prev->name) + ")" : std::string(), ": the data section has ", body_size,
             " bytes, the tensors end at ", at);
}

nlohmann::json parse_header(const uint8_t* p, uint64_t n, const std::string& src) {
  HeaderBuilder b;
  const bool ok = nlohmann::json::sax_parse(p, p + n, &b);
  HPML_CHECK(ok, src, ": the header is not valid JSON: ", printable(b.error, 200));
  if (!b.duplicate.empty()) {
    if (b.where.empty()) HPML_FAIL(src, ": the name ", printable(b.duplicate), " appears twice in the header");
    HPML_FAIL(src, ": the entry ", printable(b.where), " has the key ", printable(b.duplicate), " twice");
  }
  return std::move(b.root);
}

}  // namespace

// Note [Reading safetensors safely]
// Nothing in the file is trusted: the header length must fit the file (and 100 MiB), the header
// must be a JSON object without a repeated key in any object (Note [Safetensors header parsing]),
// each entry must name a known dtype, a shape of
// non-negative sizes whose byte size does not overflow, and data offsets [begin, end] inside the
// data section with end - begin equal to that byte size; the tensors must tile the data section
// exactly (no gap, no overlap, no trailing bytes). Names and strings from the file are escaped in
// messages (hpml::printable). Every
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

  nlohmann::json header = parse_header(data + 8, n, src);
  HPML_CHECK(header.is_object(), src, ": the header must be a JSON object");

  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const std::string shown = printable(name);
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      HPML_CHECK(v.is_object(), src, ": __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        HPML_CHECK(m.value().is_string(), src, ": __metadata__ value for ", printable(m.key()), " is not a string");
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    HPML_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), src, ": tensor ",
               shown, " needs dtype, shape and data_offsets");
    HPML_CHECK(v["dtype"].is_string(), src, ": tensor ", shown, ": dtype is not a string");
    const std::string dn = v["dtype"].get<std::string>();
    const DTypeName* dt = std::find_if(std::begin(kNames), std::end(kNames), [&](const DTypeName& d) { return dn == d.name; });
    HPML_CHECK(dt != std::end(kNames), src, ": tensor ", shown, ": unsupported dtype ", printable(dn),
               " (hpml reads F32, F64, BF16, F16, I64, I32, U8, BOOL)");
    HPML_CHECK(v["shape"].is_array() && v["shape"].size() <= 64, src, ": tensor ", shown, ": shape must be an array of sizes");
    Entry e{name, dt->dtype, {}, 0, 0};
    uint64_t bytes = itemsize(dt->dtype);
    for (const auto& d : v["shape"]) {
      HPML_CHECK(d.is_number_unsigned(), src, ": tensor ", shown, ": shape entries must be non-negative integers");
      const uint64_t s = d.get<uint64_t>();
      HPML_CHECK(s <= static_cast<uint64_t>(INT64_MAX) && !__builtin_mul_overflow(bytes, s, &bytes), src, ": tensor ", shown,
                 ": shape is too large");
      e.shape.push_back(static_cast<int64_t>(s));
    }
    const auto& off = v["data_offsets"];
    HPML_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), src,
               ": tensor ", shown, ": data_offsets must be two non-negative integers");
    e.begin = off[0].get<uint64_t>(), e.end = off[1].get<uint64_t>();
    HPML_CHECK(e.begin <= e.end && e.end <= body_size, src, ": tensor ", shown, ": data_offsets [", e.begin, ", ", e.end,
               "] lie outside the data section of ", body_size, " bytes (file offset ", 8 + n + e.begin, ")");
    HPML_CHECK(e.end - e.begin == bytes, src, ": tensor ", shown, ": data_offsets span ", e.end - e.begin,
               " bytes but shape ", e.shape, " of ", dn, " needs ", bytes);
    entries.push_back(std::move(e));
  }
  check_layout(entries, body_size, src);
  NamedTensors out;
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.data_ptr(), body + e.begin, e.end - e.begin);
    if (e.dtype == DType::b8) {  // only 0 and 1 are valid bools
      const uint8_t* p = static_cast<const uint8_t*>(t.data_ptr());
      for (int64_t i = 0; i < t.numel(); ++i)
        HPML_CHECK(p[i] <= 1, src, ": tensor ", printable(e.name), ": BOOL byte ", static_cast<int>(p[i]), " at element ", i,
                   " is neither 0 nor 1");
    }
    out.emplace_back(e.name, t);
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  record::Scope event(record::Kind::io, "io::save_safetensors");
  write_file_atomic(path, serialize_safetensors(tensors, metadata), "save_safetensors");
}

NamedTensors load_safetensors(const std::string& path, Metadata* metadata) {
  record::Scope event(record::Kind::io, "io::load_safetensors");
  const std::vector<uint8_t> bytes = read_regular_file(path, "load_safetensors");
  return parse_safetensors(bytes.data(), bytes.size(), path, metadata);
}

void save(const nn::Module& module, const std::string& path, const Metadata& metadata) {
  save_safetensors(path, module.state_dict(), metadata);
}

void load(nn::Module& module, const std::string& path, bool strict) {
  module.load_state_dict(load_safetensors(path), strict);
}

}  // namespace hpml::io
