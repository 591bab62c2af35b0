// The tokenizers of `hpml train --model gpt` (--tokenizer char | bpe) and `hpml generate`: text to
// token ids and back, the names of the ids, and their place in a checkpoint's metadata. char: the
// distinct bytes of the text; bpe: a SentencePiece BPE model with byte fallback, trained in memory
// (Debian's libsentencepiece). Not here: splitting a corpus or making windows (gpt.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hpml/core/file.h"  // printable()
#include "hpml/hpml.h"

namespace hpml::cli {

// --vocab-size: the bounds and the default of a bpe vocabulary. A SentencePiece BPE model with
// byte fallback holds the 256 byte pieces and <unk> before any merged piece, so it needs more
// than 257; the upper bound keeps the embedding and the head (2 x vocab x --width) at 16.8 M
// weights at --width 256.
inline constexpr int64_t kMinBpeVocab = 258, kMaxBpeVocab = 32768;
// Note [The default bpe vocabulary]
// 1024 pieces: the 257 fixed ones, the ~100 characters of an English text, and ~670 merges, each
// still frequent in 2 MB of English (the fortunes' training part): 0.45 tokens a byte there
// (char: 1), so a window of 256 tokens sees ~560 bytes.
// Many more pieces gain less (4096: 0.35 a byte), leave more of them rare in a corpus of this size,
// and make the embedding and the head (2 x vocab x --width weights: 262 K at 1024 and width 128)
// outgrow the default model's four blocks (790 K).
inline constexpr int64_t kDefaultBpeVocab = 1024;
// The largest serialized SentencePiece model a checkpoint may carry: 32768 pieces of the fortunes
// take 0.53 MB, and pieces of at most 16 characters (SentencePiece's limit) keep any under 2.5 MB.
inline constexpr size_t kMaxBpeModelBytes = size_t{4} << 20;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string kind() const = 0;  // "char" | "bpe"
  virtual int64_t size() const = 0;      // the ids are 0 .. size() - 1
  // The ids of `text`, each in [0, size()). bpe encodes any bytes; char refuses a byte outside
  // its vocabulary with an error that starts with `what` ("hpml generate: the prompt").
  virtual std::vector<int64_t> encode(std::string_view text, const std::string& what) const = 0;
  // The bytes one id stands for; decode(encode(t)) == t for every text t encode accepts.
  virtual const std::string& bytes(int64_t id) const = 0;
  std::string decode(const std::vector<int64_t>& ids) const;
  // A printable name of an id for class_names: "\\n", "a" (char); "▁the", "<0x0A>" (bpe).
  virtual std::string name(int64_t id) const = 0;
  // Writes the tokenizer into a checkpoint's metadata: char as "vocab" (the bytes, two hex digits
  // each, as before tokenizers existed); bpe as "tokenizer" = "bpe" and "tokenizer.model" (the
  // serialized SentencePiece model, base64).
  virtual void save(io::Metadata& metadata) const = 0;
};
using TokenizerPtr = std::shared_ptr<const Tokenizer>;

// The char tokenizer of `vocab` (distinct bytes in increasing order), and the one of a text's
// distinct bytes.
TokenizerPtr char_tokenizer(std::string vocab);
TokenizerPtr char_tokenizer_of(std::string_view text);

struct BpeOptions {
  int64_t vocab_size = kDefaultBpeVocab;
  int threads = 0;  // 0: hpml's thread count
};
// A SentencePiece BPE model trained on `text` (Note [BPE that gives back every byte] in
// tokenizer.cpp). `source` ("text:PATH") starts any error.
TokenizerPtr train_bpe(std::string_view text, const BpeOptions& options, const std::string& source);

// The tokenizer a checkpoint's metadata holds, checked as untrusted input (Note [A tokenizer from
// an untrusted checkpoint]): "tokenizer" = "bpe" with "tokenizer.model", or char's "vocab".
// `source` (the checkpoint's file) starts every error.
TokenizerPtr load_tokenizer(const io::Metadata& metadata, const std::string& source);
// A serialized SentencePiece model (from a checkpoint: untrusted) checked and loaded, the bpe
// tokenizer it is (tokenizer_bpe.cpp). `where` ("CKPT: metadata tokenizer.model") starts every error.
TokenizerPtr load_bpe(std::string model, const std::string& where);
// Refuses a resumed run whose data's tokenizer is not the checkpoint's (the text changed since).
void check_same_tokenizer(const Tokenizer& now, const io::Metadata& checkpoint, const std::string& source);

// The char vocabulary as a checkpoint's metadata keeps it (two hex digits a byte), and back,
// checked: 1 to 256 distinct bytes in increasing order; `source` starts any error.
std::string vocab_to_hex(const std::string& vocab);
std::string vocab_from_hex(const std::string& hex, const std::string& source);
// Strict base64 (RFC 4648, with padding), for "tokenizer.model".
std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text, const std::string& source);

}  // namespace hpml::cli
