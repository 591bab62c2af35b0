// The backend table: every kernel a device must provide, one slot each. The ops layer checks
// user input, allocates outputs and then calls backend(device).slot(...). Each device type has
// one table (the registry in kernels/backend.cpp): the cpu's, the simulated device's
// (kernels/sim_backend.cpp) and, when built, CUDA's. A new backend starts from kernels/stub.cpp,
// whose every slot throws "<op> is not implemented on <device>" (docs/adding-a-backend.md).
#pragma once

#include <cstdint>
#include <vector>

#include "hpml/core/error.h"
#include "hpml/core/generator.h"
#include "hpml/core/scalar.h"
#include "kernels/tensor_view.h"

namespace hpml::kernels {

// out = f(in), same shape. Parameters: leaky_relu a=slope; hardtanh/clamp a=min b=max;
// softplus a=beta b=threshold; elu a=alpha; pow a=exponent. The ops from erf on are float-only
// (the op casts integers to f32 first), except trunc (a copy for integers).
enum class UnaryOp : uint8_t {
  neg, abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, square, reciprocal, sin, cos, tanh, sigmoid,
  relu, leaky_relu, hardtanh, gelu, softplus, elu, clamp, pow, floor, ceil, round, logical_not,
  erf, erfc, tan, asin, acos, atan, sinh, cosh, log2, log10, exp2, trunc,
  kCount
};
struct UnaryParams {
  double a = 0, b = 0;
};

// out = f(a, b), operands broadcast to out's shape. Comparisons and logical ops write bool.
// The *_backward ops are the fused gradients of activations: out = grad(a) * f'(b) where b is
// the op's input x or output y as named. add/sub use alpha (a + alpha*b).
enum class BinaryOp : uint8_t {
  add, sub, mul, div, div_trunc, div_floor, pow, maximum, minimum,
  eq, ne, lt, le, gt, ge, logical_and, logical_or,
  tanh_backward,        // g * (1 - y^2)
  sigmoid_backward,     // g * y * (1 - y)
  threshold_backward,   // g * (x > 0)          (relu)
  leaky_relu_backward,  // g * (x > 0 ? 1 : alpha)
  hardtanh_backward,    // g * (min < x < max)  (params a, b)
  gelu_backward,        // g * gelu'(x)
  softplus_backward,    // g * sigmoid(beta x)  (a=beta, b=threshold)
  elu_backward,         // g * (x > 0 ? 1 : alpha e^x)
  atan2,                // atan2(a, b), floats only
  fmod,                 // a - trunc(a / b) b (C's fmod; integers: the op has checked b != 0)
  remainder,            // a - floor(a / b) b (Python's %, the sign of b; integers likewise)
  kCount
};
struct BinaryParams {
  double alpha = 1, a = 0, b = 0;
};

enum class ReduceOp : uint8_t { sum, prod, amax, amin, kCount };

// One optimizer step over a parameter, fused: each element of param, grad and the state buffers is
// read once and written once. The rules are PyTorch 1.13's (torch/optim/*.py, single-tensor form);
// the optimizer computes the per-step scalars (bias corrections, decayed lr) and passes them here.
enum class OptimKind : uint8_t { sgd, adagrad, adadelta, rmsprop, adam, kCount };
struct OptimParams {
  double lr = 0, weight_decay = 0;
  bool maximize = false;
  double momentum = 0, dampening = 0;  // sgd, rmsprop (momentum)
  bool nesterov = false;               // sgd
  bool first_step = false;             // sgd: the momentum buffer starts as the gradient
  double eps = 0;                      // adagrad, adadelta, rmsprop, adam
  double rho = 0;                      // adadelta (rmsprop's alpha goes here too)
  bool centered = false;               // rmsprop
  double beta1 = 0, beta2 = 0;         // adam
  double step_size = 0;                // adam: lr / (1 - beta1^t);  adagrad: lr / (1 + (t - 1) lr_decay)
  double bias_correction2_sqrt = 1;    // adam: sqrt(1 - beta2^t)
  bool amsgrad = false, decoupled_weight_decay = false;  // adam (AdamW: decoupled)
};

// The geometry of a 2-d convolution or pooling window over [N, C, H, W] -> [N, OC, OH, OW].
struct Window2d {
  int64_t N, C, H, W;      // input
  int64_t OC, OH, OW;      // output (OC = C for pooling)
  int64_t KH, KW;          // window
  int64_t SH, SW;          // stride
  int64_t PH, PW;          // padding (top/left; bottom/right padding is implied by OH/OW)
  int64_t DH = 1, DW = 1;  // dilation
  int64_t groups = 1;
};

// The pooling of nearly every CNN: 2x2 windows at stride 2, no padding or dilation, no partial
// window (Note [2x2 max pooling] in kernels/cpu/pool.cpp).
inline bool is_2x2_pool(const Window2d& w) {
  return w.KH == 2 && w.KW == 2 && w.SH == 2 && w.SW == 2 && w.PH == 0 && w.PW == 0 && w.DH == 1 && w.DW == 1 &&
         2 * w.OH <= w.H && 2 * w.OW <= w.W;
}

// The counters a random fill of n elements consumes (Philox4x32 blocks of four words): the same
// on every backend, so a seed gives the same numbers on every device.
enum class RandomKind : uint8_t { uniform, normal, randint };
inline int64_t random_counters(RandomKind kind, DType dtype, int64_t n) {
  return kind == RandomKind::uniform && dtype == DType::f32 ? (n + 3) / 4 : (n + 1) / 2;
}

struct Backend {
  const char* name;
  // dst = src (elementwise, same shape, any dtypes: casts like static_cast, bool = (x != 0)),
  // both on this backend's device.
  void (*copy)(const TensorView& dst, const TensorView& src);
  // Bytes from one device to another: dst and src contiguous, of one dtype and numel, one of them
  // on this backend's device and the other on the cpu or (device to device) this backend's too.
  // non_blocking: the call may return before the copy is done (a later synchronize waits for it).
  void (*copy_between)(const Tensor& dst, const Tensor& src, bool non_blocking);
  void (*fill)(const TensorView& dst, const Scalar& value);
  void (*unary)(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p);
  void (*binary)(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b,
                 const BinaryParams& p);
  // out = cond ? a : b; cond is bool.
  void (*where)(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b);

