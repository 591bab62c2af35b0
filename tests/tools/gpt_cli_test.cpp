// `hpml train --model gpt --dataset text:PATH` and `hpml generate`: a small GPT learns a repeated
// line well enough that greedy sampling continues it; sampling is seeded; folders of text files
// are read as the fortunes package lays them out; wrong models, prompts and vocabularies are
// refused with messages that say what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "hpml/hpml.h"
#include "temp_dir.h"
#include "tools/cli_util.h"

namespace {

using hpml::testing::run_cli;

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string repeated(const std::string& line, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += line;
  return s;
}

const std::string kLine = "hello world\n";
const std::string kSmall = "train --model gpt --layers 1 --heads 2 --width 32 --block-size 16 --batch-size 8 "
                           "--optimizer adamw --lr 0.003 --quiet";

// One trained checkpoint for the tests that sample from it.
class GptCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new hpml::testing::TempDir("hpml_gpt_cli");
    write(dir_->path() + "/hello.txt", repeated(kLine, 400));
    auto r = run_cli(kSmall + " --dataset text:" + dir_->path() + "/hello.txt --epochs 4 --out " + dir_->path() +
                     "/run");
    status_ = r.status;
    output_ = r.out;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string checkpoint() { return dir_->path() + "/run/last.safetensors"; }
  static hpml::testing::TempDir* dir_;
  static int status_;
  static std::string output_;
};
hpml::testing::TempDir* GptCli::dir_ = nullptr;
int GptCli::status_ = -1;
std::string GptCli::output_;

