// The char tokenizer, the hex vocabulary and base64 texts of a checkpoint's metadata, and the
// choice between char and bpe when a checkpoint is read (the bpe tokenizer: tokenizer_bpe.cpp).
#include "tokenizer.h"

#include <algorithm>
#include <cstdio>

namespace hpml::cli {

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) out += bytes(id);
  return out;
}

// ---- char: the distinct bytes of the text -------------------------------------------------------

namespace {

std::string shown(uint8_t b) {
  if (b == '\n') return "\\n";
  if (b >= 32 && b < 127) return std::string(1, static_cast<char>(b));
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  return buf;
}

class CharTokenizer final : public Tokenizer {
 public:
  explicit CharTokenizer(std::string vocab) : vocab_(std::move(vocab)), index_(256, -1) {
    for (size_t i = 0; i < vocab_.size(); ++i) {
      index_[static_cast<unsigned char>(vocab_[i])] = static_cast<int64_t>(i);
      bytes_.emplace_back(1, vocab_[i]);
    }
  }
  std::string kind() const override { return "char"; }
  int64_t size() const override { return static_cast<int64_t>(vocab_.size()); }
  std::vector<int64_t> encode(std::string_view text, const std::string& what) const override {
    std::vector<int64_t> ids;
    ids.reserve(text.size());
    for (unsigned char ch : text) {
      HPML_CHECK(index_[ch] >= 0, what, "'s character ", printable(std::string(1, static_cast<char>(ch))), " (byte ",
                 static_cast<int>(ch), ") is not in the model's vocabulary of ", vocab_.size());
      ids.push_back(index_[ch]);
    }
    return ids;
  }
  const std::string& bytes(int64_t id) const override {
    HPML_CHECK(id >= 0 && id < size(), "char tokenizer: id ", id, " is outside its vocabulary of ", size());
    return bytes_[static_cast<size_t>(id)];
  }
  std::string name(int64_t id) const override { return shown(static_cast<uint8_t>(bytes(id)[0])); }
  void save(io::Metadata& metadata) const override { metadata["vocab"] = vocab_to_hex(vocab_); }

 private:
  std::string vocab_;
  std::vector<int64_t> index_;  // byte -> id, -1 outside the vocabulary
  std::vector<std::string> bytes_;
};

}  // namespace

TokenizerPtr char_tokenizer(std::string vocab) { return std::make_shared<CharTokenizer>(std::move(vocab)); }

TokenizerPtr char_tokenizer_of(std::string_view text) {
  bool present[256] = {};
  for (unsigned char ch : text) present[ch] = true;
  std::string vocab;
  for (int b = 0; b < 256; ++b)
    if (present[b]) vocab.push_back(static_cast<char>(b));
  return char_tokenizer(std::move(vocab));
}

std::string vocab_to_hex(const std::string& vocab) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : vocab) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  return hex;
}

std::string vocab_from_hex(const std::string& hex, const std::string& source) {
  HPML_CHECK(!hex.empty() && hex.size() % 2 == 0 && hex.size() <= 512, source, ": metadata vocab has ", hex.size(),
             " hex digits; it needs an even number from 2 to 512");
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    HPML_FAIL(source, ": metadata vocab has ", printable(std::string(1, c)), ", not a lower-case hex digit");
  };
  std::string vocab;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int b = digit(hex[i]) * 16 + digit(hex[i + 1]);
    HPML_CHECK(vocab.empty() || b > static_cast<unsigned char>(vocab.back()), source,
               ": metadata vocab is not in increasing byte order at byte ", i / 2);
    vocab.push_back(static_cast<char>(b));
  }
  return vocab;
}

// ---- base64 -------------------------------------------------------------------------------------

namespace {
constexpr const char* kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t k = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t j = 0; j < 3; ++j) v = (v << 8) | (j < k ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (size_t j = 0; j < 4; ++j) out.push_back(j <= k ? kBase64[(v >> (18 - 6 * j)) & 63] : '=');
  }
  return out;
}

// Refuses anything but the canonical text: a length that is a multiple of 4, the alphabet, at most
// two '=' and only at the end, and zero bits under the padding (so one model has one text).
std::string base64_decode(std::string_view text, const std::string& source) {
  HPML_CHECK(text.size() % 4 == 0, source, ": ", text.size(), " characters of base64, not a multiple of 4");
  auto value = [&](size_t i) -> uint32_t {
    const char c = text[i];
    if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0' + 52);
    if (c == '+') return 62;
    if (c == '/') return 63;
    HPML_FAIL(source, ": ", printable(std::string(1, c)), " at character ", i, " is not base64");
  };
  const size_t pad = text.empty() ? 0 : text.back() != '=' ? 0 : text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const size_t real = i + 4 == text.size() ? 4 - pad : 4;  // base64 digits in this group
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) v = (v << 6) | (j < real ? value(i + j) : 0u);
    const size_t k = real - 1;  // bytes in this group
    HPML_CHECK(k == 3 || (v & ((1u << (8 * (3 - k))) - 1)) == 0, source, ": base64 with stray bits before its "
               "padding at character ", i + real - 1);
    for (size_t j = 0; j < k; ++j) out.push_back(static_cast<char>((v >> (16 - 8 * j)) & 255));
  }
  return out;
}

// ---- a checkpoint's tokenizer -------------------------------------------------------------------

TokenizerPtr load_tokenizer(const io::Metadata& metadata, const std::string& source) {
  const auto kind = metadata.find("tokenizer"), model = metadata.find("tokenizer.model");
  if (kind == metadata.end()) {  // char, as checkpoints were before tokenizers
    HPML_CHECK(model == metadata.end(), source, ": metadata has a tokenizer.model but no tokenizer");
    const auto vocab = metadata.find("vocab");
    HPML_CHECK(vocab != metadata.end(), source, ": no vocabulary (metadata \"vocab\", or \"tokenizer\" and "
               "\"tokenizer.model\")");
    return char_tokenizer(vocab_from_hex(vocab->second, source));
  }
  HPML_CHECK(kind->second == "bpe", source, ": metadata tokenizer is ", printable(kind->second), "; hpml writes "
             "\"bpe\" there (a char checkpoint has only \"vocab\")");
  HPML_CHECK(model != metadata.end(), source, ": metadata tokenizer is \"bpe\" but there is no tokenizer.model");
  HPML_CHECK(model->second.size() <= (kMaxBpeModelBytes + 2) / 3 * 4, source, ": metadata tokenizer.model has ",
             model->second.size(), " characters; a model of at most ", kMaxBpeModelBytes, " bytes has at most ",
             (kMaxBpeModelBytes + 2) / 3 * 4);
  const std::string where = source + ": metadata tokenizer.model";
  return load_bpe(base64_decode(model->second, where), where);
}

// Only bpe is compared: a char run has always rebuilt its vocabulary from the text on --resume.
void check_same_tokenizer(const Tokenizer& now, const io::Metadata& checkpoint, const std::string& source) {
  if (now.kind() != "bpe") return;
  const TokenizerPtr then = load_tokenizer(checkpoint, source);
  bool same = then->kind() == now.kind() && then->size() == now.size();
  for (int64_t id = 0; same && id < now.size(); ++id) same = then->name(id) == now.name(id);
  HPML_CHECK(same, source, ": the bpe tokenizer trained on the text now differs from the checkpoint's (", then->kind(),
             ", ", then->size(), " pieces); has the text changed since the run started?");
}

}  // namespace hpml::cli