  // Reductions. `in` has shape [kept..., reduced...] (the op permuted it); `nreduce` trailing
  // dims are reduced into `out` (shape [kept...], contiguous, dtype of the accumulation result).
  void (*reduce)(ReduceOp op, const TensorView& out, const TensorView& in, int nreduce);
  // Variance with `correction` (1 = unbiased); out f32/f64. If mean_out is non-null it gets the mean.
  void (*var)(const TensorView& out, const TensorView* mean_out, const TensorView& in, int nreduce,
              double correction);
  // Values and int64 indices of the max (is_max) or min over the last dim of `in`.
  void (*arg_reduce)(bool is_max, const TensorView* values, const TensorView& indices, const TensorView& in);

  // Softmax over `dim` of a contiguous input; log = log_softmax.
  void (*softmax)(const TensorView& out, const TensorView& in, int64_t dim, bool log);
  // grad_in from grad_out and the forward output y.
  void (*softmax_backward)(const TensorView& grad_in, const TensorView& grad_out, const TensorView& y,
                           int64_t dim, bool log);

  // C = alpha * op(A) op(B) + beta * C for row-major matrices with leading dims; f32/f64/ints.
  void (*gemm)(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
               const void* a, int64_t lda, const void* b, int64_t ldb, double beta, void* c, int64_t ldc);
  // Batched gemm: out[i] = alpha * a[i] @ b[i] + beta * out[i]; a, b 3-d views with any strides
  // (batch stride may be 0); out contiguous [B, M, N] (read only when beta != 0).
  void (*bmm)(const TensorView& out, const TensorView& a, const TensorView& b, double alpha, double beta);

  // Fused attention (Note [Fused attention] in cpu/attention.cpp): q [B, H, L, E], k [B, H, S, E],
  // v [B, H, S, Ev], L and S > 0 -> out [B, H, L, Ev] and each query row's log-sum-exp of its
  // scores, lse [B, H, L] (contiguous); causal: key j is seen by query i when j <= i. q, k, v and
  // out may have any strides but a unit one along the last dim (rows at least a row apart).
  void (*attention)(const TensorView& out, const TensorView& lse, const TensorView& q, const TensorView& k,
                    const TensorView& v, double scale, bool causal);
  // dq, dk, dv (written; strided like out) from dout [B, H, L, Ev] and the forward's q, k, v, out and lse.
  void (*attention_backward)(const TensorView& dq, const TensorView& dk, const TensorView& dv,
                             const TensorView& dout, const TensorView& q, const TensorView& k, const TensorView& v,
                             const TensorView& out, const TensorView& lse, double scale, bool causal);

