// `hpml predict --checkpoint FILE --input PATH`: the checkpoint's model rebuilt from the options
// it recorded (as `hpml eval` does), one image or CSV row through it, and the top classes with
// their softmax probabilities (or the value of a regression model). Input readers:
// predict_input.cpp.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "predict.h"
#include "train.h"

namespace hpml::cli {

namespace {

constexpr int64_t kSide = 28;  // what fashion-mnist and mnist:PATH models take: 1 x 28 x 28

struct Input {
  Tensor x;          // [1, input shape...]
  std::string what;  // where it came from and what was done to it
  bool has_label = false;
  double label = 0;
};

// Note [Fitting an image to 28x28] in predict_input.cpp: inverted first (so the padding is the
// model's black background), then centred on a square and area-averaged.
Input image_input(const PredictOptions& o, const std::vector<uint8_t>& bytes, const std::string& kind) {
  HPML_CHECK(o.row == 0, "hpml predict: --row picks a row of a CSV file; ", printable(o.input, 4096), " is a ", kind);
  GrayImage img = kind == "PNG image" ? read_png(bytes, o.input, o.invert ? 1.0f : 0.0f) : read_pnm(bytes, o.input);
  Input in;
  in.what = o.input + ": " + img.format + ", " + std::to_string(img.width) + "x" + std::to_string(img.height);
  if (o.invert) {
    for (float& p : img.pixels) p = 1.0f - p;
    in.what += ", inverted";
  }
  if (img.width != kSide || img.height != kSide) {
    img = fit_square(img, kSide);
    in.what += ", centred on a black square and area-averaged to 28x28";
  }
  in.x = tensor(img.pixels).reshape({1, 1, kSide, kSide});
  return in;
}

Input row_input(const PredictOptions& o, const std::vector<uint8_t>& bytes, const DataSplits& d,
                const std::string& model) {
  HPML_CHECK(!o.invert, "hpml predict: --invert applies to images; ", printable(o.input, 4096),
             " is read as a CSV row for ", model);
  const int64_t f = d.input_shape[0];
  const CsvRow r = read_csv_row(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), o.input,
                                o.row, static_cast<size_t>(f) + 2);  // one too many: the message below
  const auto n = static_cast<int64_t>(r.values.size());
  HPML_CHECK(n == f || n == f + 1, o.input, " line ", r.line, " has ", n, " values; the checkpoint's model (", model,
             ") takes ", f, " features (or ", f + 1, " with the true label last)");
  Input in;
  in.what = o.input + ", row " + std::to_string(r.row) + " of " + std::to_string(r.rows) + " (line " +
            std::to_string(r.line) + (r.header ? ", after a header" : "") + "): " + std::to_string(f) + " features";
  in.has_label = n == f + 1;
  if (in.has_label) in.label = r.values.back();
  std::vector<float> x(r.values.begin(), r.values.begin() + f);
  in.x = tensor(x).reshape({1, f});
  return in;
}

// The input the model takes, from the file's content: an image for a 1x28x28 model, a CSV row
// for a vector model; the other way round is refused naming both.
Input read_input(const PredictOptions& o, const DataSplits& d, const std::string& model) {
  const std::vector<uint8_t> bytes = read_regular_file(o.input, "hpml predict: --input", kMaxInputBytes);
  const std::string kind =
      file_kind(std::string_view(reinterpret_cast<const char*>(bytes.data()), std::min<size_t>(bytes.size(), 16)));
  const std::string input = printable(o.input, 4096);
  HPML_CHECK(kind != "safetensors file", "hpml predict: --input ", input,
             " is a safetensors file (a checkpoint?), "
             "not an input; it goes to --checkpoint");
  const bool image = kind.size() > 6 && kind.substr(kind.size() - 6) == " image";
  const bool readable = kind == "PNG image" || kind == "PGM image" || kind == "PPM image";
  if (d.input_shape == std::vector<int64_t>{1, kSide, kSide}) {
    HPML_CHECK(image, "hpml predict: --input ", input, " is not an image (PNG, PGM or PPM); the checkpoint's model (",
               model, ") takes a 28x28 single-channel image");
    HPML_CHECK(readable, "hpml predict: --input ", input, " is a ", kind,
               "; hpml predict reads PNG, PGM and PPM "
               "images (hint: convert it, e.g. `convert photo.jpg photo.png`)");
    return image_input(o, bytes, kind);
  }
  HPML_CHECK(d.input_shape.size() == 1, "hpml predict: the checkpoint's model (", model, ") takes inputs of shape ",
             IntArrayRef(d.input_shape), ", neither an image nor a row");
  HPML_CHECK(!image, "hpml predict: --input ", input, " is a ", kind, "; the checkpoint's model (", model,
             ") takes a CSV row of ", d.input_shape[0], " features, not an image");
  return row_input(o, bytes, d, model);
}

std::string line(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// "Shirt (class 6)", or "class 2" where the data set names its classes by number.
std::string class_label(const std::vector<std::string>& names, int64_t k) {
  const std::string& n = names[static_cast<size_t>(k)];
  return n == std::to_string(k) ? "class " + n : n + " (class " + std::to_string(k) + ")";
}

std::string classification(const std::vector<float>& p, const std::vector<std::string>& names, const Input& in,
                           int64_t top, const std::string& source) {
  const auto classes = static_cast<int64_t>(p.size());
  std::string out;
  if (in.has_label) {
    HPML_CHECK(in.label == std::floor(in.label) && in.label >= 0 && in.label < static_cast<double>(classes), source,
               ": the last value ", in.label, " of the row would be its true label, but it is not a class in [0, ",
               classes, ")");
    out += "true label: " + class_label(names, static_cast<int64_t>(in.label)) + "\n";
  }
  std::vector<int64_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
  const int64_t k = std::min(top, classes);
  out += line("top %lld of %lld classes (softmax probability):\n", static_cast<long long>(k),
              static_cast<long long>(classes));
  for (int64_t i = 0; i < k; ++i) {
    const int64_t c = order[static_cast<size_t>(i)];
    out += line("  %lld. %-28s %.4f\n", static_cast<long long>(i + 1), class_label(names, c).c_str(),
                static_cast<double>(p[static_cast<size_t>(c)]));
  }
  return out;
}

}  // namespace

void add_predict_options(CLI::App& app, PredictOptions& o) {
  app.add_option("--checkpoint", o.checkpoint,
                 "a checkpoint hpml train wrote (OUT/last.safetensors or "
                 "OUT/best.safetensors)")
      ->required();
  app.add_option("--input", o.input,
                 "image models (fashion-mnist, mnist:PATH): a PNG, PGM or PPM image, a light "
                 "object on a black background as in Fashion-MNIST (see --invert); not 28x28: centred on a black "
                 "square and area-averaged to 28x28. Vector models: a CSV file of one row of the features (the true "
                 "label may follow last; a header line is skipped)")
      ->required();
  app.add_option("--top", o.top, "classes to show, the most probable first (at most the class count)")
      ->check(int_in(1, kMaxClasses))
      ->capture_default_str();
  app.add_option("--row", o.row, "the data row of a CSV file that holds several, from 1")
      ->check(int_in(1, 1'000'000'000));
  app.add_flag("--invert", o.invert,
               "invert the image first: for a dark object on a light background (a photo, a "
               "drawing), since Fashion-MNIST's images are light on black");
}

std::string predict_report(const PredictOptions& o) {
  HPML_CHECK(o.top >= 1, "hpml predict: --top must be at least 1, got ", o.top);
  io::CheckpointState state = load_run_checkpoint(o.checkpoint, "hpml predict");
  const TrainConfig c = recorded_config(state.metadata, o.checkpoint);
  HPML_CHECK(c.model != "gpt", "hpml predict classifies one input; ", printable(o.checkpoint), " holds a gpt: "
             "hpml generate samples text from it");
  const DataSplits d = make_data(c);
  std::shared_ptr<nn::Module> model = rebuild_model(c, d, state.model, o.checkpoint);
  model->eval();
  const std::string what = c.model + " on " + c.dataset;
  const Input in = read_input(o, d, what);
  NoGradGuard ng;
  const Tensor y = model->forward(in.x).contiguous();
  const int64_t outputs = d.classes > 0 ? d.classes : 1;
  HPML_CHECK(y.sizes() == IntArrayRef({1, outputs}), o.checkpoint, ": the model gives an output of shape ", y.sizes(),
             ", not [1, ", outputs, "]");
  const float* v = y.data_ptr<float>();
  HPML_CHECK(std::all_of(v, v + outputs, [](float x) { return std::isfinite(x); }), o.checkpoint,
             ": the model's output for this input is not finite (its weights are NaN or infinite?)");

  std::string out = "model: " + what + " (" + o.checkpoint + ")\ninput: " + in.what + "\n";
  if (d.classes == 0) {
    if (in.has_label) out += line("true label: %.6g\n", in.label);
    return out + line("predicted value: %.6g\n", static_cast<double>(v[0]));
  }
  std::vector<std::string> names = d.class_names;  // "0", "1", ... where the data set has none
  if (static_cast<int64_t>(names.size()) != d.classes) {
    names.clear();
    for (int64_t k = 0; k < d.classes; ++k) names.push_back(std::to_string(k));
  }
  const Tensor p = y.softmax(1).contiguous();
  const float* q = p.data_ptr<float>();
  return out + classification(std::vector<float>(q, q + d.classes), names, in, o.top, o.input);
}

int predict(const PredictOptions& o) {
  std::fputs(predict_report(o).c_str(), stdout);
  return 0;
}

}  // namespace hpml::cli
