// A numeric CSV table with a header line and an integer class label column, read into
// (features f32 [N, F], labels i64 [N]) — a TensorDataset's two tensors:
//   data::CsvTable t = data::read_csv("iris.csv", {.label_column = "species", .num_classes = 3});
//   auto ds = std::make_shared<data::TensorDataset>(std::vector<Tensor>{t.features, t.labels});
// Fields are separated by the delimiter and may be padded with spaces; there is no quoting (a
// header name may be wrapped in double quotes). Blank lines are skipped. Every value must be a
// finite number and every label an integer. Files are untrusted: a malformed one raises
// hpml::Error naming the file, the line (1 = the header) and the column.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::data {

struct CsvOptions {
  // The label column by its header name, or by index (negative counts from the end); neither
  // given: the last column.
  std::string label_column = "";
  std::optional<int64_t> label_index = std::nullopt;
  std::optional<int64_t> num_classes = std::nullopt;  // when given, every label must lie in [0, num_classes)
  char delimiter = ',';
};

struct CsvTable {
  Tensor features;                         // f32 [N, F]: the other columns, in file order
  Tensor labels;                           // i64 [N]
  std::vector<std::string> feature_names;  // F names from the header
  std::string label_name;
};

CsvTable read_csv(const std::string& path, const CsvOptions& options = {});
// The same from text in memory; `source` names it in errors.
CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options = {});

}  // namespace hpml::data
