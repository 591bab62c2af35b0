// CSV reading (include/hpml/data/csv.h): features and labels, choosing the label column, the
// tolerated formatting, and every error naming the file, the line and the column.
#include <gtest/gtest.h>

#include "core/test_helpers.h"
#include "data/data_test_util.h"

namespace hpml::data {
namespace {

using datatest::shape;
using datatest::TempDir;
using datatest::values;
using datatest::write_text;

CsvTable parse(const std::string& text, const CsvOptions& o = {}) { return parse_csv(text, "t.csv", o); }

TEST(CsvTest, FeaturesAndLabels) {
  CsvTable t = parse("a,b,label\n1,2,0\n3.5,-4e2,2\n");
  EXPECT_EQ(t.features.dtype(), kFloat32);
  EXPECT_EQ(shape(t.features), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(values(t.features), (std::vector<double>{1, 2, 3.5, -400}));
  EXPECT_EQ(t.labels.dtype(), kInt64);
  EXPECT_EQ(values(t.labels), (std::vector<double>{0, 2}));
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.label_name, "label");
  // Straight into a TensorDataset.
  TensorDataset ds({t.features, t.labels});
  EXPECT_EQ(ds.get(1)[1].item<int64_t>(), 2);
}

TEST(CsvTest, LabelColumnByNameOrIndex) {
  const std::string text = "x,species,y\n0.5,1,7\n1.5,0,8\n";
  CsvTable by_name = parse(text, {.label_column = "species"});
  EXPECT_EQ(values(by_name.features), (std::vector<double>{0.5, 7, 1.5, 8}));
  EXPECT_EQ(values(by_name.labels), (std::vector<double>{1, 0}));
  EXPECT_EQ(by_name.feature_names, (std::vector<std::string>{"x", "y"}));
  CsvTable by_index = parse(text, {.label_index = 1});
  EXPECT_EQ(values(by_index.labels), values(by_name.labels));
  CsvTable from_end = parse(text, {.label_index = -2});
  EXPECT_EQ(values(from_end.labels), values(by_name.labels));
  EXPECT_HPML_ERROR(parse(text, {.label_index = 0}), "t.csv", "line 2", "column 1 ('x')", "'0.5' is not an integer");
}

TEST(CsvTest, ToleratedFormatting) {
  // A byte order mark, CRLF line ends, spaces around fields, quoted header names, blank lines,
  // explicit '+' signs, no final newline, another delimiter.
  CsvTable t = parse("\xEF\xBB\xBF\"f 1\"; f2 ;lab\r\n\r\n  +1 ; 2.5e-1 ; +3\r\n\n-0;1E2;4", {.delimiter = ';'});
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"f 1", "f2"}));
  EXPECT_EQ(values(t.features), (std::vector<double>{1, 0.25, 0, 100}));
  EXPECT_EQ(values(t.labels), (std::vector<double>{3, 4}));
  // No rows: [0, F] and [0].
  CsvTable none = parse("a,b,c\n\n");
  EXPECT_EQ(shape(none.features), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(shape(none.labels), (std::vector<int64_t>{0}));
}

TEST(CsvTest, ReadsAFile) {
  TempDir dir;
  write_text(dir.file("iris.csv"), "sepal,petal,species\n5.1,1.4,0\n6.3,4.9,1\n7.7,6.7,2\n");
  CsvTable t = read_csv(dir.file("iris.csv"), {.label_column = "species", .num_classes = 3});
  EXPECT_EQ(shape(t.features), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values(t.labels), (std::vector<double>{0, 1, 2}));
  EXPECT_HPML_ERROR(read_csv(dir.file("nope.csv")), "read_csv", "cannot open", "nope.csv");
  write_text(dir.file("bad.csv"), "a,b\n1,0\nx,1\n");
  EXPECT_HPML_ERROR(read_csv(dir.file("bad.csv")), dir.file("bad.csv"), "line 3", "column 1 ('a')",
                    "'x' is not a number");
}

TEST(CsvTest, FieldErrorsNameLineAndColumn) {
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,0\n3,abc,1\n"), "t.csv", "line 3", "column 2 ('b')", "'abc' is not a number");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,0\n\n1,2\n"), "t.csv", "line 4", "2 fields", "header has 3");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,0,9\n"), "t.csv", "line 2", "4 fields");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,1.5\n"), "t.csv", "line 2", "column 3 ('label')", "'1.5' is not an integer");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,one\n"), "t.csv", "line 2", "column 3", "not an integer");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,99999999999999999999\n"), "t.csv", "line 2", "not an integer");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,3\n1,2,-1\n", {.num_classes = 3}), "t.csv", "line 2", "column 3", "label 3",
                    "[0, 3)");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2,2\n1,2,-1\n", {.num_classes = 3}), "t.csv", "line 3", "label -1", "[0, 3)");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,,0\n"), "t.csv", "line 2", "column 2 ('b')", "empty");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,nan,0\n"), "t.csv", "line 2", "column 2", "'nan'", "finite");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,-inf,0\n"), "t.csv", "line 2", "column 2", "finite");
  EXPECT_HPML_ERROR(parse("a,b,label\n1e39,1,0\n"), "t.csv", "line 2", "column 1", "f32");
  EXPECT_HPML_ERROR(parse("a,b,label\n1e999,1,0\n"), "t.csv", "line 2", "column 1", "f32");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,2 3,0\n"), "t.csv", "line 2", "'2 3' is not a number");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,\"2\",0\n"), "t.csv", "line 2", "not a number");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,++2,0\n"), "t.csv", "line 2", "not a number");
  EXPECT_HPML_ERROR(parse("a,b,label\n1,+-2,0\n"), "t.csv", "line 2", "not a number");
  // A long field is cut short in the message.
  EXPECT_HPML_ERROR(parse("a,b,label\n1," + std::string(1000, 'z') + ",0\n"), "t.csv", "line 2",
                    "'" + std::string(40, 'z') + "...' is not a number");
}

TEST(CsvTest, HeaderAndOptionErrors) {
  EXPECT_HPML_ERROR(parse(""), "t.csv", "empty", "header");
  EXPECT_HPML_ERROR(parse("\n \n"), "t.csv", "empty", "header");
  EXPECT_HPML_ERROR(parse("only\n1\n"), "t.csv", "line 1", "1 column(s)");
  EXPECT_HPML_ERROR(parse("a,b\n1,2\n", {.label_column = "species"}), "t.csv", "line 1", "no column named 'species'");
  EXPECT_HPML_ERROR(parse("y,a,y\n1,2,3\n", {.label_column = "y"}), "t.csv", "line 1", "'y' appears twice",
                    "columns 1 and 3");
  EXPECT_HPML_ERROR(parse("a,b\n1,2\n", {.label_index = 2}), "t.csv", "label_index 2", "2 columns");
  EXPECT_HPML_ERROR(parse("a,b\n1,2\n", {.label_index = -3}), "t.csv", "label_index -3");
  EXPECT_HPML_ERROR(parse("a,b\n1,2\n", {.label_column = "a", .label_index = 0}), "t.csv", "not both");
  EXPECT_HPML_ERROR(parse("a,b\n1,2\n", {.num_classes = 0}), "t.csv", "num_classes");
}

}  // namespace
}  // namespace hpml::data