  // Indexing. index tensors are int64.
  void (*index_select)(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index);
  void (*gather)(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index);
  // out[index along dim] (+)= src, with out already holding the base values.
  void (*scatter)(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, bool add);
  void (*index_add)(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src,
                    double alpha);
  // Writes the elements of `in` where mask is true, in row-major order, into the 1-d `out`.
  void (*masked_select)(const TensorView& out, const TensorView& in, const TensorView& mask);
  // Zeroes the elements above (lower) or below (!lower) the diagonal of the last two dims.
  void (*tri)(const TensorView& out, const TensorView& in, int64_t diagonal, bool lower);

  // Fills. Random fills consume counters of `gen` (see Generator).
  void (*arange)(const TensorView& out, double start, double step);
  void (*uniform)(const TensorView& out, Generator& gen, double lo, double hi);
  void (*normal)(const TensorView& out, Generator& gen, double mean, double std);
  void (*randint)(const TensorView& out, Generator& gen, int64_t lo, int64_t hi);

  // Convolution (all tensors contiguous): out [N, OC, OH, OW] = conv(in [N, C, H, W],
  // weight [OC, C/groups, KH, KW]) + bias [OC] (bias may be null).
  void (*conv2d)(const TensorView& out, const TensorView& in, const TensorView& weight, const TensorView* bias,
                 const Window2d& w);
  // grad_in [N, C, H, W] from grad_out [N, OC, OH, OW] and weight.
  void (*conv2d_backward_input)(const TensorView& grad_in, const TensorView& grad_out, const TensorView& weight,
                                const Window2d& w);
  // grad_weight [OC, C/groups, KH, KW] (and grad_bias [OC] if non-null) from grad_out and in.
  void (*conv2d_backward_weight)(const TensorView& grad_weight, const TensorView* grad_bias, const TensorView& grad_out,
                                 const TensorView& in, const Window2d& w);
  // Pooling over [N, C, H, W] (contiguous) -> [N, C, OH, OW]. max: indices (i64, flat within the
  // H x W plane) for the backward, or, for is_2x2_pool windows only, u8: the window position
  // 0..3 of the maximum (Note [Compact 2x2 max pooling indices]); the backward gets the same
  // kind. avg: divisor per window (count_include_pad, divisor_override).
  void (*max_pool2d)(const TensorView& out, const TensorView& indices, const TensorView& in, const Window2d& w);
  void (*max_pool2d_backward)(const TensorView& grad_in, const TensorView& grad_out, const TensorView& indices,
                              const Window2d& w);
  void (*avg_pool2d)(const TensorView& out, const TensorView& in, const Window2d& w, bool count_include_pad,
                     int64_t divisor_override);
  void (*avg_pool2d_backward)(const TensorView& grad_in, const TensorView& grad_out, const Window2d& w,
                              bool count_include_pad, int64_t divisor_override);
  // Adaptive average pooling: window i spans [floor(i H / OH), ceil((i + 1) H / OH)).
  void (*adaptive_avg_pool2d)(const TensorView& out, const TensorView& in);
  void (*adaptive_avg_pool2d_backward)(const TensorView& grad_in, const TensorView& grad_out);

  // Batch norm over a contiguous x [N, C, *] seen as [N, C, S]; per-channel tensors are [C],
  // contiguous, of x's dtype. mean and the biased variance of each channel:
  void (*batch_norm_stats)(const TensorView& mean, const TensorView& var, const TensorView& x);
  // sum_dy[c] = sum of dy over channel c; sum_dy_xmu[c] = sum of dy * (x - mean[c]).
  void (*batch_norm_backward_stats)(const TensorView& sum_dy, const TensorView& sum_dy_xmu, const TensorView& dy,
                                    const TensorView& x, const TensorView& mean);
  // out = x * scale[c] + shift[c]  (out may be x).
  void (*channel_affine)(const TensorView& out, const TensorView& x, const TensorView& scale, const TensorView& shift);
  // out = a[c] * u + b[c] * x + c[c]  (u, x, out all [N, C, S]).
  void (*channel_affine2)(const TensorView& out, const TensorView& u, const TensorView& x, const TensorView& a,
                          const TensorView& b, const TensorView& c);

  // One fused optimizer step (see OptimKind). param, grad and the state buffers are contiguous,
  // of one floating dtype and of one size; states: sgd {momentum_buffer} (null without momentum),
  // adagrad {sum}, adadelta {square_avg, acc_delta}, rmsprop {square_avg, momentum_buffer or null,
  // grad_avg or null}, adam {exp_avg, exp_avg_sq, max_exp_avg_sq or null}.
  void (*optim_step)(OptimKind kind, const OptimParams& p, const TensorView& param, const TensorView& grad,
                     const TensorView* s0, const TensorView* s1, const TensorView* s2);

