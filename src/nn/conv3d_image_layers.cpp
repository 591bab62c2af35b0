// Conv3d, the transposed convolutions, 1-d and adaptive max pooling, and the image layers
// (Upsample, Unfold, Fold, PixelShuffle, PixelUnshuffle): thin modules over the hpml:: ops, each
// printing like PyTorch 1.13.
#include <charconv>
#include <cmath>

#include "hpml/nn/conv.h"
#include "hpml/nn/init.h"
#include "hpml/ops/factories.h"

namespace hpml::nn {

namespace {

void init_conv(Tensor& weight, Tensor& bias) {  // as Conv2d's (conv_pool_layers.cpp)
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}

void check_channels(const char* type, int64_t in, int64_t out, int64_t groups) {
  HPML_CHECK(in > 0 && out > 0, type, ": in_channels and out_channels must be positive, got ", in, " and ", out);
  HPML_CHECK(groups > 0 && in % groups == 0 && out % groups == 0, type, ": groups (", groups,
             ") must divide in_channels (", in, ") and out_channels (", out, ")");
}

// PyTorch's _ConvNd.extra_repr: stride always; padding, dilation, output_padding, groups and bias
// only when not the default. Tuples of nd values throughout.
struct ConvRepr {
  const Dims &kernel, &stride, &padding;
  const char* padding_mode;  // "same" or "valid" in place of the amounts; nullptr for amounts
  const Dims &dilation, *output_padding;
  int64_t groups;
  bool bias;
};
std::string conv_repr(int64_t in, int64_t out, const ConvRepr& r, size_t nd) {
  auto differs = [nd](const Dims& d, int64_t dflt) { return d.str(true, nd) != Dims(dflt).str(true, nd); };
  std::string s = std::to_string(in) + ", " + std::to_string(out) + ", kernel_size=" + r.kernel.str(true, nd) +
                  ", stride=" + r.stride.str(true, nd);
  if (r.padding_mode) s += std::string(", padding=") + r.padding_mode;
  else if (differs(r.padding, 0)) s += ", padding=" + r.padding.str(true, nd);
  if (differs(r.dilation, 1)) s += ", dilation=" + r.dilation.str(true, nd);
  if (r.output_padding && differs(*r.output_padding, 0)) s += ", output_padding=" + r.output_padding->str(true, nd);
  if (r.groups != 1) s += ", groups=" + std::to_string(r.groups);
  if (!r.bias) s += ", bias=False";
  return s;
}

std::string py(double v) {  // a float as Python's repr prints it: 2.0, 1.5
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e16)
    return std::to_string(static_cast<long long>(v)) + ".0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

hpml::ConvTransposeOptions op_options(const ConvTransposeOptions& o) {
  return {.stride = o.stride, .padding = o.padding, .output_padding = o.output_padding, .groups = o.groups,
          .dilation = o.dilation};
}

}  // namespace

Conv3d::Conv3d(int64_t in, int64_t out, Dims k, ConvOptions o)
    : Module("Conv3d"), in_channels(in), out_channels(out), options(o), kernel_size_(k) {
  check_channels("Conv3d", in, out, o.groups);
  int64_t ks[3];
  for (size_t i = 0; i < 3; ++i) ks[i] = k.at(i, 3, "Conv3d", "kernel_size");
  HPML_CHECK(ks[0] > 0 && ks[1] > 0 && ks[2] > 0, "Conv3d: kernel_size must be positive, got ", k.str(true, 3));
  weight = register_parameter("weight", empty({out, in / o.groups, ks[0], ks[1], ks[2]}));
  if (o.bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}
void Conv3d::reset_parameters() { init_conv(weight, bias); }
Tensor Conv3d::forward(const Tensor& x) {
  return conv3d(x, weight, bias, {.stride = options.stride, .padding = options.padding, .dilation = options.dilation,
                                  .groups = options.groups});
}
std::string Conv3d::extra_repr() const {
  const ConvOptions& o = options;
  const char* mode = o.padding.same() ? "same" : o.padding.valid() ? "valid" : nullptr;
  return conv_repr(in_channels, out_channels,
                   {kernel_size_, o.stride, o.padding.dims(), mode, o.dilation, nullptr, o.groups, o.bias}, 3);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Dims k, ConvTransposeOptions o)
    : Module("ConvTranspose2d"), in_channels(in), out_channels(out), options(o), kernel_size_(k) {
  check_channels("ConvTranspose2d", in, out, o.groups);
  const int64_t kh = k.at(0, 2, "ConvTranspose2d", "kernel_size"), kw = k.at(1, 2, "ConvTranspose2d", "kernel_size");
  HPML_CHECK(kh > 0 && kw > 0, "ConvTranspose2d: kernel_size must be positive, got ", k.str(true));
  weight = register_parameter("weight", empty({in, out / o.groups, kh, kw}));
  if (o.bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}
void ConvTranspose2d::reset_parameters() { init_conv(weight, bias); }
Tensor ConvTranspose2d::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, op_options(options)); }
std::string ConvTranspose2d::extra_repr() const {
  const ConvTransposeOptions& o = options;
  return conv_repr(in_channels, out_channels,
                   {kernel_size_, o.stride, o.padding, nullptr, o.dilation, &o.output_padding, o.groups, o.bias}, 2);
}

ConvTranspose1d::ConvTranspose1d(int64_t in, int64_t out, int64_t k, ConvTransposeOptions o)
    : Module("ConvTranspose1d"), in_channels(in), out_channels(out), kernel_size(k), options(o) {
  check_channels("ConvTranspose1d", in, out, o.groups);
  HPML_CHECK(k > 0, "ConvTranspose1d: kernel_size must be positive, got ", k);
  weight = register_parameter("weight", empty({in, out / o.groups, k}));
  if (o.bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}
void ConvTranspose1d::reset_parameters() { init_conv(weight, bias); }
Tensor ConvTranspose1d::forward(const Tensor& x) { return conv_transpose1d(x, weight, bias, op_options(options)); }
std::string ConvTranspose1d::extra_repr() const {
  const ConvTransposeOptions& o = options;
  const Dims k(kernel_size);
  return conv_repr(in_channels, out_channels, {k, o.stride, o.padding, nullptr, o.dilation, &o.output_padding, o.groups,
                                               o.bias}, 1);
}

MaxPool1d::MaxPool1d(int64_t k, MaxPoolOptions o)
    : Module("MaxPool1d"),
      pool{.kernel_size = k, .stride = o.stride, .padding = o.padding, .dilation = o.dilation,
           .ceil_mode = o.ceil_mode} {}
Tensor MaxPool1d::forward(const Tensor& x) { return max_pool1d(x, pool); }
std::string MaxPool1d::extra_repr() const {  // ints as given, like MaxPool2d's
  const Dims& st = pool.stride ? *pool.stride : pool.kernel_size;
  return "kernel_size=" + pool.kernel_size.str(false, 1) + ", stride=" + st.str(false, 1) +
         ", padding=" + pool.padding.str(false, 1) + ", dilation=" + pool.dilation.str(false, 1) +
         ", ceil_mode=" + (pool.ceil_mode ? "True" : "False");
}

AvgPool1d::AvgPool1d(int64_t k, AvgPoolOptions o)
    : Module("AvgPool1d"),
      pool{.kernel_size = k, .stride = o.stride, .padding = o.padding, .ceil_mode = o.ceil_mode,
           .count_include_pad = o.count_include_pad, .divisor_override = o.divisor_override} {
  HPML_CHECK(o.divisor_override == 0, "AvgPool1d: divisor_override is an option of AvgPool2d only, got ",
             o.divisor_override);
}
Tensor AvgPool1d::forward(const Tensor& x) { return avg_pool1d(x, pool); }
std::string AvgPool1d::extra_repr() const {  // PyTorch keeps AvgPool1d's sizes as 1-tuples
  const Dims& st = pool.stride ? *pool.stride : pool.kernel_size;
  return "kernel_size=" + pool.kernel_size.str(true, 1) + ", stride=" + st.str(true, 1) +
         ", padding=" + pool.padding.str(true, 1);
}

AdaptiveAvgPool1d::AdaptiveAvgPool1d(int64_t s) : Module("AdaptiveAvgPool1d"), output_size(s) {}
Tensor AdaptiveAvgPool1d::forward(const Tensor& x) { return adaptive_avg_pool1d(x, output_size); }
std::string AdaptiveAvgPool1d::extra_repr() const { return "output_size=" + std::to_string(output_size); }

AdaptiveMaxPool2d::AdaptiveMaxPool2d(Dims s) : Module("AdaptiveMaxPool2d"), output_size(s) {}
Tensor AdaptiveMaxPool2d::forward(const Tensor& x) { return adaptive_max_pool2d(x, output_size); }
std::pair<Tensor, Tensor> AdaptiveMaxPool2d::forward_with_indices(const Tensor& x) {
  return with_context([&] { return adaptive_max_pool2d_with_indices(x, output_size); });
}
std::string AdaptiveMaxPool2d::extra_repr() const { return "output_size=" + output_size.str(false); }

Upsample::Upsample(InterpolateOptions o) : Module("Upsample"), options(std::move(o)) {}
Tensor Upsample::forward(const Tensor& x) { return interpolate(x, options); }
std::string Upsample::extra_repr() const {
  std::string s;
  const auto& f = options.scale_factor;
  if (f.size() == 1) {
    s = "scale_factor=";
    s += py(f[0]);
  } else if (!f.empty()) {
    s = "scale_factor=(";
    for (size_t i = 0; i < f.size(); ++i) s.append(i ? ", " : "").append(py(f[i]));
    s += ")";
  } else {
    s = "size=";
    s += options.size ? options.size->str(false) : std::string("None");
  }
  s += ", mode=";
  s += options.mode;
  return s;
}

Unfold::Unfold(Dims k, FoldOptions o) : Module("Unfold"), kernel_size(k), options(o) {}
Tensor Unfold::forward(const Tensor& x) { return unfold(x, kernel_size, options); }
std::string Unfold::extra_repr() const {
  return "kernel_size=" + kernel_size.str(false) + ", dilation=" + options.dilation.str(false) +
         ", padding=" + options.padding.str(false) + ", stride=" + options.stride.str(false);
}

Fold::Fold(Dims out, Dims k, FoldOptions o) : Module("Fold"), output_size(out), kernel_size(k), options(o) {}
Tensor Fold::forward(const Tensor& x) { return fold(x, output_size, kernel_size, options); }
std::string Fold::extra_repr() const {
  return "output_size=" + output_size.str(false) + ", kernel_size=" + kernel_size.str(false) +
         ", dilation=" + options.dilation.str(false) + ", padding=" + options.padding.str(false) +
         ", stride=" + options.stride.str(false);
}

PixelShuffle::PixelShuffle(int64_t r) : Module("PixelShuffle"), upscale_factor(r) {}
Tensor PixelShuffle::forward(const Tensor& x) { return pixel_shuffle(x, upscale_factor); }
std::string PixelShuffle::extra_repr() const { return "upscale_factor=" + std::to_string(upscale_factor); }

PixelUnshuffle::PixelUnshuffle(int64_t r) : Module("PixelUnshuffle"), downscale_factor(r) {}
Tensor PixelUnshuffle::forward(const Tensor& x) { return pixel_unshuffle(x, downscale_factor); }
std::string PixelUnshuffle::extra_repr() const { return "downscale_factor=" + std::to_string(downscale_factor); }

}  // namespace hpml::nn
