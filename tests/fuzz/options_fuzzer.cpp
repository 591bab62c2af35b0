// libFuzzer target for the options of `hpml train`: the input's lines are the arguments. Any of
// them must parse or raise a CLI11 / hpml error, never crash; a configuration that parses must
// plan a model within the bounds, and survive the round trip through the recorded JSON array
// (the arguments a checkpoint keeps) with every setting unchanged.
#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "train.h"

namespace {

using namespace hpml::cli;

void plan_for(const TrainConfig& c, std::vector<int64_t> input, int64_t classes) {
  DataSplits d;
  d.input_shape = std::move(input);
  d.classes = classes;
  try {
    if (parameter_count(plan_model(c, d)) < 0) __builtin_trap();  // the bounds must keep the count from overflowing
  } catch (const hpml::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"train"};
  std::string cur;
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == '\n') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(data[i]);
    }
  }
  if (!cur.empty()) args.push_back(cur);
  CLI::App app{"hpml train"};
  TrainConfig tc;
  add_train_options(app, tc);
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend() - 1));
  } catch (const CLI::Error&) {
    return 0;
  }
  plan_for(tc, {1, 28, 28}, 10);
  plan_for(tc, {2}, 0);
  try {
    const TrainConfig back = parse_recorded_arguments(record_arguments(args), "fuzz-input");
    if (!resume_differences(tc, back).empty()) __builtin_trap();  // the recorded arguments must mean the same run
    // so must the resolved configuration a checkpoint records (canonical_arguments)
    const TrainConfig again = parse_recorded_arguments(record_arguments(canonical_arguments(tc)), "fuzz-input");
    if (!resume_differences(tc, again).empty()) __builtin_trap();
  } catch (const hpml::Error&) {
    // a parsed command line records arguments that parse again: only a stray "train"-less list may fail
  }
  return 0;
}
