// --tokenizer bpe: a SentencePiece BPE model with byte fallback (Debian's libsentencepiece 0.1.97),
// trained in memory, wrapped so that every byte string survives encode and decode exactly, and
// read back from an untrusted checkpoint only after its bytes have been checked.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <unordered_map>

#include "hpml/core/file.h"  // utf8_sequence_length
#include "tokenizer.h"

namespace hpml::cli {

namespace {

// Note [BPE that gives back every byte]
// SentencePiece's own Encode and Decode do not give back every text, even with byte fallback and
// the identity normalizer: its normalizer turns malformed UTF-8 into U+FFFD; it writes a space as
// U+2581 ('▁') and its decoder turns every '▁' into a space, so a '▁' of the text comes back as a
// space; its decoder turns byte pieces that are not valid UTF-8 into U+FFFD; and its trainer reads
// sentences, so a newline is never inside a piece. So hpml cuts the text into runs that
// SentencePiece does handle: valid UTF-8 without '\n' or '▁', at most kMaxRun bytes (the trainer
// skips longer sentences). Every other byte is its byte piece <0xNN>, directly. The trainer reads
// the runs of the training text as its sentences. hpml decodes by itself: a byte piece is its
// byte, any other piece its text with '▁' as a space (<unk>, which byte fallback never produces,
// is U+FFFD; control pieces are empty). And each run's ids are decoded and compared with the run
// as they are made: a run SentencePiece would not give back (a normalization this note does not
// know of) is written as byte pieces instead. So decode(encode(text)) == text for any bytes by
// construction, and a surprise costs compression, never a changed text.
constexpr size_t kMaxRun = 4096;
constexpr std::string_view kMetaSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// The stretch of `s` from `pos` (< s.size()): a run for SentencePiece, or one byte of its own.
struct Span {
  size_t begin, end;
  bool run;
};
Span next_span(std::string_view s, size_t pos) {
  size_t end = pos;
  while (end < s.size()) {
    const size_t n = utf8_sequence_length(s, end);
    if (n == 0 || s[end] == '\n' || s.compare(end, n, kMetaSpace) == 0 || end + n - pos > kMaxRun) break;
    end += n;
  }
  return end == pos ? Span{pos, pos + 1, false} : Span{pos, end, true};
}

// The runs of a text as the trainer's sentences.
class Sentences final : public sentencepiece::SentenceIterator {
 public:
  explicit Sentences(std::string_view text) : text_(text) { Next(); }
  bool done() const override { return done_; }
  void Next() override {
    while (pos_ < text_.size()) {
      const Span s = next_span(text_, pos_);
      pos_ = s.end;
      if (s.run) {
        value_.assign(text_.substr(s.begin, s.end - s.begin));
        return;
      }
    }
    done_ = true;
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  std::string value_;
  bool done_ = false;
};

std::string byte_piece(int b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

class BpeTokenizer final : public Tokenizer {
 public:
  // `model` has passed check_model.
  BpeTokenizer(std::string model, const std::string& where);
  std::string kind() const override { return "bpe"; }
  int64_t size() const override { return static_cast<int64_t>(bytes_.size()); }
  std::vector<int64_t> encode(std::string_view text, const std::string& /*what*/) const override {
    std::vector<int64_t> ids;
    for (size_t pos = 0; pos < text.size();) {
      const Span s = next_span(text, pos);
      pos = s.end;
      if (s.run) encode_run(text.substr(s.begin, s.end - s.begin), ids);
      else ids.push_back(byte_id_[static_cast<unsigned char>(text[s.begin])]);
    }
    return ids;
  }
  const std::string& bytes(int64_t id) const override {
    HPML_CHECK(id >= 0 && id < size(), "bpe tokenizer: id ", id, " is outside its vocabulary of ", size());
    return bytes_[static_cast<size_t>(id)];
  }
  std::string name(int64_t id) const override {
    HPML_CHECK(id >= 0 && id < size(), "bpe tokenizer: id ", id, " is outside its vocabulary of ", size());
    return sp_.IdToPiece(static_cast<int>(id));
  }
  void save(io::Metadata& metadata) const override {
    metadata["tokenizer"] = "bpe";
    metadata["tokenizer.model"] = base64_encode(model_);
  }

 private:
  void encode_run(std::string_view run, std::vector<int64_t>& ids) const {
    std::vector<int> got;
    if (sp_.Encode(run, &got).ok() && gives_back(got, run)) {
      ids.insert(ids.end(), got.begin(), got.end());
      return;
    }
    for (unsigned char b : run) ids.push_back(byte_id_[b]);  // Note [BPE that gives back every byte]
  }
  bool gives_back(const std::vector<int>& got, std::string_view run) const {
    size_t at = 0;
    for (int id : got) {
      if (id < 0 || id >= size()) return false;
      const std::string& b = bytes_[static_cast<size_t>(id)];
      if (run.compare(at, b.size(), b) != 0) return false;
      at += b.size();
    }
    return at == run.size();
  }

  std::string model_;  // the serialized model, as the checkpoint keeps it
  sentencepiece::SentencePieceProcessor sp_;
  std::vector<std::string> bytes_;  // id -> the bytes it decodes to
  int64_t byte_id_[256] = {};       // byte -> the id of its piece <0xNN>
};

BpeTokenizer::BpeTokenizer(std::string model, const std::string& where) : model_(std::move(model)) {
  const sentencepiece::util::Status st = sp_.LoadFromSerializedProto(model_);
  HPML_CHECK(st.ok(), where, ": sentencepiece cannot load it: ", printable(st.message(), 300));
  const int n = sp_.GetPieceSize();
  HPML_CHECK(n >= kMinBpeVocab && n <= kMaxBpeVocab, where, ": ", n, " pieces; a bpe vocabulary has ", kMinBpeVocab,
             " to ", kMaxBpeVocab);
  std::unordered_map<int, int> byte_of;  // id -> byte
  for (int b = 0; b < 256; ++b) {
    const std::string piece = byte_piece(b);
    const int id = sp_.PieceToId(piece);
    HPML_CHECK(id >= 0 && id < n && sp_.IsByte(id) && sp_.IdToPiece(id) == piece, where, ": the byte piece ", piece,
               " is missing (id ", id, "); byte fallback needs all 256");
    byte_id_[b] = id;
    byte_of[id] = b;
  }
  bytes_.resize(static_cast<size_t>(n));
  for (int id = 0; id < n; ++id) {
    std::string& out = bytes_[static_cast<size_t>(id)];
    if (sp_.IsByte(id)) {
      const auto it = byte_of.find(id);
      HPML_CHECK(it != byte_of.end(), where, ": piece ", id, " (", printable(sp_.IdToPiece(id)), ") is a byte piece "
                 "other than <0x00> to <0xFF>");
      out.assign(1, static_cast<char>(it->second));
    } else if (sp_.IsUnknown(id)) {
      out = "\xEF\xBF\xBD";  // U+FFFD; encode never produces <unk> (byte fallback)
    } else if (!sp_.IsControl(id) && !sp_.IsUnused(id)) {
      const std::string& piece = sp_.IdToPiece(id);
      for (size_t i = 0; i < piece.size();) {
        const bool space = piece.compare(i, kMetaSpace.size(), kMetaSpace) == 0;
        out += space ? std::string_view(" ") : std::string_view(piece).substr(i, 1);
        i += space ? kMetaSpace.size() : 1;
      }
    }
  }
}

// ---- the checks of a model from a checkpoint ----------------------------------------------------

// Protocol-buffer wire format over untrusted bytes: each field's key, and its varint or its bytes,
// every length checked against what is left. `base` is the offset of `b` in the whole model.
class Wire {
 public:
  Wire(std::string_view b, size_t base, const std::string& where) : b_(b), base_(base), where_(where) {}
  bool more() const { return pos_ < b_.size(); }
  struct Field {
    uint64_t number;
    uint64_t type;
    uint64_t value;          // wire type 0
    std::string_view bytes;  // wire type 2
    size_t at, inner;        // the offsets of its key and of its bytes in the model
  };
  Field next() {
    Field f{0, 0, 0, {}, base_ + pos_, 0};
    const uint64_t key = varint();
    f.number = key >> 3;
    f.type = key & 7;
    HPML_CHECK(f.number >= 1, where_, ": byte ", f.at, ": field number 0");
    if (f.type == 0) {
      f.value = varint();
    } else if (f.type == 1 || f.type == 5) {
      skip(f.type == 1 ? 8 : 4);
    } else if (f.type == 2) {
      const uint64_t n = varint();
      HPML_CHECK(n <= b_.size() - pos_, where_, ": byte ", f.at, ": field ", f.number, " of ", n, " bytes runs past "
                 "the end (", b_.size() - pos_, " left)");
      f.inner = base_ + pos_;
      f.bytes = b_.substr(pos_, n);
      pos_ += n;
    } else {
      HPML_FAIL(where_, ": byte ", f.at, ": field ", f.number, " has wire type ", f.type, " (a group or no type)");
    }
    return f;
  }

 private:
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      HPML_CHECK(pos_ < b_.size(), where_, ": byte ", base_ + pos_, ": the model ends inside a number");
      const auto c = static_cast<unsigned char>(b_[pos_++]);
      v |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (c < 0x80) return v;
    }
    HPML_FAIL(where_, ": byte ", base_ + pos_, ": a number longer than 10 bytes");
  }
  void skip(size_t n) {
    HPML_CHECK(n <= b_.size() - pos_, where_, ": byte ", base_ + pos_, ": the model ends inside a field");
    pos_ += n;
  }
  std::string_view b_;
  size_t base_, pos_ = 0;
  const std::string& where_;
};

struct ModelFacts {
  int64_t pieces = 0, trainer_specs = 0, normalizer_specs = 0;
  uint64_t model_type = 1, byte_fallback = 0;  // the proto's defaults: UNIGRAM, off
  std::string normalizer = "";
  bool dummy_prefix = true, extra_whitespaces = true, escape_whitespaces = true;  // the defaults
};

void read_trainer_spec(const Wire::Field& spec, ModelFacts& m, const std::string& where) {
  Wire w(spec.bytes, spec.inner, where);
  while (w.more()) {
    const Wire::Field f = w.next();
    if (f.number != 3 && f.number != 35) continue;  // model_type, byte_fallback; the rest only trains
    HPML_CHECK(f.type == 0, where, ": byte ", f.at, ": trainer_spec field ", f.number, " has wire type ", f.type,
               ", not a number");
    (f.number == 3 ? m.model_type : m.byte_fallback) = f.value;
  }
}

void read_normalizer_spec(const Wire::Field& spec, ModelFacts& m, const std::string& where) {
  Wire w(spec.bytes, spec.inner, where);
  while (w.more()) {
    const Wire::Field f = w.next();
    const bool text = f.number == 1 || f.number == 2 || f.number == 6, flag = f.number >= 3 && f.number <= 5;
    HPML_CHECK((text && f.type == 2) || (flag && f.type == 0), where, ": byte ", f.at, ": normalizer_spec field ",
               f.number, " (wire type ", f.type, ") is not one of the identity normalizer's");
    if (f.number == 1) m.normalizer = std::string(f.bytes);
    HPML_CHECK(f.number == 1 || !text || f.bytes.empty(), where, ": byte ", f.at, ": the normalizer carries ",
               f.number == 2 ? "a compiled character map" : "normalization rules", " (", f.bytes.size(),
               " bytes); hpml's bpe normalizes nothing");
    if (f.number == 3) m.dummy_prefix = f.value != 0;
    if (f.number == 4) m.extra_whitespaces = f.value != 0;
    if (f.number == 5) m.escape_whitespaces = f.value != 0;
  }
}

// Note [A tokenizer from an untrusted checkpoint]
// A checkpoint is a file from anywhere, and its checksum proves nothing about who wrote it. So
// the model's bytes are read first by the few lines of Wire above (bounded, every length checked)
// and must be what hpml's trainer writes: only pieces, trainer_spec and normalizer_spec; a BPE
// model with byte fallback; the identity normalizer with no compiled character map (whose
// double-array trie SentencePiece would follow unchecked) and no rules; no dummy prefix, no
// whitespace removal, spaces escaped as '▁'. Only then does SentencePiece parse it, and its
// status is checked; then every byte piece <0x00>..<0xFF> must be there, and the piece count
// must equal the GPT's vocabulary (wte's rows: hpml generate). Encoding checks every id it is
// given (Note [BPE that gives back every byte]). tests/tools/bpe_test.cpp flips bytes all over a
// model and truncates it; each gives an error naming the checkpoint and the offending value.
void check_model(std::string_view model, const std::string& where) {
  HPML_CHECK(model.size() <= kMaxBpeModelBytes, where, ": ", model.size(), " bytes; at most ", kMaxBpeModelBytes);
  ModelFacts m;
  Wire top(model, 0, where);
  while (top.more()) {
    const Wire::Field f = top.next();
    HPML_CHECK(f.type == 2 && f.number >= 1 && f.number <= 3, where, ": byte ", f.at, ": field ", f.number,
               " (wire type ", f.type, "); a model hpml trains has only pieces (1), trainer_spec (2) and "
               "normalizer_spec (3)");
    if (f.number == 1) ++m.pieces;
    if (f.number == 2 && ++m.trainer_specs == 1) read_trainer_spec(f, m, where);
    if (f.number == 3 && ++m.normalizer_specs == 1) read_normalizer_spec(f, m, where);
  }
  HPML_CHECK(m.trainer_specs == 1 && m.normalizer_specs == 1, where, ": ", m.trainer_specs, " trainer_spec and ",
             m.normalizer_specs, " normalizer_spec; a model has one of each");
  HPML_CHECK(m.pieces >= kMinBpeVocab && m.pieces <= kMaxBpeVocab, where, ": ", m.pieces,
             " pieces; a bpe vocabulary has ", kMinBpeVocab, " to ", kMaxBpeVocab);
  HPML_CHECK(m.model_type == 2, where, ": model type ", m.model_type, " (1 unigram, 2 bpe, 3 word, 4 char); hpml's "
             "tokenizer is bpe");
  HPML_CHECK(m.byte_fallback != 0, where, ": byte_fallback is off; hpml's bpe encodes any byte through it");
  HPML_CHECK(m.normalizer == "identity", where, ": normalizer ", printable(m.normalizer), ", not 'identity'");
  HPML_CHECK(!m.dummy_prefix && !m.extra_whitespaces && m.escape_whitespaces, where, ": the normalizer ",
             m.dummy_prefix ? "adds a dummy prefix" : m.extra_whitespaces ? "removes extra whitespace"
                                                                          : "does not escape spaces",
             "; hpml's bpe gives back every byte");
}

}  // namespace

TokenizerPtr load_bpe(std::string model, const std::string& where) {
  check_model(model, where);
  return std::make_shared<BpeTokenizer>(std::move(model), where);
}

TokenizerPtr train_bpe(std::string_view text, const BpeOptions& o, const std::string& source) {
  HPML_CHECK(o.vocab_size >= kMinBpeVocab && o.vocab_size <= kMaxBpeVocab, source, ": --vocab-size ", o.vocab_size,
             " is outside [", kMinBpeVocab, ", ", kMaxBpeVocab, "]");
  Sentences sentences(text);
  HPML_CHECK(!sentences.done(), source, ": the training text (", text.size(), " bytes) has no UTF-8 text to train a "
             "bpe vocabulary on");
  const int threads = o.threads > 0 ? o.threads : get_num_threads();
  std::string model;
  // minloglevel 2: the trainer's INFO and WARNING lines off (hpml train has no verbose mode); its
  // errors come back in the status. max_sentence_length: above kMaxRun, so no run is skipped.
  const sentencepiece::util::Status st = sentencepiece::SentencePieceTrainer::Train(
      std::unordered_map<std::string, std::string>{
          {"model_type", "bpe"}, {"vocab_size", std::to_string(o.vocab_size)}, {"byte_fallback", "true"},
          {"normalization_rule_name", "identity"}, {"add_dummy_prefix", "false"}, {"remove_extra_whitespaces", "false"},
          {"unk_id", "0"}, {"bos_id", "-1"}, {"eos_id", "-1"}, {"pad_id", "-1"}, {"minloglevel", "2"},
          {"max_sentence_length", std::to_string(2 * kMaxRun)}, {"num_threads", std::to_string(threads)}},
      &sentences, &model);
  if (!st.ok()) {
    std::string why = st.message();
    if (const size_t cut = why.find("] "); cut != std::string::npos) why = why.substr(cut + 2);  // no source line
    if (const size_t cut = why.find(" Increase vocab_size"); cut != std::string::npos) why.resize(cut);  // its flags
    HPML_FAIL(source, ": sentencepiece cannot train a bpe vocabulary of ", o.vocab_size, " on the training text (",
              text.size(), " bytes): ", printable(why, 300), "\nhint: --vocab-size must hold the 256 byte pieces, "
              "<unk> and the text's characters, and the text enough distinct pairs to merge");
  }
  return load_bpe(std::move(model), source + ": the trained bpe model");
}

}  // namespace hpml::cli
