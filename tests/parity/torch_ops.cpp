// libtorch counterparts of the op-table entries.
#include "parity/torch_ops.h"

#include <ATen/ExpandUtils.h>

#include <cmath>

namespace hpml::testing {

// Twins defined in their own files (torch_ops_<family>.cpp), merged into the table below.
void add_attention_twins(std::map<std::string, TorchFn>& t);
void add_sorting_twins(std::map<std::string, TorchFn>& t);  // torch_ops_sorting.cpp
void add_elementwise_twins(std::map<std::string, TorchFn>& t);  // torch_ops_elementwise.cpp
void add_shape_twins(std::map<std::string, TorchFn>& t);  // torch_ops_shape.cpp
void add_nn_twins(std::map<std::string, TorchFn>& t);       // torch_ops_nn.cpp

namespace {
using TL = std::vector<torch::Tensor>;
using V = std::vector<int64_t>;

V all_dims_if_empty(const torch::Tensor& x, V dims) {
  if (!dims.empty()) return dims;
  V all;
  for (int64_t d = 0; d < x.dim(); ++d) all.push_back(d);
  return all;
}

#define UNARY(name) {#name, [](const TL& in, const ops::Args&) { return TL{torch::name(in[0])}; }}
#define BINARY(name) {#name, [](const TL& in, const ops::Args&) { return TL{torch::name(in[0], in[1])}; }}

std::map<std::string, TorchFn> make_table() {
  std::map<std::string, TorchFn> t = {
      UNARY(neg), UNARY(abs), UNARY(sign), UNARY(exp), UNARY(log), UNARY(log1p), UNARY(expm1), UNARY(sqrt),
      UNARY(rsqrt), UNARY(square), UNARY(reciprocal), UNARY(sin), UNARY(cos), UNARY(tanh), UNARY(sigmoid),
      UNARY(relu), UNARY(floor), UNARY(ceil), UNARY(round), UNARY(logical_not),
      {"leaky_relu", [](const TL& in, const ops::Args& a) { return TL{torch::leaky_relu(in[0], a.d("negative_slope"))}; }},
      {"hardtanh", [](const TL& in, const ops::Args& a) { return TL{torch::hardtanh(in[0], a.d("min_val"), a.d("max_val"))}; }},
      {"gelu", [](const TL& in, const ops::Args& a) { return TL{torch::gelu(in[0], a.s("approximate"))}; }},
      {"softplus", [](const TL& in, const ops::Args& a) { return TL{torch::softplus(in[0], a.d("beta"), a.d("threshold"))}; }},
      {"elu", [](const TL& in, const ops::Args& a) { return TL{torch::elu(in[0], a.d("alpha"))}; }},
      {"clamp", [](const TL& in, const ops::Args& a) {
         c10::optional<at::Scalar> lo, hi;
         if (a.has("min")) lo = a.d("min");
         if (a.has("max")) hi = a.d("max");
         return TL{torch::clamp(in[0], lo, hi)};
       }},
      {"pow_scalar", [](const TL& in, const ops::Args& a) { return TL{torch::pow(in[0], a.d("exponent"))}; }},

      {"add", [](const TL& in, const ops::Args& a) { return TL{torch::add(in[0], in[1], a.d_or("alpha", 1))}; }},
      {"sub", [](const TL& in, const ops::Args& a) { return TL{torch::sub(in[0], in[1], a.d_or("alpha", 1))}; }},
      BINARY(mul), BINARY(pow), BINARY(maximum), BINARY(minimum), BINARY(eq), BINARY(ne), BINARY(lt), BINARY(le),
      BINARY(gt), BINARY(ge), BINARY(logical_and), BINARY(logical_or),
      {"div", [](const TL& in, const ops::Args&) { return TL{torch::div(in[0], in[1])}; }},
      {"div_rounding", [](const TL& in, const ops::Args& a) { return TL{torch::div(in[0], in[1], a.s("rounding_mode"))}; }},
      {"where", [](const TL& in, const ops::Args&) { return TL{torch::where(in[0], in[1], in[2])}; }},
      {"masked_fill", [](const TL& in, const ops::Args& a) { return TL{torch::masked_fill(in[0], in[1], a.d("value"))}; }},

      {"sum", [](const TL& in, const ops::Args& a) { return TL{torch::sum(in[0], all_dims_if_empty(in[0], a.ints("dims")), a.b("keepdim"))}; }},
      {"mean", [](const TL& in, const ops::Args& a) { return TL{torch::mean(in[0], all_dims_if_empty(in[0], a.ints("dims")), a.b("keepdim"))}; }},
      {"amax", [](const TL& in, const ops::Args& a) { return TL{torch::amax(in[0], all_dims_if_empty(in[0], a.ints("dims")), a.b("keepdim"))}; }},
      {"amin", [](const TL& in, const ops::Args& a) { return TL{torch::amin(in[0], all_dims_if_empty(in[0], a.ints("dims")), a.b("keepdim"))}; }},
      {"var", [](const TL& in, const ops::Args& a) {
         return TL{torch::var(in[0], at::OptionalIntArrayRef(all_dims_if_empty(in[0], a.ints("dims"))), a.i("correction"), a.b("keepdim"))};
       }},
      {"std", [](const TL& in, const ops::Args& a) {
         return TL{torch::std(in[0], at::OptionalIntArrayRef(all_dims_if_empty(in[0], a.ints("dims"))), a.i("correction"), a.b("keepdim"))};
       }},
      {"var_mean", [](const TL& in, const ops::Args& a) {
         auto [v, m] = torch::var_mean(in[0], at::OptionalIntArrayRef(all_dims_if_empty(in[0], a.ints("dims"))), a.i("correction"), a.b("keepdim"));
         return TL{v, m};
       }},
      {"prod", [](const TL& in, const ops::Args& a) {
         // libtorch's prod takes one dim: reduce the dims one at a time, last first.
         V dims = all_dims_if_empty(in[0], a.ints("dims"));
         for (auto& d : dims) d = d < 0 ? d + in[0].dim() : d;
         std::sort(dims.rbegin(), dims.rend());
         torch::Tensor r = in[0];
         if (dims.empty()) return TL{torch::prod(r)};
         for (int64_t d : dims) r = torch::prod(r, d, a.b("keepdim"));
         return TL{r};
       }},
      {"max", [](const TL& in, const ops::Args&) { return TL{torch::max(in[0])}; }},
      {"min", [](const TL& in, const ops::Args&) { return TL{torch::min(in[0])}; }},
      {"max_dim", [](const TL& in, const ops::Args& a) {
         auto [v, i] = torch::max(in[0], a.i("dim"), a.b("keepdim"));
         return TL{v, i};
       }},
      {"min_dim", [](const TL& in, const ops::Args& a) {
         auto [v, i] = torch::min(in[0], a.i("dim"), a.b("keepdim"));
         return TL{v, i};
       }},
      {"argmax", [](const TL& in, const ops::Args& a) {
         if (!a.has("dim")) return TL{torch::argmax(in[0])};
         return TL{torch::argmax(in[0], a.i("dim"), a.b("keepdim"))};
       }},
      {"argmin", [](const TL& in, const ops::Args& a) {
         if (!a.has("dim")) return TL{torch::argmin(in[0])};
         return TL{torch::argmin(in[0], a.i("dim"), a.b("keepdim"))};
       }},
      {"any", [](const TL& in, const ops::Args& a) {
         torch::Tensor r = in[0];
         for (int64_t d : all_dims_if_empty(in[0], a.ints("dims"))) r = r.any(d, /*keepdim=*/true);
         if (!a.b("keepdim")) r = a.ints("dims").empty() ? r.reshape({}) : r.squeeze(a.ints("dims")[0]);
         return TL{r};
       }},
      {"all", [](const TL& in, const ops::Args& a) {
         torch::Tensor r = in[0];
         for (int64_t d : all_dims_if_empty(in[0], a.ints("dims"))) r = r.all(d, /*keepdim=*/true);
         if (!a.b("keepdim")) r = a.ints("dims").empty() ? r.reshape({}) : r.squeeze(a.ints("dims")[0]);
         return TL{r};
       }},
      {"logsumexp", [](const TL& in, const ops::Args& a) { return TL{torch::logsumexp(in[0], a.ints("dims"), a.b("keepdim"))}; }},
      {"norm", [](const TL& in, const ops::Args& a) {
         V dims = a.ints("dims");
         if (dims.empty()) return TL{torch::linalg_vector_norm(in[0], a.d("p"), c10::nullopt, a.b("keepdim"))};
         return TL{torch::linalg_vector_norm(in[0], a.d("p"), at::OptionalIntArrayRef(dims), a.b("keepdim"))};
       }},
      {"softmax", [](const TL& in, const ops::Args& a) { return TL{torch::softmax(in[0], a.i("dim"))}; }},
      {"log_softmax", [](const TL& in, const ops::Args& a) { return TL{torch::log_softmax(in[0], a.i("dim"))}; }},
      {"sum_to", [](const TL& in, const ops::Args& a) { return TL{at::sum_to(in[0], a.ints("shape"))}; }},

      BINARY(mm), BINARY(bmm), BINARY(matmul), BINARY(outer), BINARY(dot),
      {"addmm", [](const TL& in, const ops::Args& a) { return TL{torch::addmm(in[0], in[1], in[2], a.d("beta"), a.d("alpha"))}; }},

      {"view", [](const TL& in, const ops::Args& a) { return TL{in[0].view(a.ints("shape"))}; }},
      {"reshape", [](const TL& in, const ops::Args& a) { return TL{in[0].reshape(a.ints("shape"))}; }},
      {"flatten", [](const TL& in, const ops::Args& a) { return TL{in[0].flatten(a.i("start"), a.i("end"))}; }},
      {"unflatten", [](const TL& in, const ops::Args& a) { return TL{in[0].unflatten(a.i("dim"), a.ints("sizes"))}; }},
      {"permute", [](const TL& in, const ops::Args& a) { return TL{in[0].permute(a.ints("dims"))}; }},
      {"transpose", [](const TL& in, const ops::Args& a) { return TL{in[0].transpose(a.i("d0"), a.i("d1"))}; }},
      {"t", [](const TL& in, const ops::Args&) { return TL{in[0].t()}; }},
      {"movedim", [](const TL& in, const ops::Args& a) { return TL{in[0].movedim(a.i("src"), a.i("dst"))}; }},
      {"narrow", [](const TL& in, const ops::Args& a) { return TL{in[0].narrow(a.i("dim"), a.i("start"), a.i("length"))}; }},
      {"as_strided", [](const TL& in, const ops::Args& a) {
         return TL{in[0].as_strided(a.ints("sizes"), a.ints("strides"), a.i("offset"))};
       }},
      {"clamp_min", [](const TL& in, const ops::Args& a) { return TL{torch::clamp_min(in[0], a.d("min"))}; }},
      {"clamp_max", [](const TL& in, const ops::Args& a) { return TL{torch::clamp_max(in[0], a.d("max"))}; }},
      {"slice", [](const TL& in, const ops::Args& a) { return TL{in[0].slice(a.i("dim"), a.i("start"), a.i("end"), a.i("step"))}; }},
      {"select", [](const TL& in, const ops::Args& a) { return TL{in[0].select(a.i("dim"), a.i("index"))}; }},
      {"expand", [](const TL& in, const ops::Args& a) { return TL{in[0].expand(a.ints("sizes"))}; }},
      {"squeeze", [](const TL& in, const ops::Args&) { return TL{in[0].squeeze()}; }},
      {"squeeze_dim", [](const TL& in, const ops::Args& a) { return TL{in[0].squeeze(a.i("dim"))}; }},
      {"unsqueeze", [](const TL& in, const ops::Args& a) { return TL{in[0].unsqueeze(a.i("dim"))}; }},
      {"chunk", [](const TL& in, const ops::Args& a) { return in[0].chunk(a.i("chunks"), a.i("dim")); }},
      {"split", [](const TL& in, const ops::Args& a) { return in[0].split(a.i("size"), a.i("dim")); }},
      {"split_sizes", [](const TL& in, const ops::Args& a) { return in[0].split_with_sizes(a.ints("sizes"), a.i("dim")); }},
      {"unbind", [](const TL& in, const ops::Args& a) { return in[0].unbind(a.i("dim")); }},
      {"clone", [](const TL& in, const ops::Args&) { return TL{in[0].clone()}; }},
      {"contiguous", [](const TL& in, const ops::Args&) { return TL{in[0].contiguous()}; }},
      {"to", [](const TL& in, const ops::Args& a) { return TL{in[0].to(a.b("f64") ? torch::kFloat64 : torch::kFloat32)}; }},

      {"cat", [](const TL& in, const ops::Args& a) { return TL{torch::cat(in, a.i("dim"))}; }},
      {"stack", [](const TL& in, const ops::Args& a) { return TL{torch::stack(in, a.i("dim"))}; }},
      {"index_select", [](const TL& in, const ops::Args& a) { return TL{torch::index_select(in[0], a.i("dim"), in[1])}; }},
      {"gather", [](const TL& in, const ops::Args& a) { return TL{torch::gather(in[0], a.i("dim"), in[1])}; }},
      {"scatter", [](const TL& in, const ops::Args& a) { return TL{torch::scatter(in[0], a.i("dim"), in[1], in[2])}; }},
      {"scatter_add", [](const TL& in, const ops::Args& a) { return TL{torch::scatter_add(in[0], a.i("dim"), in[1], in[2])}; }},
      {"index_add", [](const TL& in, const ops::Args& a) { return TL{torch::index_add(in[0], a.i("dim"), in[1], in[2], a.d("alpha"))}; }},
      {"one_hot", [](const TL& in, const ops::Args& a) { return TL{torch::one_hot(in[0], a.i("num_classes"))}; }},
      {"masked_select", [](const TL& in, const ops::Args&) { return TL{torch::masked_select(in[0], in[1])}; }},
      {"repeat", [](const TL& in, const ops::Args& a) { return TL{in[0].repeat(a.ints("repeats"))}; }},
      {"flip", [](const TL& in, const ops::Args& a) { return TL{torch::flip(in[0], a.ints("dims"))}; }},
      {"pad", [](const TL& in, const ops::Args& a) { return TL{torch::constant_pad_nd(in[0], a.ints("pad"), a.d("value"))}; }},
      {"conv2d", [](const TL& in, const ops::Args& a) {
         torch::Tensor b = in.size() > 2 ? in[2] : torch::Tensor();
         if (a.has("padding_mode"))
           return TL{at::conv2d(in[0], in[1], b, a.ints("stride"), a.s("padding_mode"), a.ints("dilation"), a.i("groups"))};
         return TL{torch::conv2d(in[0], in[1], b, a.ints("stride"), a.ints("padding"), a.ints("dilation"), a.i("groups"))};
       }},
      {"conv1d", [](const TL& in, const ops::Args& a) {
         torch::Tensor b = in.size() > 2 ? in[2] : torch::Tensor();
         return TL{torch::conv1d(in[0], in[1], b, a.ints("stride"), a.ints("padding"), a.ints("dilation"), a.i("groups"))};
       }},
      {"batch_norm", [](const TL& in, const ops::Args& a) {
         const int64_t C = in[0].size(1);
         torch::Tensor rm, rv;
         if (a.b("running")) {
           rm = torch::linspace(-0.5, 0.5, C, in[0].options().requires_grad(false));
           rv = torch::linspace(0.5, 2.0, C, in[0].options().requires_grad(false));
         }
         torch::Tensor w = in.size() > 1 ? in[1] : torch::Tensor(), b = in.size() > 2 ? in[2] : torch::Tensor();
         return TL{torch::batch_norm(in[0], w, b, rm, rv, a.b("training"), a.d("momentum"), a.d("eps"), false)};
       }},
      {"max_pool2d", [](const TL& in, const ops::Args& a) {
         V stride = a.has("stride") ? a.ints("stride") : a.ints("kernel");
         V dil = a.has("dilation") ? a.ints("dilation") : V{1};
         auto [v, i] = torch::max_pool2d_with_indices(in[0], a.ints("kernel"), stride, a.ints("padding"), dil, a.b_or("ceil_mode", false));
         return TL{v, i};
       }},
      {"avg_pool2d", [](const TL& in, const ops::Args& a) {
         V stride = a.has("stride") ? a.ints("stride") : a.ints("kernel");
         return TL{torch::avg_pool2d(in[0], a.ints("kernel"), stride, a.ints("padding"), a.b_or("ceil_mode", false),
                                     a.b_or("count_include_pad", true))};
       }},
      {"adaptive_avg_pool2d", [](const TL& in, const ops::Args& a) {
         V s = a.ints("size");
         if (s.size() == 1) s = {s[0], s[0]};
         return TL{torch::adaptive_avg_pool2d(in[0], s)};
       }},
      {"tril", [](const TL& in, const ops::Args& a) { return TL{torch::tril(in[0], a.i("diagonal"))}; }},
      {"triu", [](const TL& in, const ops::Args& a) { return TL{torch::triu(in[0], a.i("diagonal"))}; }},
  };
  add_attention_twins(t);
  add_sorting_twins(t);
  add_elementwise_twins(t);
  add_shape_twins(t);
  add_nn_twins(t);
  return t;
}
#undef UNARY
#undef BINARY
}  // namespace

const std::map<std::string, TorchFn>& torch_ops() {
  static const auto t = make_table();
  return t;
}

torch::ScalarType torch_dtype(DType d) {
  switch (d) {
    case DType::f32: return torch::kFloat32;
    case DType::f64: return torch::kFloat64;
    case DType::i64: return torch::kInt64;
    case DType::i32: return torch::kInt32;
    case DType::u8: return torch::kUInt8;
    case DType::b8: return torch::kBool;
    case DType::bf16: return torch::kBFloat16;
    case DType::f16: return torch::kFloat16;
  }
  return torch::kFloat32;
}

torch::Tensor to_torch(const Tensor& t) {
  Tensor c = t.detach().contiguous();
  std::vector<int64_t> sizes(c.sizes().begin(), c.sizes().end());
  return torch::from_blob(c.data_ptr(), sizes, torch::TensorOptions().dtype(torch_dtype(t.dtype()))).clone();
}

Tensor from_torch(const torch::Tensor& t) {
  torch::Tensor c = t.detach().contiguous();
  DType d = DType::f32;
  for (DType cand : {DType::f32, DType::f64, DType::i64, DType::i32, DType::u8, DType::b8, DType::bf16, DType::f16})
    if (torch_dtype(cand) == c.scalar_type()) d = cand;
  std::vector<int64_t> sizes(c.sizes().begin(), c.sizes().end());
  return from_blob(c.data_ptr(), sizes, TensorOptions(d)).clone();
}

}  // namespace hpml::testing