  // Negative log-likelihood of rows (ops/nll.cpp): x [M, C] f32/f64 (any strides), target [M]
  // i64 and weight [C] (or null) contiguous. Writes loss [M] (or null) = -w[t] x[i, t], 0 where
  // t == ignore_index; sums [2] f64 = {sum of the losses, sum of the weights}; for the backward,
  // when non-null, safe_target [M] i64 (t, 0 where ignored) and neg_w [M] (-w[t], 0 where
  // ignored). A target outside [0, C) is not raised here, where the data lives: the kernel
  // writes {1, t} for the first such row into bad [2] i64 (zeros on entry) and counts the row as
  // ignored; the op reads bad back once.
  void (*nll_loss)(const TensorView* loss, const TensorView& sums, const TensorView* safe_target,
                   const TensorView* neg_w, const TensorView& bad, const TensorView& x, const TensorView& target,
                   const TensorView* weight, int64_t ignore_index);

  // The bounds check of an index inside a graph capture, where nothing can be read back: raises
  // where the data lives, in stream order ("<op>: index <v> is out of bounds for dimension <dim>
  // with size <size>"), when range [2] i64 = {min, max} of the index leaves [0, size).
  void (*check_range)(const TensorView& range, int64_t size, const char* op, int64_t dim);
};

// Every slot of Backend in declaration order, for tables built slot by slot (stub.cpp, the tests).
#define HPML_BACKEND_SLOTS(X)                                                                                  \
  X(copy) X(copy_between) X(fill) X(unary) X(binary) X(where) X(reduce) X(var) X(arg_reduce) X(softmax)       \
  X(softmax_backward) X(gemm) X(bmm) X(attention) X(attention_backward) X(index_select) X(gather) X(scatter) \
  X(index_add) X(masked_select) X(tri) X(arange) X(uniform) X(normal) X(randint) X(conv2d)                  \
  X(conv2d_backward_input) X(conv2d_backward_weight) X(max_pool2d) X(max_pool2d_backward) X(avg_pool2d)     \
  X(avg_pool2d_backward) X(adaptive_avg_pool2d) X(adaptive_avg_pool2d_backward) X(batch_norm_stats)         \
  X(batch_norm_backward_stats) X(channel_affine) X(channel_affine2) X(optim_step) X(nll_loss) \
  X(check_range)

// The slots' names as strings (slot_names::gemm is "gemm"), for tables that say which slot ran.
namespace slot_names {
#define HPML_SLOT_NAME(slot) inline constexpr char slot[] = #slot;
HPML_BACKEND_SLOTS(HPML_SLOT_NAME)
#undef HPML_SLOT_NAME
}  // namespace slot_names

// A slot that refuses: Refuse<decltype(Backend::gemm), slot_names::gemm, kDevice>::call throws
// "gemm is not implemented on <device>". refusing_table<kDevice>() is a table of them: the stub
// (stub.cpp) is one, and a new backend starts from one and replaces the slots that have kernels
// (docs/adding-a-backend.md). Device: a `constexpr char kDevice[] = "..."` at namespace scope.
template <typename Slot, const char* Name, const char* Device>
struct Refuse;
template <typename... Args, const char* Name, const char* Device>
struct Refuse<void (*)(Args...), Name, Device> {
  static void call(Args...) { HPML_FAIL(Name, " is not implemented on ", Device); }
};
template <const char* Device>
constexpr Backend refusing_table() {
#define HPML_REFUSE(slot) .slot = Refuse<decltype(Backend::slot), slot_names::slot, Device>::call,
  return Backend{.name = Device, HPML_BACKEND_SLOTS(HPML_REFUSE)};
#undef HPML_REFUSE
}

// The registry: one table per device type, null where this build has none.
const Backend* backend_table(DeviceType type);
// The backend for `d`; throws naming `op` when this build has none for it.
[[noreturn]] void no_backend(Device d, const char* op);
// The cpu's table (backend.cpp): backend() returns it with no lookup, the common case that the
// per-op overhead benchmark (scripts/bench overhead) measures.
extern const Backend& kCpuBackend;
inline const Backend& backend(Device d, const char* op) {
  if (d.is_cpu()) [[likely]] return kCpuBackend;
  const Backend* b = backend_table(d.type());
  if (!b) [[unlikely]] no_backend(d, op);
  return *b;
}

// For tests: every table, and the stub (kernels/stub.cpp) a new backend starts from.
struct NamedBackend {
  const char* device;
  const Backend* table;
};
std::vector<NamedBackend> registered_backends();
const Backend& stub_backend();
// The slots of a table as pointers, in declaration order (name excluded), for the null check.
inline constexpr size_t kBackendSlots = sizeof(Backend) / sizeof(void*) - 1;

}  // namespace hpml::kernels
