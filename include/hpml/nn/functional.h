// nn::functional: the stateless forms of every layer and loss (PyTorch's torch.nn.functional).
//   namespace F = hpml::nn::functional;  F::cross_entropy(logits, target, {.label_smoothing = 0.1});
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hpml/core/generator.h"
#include "hpml/core/tensor.h"
#include "hpml/ops/attention.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/distance.h"
#include "hpml/ops/unary.h"

namespace hpml::nn::functional {

// ---- layers ---------------------------------------------------------------------------------
// x [*, in] @ weight^T [in, out] + bias [out] -> [*, out]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// Zeroes each element with probability p and scales the rest by 1/(1-p) (inverted dropout);
// the identity when !training.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);
// Rows of weight [num, dim] picked by indices (i64 or i32, any shape) -> [*indices.shape, dim].
// padding_idx: that row gets no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
// Channel-wise dropout (PyTorch's feature dropout): each channel plane of x [N, C, H, W] is zeroed
// whole with probability p, the rest scaled by 1/(1-p). A 3-d input is read as [N, C, L], as
// PyTorch 1.13 does (with a warning there). The identity when !training.
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true, Generator* gen = nullptr);

// F.embedding_bag's options after offsets (max_norm, scale_grad_by_freq and sparse are not
// implemented). mode: "sum", "mean" or "max"; per_sample_weights (input's shape) for "sum" only;
// padding_idx: those indices are left out of their bag (and of its count for "mean").
struct EmbeddingBagFuncOptions {
  std::string mode = "mean";
  Tensor per_sample_weights = {};
  bool include_last_offset = false;
  std::optional<int64_t> padding_idx = std::nullopt;
};
// Reduces the rows of weight [num, dim] picked by each bag of indices -> [bags, dim]. input: 2-d
// [B, L] (B bags of L, offsets undefined) or 1-d with offsets [B] (bag i starts at offsets[i]; with
// include_last_offset, offsets [B + 1] ends with the number of indices). An empty bag gives 0.
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets = Tensor(),
                     const EmbeddingBagFuncOptions& o = {});

// ---- convolution and pooling (also free functions in hpml::, see hpml/ops/conv.h) -----------
using hpml::adaptive_avg_pool1d;
using hpml::adaptive_avg_pool2d;
using hpml::adaptive_max_pool2d;
using hpml::adaptive_max_pool2d_with_indices;
using hpml::avg_pool1d;
using hpml::avg_pool2d;
using hpml::conv1d;
using hpml::conv2d;
using hpml::conv3d;
using hpml::conv_transpose1d;
using hpml::conv_transpose2d;
using hpml::fold;
using hpml::interpolate;
using hpml::max_pool1d;
using hpml::max_pool1d_with_indices;
using hpml::max_pool2d;
using hpml::pixel_shuffle;
using hpml::pixel_unshuffle;
using hpml::unfold;

// ---- distances (hpml/ops/distance.h) --------------------------------------------------------
using hpml::cosine_similarity;
using hpml::normalize;
using hpml::pairwise_distance;

// ---- normalization ----------------------------------------------------------------------------
// Normalizes over every dim but 1 (channels) with the batch's mean and biased variance when
// training (then updating the running statistics in place: new = (1 - momentum) old + momentum
// batch, the variance unbiased), or with the running statistics otherwise. Running statistics
// may be undefined only when training (evaluation mode without them raises, as PyTorch).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
// Normalizes over the trailing dims given by normalized_shape (biased variance).
Tensor layer_norm(const Tensor& x, IntArrayRef normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// Normalizes each of num_groups channel groups of each sample; weight/bias are per channel.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
// F.instance_norm's argument order: normalizes each sample's channels of x [N, C, *spatial] with
// their own statistics (use_input_stats), updating running statistics in place when given, or
// with the running statistics (use_input_stats = false). See hpml::instance_norm.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean = Tensor(), const Tensor& running_var = Tensor(),
                     const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool use_input_stats = true,
                     double momentum = 0.1, double eps = 1e-5);

// ---- activations (also free functions in hpml::) ------------------------------------------
using hpml::elu;
using hpml::gelu;
using hpml::hardtanh;
using hpml::leaky_relu;
using hpml::relu;
using hpml::sigmoid;
using hpml::softplus;
using hpml::tanh;
using hpml::celu;
using hpml::glu;
using hpml::hardsigmoid;
using hpml::hardswish;
using hpml::logsigmoid;
using hpml::mish;
using hpml::prelu;
using hpml::selu;
using hpml::silu;
using hpml::softsign;
using hpml::threshold;
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- attention (hpml/ops/attention.h; the modules are in hpml/nn/transformer.h) -------------
using hpml::scaled_dot_product_attention;

// ---- losses ---------------------------------------------------------------------------------
enum class Reduction { none, mean, sum };

struct LossOptions {
  Reduction reduction = Reduction::mean;
};
Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions o = {});
Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions o = {});

struct SmoothL1Options {
  Reduction reduction = Reduction::mean;
  double beta = 1.0;
};
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1Options o = {});

struct HuberOptions {
  Reduction reduction = Reduction::mean;
  double delta = 1.0;
};
Tensor huber_loss(const Tensor& input, const Tensor& target, HuberOptions o = {});

