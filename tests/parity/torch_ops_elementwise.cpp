// libtorch counterparts of the elementwise ops added with erf ... clamp(Tensor bounds): the
// entries of tests/op_table/pointwise_ops.cpp and the later ones of tests/op_table/unary_ops.cpp.
#include "parity/torch_ops.h"

namespace hpml::testing {

namespace {
using TL = std::vector<torch::Tensor>;

c10::optional<double> opt(const ops::Args& a, const char* key) {
  if (!a.has(key)) return c10::nullopt;
  return a.d(key);
}
}  // namespace

#define UNARY(name) t[#name] = [](const TL& in, const ops::Args&) { return TL{torch::name(in[0])}; }
#define BINARY(name) t[#name] = [](const TL& in, const ops::Args&) { return TL{torch::name(in[0], in[1])}; }

void add_elementwise_twins(std::map<std::string, TorchFn>& t) {
  UNARY(erf);
  UNARY(erfc);
  UNARY(tan);
  UNARY(asin);
  UNARY(acos);
  UNARY(atan);
  UNARY(sinh);
  UNARY(cosh);
  UNARY(log2);
  UNARY(log10);
  UNARY(exp2);
  UNARY(trunc);
  UNARY(frac);
  UNARY(isnan);
  UNARY(isinf);
  UNARY(isfinite);
  UNARY(silu);
  UNARY(mish);
  UNARY(hardswish);
  UNARY(hardsigmoid);
  UNARY(selu);
  t["logsigmoid"] = [](const TL& in, const ops::Args&) { return TL{torch::log_sigmoid(in[0])}; };
  t["softsign"] = [](const TL& in, const ops::Args&) { return TL{torch::nn::functional::softsign(in[0])}; };
  t["celu"] = [](const TL& in, const ops::Args& a) { return TL{torch::celu(in[0], a.d("alpha"))}; };
  t["threshold"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::threshold(in[0], a.d("threshold"), a.d("value"))};
  };
  t["logit"] = [](const TL& in, const ops::Args& a) { return TL{torch::logit(in[0], opt(a, "eps"))}; };
  t["nan_to_num"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::nan_to_num(in[0], opt(a, "nan"), opt(a, "posinf"), opt(a, "neginf"))};
  };
  t["prelu"] = [](const TL& in, const ops::Args&) { return TL{torch::prelu(in[0], in[1])}; };
  t["glu"] = [](const TL& in, const ops::Args& a) { return TL{torch::glu(in[0], a.i("dim"))}; };

  BINARY(atan2);
  BINARY(fmod);
  BINARY(remainder);
  BINARY(logaddexp);
  t["lerp"] = [](const TL& in, const ops::Args& a) {
    if (in.size() == 3) return TL{torch::lerp(in[0], in[1], in[2])};
    return TL{torch::lerp(in[0], in[1], a.d("weight"))};
  };
  t["addcmul"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::addcmul(in[0], in[1], in[2], a.d_or("value", 1.0))};
  };
  t["addcdiv"] = [](const TL& in, const ops::Args& a) {
    return TL{torch::addcdiv(in[0], in[1], in[2], a.d_or("value", 1.0))};
  };
  t["clamp_tensor"] = [](const TL& in, const ops::Args& a) {
    const std::string only = a.has("only") ? a.s("only") : "";
    c10::optional<torch::Tensor> lo, hi;
    if (only != "max") lo = in[1];
    if (only == "max") hi = in[1];
    if (only.empty()) hi = in[2];
    return TL{torch::clamp(in[0], lo, hi)};
  };
}

#undef UNARY
#undef BINARY

}  // namespace hpml::testing
