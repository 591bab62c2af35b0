// --tokenizer bpe (tools/hpml/tokenizer*.cpp): every text comes back byte for byte (the fortunes,
// random bytes, UTF-8, '▁', nothing); base64 as RFC 4648 writes it; the vocabulary learns from the
// training part only; a small bpe GPT trains, resumes and generates; and a checkpoint whose
// tokenizer is damaged, swapped or made up is refused with its file named, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gpt.h"
#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tokenizer.h"
#include "tools/cli_util.h"

namespace {

using hpml::cli::TokenizerPtr;
using hpml::testing::run_cli;

// The fortunes package's text as text:PATH reads a folder: regular files but *.dat, in name order.
const std::string& fortunes() {
  static const std::string text = [] {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator("/usr/share/games/fortunes"))
      if (!e.is_symlink() && e.is_regular_file() && e.path().extension() != ".dat") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::string all;
    for (const std::string& f : files) {
      std::ifstream in(f, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }();
  return text;
}

// The first lines of the fortunes, about `bytes` long.
std::string fortunes_slice(size_t bytes) { return fortunes().substr(0, fortunes().find('\n', bytes) + 1); }

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const TokenizerPtr& small_bpe() {  // 600 pieces from 300 KB of the fortunes
  static const TokenizerPtr t = hpml::cli::train_bpe(fortunes_slice(300'000), {.vocab_size = 600}, "test");
  return t;
}

void expect_round_trip(const hpml::cli::Tokenizer& t, const std::string& text, const std::string& what) {
  const std::vector<int64_t> ids = t.encode(text, what);
  for (int64_t id : ids) ASSERT_TRUE(id >= 0 && id < t.size()) << what << ": id " << id;
  EXPECT_TRUE(t.decode(ids) == text) << what << ": " << text.size() << " bytes did not come back";
}

TEST(BpeTokenizer, HasTheAskedVocabularyAndGivesBackTheWholeFortunes) {
  const TokenizerPtr& t = small_bpe();
  ASSERT_EQ(t->size(), 600);
  ASSERT_GT(fortunes().size(), 2'000'000u);
  const std::vector<int64_t> ids = t->encode(fortunes(), "fortunes");
  EXPECT_TRUE(t->decode(ids) == fortunes());
  // 343 merged pieces of English: clearly fewer tokens than bytes (char: one a byte).
  EXPECT_LT(static_cast<double>(ids.size()) / static_cast<double>(fortunes().size()), 0.6);
}

TEST(BpeTokenizer, GivesBackRandomBytesUtf8AndNothing) {
  const TokenizerPtr& t = small_bpe();
  expect_round_trip(*t, "", "empty");
  EXPECT_TRUE(t->encode("", "empty").empty());
  const std::vector<std::string> texts = {"naïve café — 日本語 😀 ∮ E⋅da = Q", "a▁b ▁▁▁ \xE2\x96 \xE2",
                                         "\n\n\t  two  spaces  \r\n", std::string(1, '\0'),
                                         "\xC0\xAF \xED\xA0\x80 \xF4\x90\x80\x80 \xEF\xBF\xBD \xEF\xBB\xBF"};
  for (const std::string& s : texts)
    expect_round_trip(*t, s, "utf-8");
  std::mt19937 g(7);
  for (int i = 0; i < 200; ++i) {
    std::string s(g() % 3000, '\0');
    for (char& c : s) c = static_cast<char>(i % 2 ? g() % 256 : 32 + g() % 96);  // odd: any byte; even: ASCII
    expect_round_trip(*t, s, "random " + std::to_string(i));
  }
  std::string all(256, '\0');
  for (int b = 0; b < 256; ++b) all[static_cast<size_t>(b)] = static_cast<char>(b);
  expect_round_trip(*t, all, "every byte");
}

TEST(BpeTokenizer, TrainsOnRandomBytesToo) {
  std::mt19937 g(3);
  std::string text(200'000, '\0');
  for (char& c : text) c = static_cast<char>(g() % 256);
  const TokenizerPtr t = hpml::cli::train_bpe(text, {.vocab_size = 4000}, "random");  // ~2950 distinct characters
  EXPECT_EQ(t->size(), 4000);
  expect_round_trip(*t, text, "its own text");
  expect_round_trip(*t, fortunes_slice(100'000), "fortunes");
}

TEST(BpeTokenizer, RefusesVocabulariesOutsideItsBounds) {
  for (int64_t v : {int64_t{0}, int64_t{257}, int64_t{32769}}) {
    try {
      hpml::cli::train_bpe("some text", {.vocab_size = v}, "test");
      ADD_FAILURE() << v;
    } catch (const hpml::Error& e) {
      EXPECT_TRUE(has(e.what(), "--vocab-size " + std::to_string(v) + " is outside [258, 32768]")) << e.what();
    }
  }
  try {  // 300 pieces cannot hold 257 + the slice's characters
    hpml::cli::train_bpe(fortunes_slice(20'000), {.vocab_size = 300}, "text:x");
    ADD_FAILURE();
  } catch (const hpml::Error& e) {
    EXPECT_TRUE(has(e.what(), "text:x: sentencepiece cannot train a bpe vocabulary of 300")) << e.what();
  }
}

TEST(Base64, IsRfc4648AndStrict) {
  const std::vector<std::pair<std::string, std::string>> rfc = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [bytes, text] : rfc) {
    EXPECT_EQ(hpml::cli::base64_encode(bytes), text);
    EXPECT_EQ(hpml::cli::base64_decode(text, "t"), bytes);
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (size_t n = 0; n <= all.size(); n += 17)
    EXPECT_EQ(hpml::cli::base64_decode(hpml::cli::base64_encode(all.substr(0, n)), "t"), all.substr(0, n));
  for (const char* bad : {"Zg=", "Zh==", "Z===", "====", "Zm9v!A==", "Zg==Zg==", "Zm=v"})
    EXPECT_THROW(hpml::cli::base64_decode(bad, "t"), hpml::Error) << bad;
}

// Note [Splitting text before tokenizing]: a word found only in the last tenth of the text (the
// test part) gets no piece; trained on the whole text, the same settings merge it.
TEST(BpeData, TheVocabularyLearnsFromTheTrainingPartOnly) {
  hpml::testing::TempDir dir("hpml_bpe_test");
  std::string tail;
  while (tail.size() < 8000) tail += "qjxqjx vqjvqj\n";
  const std::string text = fortunes_slice(50'000) + tail;  // the tail is over 10 %: the test part and more
  write(dir.file("t.txt"), text);
  auto merges_qj = [](const hpml::cli::Tokenizer& t) {
    for (int64_t id = 0; id < t.size(); ++id)
      if (has(t.bytes(id), "qj")) return true;
    return false;
  };
  const hpml::cli::DataSplits d =
      hpml::cli::text_data(dir.file("t.txt"), 32, 0.1, {.tokenizer = "bpe", .vocab_size = 500, .threads = 1});
  ASSERT_TRUE(d.tokenizer && d.val && d.test);
  EXPECT_EQ(d.classes, 500);
  EXPECT_FALSE(merges_qj(*d.tokenizer));
  EXPECT_TRUE(merges_qj(*hpml::cli::train_bpe(text, {.vocab_size = 500}, "all")));  // the test above can fail
  // Every window's tokens decode to a stretch of the text.
  const std::vector<hpml::Tensor> first = *d.test->get_batch({0});
  std::vector<int64_t> ids(first[0].data_ptr<int64_t>(), first[0].data_ptr<int64_t>() + 32);
  EXPECT_TRUE(has(tail, d.tokenizer->decode(ids))) << d.tokenizer->decode(ids);
}

const std::string kSmall = "train --model gpt --tokenizer bpe --vocab-size 400 --layers 1 --heads 2 --width 32 "
                           "--block-size 32 --batch-size 16 --optimizer adamw --lr 0.003 --threads 1 --quiet";

// One trained bpe checkpoint for the tests that read it.
class BpeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new hpml::testing::TempDir("hpml_bpe_cli");
    write(dir_->file("f.txt"), fortunes_slice(60'000));
    auto r = run_cli(kSmall + " --dataset text:" + dir_->file("f.txt") + " --epochs 1 --out " + dir_->file("run"));
    status_ = r.status;
    output_ = r.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string checkpoint() { return dir_->file("run/last.safetensors"); }
  static hpml::testing::TempDir* dir_;
  static int status_;
  static std::string output_;
};
hpml::testing::TempDir* BpeCli::dir_ = nullptr;
int BpeCli::status_ = -1;
std::string BpeCli::output_;

TEST_F(BpeCli, TheCheckpointCarriesTheTokenizerAndTheOptions) {
  ASSERT_EQ(status_, 0) << output_;
  hpml::io::CheckpointState s = hpml::io::load_checkpoint(checkpoint());
  EXPECT_EQ(s.metadata.at("tokenizer"), "bpe");
  EXPECT_FALSE(s.metadata.count("vocab"));
  EXPECT_TRUE(has(s.metadata.at("argv"), R"("--tokenizer","bpe","--vocab-size","400")")) << s.metadata.at("argv");
  const TokenizerPtr t = hpml::cli::load_tokenizer(s.metadata, checkpoint());
  EXPECT_EQ(t->size(), 400);
  int64_t rows = 0;
  for (const auto& [name, w] : s.model)
    if (name == "0.wte.weight") rows = w.size(0);
  EXPECT_EQ(rows, 400);
  expect_round_trip(*t, fortunes_slice(100'000), "the checkpoint's tokenizer");
}

TEST_F(BpeCli, GeneratesFromAnyPromptSeeded) {
  ASSERT_EQ(status_, 0) << output_;
  const std::string prompt = "Zebras \xE2\x96\x81 na\xC3\xAFve \xFF";  // '▁', 'ï' and a byte that is not UTF-8
  const std::string cmd = "generate " + checkpoint() + " --prompt '" + prompt + "' --tokens 40 --temperature 1.5 ";
  auto a = run_cli(cmd + "--seed 1"), b = run_cli(cmd + "--seed 1"), c = run_cli(cmd + "--seed 2");
  ASSERT_EQ(a.status, 0) << a.out;
  EXPECT_EQ(a.out.rfind(prompt, 0), 0u) << a.out;
  EXPECT_GT(a.out.size(), prompt.size() + 40) << "40 tokens, at least one byte each, and a newline: " << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(BpeCliRun, ResumesWithTheSameTokenizerAndRefusesAChangedText) {
  hpml::testing::TempDir dir("hpml_bpe_cli");
  write(dir.file("f.txt"), fortunes_slice(60'000));
  const std::string data = " --dataset text:" + dir.file("f.txt");
  auto r = run_cli(kSmall + data + " --epochs 2 --stop-after 1 --out " + dir.file("run"));
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_cli("train --resume " + dir.file("run/last.safetensors") + " --quiet");
  EXPECT_EQ(r.status, 0) << r.out;
  write(dir.file("f.txt"), fortunes().substr(500'000, 60'000));  // other text: another vocabulary
  r = run_cli("train --resume " + dir.file("run/last.safetensors") + " --epochs 3 --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(has(r.out, "the bpe tokenizer trained on the text now differs from the checkpoint's")) << r.out;
}

// The checkpoint's model bytes with `from` (found once, after `after`) replaced by `to`.
std::string replaced(const std::string& model, const std::string& from, const std::string& to) {
  const size_t at = model.find(from);
  EXPECT_NE(at, std::string::npos);
  EXPECT_EQ(model.find(from, at + 1), std::string::npos) << "not unique";
  return at == std::string::npos ? model : model.substr(0, at) + to + model.substr(at + from.size());
}

TEST_F(BpeCli, RefusesDamagedModelBytesWithTheCheckpointNamed) {
  ASSERT_EQ(status_, 0) << output_;
  const hpml::io::CheckpointState s = hpml::io::load_checkpoint(checkpoint());
  const std::string model = hpml::cli::base64_decode(s.metadata.at("tokenizer.model"), "test");
  const std::string where = "ckpt.safetensors: metadata tokenizer.model";
  // "error" (with the file named), "size" (a model of another size: hpml generate refuses it
  // against wte, below), or "ok" (still a tokenizer that gives every text back).
  auto verdict = [&](const std::string& bytes) -> std::string {
    hpml::io::Metadata m = s.metadata;
    m["tokenizer.model"] = hpml::cli::base64_encode(bytes);
    try {
      const TokenizerPtr t = hpml::cli::load_tokenizer(m, "ckpt.safetensors");
      if (t->size() != 400) return "size";
      expect_round_trip(*t, "A fortune: \xE2\x96\x81 caf\xC3\xA9 \xFF\n", "damaged model");
      return "ok";
    } catch (const hpml::Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(where, 0), 0u) << e.what();
      return "error";
    }
  };
  ASSERT_EQ(verdict(model), "ok");
  for (size_t n = 0; n < model.size(); n += 1 + model.size() / 200)
    EXPECT_EQ(verdict(model.substr(0, n)), "error") << "truncated to " << n << " of " << model.size();
  EXPECT_EQ(verdict(model.substr(0, model.size() - 1)), "error");
  int errors = 0;
  for (size_t at = 0; at < model.size(); at += 1 + model.size() / 400)
    for (int mask : {0x01, 0x80, 0xff}) {
      std::string m = model;
      m[at] = static_cast<char>(m[at] ^ mask);
      errors += verdict(m) == "error";
    }
  EXPECT_GT(errors, 100);
  // Protocol-buffer keys are (field << 3) | wire type: model_type (3) = 2 then vocab_size (4);
  // byte_fallback (35) = 1; the normalizer's name (1) "identity".
  auto message = [&](const std::string& bytes) {
    hpml::io::Metadata m = s.metadata;
    m["tokenizer.model"] = hpml::cli::base64_encode(bytes);
    try {
      hpml::cli::load_tokenizer(m, "ckpt.safetensors");
    } catch (const hpml::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_TRUE(has(message(replaced(model, "\x18\x02\x20", "\x18\x01\x20")), where + ": model type 1 (1 unigram"));
  EXPECT_TRUE(has(message(replaced(model, "\x98\x02\x01", std::string("\x98\x02\x00", 3))),
                  where + ": byte_fallback is off"));
  EXPECT_TRUE(has(message(replaced(model, "\x0a\x08identity", "\x0a\x08nmt_nfkc")),
                  where + ": normalizer 'nmt_nfkc'"));
  EXPECT_TRUE(has(message(model + std::string("\x22\x00", 2)),
                  where + ": byte " + std::to_string(model.size()) + ": field 4"));
}

TEST_F(BpeCli, GenerateRefusesSwappedAndMadeUpTokenizers) {
  ASSERT_EQ(status_, 0) << output_;
  hpml::testing::TempDir dir("hpml_bpe_cli");
  write(dir.file("c.txt"), fortunes_slice(20'000));
  auto r = run_cli("train --model gpt --layers 1 --heads 2 --width 16 --block-size 16 --epochs 1 --quiet --dataset "
                   "text:" + dir.file("c.txt") + " --out " + dir.file("char"));
  ASSERT_EQ(r.status, 0) << r.out;
  const hpml::io::CheckpointState bpe = hpml::io::load_checkpoint(checkpoint()),
                                  chr = hpml::io::load_checkpoint(dir.file("char/last.safetensors"));
  const std::string path = dir.file("bad.safetensors");
  // Saved with a valid checksum (only the tokenizer is wrong), refused by hpml generate naming the file.
  auto refused = [&](hpml::io::CheckpointState s, const std::string& key, const std::string& value,
                     const std::string& why) {
    if (value.empty()) s.metadata.erase(key);
    else s.metadata[key] = value;
    hpml::io::save_checkpoint(path, s);
    auto g = run_cli("generate " + path + " --prompt 'The ' --tokens 5");
    EXPECT_EQ(g.status, 2) << key << ": " << g.out;
    EXPECT_TRUE(has(g.out, path + ": ") && has(g.out, why)) << g.out;
  };
  hpml::io::Metadata m450;
  hpml::cli::train_bpe(fortunes_slice(30'000), {.vocab_size = 450}, "t")->save(m450);
  refused(bpe, "tokenizer.model", m450.at("tokenizer.model"),
          "its bpe tokenizer has 450 tokens, but the model's wte.weight has shape [400, 32]");
  refused(chr, "tokenizer", "bpe", "metadata tokenizer is \"bpe\" but there is no tokenizer.model");
  hpml::io::CheckpointState claims = chr;
  claims.metadata["tokenizer"] = "bpe";
  refused(claims, "tokenizer.model", bpe.metadata.at("tokenizer.model"),
          "its bpe tokenizer has 400 tokens, but the model's wte.weight has shape [");
  refused(bpe, "tokenizer", "unigram", "metadata tokenizer is 'unigram'");
  refused(bpe, "tokenizer.model", "not base64!", "metadata tokenizer.model: 11 characters of base64");
  refused(bpe, "tokenizer.model", std::string(6'000'000, 'A'), "metadata tokenizer.model has 6000000 characters");
  refused(bpe, "tokenizer", "", "metadata has a tokenizer.model but no tokenizer");
}

TEST(BpeCliOptions, AreBoundedAndOnlyForBpeAndText) {
  hpml::testing::TempDir dir("hpml_bpe_cli");
  write(dir.file("t.txt"), fortunes_slice(20'000));
  const std::string text = " --model gpt --dataset text:" + dir.file("t.txt") + " --quiet --out " + dir.file("r");
  auto r = run_cli("train --vocab-size 500" + text);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.out, "--vocab-size 500 is for --tokenizer bpe")) << r.out;
  for (const char* v : {"257", "32769", "-1", "1e3"}) {
    r = run_cli("train --tokenizer bpe --vocab-size " + std::string(v) + text);
    EXPECT_EQ(r.status, 2) << v;
    EXPECT_TRUE(has(r.out, "--vocab-size: '" + std::string(v) + "' is not an integer in [258, 32768]")) << r.out;
  }
  r = run_cli("train --tokenizer wordpiece" + text);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.out, "--tokenizer")) << r.out;
  r = run_cli("train --model mlp --dataset blobs --tokenizer bpe --quiet --out " + dir.file("r2"));
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.out, "--tokenizer 'bpe' reads a text:PATH dataset, not 'blobs'")) << r.out;
  r = run_cli("train --tokenizer bpe --vocab-size 300 --block-size 16" + text);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.out, "sentencepiece cannot train a bpe vocabulary of 300")) << r.out;
}

}  // namespace
