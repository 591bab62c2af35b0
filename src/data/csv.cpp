// Numeric CSV reading (features + an integer label column) from untrusted text.
#include "hpml/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "hpml/core/error.h"
#include "hpml/core/file.h"
#include "hpml/ops/factories.h"

namespace hpml::data {

namespace {

// The most columns a header may have (a line of a million commas is not a table).
constexpr size_t kMaxCsvColumns = 1'000'000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A field as it appears in a message: quoted, cut short if long.
std::string shown(std::string_view field) { return printable(field, 40); }

void split(std::string_view line, char delimiter, std::vector<std::string_view>& out) {
  out.clear();
  size_t start = 0;
  while (true) {
    const size_t end = line.find(delimiter, start);
    out.push_back(trim(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

// Splits a line into at most `max_fields` fields; false (with `count` the number there are,
// counted without building them) when it has more.
bool split_bounded(std::string_view line, char delimiter, std::vector<std::string_view>& out, size_t max_fields,
                   size_t& count) {
  count = static_cast<size_t>(std::count(line.begin(), line.end(), delimiter)) + 1;
  if (count > max_fields) return false;
  split(line, delimiter, out);
  return true;
}

// A leading '+' that from_chars does not accept ("+3"), but not one before another sign.
bool explicit_plus(const char* b, const char* e) { return e - b >= 2 && b[0] == '+' && b[1] != '+' && b[1] != '-'; }

// The lines of `text`, with their 1-based numbers, skipping blank ones and dropping a trailing '\r'.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {}
  bool next(std::string_view& line, int64_t& number) {
    while (pos_ < text_.size()) {
      size_t end = text_.find('\n', pos_);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view l = text_.substr(pos_, end - pos_);
      pos_ = end + 1;
      ++line_;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (trim(l).empty()) continue;
      line = l, number = line_;
      return true;
    }
    return false;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 0;
};

}  // namespace

// Note [Reading CSV safely]
// The text is untrusted: every row must have the header's number of fields, every feature must
// parse completely as a finite number that fits f32, every label completely as an integer (in
// [0, num_classes) when that is given). Each error names the source, the line (1 is the header),
// the column (1-based, with its header name) and the offending text, cut to 40 characters. The
// libFuzzer target tests/fuzz/csv_fuzzer.cpp exercises this code.
CsvTable parse_csv(std::string_view text, const std::string& src, const CsvOptions& options) {
  HPML_CHECK(options.label_column.empty() || !options.label_index.has_value(), src,
             ": give the label column by name or by index, not both");
  HPML_CHECK(!options.num_classes || *options.num_classes > 0, src, ": num_classes must be positive, got ",
             *options.num_classes);
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark
  Lines lines(text);
  std::string_view line;
  int64_t lineno = 0;
  HPML_CHECK(lines.next(line, lineno), src, ": the file is empty; expected a header line");

  std::vector<std::string_view> fields;
  size_t header_count = 0;
  HPML_CHECK(split_bounded(line, options.delimiter, fields, kMaxCsvColumns, header_count), src, ": line ", lineno,
             ": the header has ", header_count, " columns, more than the limit of ", kMaxCsvColumns);
  std::vector<std::string> names;
  for (std::string_view f : fields) {
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
    names.emplace_back(f);
  }
  const int64_t ncols = static_cast<int64_t>(names.size());
  int64_t label = ncols - 1;
  if (!options.label_column.empty()) {
    label = -1;
    for (int64_t c = 0; c < ncols; ++c) {
      if (names[static_cast<size_t>(c)] != options.label_column) continue;
      HPML_CHECK(label < 0, src, ": line ", lineno, ": the label column ", printable(options.label_column),
                 " appears twice (columns ", label + 1, " and ", c + 1, ")");
      label = c;
    }
    HPML_CHECK(label >= 0, src, ": line ", lineno, ": no column named ", printable(options.label_column), " in the header (",
               ncols, " columns)");
  } else if (options.label_index) {
    label = *options.label_index < 0 ? *options.label_index + ncols : *options.label_index;
    HPML_CHECK(label >= 0 && label < ncols, src, ": label_index ", *options.label_index, " is out of range for ", ncols,
               " columns");
  }
  HPML_CHECK(ncols >= 2, src, ": line ", lineno, ": the header has ", ncols,
             " column(s); it needs the label and at least one feature");

  CsvTable out;
  for (int64_t c = 0; c < ncols; ++c)
    if (c != label) out.feature_names.push_back(names[static_cast<size_t>(c)]);
  out.label_name = names[static_cast<size_t>(label)];
  const int64_t nfeat = ncols - 1;

  std::vector<float> x;
  std::vector<int64_t> y;
  while (lines.next(line, lineno)) {
    size_t count = 0;
    const bool fits = split_bounded(line, options.delimiter, fields, static_cast<size_t>(ncols), count);
    HPML_CHECK(fits && static_cast<int64_t>(count) == ncols, src, ": line ", lineno, ": ", count,
               " fields, but the header has ", ncols);
    for (int64_t c = 0; c < ncols; ++c) {
      const std::string_view f = fields[static_cast<size_t>(c)];
      const char* b = f.data();
      const char* e = f.data() + f.size();
      auto col = [&] {
        return hpml::detail::str_cat("column ", c + 1, " (", printable(names[static_cast<size_t>(c)], 40), ")");
      };
      HPML_CHECK(!f.empty(), src, ": line ", lineno, ", ", col(), ": the field is empty");
      if (c == label) {
        if (explicit_plus(b, e)) ++b;
        int64_t v = 0;
        auto [p, ec] = std::from_chars(b, e, v);
        HPML_CHECK(ec == std::errc() && p == e && b != e, src, ": line ", lineno, ", ", col(), ": the label ", shown(f),
                   " is not an integer");
        HPML_CHECK(!options.num_classes || (v >= 0 && v < *options.num_classes), src, ": line ", lineno, ", ", col(),
                   ": the label ", v, " is out of range [0, ", options.num_classes.value_or(0), ")");
        y.push_back(v);
      } else {
        if (explicit_plus(b, e)) ++b;
        double v = 0;
        auto [p, ec] = std::from_chars(b, e, v);
        HPML_CHECK((ec == std::errc() || ec == std::errc::result_out_of_range) && p == e && b != e, src, ": line ",
                   lineno, ", ", col(), ": ", shown(f), " is not a number");
        HPML_CHECK(ec == std::errc() && std::isfinite(v) && std::abs(v) <= std::numeric_limits<float>::max(), src,
                   ": line ", lineno, ", ", col(), ": ", shown(f), " is not a finite number that fits f32");
        x.push_back(static_cast<float>(v));
      }
    }
  }
  const int64_t n = static_cast<int64_t>(y.size());
  out.features = n == 0 ? empty({0, nfeat}, kFloat32) : from_blob(x.data(), {n, nfeat}, kFloat32).clone();
  out.labels = n == 0 ? empty({0}, kInt64) : from_blob(y.data(), {n}, kInt64).clone();
  return out;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  const std::string text = read_regular_file_string(path, "read_csv");
  return parse_csv(text, path, options);
}

}  // namespace hpml::data