struct BCEOptions {
  Reduction reduction = Reduction::mean;
  Tensor weight = {};      // rescales each element's loss; broadcasts to the input
  Tensor pos_weight = {};  // bce_with_logits only: weight of positive examples, per class
};
// input: probabilities in [0, 1]; log terms are clamped at -100 as in PyTorch.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, BCEOptions o = {});
// input: logits; computed as max(x, 0) - x y + log(1 + exp(-|x|)) so it never overflows.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, BCEOptions o = {});

struct NLLOptions {
  Reduction reduction = Reduction::mean;
  Tensor weight = {};          // [C] weight per class
  int64_t ignore_index = -100;
};
// input: log-probabilities [N, C] or [N, C, d1, ...]; target: class indices [N] or [N, d1, ...].
// mean = weighted mean over the targets that are not ignored (NaN if all are ignored, as PyTorch).
Tensor nll_loss(const Tensor& input, const Tensor& target, NLLOptions o = {});

struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  Tensor weight = {};
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};
// input: logits [N, C] or [N, C, d1, ...]; target: class indices (i64) or class probabilities
// (floating, the input's shape).
Tensor cross_entropy(const Tensor& input, const Tensor& target, CrossEntropyOptions o = {});

enum class KLReduction { none, mean, sum, batchmean };
struct KLDivOptions {
  KLReduction reduction = KLReduction::mean;
  bool log_target = false;
};
// input: log-probabilities; target: probabilities (or log-probabilities with log_target).
Tensor kl_div(const Tensor& input, const Tensor& target, KLDivOptions o = {});

// ---- margin, embedding, likelihood and sequence losses (src/nn/losses_extra.cpp, ctc_loss.cpp) --
// PyTorch's option names and defaults; reduction comes first in each options struct.
struct HingeEmbeddingOptions {
  Reduction reduction = Reduction::mean;
  double margin = 1.0;
};
// target +-1 of the input's shape: x where it is 1, max(0, margin - x) where it is -1.
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, HingeEmbeddingOptions o = {});

struct MarginRankingOptions {
  Reduction reduction = Reduction::mean;
  double margin = 0.0;
};
// max(0, -target (input1 - input2) + margin); the three of one shape, target +-1.
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           MarginRankingOptions o = {});

struct TripletMarginOptions {
  Reduction reduction = Reduction::mean;
  double margin = 1.0;
  double p = 2.0;
  double eps = 1e-6;
  bool swap = false;
};
// [N, D] or [D] each: max(0, margin + d(a, p) - d(a, n)), d(x, y) = ||x - y + eps||_p over the
// last dim; swap: d(a, n) becomes min(d(a, n), d(p, n)).
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           TripletMarginOptions o = {});

struct CosineEmbeddingOptions {
  Reduction reduction = Reduction::mean;
  double margin = 0.0;
};
// input1, input2 [N, D] with target [N], or [D] with a 0-d target; target +-1: 1 - cos(x1, x2)
// where it is 1, max(0, cos(x1, x2) - margin) where it is -1.
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             CosineEmbeddingOptions o = {});

struct PoissonNLLOptions {
  Reduction reduction = Reduction::mean;
  bool log_input = true;
  bool full = false;
  double eps = 1e-8;
};
// log_input: exp(input) - target input; else input - target log(input + eps). full adds
// Stirling's term target log(target) - target + log(2 pi target) / 2 where target > 1.
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, PoissonNLLOptions o = {});

struct GaussianNLLOptions {
  Reduction reduction = Reduction::mean;
  bool full = false;
  double eps = 1e-6;
};
// (log v + (input - target)^2 / v) / 2 (+ log(2 pi) / 2 with full), v = max(var, eps) with the
// gradient passed through the clamp (as PyTorch). var: the input's shape, or one per row (the
// shape without its last dim, or with a last dim of 1); negative entries are an error.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, GaussianNLLOptions o = {});

struct MultiMarginOptions {
  Reduction reduction = Reduction::mean;
  int64_t p = 1;  // 1 or 2
  double margin = 1.0;
  Tensor weight = {};  // [C] weight per class, applied by the target's class
};
// input [N, C] or [C], target class indices [N] or 0-d (i64):
// sum over i != y of weight[y] max(0, margin - x[y] + x[i])^p, divided by C.
Tensor multi_margin_loss(const Tensor& input, const Tensor& target, MultiMarginOptions o = {});

// log(1 + exp(-target input)), elementwise; target +-1 of the input's shape.
Tensor soft_margin_loss(const Tensor& input, const Tensor& target, LossOptions o = {});

// input [N, C] or [C], target i64 of the same shape: each row's target classes are its entries up
// to the first -1; sum over those j and the non-target i of max(0, 1 - (x[j] - x[i])), over C.
Tensor multilabel_margin_loss(const Tensor& input, const Tensor& target, LossOptions o = {});

struct CTCOptions {
  Reduction reduction = Reduction::mean;
  int64_t blank = 0;
  bool zero_infinity = false;  // impossible alignments (inf loss) give 0 and a zero gradient
};
// log_probs [T, N, C] (log_softmax over C) or [T, C] unbatched; targets [N, S] padded or 1-d
// concatenated (target_lengths sum to its length); input_lengths, target_lengths [N] integer
// tensors (0-d or [1] unbatched). none: [N]; mean: the mean over the batch of each loss divided
// by its target length (at least 1), as PyTorch; sum. See Note [ctc_loss is written directly]
// for its gradient, which is d loss / d log_probs (no double backward).
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, CTCOptions o = {});

}  // namespace hpml::nn::functional
