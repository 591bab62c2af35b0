// Convolution and pooling layers.
#include "hpml/nn/conv.h"

#include <cmath>

#include "hpml/nn/init.h"
#include "hpml/ops/factories.h"

namespace hpml::nn {

namespace {
hpml::ConvOptions op_options(const ConvOptions& o) {
  return {.stride = o.stride, .padding = o.padding, .dilation = o.dilation, .groups = o.groups};
}

// PyTorch's _ConvNd.extra_repr: stride always; padding, dilation, groups, bias only when not default.
std::string conv_repr(int64_t in, int64_t out, const Dims& k, const ConvOptions& o, size_t nd) {
  std::string s = std::to_string(in) + ", " + std::to_string(out) + ", kernel_size=" + k.str(true, nd) +
                  ", stride=" + o.stride.str(true, nd);
  if (o.padding.same()) s += ", padding=same";
  else if (o.padding.valid()) s += ", padding=valid";
  else if (o.padding.dims().str(true, nd) != Dims(0).str(true, nd)) s += ", padding=" + o.padding.dims().str(true, nd);
  if (o.dilation.str(true, nd) != Dims(1).str(true, nd)) s += ", dilation=" + o.dilation.str(true, nd);
  if (o.groups != 1) s += ", groups=" + std::to_string(o.groups);
  if (!o.bias) s += ", bias=False";
  return s;
}

void init_conv(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound);
  }
}
}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Dims k, ConvOptions o)
    : Module("Conv2d"), in_channels(in), out_channels(out), options(o), kernel_size_(k) {
  HPML_CHECK(in > 0 && out > 0, "Conv2d: in_channels and out_channels must be positive, got ", in, " and ", out);
  HPML_CHECK(o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, "Conv2d: groups (", o.groups,
             ") must divide in_channels (", in, ") and out_channels (", out, ")");
  const int64_t kh = k.at(0, 2, "Conv2d", "kernel_size"), kw = k.at(1, 2, "Conv2d", "kernel_size");
  HPML_CHECK(kh > 0 && kw > 0, "Conv2d: kernel_size must be positive, got ", k.str(true));
  weight = register_parameter("weight", empty({out, in / o.groups, kh, kw}));
  if (o.bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}
void Conv2d::reset_parameters() { init_conv(weight, bias); }
Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, op_options(options)); }
std::string Conv2d::extra_repr() const { return conv_repr(in_channels, out_channels, kernel_size_, options, 2); }

Conv1d::Conv1d(int64_t in, int64_t out, int64_t k, ConvOptions o)
    : Module("Conv1d"), in_channels(in), out_channels(out), kernel_size(k), options(o) {
  HPML_CHECK(in > 0 && out > 0 && k > 0, "Conv1d: channels and kernel_size must be positive");
  HPML_CHECK(o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, "Conv1d: groups (", o.groups,
             ") must divide in_channels (", in, ") and out_channels (", out, ")");
  weight = register_parameter("weight", empty({out, in / o.groups, k}));
  if (o.bias) bias = register_parameter("bias", empty({out}));
  reset_parameters();
}
void Conv1d::reset_parameters() { init_conv(weight, bias); }
Tensor Conv1d::forward(const Tensor& x) { return conv1d(x, weight, bias, op_options(options)); }
std::string Conv1d::extra_repr() const { return conv_repr(in_channels, out_channels, Dims(kernel_size), options, 1); }

MaxPool2d::MaxPool2d(Dims k, MaxPoolOptions o)
    : Module("MaxPool2d"),
      pool{.kernel_size = k, .stride = o.stride, .padding = o.padding, .dilation = o.dilation, .ceil_mode = o.ceil_mode} {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, pool); }
std::string MaxPool2d::extra_repr() const {
  const Dims& st = pool.stride ? *pool.stride : pool.kernel_size;
  return "kernel_size=" + pool.kernel_size.str(false) + ", stride=" + st.str(false) + ", padding=" + pool.padding.str(false) +
         ", dilation=" + pool.dilation.str(false) + ", ceil_mode=" + (pool.ceil_mode ? "True" : "False");
}

AvgPool2d::AvgPool2d(Dims k, AvgPoolOptions o)
    : Module("AvgPool2d"),
      pool{.kernel_size = k, .stride = o.stride, .padding = o.padding, .ceil_mode = o.ceil_mode,
           .count_include_pad = o.count_include_pad, .divisor_override = o.divisor_override} {}
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, pool); }
std::string AvgPool2d::extra_repr() const {
  const Dims& st = pool.stride ? *pool.stride : pool.kernel_size;
  return "kernel_size=" + pool.kernel_size.str(false) + ", stride=" + st.str(false) + ", padding=" + pool.padding.str(false);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Dims s) : Module("AdaptiveAvgPool2d"), output_size(s) {}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }
std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + output_size.str(false); }

}  // namespace hpml::nn
