// Module parity: every hpml layer next to the libtorch module holding the same weights (hpml's
// parameters and buffers copied in by state-dict name). Forward output, input gradient, every
// parameter gradient (for the same random upstream gradient) and the buffers after the forward
// must agree, in f32 and f64, in training and eval mode where the two differ (BatchNorm).
// Dropout's randomness differs from libtorch's, so nn_batchnorm_parity_test.cpp checks its
// statistics instead.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parity/nn_parity_util.h"

namespace hpml {
namespace {

namespace tnn = torch::nn;
using nnparity::compare;
using nnparity::T;

struct ModuleCase {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
  std::function<tnn::AnyModule()> make_torch;
  std::function<Tensor(DType, Generator&)> input;
  bool modes_differ = false;  // also run in eval mode
  bool randomize = false;     // replace the (constant) default parameters and buffers by random ones
};

std::function<Tensor(DType, Generator&)> randn_input(std::vector<int64_t> shape, double scale = 1.0) {
  return [shape, scale](DType dt, Generator& g) { return randn(shape, &g, dt) * scale; };
}

// Random values with kinks and thresholds of the activations planted at the front: 0 (ReLU,
// LeakyReLU, ELU), +-1 (Hardtanh), +-2.5 (Softplus beta=2 threshold=5), +-20 (Softplus default).
Tensor activation_input(DType dt, Generator& g) {
  Tensor x = randn({3, 4, 5}, &g, kFloat64) * 3.0;
  const std::vector<double> special = {0.0, 1.0, -1.0, 2.5, -2.5, 20.0, -20.0, 0.5, -0.5, 25.0, -1e-3, 1e-3};
  double* p = x.data_ptr<double>();
  for (size_t i = 0; i < special.size(); ++i) p[i] = special[i];
  return x.to(dt);
}

// Indices in [0, num) (i64), with the padding row among them.
std::function<Tensor(DType, Generator&)> index_input(std::vector<int64_t> shape, int64_t num, int64_t pad) {
  return [=](DType, Generator& g) {
    Tensor i = randint(0, num, shape, &g);
    i.data_ptr<int64_t>()[0] = pad;
    i.data_ptr<int64_t>()[3] = pad;
    return i;
  };
}

template <typename M, typename... A>
std::function<std::shared_ptr<nn::Module>()> hp(A... a) {
  return [=] { return std::make_shared<M>(a...); };
}
template <typename H>
std::function<tnn::AnyModule()> th(std::function<H()> f) {
  return [f] { return tnn::AnyModule(f()); };
}
#define TH(expr) th<decltype(expr)>([] { return expr; })

// The nn-ops family: transposed and 3-d convolution, 1-d and adaptive max pooling, the image
// layers, instance norm (train and eval), EmbeddingBag (2-d input: bags of fixed length).
void add_nn_ops_cases(std::vector<ModuleCase>& c) {
  using CTO = nn::ConvTransposeOptions;
  using IO = nn::InstanceNormOptions;
  c.push_back({"Conv3d", hp<nn::Conv3d>(2, 4, Dims(3), nn::ConvOptions{.padding = 1}),
               TH(tnn::Conv3d(tnn::Conv3dOptions(2, 4, 3).padding(1))), randn_input({2, 2, 4, 5, 3})});
  c.push_back({"Conv3d_stride_groups_no_bias",
               hp<nn::Conv3d>(4, 6, Dims{2, 3, 2},
                              nn::ConvOptions{.stride = Dims{2, 1, 2}, .groups = 2, .bias = false}),
               TH(tnn::Conv3d(tnn::Conv3dOptions(4, 6, {2, 3, 2}).stride({2, 1, 2}).groups(2).bias(false))),
               randn_input({1, 4, 5, 4, 5})});
  c.push_back({"ConvTranspose2d_stride_output_padding_groups",
               hp<nn::ConvTranspose2d>(4, 6, Dims(3), CTO{.stride = 2, .padding = 1, .output_padding = 1, .groups = 2}),
               TH(tnn::ConvTranspose2d(
                   tnn::ConvTranspose2dOptions(4, 6, 3).stride(2).padding(1).output_padding(1).groups(2))),
               randn_input({2, 4, 3, 4})});
  c.push_back({"ConvTranspose2d_dilation_no_bias",
               hp<nn::ConvTranspose2d>(3, 2, Dims{2, 3}, CTO{.bias = false, .dilation = 2}),
               TH(tnn::ConvTranspose2d(tnn::ConvTranspose2dOptions(3, 2, {2, 3}).bias(false).dilation(2))),
               randn_input({2, 3, 4, 4})});
  c.push_back({"ConvTranspose1d", hp<nn::ConvTranspose1d>(3, 5, 3, CTO{.stride = 2, .output_padding = 1}),
               TH(tnn::ConvTranspose1d(tnn::ConvTranspose1dOptions(3, 5, 3).stride(2).output_padding(1))),
               randn_input({2, 3, 6})});
  c.push_back({"MaxPool1d",
               hp<nn::MaxPool1d>(3, nn::MaxPoolOptions{.stride = Dims(2), .padding = 1, .ceil_mode = true}),
               TH(tnn::MaxPool1d(tnn::MaxPool1dOptions(3).stride(2).padding(1).ceil_mode(true))),
               randn_input({2, 3, 10})});
  c.push_back({"AvgPool1d_exclude_pad",
               hp<nn::AvgPool1d>(3, nn::AvgPoolOptions{.stride = Dims(2), .padding = 1, .count_include_pad = false}),
               TH(tnn::AvgPool1d(tnn::AvgPool1dOptions(3).stride(2).padding(1).count_include_pad(false))),
               randn_input({2, 3, 9})});
  c.push_back({"AdaptiveAvgPool1d", hp<nn::AdaptiveAvgPool1d>(4), TH(tnn::AdaptiveAvgPool1d(4)),
               randn_input({2, 3, 7})});
  c.push_back({"AdaptiveMaxPool2d", hp<nn::AdaptiveMaxPool2d>(Dims{3, 2}),
               TH(tnn::AdaptiveMaxPool2d(tnn::AdaptiveMaxPool2dOptions({3, 2}))), randn_input({2, 3, 7, 5})});
  c.push_back({"Upsample_bilinear",
               hp<nn::Upsample>(InterpolateOptions{.scale_factor = {2.0}, .mode = "bilinear", .align_corners = false}),
               TH(tnn::Upsample(tnn::UpsampleOptions()
                                    .scale_factor(std::vector<double>{2, 2})
                                    .mode(torch::kBilinear)
                                    .align_corners(false))),
               randn_input({2, 2, 3, 4})});
  c.push_back({"Upsample_nearest_size", hp<nn::Upsample>(InterpolateOptions{.size = Dims{5, 3}}),
               TH(tnn::Upsample(tnn::UpsampleOptions().size(std::vector<int64_t>{5, 3}).mode(torch::kNearest))),
               randn_input({2, 2, 3, 4})});
  c.push_back({"Unfold", hp<nn::Unfold>(Dims{2, 3}, FoldOptions{.padding = 1, .stride = 2}),
               TH(tnn::Unfold(tnn::UnfoldOptions({2, 3}).padding(1).stride(2))), randn_input({2, 3, 5, 6})});
  c.push_back({"Fold", hp<nn::Fold>(Dims{4, 5}, Dims(2), FoldOptions{}),
               TH(tnn::Fold(tnn::FoldOptions({4, 5}, {2, 2}))), randn_input({2, 12, 12})});
  c.push_back({"PixelShuffle", hp<nn::PixelShuffle>(2), TH(tnn::PixelShuffle(tnn::PixelShuffleOptions(2))),
               randn_input({2, 8, 3, 2})});
  c.push_back({"PixelUnshuffle", hp<nn::PixelUnshuffle>(2), TH(tnn::PixelUnshuffle(tnn::PixelUnshuffleOptions(2))),
               randn_input({2, 2, 4, 6})});
  c.push_back({"InstanceNorm1d", hp<nn::InstanceNorm1d>(3), TH(tnn::InstanceNorm1d(3)), randn_input({2, 3, 6}, 2.0),
               true});
  c.push_back({"InstanceNorm1d_affine_running_stats",
               hp<nn::InstanceNorm1d>(3, IO{.affine = true, .track_running_stats = true}),
               TH(tnn::InstanceNorm1d(tnn::InstanceNorm1dOptions(3).affine(true).track_running_stats(true))),
               randn_input({4, 3, 5}, 2.0), true, true});
  c.push_back({"InstanceNorm2d_affine_momentum_eps",
               hp<nn::InstanceNorm2d>(2, IO{.eps = 1e-3, .momentum = 0.3, .affine = true, .track_running_stats = true}),
               TH(tnn::InstanceNorm2d(
                   tnn::InstanceNorm2dOptions(2).eps(1e-3).momentum(0.3).affine(true).track_running_stats(true))),
               randn_input({3, 2, 4, 3}), true, true});
  c.push_back({"EmbeddingBag_sum_2d", hp<nn::EmbeddingBag>(10, 4, nn::EmbeddingBagOptions{.mode = "sum"}),
               TH(tnn::EmbeddingBag(tnn::EmbeddingBagOptions(10, 4).mode(torch::kSum))), index_input({3, 5}, 10, 7)});
  c.push_back({"EmbeddingBag_max_padding_idx",
               hp<nn::EmbeddingBag>(10, 4, nn::EmbeddingBagOptions{.mode = "max", .padding_idx = 2}),
               TH(tnn::EmbeddingBag(tnn::EmbeddingBagOptions(10, 4).mode(torch::kMax).padding_idx(2))),
               index_input({3, 5}, 10, 2)});
}

std::vector<ModuleCase> cases() {
  std::vector<ModuleCase> c;
  // ---- linear and shape layers ----
  c.push_back({"Linear", hp<nn::Linear>(7, 5), TH(tnn::Linear(7, 5)), randn_input({4, 7})});
  c.push_back({"Linear_3d_input", hp<nn::Linear>(6, 3), TH(tnn::Linear(6, 3)), randn_input({2, 4, 6})});
  c.push_back({"Linear_no_bias", hp<nn::Linear>(6, 4, false), TH(tnn::Linear(tnn::LinearOptions(6, 4).bias(false))),
               randn_input({5, 6})});
  c.push_back({"Identity", hp<nn::Identity>(), TH(tnn::Identity()), randn_input({3, 4})});
  c.push_back({"Flatten", hp<nn::Flatten>(), TH(tnn::Flatten()), randn_input({2, 3, 4, 5})});
  c.push_back({"Flatten_0_2", hp<nn::Flatten>(0, 2), TH(tnn::Flatten(tnn::FlattenOptions().start_dim(0).end_dim(2))),
               randn_input({2, 3, 4, 5})});
  c.push_back({"Unflatten", hp<nn::Unflatten>(1, std::vector<int64_t>{3, 4}),
               TH(tnn::Unflatten(tnn::UnflattenOptions(1, {3, 4}))), randn_input({2, 12, 5})});
  c.push_back({"Unflatten_inferred", hp<nn::Unflatten>(-1, std::vector<int64_t>{2, -1}),
               TH(tnn::Unflatten(tnn::UnflattenOptions(-1, {2, -1}))), randn_input({3, 8})});
  // ---- embedding ----
  c.push_back({"Embedding", hp<nn::Embedding>(10, 4), TH(tnn::Embedding(10, 4)), index_input({3, 5}, 10, 7)});
  c.push_back({"Embedding_padding_idx", hp<nn::Embedding>(10, 4, std::optional<int64_t>(2)),
               TH(tnn::Embedding(tnn::EmbeddingOptions(10, 4).padding_idx(2))), index_input({3, 5}, 10, 2)});
  c.push_back({"Embedding_negative_padding_idx", hp<nn::Embedding>(10, 4, std::optional<int64_t>(-1)),
               TH(tnn::Embedding(tnn::EmbeddingOptions(10, 4).padding_idx(-1))), index_input({4, 4}, 10, 9)});
  // ---- convolution ----
  c.push_back({"Conv2d", hp<nn::Conv2d>(3, 6, Dims(3)), TH(tnn::Conv2d(3, 6, 3)), randn_input({2, 3, 7, 6})});
  c.push_back({"Conv2d_stride_padding_dilation",
               hp<nn::Conv2d>(4, 6, Dims{3, 2}, nn::ConvOptions{.stride = Dims{2, 1}, .padding = Padding{1, 2}, .dilation = Dims{1, 2}}),
               TH(tnn::Conv2d(tnn::Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).padding({1, 2}).dilation({1, 2}))),
               randn_input({2, 4, 9, 8})});
  c.push_back({"Conv2d_groups_no_bias", hp<nn::Conv2d>(4, 6, Dims(3), nn::ConvOptions{.padding = 1, .groups = 2, .bias = false}),
               TH(tnn::Conv2d(tnn::Conv2dOptions(4, 6, 3).padding(1).groups(2).bias(false))), randn_input({2, 4, 5, 5})});
  c.push_back({"Conv2d_padding_same", hp<nn::Conv2d>(3, 4, Dims{3, 4}, nn::ConvOptions{.padding = "same", .dilation = 2}),
               TH(tnn::Conv2d(tnn::Conv2dOptions(3, 4, {3, 4}).padding(torch::kSame).dilation(2))), randn_input({2, 3, 9, 10})});
  c.push_back({"Conv1d", hp<nn::Conv1d>(3, 5, 3), TH(tnn::Conv1d(3, 5, 3)), randn_input({2, 3, 10})});
  c.push_back({"Conv1d_stride_padding_dilation_groups",
               hp<nn::Conv1d>(4, 6, 3, nn::ConvOptions{.stride = 2, .padding = 2, .dilation = 2, .groups = 2}),
               TH(tnn::Conv1d(tnn::Conv1dOptions(4, 6, 3).stride(2).padding(2).dilation(2).groups(2))), randn_input({3, 4, 11})});
  // ---- pooling ----
  c.push_back({"MaxPool2d", hp<nn::MaxPool2d>(Dims(2)), TH(tnn::MaxPool2d(2)), randn_input({2, 3, 6, 8})});
  c.push_back({"MaxPool2d_stride_padding_dilation_ceil",
               hp<nn::MaxPool2d>(Dims(3), nn::MaxPoolOptions{.stride = Dims(2), .padding = 1, .dilation = 2, .ceil_mode = true}),
               TH(tnn::MaxPool2d(tnn::MaxPool2dOptions(3).stride(2).padding(1).dilation(2).ceil_mode(true))),
               randn_input({2, 2, 9, 10})});
  c.push_back({"AvgPool2d", hp<nn::AvgPool2d>(Dims(2)), TH(tnn::AvgPool2d(2)), randn_input({2, 3, 6, 8})});
  c.push_back({"AvgPool2d_padding_ceil_exclude_pad",
               hp<nn::AvgPool2d>(Dims(3), nn::AvgPoolOptions{.stride = Dims(2), .padding = 1, .ceil_mode = true, .count_include_pad = false}),
               TH(tnn::AvgPool2d(tnn::AvgPool2dOptions(3).stride(2).padding(1).ceil_mode(true).count_include_pad(false))),
               randn_input({2, 3, 8, 7})});
  c.push_back({"AvgPool2d_divisor_override",
               hp<nn::AvgPool2d>(Dims{3, 2}, nn::AvgPoolOptions{.stride = Dims{1, 2}, .padding = Dims{1, 0}, .divisor_override = 5}),
               TH(tnn::AvgPool2d(tnn::AvgPool2dOptions({3, 2}).stride({1, 2}).padding({1, 0}).divisor_override(5))),
               randn_input({2, 2, 6, 6})});
  c.push_back({"AdaptiveAvgPool2d", hp<nn::AdaptiveAvgPool2d>(Dims{3, 2}), TH(tnn::AdaptiveAvgPool2d(tnn::AdaptiveAvgPool2dOptions({3, 2}))),
               randn_input({2, 3, 7, 5})});
  c.push_back({"AdaptiveAvgPool2d_1", hp<nn::AdaptiveAvgPool2d>(Dims(1)), TH(tnn::AdaptiveAvgPool2d(tnn::AdaptiveAvgPool2dOptions(1))),
               randn_input({2, 3, 4, 6})});
  // ---- normalization (random affine parameters and running statistics; train and eval) ----
  using BO = nn::BatchNormOptions;
  c.push_back({"BatchNorm1d_NC", hp<nn::BatchNorm1d>(4), TH(tnn::BatchNorm1d(4)), randn_input({8, 4}, 2.0), true, true});
  c.push_back({"BatchNorm1d_NCL", hp<nn::BatchNorm1d>(4), TH(tnn::BatchNorm1d(4)), randn_input({3, 4, 5}, 2.0), true, true});
  c.push_back({"BatchNorm1d_cumulative_eps", hp<nn::BatchNorm1d>(4, BO{.eps = 1e-3, .momentum = std::nullopt}),
               TH(tnn::BatchNorm1d(tnn::BatchNorm1dOptions(4).eps(1e-3).momentum(c10::nullopt))), randn_input({6, 4}), true, true});
  c.push_back({"BatchNorm1d_no_affine", hp<nn::BatchNorm1d>(3, BO{.affine = false}),
               TH(tnn::BatchNorm1d(tnn::BatchNorm1dOptions(3).affine(false))), randn_input({4, 3, 6}), true, true});
  c.push_back({"BatchNorm1d_no_running_stats", hp<nn::BatchNorm1d>(3, BO{.track_running_stats = false}),
               TH(tnn::BatchNorm1d(tnn::BatchNorm1dOptions(3).track_running_stats(false))), randn_input({5, 3}), true, true});
  c.push_back({"BatchNorm2d", hp<nn::BatchNorm2d>(3), TH(tnn::BatchNorm2d(3)), randn_input({2, 3, 4, 5}, 3.0), true, true});
  c.push_back({"BatchNorm2d_momentum_0_3", hp<nn::BatchNorm2d>(3, BO{.momentum = 0.3}),
               TH(tnn::BatchNorm2d(tnn::BatchNorm2dOptions(3).momentum(0.3))), randn_input({3, 3, 2, 3}), true, true});
  c.push_back({"BatchNorm2d_no_affine_no_running_stats", hp<nn::BatchNorm2d>(2, BO{.affine = false, .track_running_stats = false}),
               TH(tnn::BatchNorm2d(tnn::BatchNorm2dOptions(2).affine(false).track_running_stats(false))),
               randn_input({2, 2, 3, 3}), true, true});
  c.push_back({"LayerNorm", hp<nn::LayerNorm>(std::vector<int64_t>{5}), TH(tnn::LayerNorm(tnn::LayerNormOptions({5}))),
               randn_input({3, 4, 5}, 2.0), false, true});
  c.push_back({"LayerNorm_2d_shape_eps", hp<nn::LayerNorm>(std::vector<int64_t>{4, 5}, 1e-3),
               TH(tnn::LayerNorm(tnn::LayerNormOptions({4, 5}).eps(1e-3))), randn_input({3, 4, 5}), false, true});
  c.push_back({"LayerNorm_no_affine", hp<nn::LayerNorm>(std::vector<int64_t>{6}, 1e-5, false),
               TH(tnn::LayerNorm(tnn::LayerNormOptions({6}).elementwise_affine(false))), randn_input({4, 6}), false, true});
  c.push_back({"GroupNorm", hp<nn::GroupNorm>(2, 6), TH(tnn::GroupNorm(2, 6)), randn_input({3, 6, 4, 4}, 2.0), false, true});
  c.push_back({"GroupNorm_NCL_eps", hp<nn::GroupNorm>(3, 6, 1e-3), TH(tnn::GroupNorm(tnn::GroupNormOptions(3, 6).eps(1e-3))),
               randn_input({2, 6, 5}), false, true});
  c.push_back({"GroupNorm_no_affine", hp<nn::GroupNorm>(1, 4, 1e-5, false),
               TH(tnn::GroupNorm(tnn::GroupNormOptions(1, 4).affine(false))), randn_input({2, 4, 3, 3}), false, true});
  c.push_back({"GroupNorm_one_channel_per_group", hp<nn::GroupNorm>(4, 4), TH(tnn::GroupNorm(4, 4)), randn_input({2, 4, 3, 2}),
               false, true});
  add_nn_ops_cases(c);
  // ---- activations ----
  auto act = activation_input;
  c.push_back({"Sigmoid", hp<nn::Sigmoid>(), TH(tnn::Sigmoid()), act});
  c.push_back({"Tanh", hp<nn::Tanh>(), TH(tnn::Tanh()), act});
  c.push_back({"ReLU", hp<nn::ReLU>(), TH(tnn::ReLU()), act});
  c.push_back({"LeakyReLU", hp<nn::LeakyReLU>(), TH(tnn::LeakyReLU()), act});
  c.push_back({"LeakyReLU_0_2", hp<nn::LeakyReLU>(0.2), TH(tnn::LeakyReLU(tnn::LeakyReLUOptions().negative_slope(0.2))), act});
  c.push_back({"Hardtanh", hp<nn::Hardtanh>(), TH(tnn::Hardtanh()), act});
  c.push_back({"Hardtanh_minus_2_5_to_1", hp<nn::Hardtanh>(-2.5, 1.0),
               TH(tnn::Hardtanh(tnn::HardtanhOptions().min_val(-2.5).max_val(1.0))), act});
  c.push_back({"GELU", hp<nn::GELU>(), TH(tnn::GELU()), act});
  c.push_back({"GELU_tanh", hp<nn::GELU>(std::string("tanh")), TH(tnn::GELU(tnn::GELUOptions().approximate("tanh"))), act});
  c.push_back({"Softplus", hp<nn::Softplus>(), TH(tnn::Softplus()), act});
  c.push_back({"Softplus_beta2_threshold5", hp<nn::Softplus>(2.0, 5.0),
               TH(tnn::Softplus(tnn::SoftplusOptions().beta(2.0).threshold(5.0))), act});
  c.push_back({"ELU", hp<nn::ELU>(), TH(tnn::ELU()), act});
  c.push_back({"ELU_alpha_0_7", hp<nn::ELU>(0.7), TH(tnn::ELU(tnn::ELUOptions().alpha(0.7))), act});
  c.push_back({"Softmax_dim1", hp<nn::Softmax>(1), TH(tnn::Softmax(1)), act});
  c.push_back({"Softmax_dim_minus1", hp<nn::Softmax>(-1), TH(tnn::Softmax(-1)), act});
  c.push_back({"LogSoftmax_dim1", hp<nn::LogSoftmax>(1), TH(tnn::LogSoftmax(1)), act});
  c.push_back({"LogSoftmax_dim0", hp<nn::LogSoftmax>(0), TH(tnn::LogSoftmax(0)), act});
  return c;
}
#undef TH

// Random floating parameters and buffers: N(0, 1) (weights may be negative), variances in [0.5, 2].
void randomize(nn::Module& m, Generator& g) {
  NoGradGuard ng;
  for (auto& [name, t] : m.state_dict()) {
    if (!t.defined() || !t.is_floating_point()) continue;
    const bool var = name.size() >= 11 && name.compare(name.size() - 11, 11, "running_var") == 0;
    Tensor v = var ? uniform(t.sizes(), 0.5, 2.0, &g, t.dtype()) : randn(t.sizes(), &g, t.dtype());
    t.copy_(v);
  }
}

class ModuleParity : public ::testing::TestWithParam<ModuleCase> {};

TEST_P(ModuleParity, ForwardInputAndParameterGradientsMatchPyTorch) {
  const ModuleCase& c = GetParam();
  for (DType dt : {kFloat32, kFloat64}) {
    for (bool training : {true, false}) {
      if (!training && !c.modes_differ) continue;
      const std::string what =
          c.name + " (" + dtype_name(dt) + ", " + (training ? "train" : "eval") + " mode)";
      Generator g(dt == kFloat32 ? 11 : 22);
      std::shared_ptr<nn::Module> m = c.make();
      tnn::AnyModule tany = c.make_torch();
      tnn::Module& tm = *tany.ptr();
      if (c.randomize) randomize(*m, g);
      m->to(dt);
      nnparity::torch_to(tm, testing::torch_dtype(dt));
      m->train(training);
      tm.train(training);
      nnparity::copy_state(*m, tm, what);

      Tensor x = c.input(dt, g);
      const bool diff_x = x.is_floating_point();
      if (diff_x) x.requires_grad_(true);
      torch::Tensor tx = T(x, diff_x);

      Tensor y = (*m)(x);
      torch::Tensor ty = tany.forward(tx);
      HPML_EXPECT_PARITY(what + ", output", y, ty, nnparity::fwd_tol(dt));
      // Buffers after the forward (running statistics and num_batches_tracked).
      auto tstate = nnparity::torch_state(tm);
      for (const auto& [name, b] : m->named_buffers())
        if (b.defined() && tstate.count(name))
          HPML_EXPECT_PARITY(what + ", buffer " + name, b, tstate[name], nnparity::fwd_tol(dt));
      if (!y.requires_grad()) {
        EXPECT_FALSE(ty.requires_grad()) << what << ": PyTorch's output requires grad, hpml's does not";
        continue;
      }
      Tensor go = randn(y.sizes(), &g, dt);
      y.backward(go);
      ty.backward(T(go));
      if (diff_x) HPML_EXPECT_PARITY(what + ", input gradient", x.grad(), tx.grad(), nnparity::grad_tol(dt));
      for (const auto& [name, p] : m->named_parameters()) {
        ASSERT_TRUE(tstate.count(name)) << what << ": " << name;
        HPML_EXPECT_PARITY(what + ", gradient of " + name, p.grad(), tstate[name].grad(), nnparity::grad_tol(dt));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(NN, ModuleParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<ModuleCase>& info) { return info.param.name; });

// The parameter names the state dicts use are PyTorch's, so the copy above covers every tensor:
// a module whose names drifted would fail copy_state for every case. This checks the copy itself
// can fail (it is not vacuous) by comparing a Linear against a libtorch Linear of another shape.
TEST(ModuleParityHarness, CopyStateReportsMissingNames) {
  nn::Linear l(3, 2);
  tnn::Linear tl(tnn::LinearOptions(3, 2).bias(false));
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD,
                                                         &failures);
    nnparity::copy_state(l, *tl, "Linear");
  }
  ASSERT_EQ(failures.size(), 1);
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("'bias'"), std::string::npos);
}

TEST(ModuleParityHarness, CompareFindsTheLargestErrorAndTreatsNaNAsEqualOnlyToNaN) {
  const double NaN = std::nan("");  // NAN is a float, which torch::tensor's initializer list would refuse to mix
  Tensor a = tensor(std::vector<double>{1.0, NaN, 3.0, 4.0}, kFloat64);
  EXPECT_EQ(compare(a, torch::tensor({1.0, NaN, 3.0, 4.0}, torch::kFloat64), {1e-12, 0}), "");
  EXPECT_NE(compare(a, torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64), {1e-12, 0}).find("element 1"), std::string::npos);
  EXPECT_NE(compare(a, torch::tensor({1.5, NaN, 3.0, 4.1}, torch::kFloat64), {1e-12, 0}).find("largest error 0.5"),
            std::string::npos);
  EXPECT_NE(compare(a, torch::tensor({1.0, NaN, 3.0, 4.0}, torch::kFloat32), {1e-12, 0}).find("dtype"), std::string::npos);
}

}  // namespace
}  // namespace hpml