TEST_F(GptCli, LearnsARepeatedLineThatGreedySamplingContinues) {
  ASSERT_EQ(status_, 0) << output_;
  // Within one block (16 characters: the prompt's 6 and 10 more), where the prompt sits at the
  // start of the window as it does in a third of the training windows (lines of 12, windows of 16).
  auto r = run_cli("generate " + checkpoint() + " --prompt 'hello ' --tokens 10 --top-k 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "hello world\nhell\n") << r.out;
}

TEST_F(GptCli, SamplingIsSeededAndStaysInTheVocabulary) {
  ASSERT_EQ(status_, 0) << output_;
  const std::string cmd = "generate " + checkpoint() + " --prompt h --tokens 200 --temperature 2 ";
  auto a = run_cli(cmd + "--seed 1"), b = run_cli(cmd + "--seed 1"), c = run_cli(cmd + "--seed 2");
  ASSERT_EQ(a.status, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out) << "temperature 2 over 200 characters: two seeds should differ somewhere";
  for (char ch : a.out) EXPECT_NE(kLine.find(ch), std::string::npos) << "character " << int(ch) << " in " << a.out;
}

TEST_F(GptCli, TheCheckpointRecordsTheVocabulary) {
  ASSERT_EQ(status_, 0) << output_;
  hpml::io::CheckpointState s = hpml::io::load_checkpoint(checkpoint());
  ASSERT_TRUE(s.metadata.count("vocab"));
  EXPECT_EQ(s.metadata.at("vocab"), "0a206465686c6f7277");  // "\n dehlorw" in byte order
  // --tokenizer char is the default and writes what runs wrote before tokenizers: no key, no argument.
  EXPECT_FALSE(s.metadata.count("tokenizer") || s.metadata.count("tokenizer.model"));
  EXPECT_EQ(s.metadata.at("argv").find("--tokenizer"), std::string::npos) << s.metadata.at("argv");
  EXPECT_EQ(s.metadata.at("argv").find("--vocab-size"), std::string::npos) << s.metadata.at("argv");
}

TEST_F(GptCli, RefusesPromptsOutsideTheVocabularyAndDamagedVocabularies) {
  ASSERT_EQ(status_, 0) << output_;
  auto r = run_cli("generate " + checkpoint() + " --prompt 'hex'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("the prompt's character 'x' (byte 120) is not in the model's vocabulary of 9"), std::string::npos)
      << r.out;
  hpml::io::CheckpointState s = hpml::io::load_checkpoint(checkpoint());
  for (const char* bad : {"0a0a", "0a2", "zz", ""}) {
    s.metadata["vocab"] = bad;
    const std::string path = dir_->path() + "/bad.safetensors";
    hpml::io::save_checkpoint(path, s);
    r = run_cli("generate " + path + " --prompt h");
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_NE(r.out.find("metadata vocab"), std::string::npos) << bad << ": " << r.out;
  }
}

TEST_F(GptCli, EvalAndPredictPointToGenerate) {
  ASSERT_EQ(status_, 0) << output_;
  auto r = run_cli("eval " + checkpoint());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("hpml generate samples from it"), std::string::npos) << r.out;
}

// The graph's loss takes the classes on the last dim as training does: [B, T, vocab] logits.
TEST(GptCliGraph, DrawsTheGraphOfAGptsLoss) {
  hpml::testing::TempDir dir("hpml_gpt_cli");
  write(dir.path() + "/hello.txt", repeated(kLine, 40));
  auto r = run_cli("graph --model gpt --layers 1 --heads 2 --width 16 --block-size 8 --dataset text:" + dir.path() +
                   "/hello.txt --out " + dir.path() + "/g");
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream f(dir.path() + "/g/graph.dot");
  const std::string dot((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(dot.find("attention"), std::string::npos) << dot.substr(0, 400);  // the node of its fused attention
  EXPECT_NE(dot.find("nll_loss"), std::string::npos) << dot.substr(0, 400);
}

TEST(GptCliData, AFolderIsItsTextFilesInNameOrderWithoutDatFilesOrLinks) {
  hpml::testing::TempDir dir("hpml_gpt_cli");
  std::filesystem::create_directory(dir.path() + "/corpus");
  write(dir.path() + "/corpus/a", repeated("ab\n", 100));      // 300 bytes
  write(dir.path() + "/corpus/b", repeated("cd\n", 100));      // 300 bytes
  write(dir.path() + "/corpus/a.dat", std::string(5000, 'Z'));  // the fortunes index: skipped
  std::filesystem::create_symlink("a", dir.path() + "/corpus/a.u8");
  auto r = run_cli("train --model gpt --layers 1 --heads 2 --width 16 --block-size 16 --dataset text:" + dir.path() +
                   "/corpus --epochs 1 --out " + dir.path() + "/run");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("600 bytes, 5 distinct"), std::string::npos) << r.out;
}

TEST(GptCliData, WrongPairingsAndShortTextsAreRefused) {
  hpml::testing::TempDir dir("hpml_gpt_cli");
  write(dir.path() + "/t.txt", repeated(kLine, 10));  // 120 bytes
  auto r = run_cli("train --model gpt --dataset blobs --quiet --out " + dir.path() + "/r1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--model gpt trains on a text:PATH dataset, not 'blobs'"), std::string::npos) << r.out;
  r = run_cli("train --model mlp --dataset text:" + dir.path() + "/t.txt --block-size 8 --quiet --out " + dir.path() +
              "/r2");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("a text:PATH dataset trains --model gpt, not --model 'mlp'"), std::string::npos) << r.out;
  r = run_cli("train --model gpt --dataset text:" + dir.path() + "/t.txt --block-size 64 --out " + dir.path() + "/r3");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("120 bytes make 1 windows of --block-size 64"), std::string::npos) << r.out;
  r = run_cli(kSmall + " --dataset text:" + dir.path() + "/missing --out " + dir.path() + "/r4");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("no such file or folder"), std::string::npos) << r.out;
  r = run_cli("train --model gpt --dataset text:" + dir.path() + "/t.txt --width 30 --heads 4 --block-size 8 --out " +
              dir.path() + "/r5");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--width (30) must be a multiple of --heads (4)"), std::string::npos) << r.out;
}

}  // namespace
