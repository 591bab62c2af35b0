// scaled_dot_product_attention: argument checks, the choice of implementation, the composed
// ("math") form, and the fused kernel's forward and backward ("flash").
#include "hpml/ops/attention.h"

#include <cmath>
#include <limits>

#include "hpml/autograd/grad_mode.h"
#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::view_of;

// Note [Which attention runs]
// The fused kernel (Note [Fused attention]) needs no [L, S] matrix, so it runs by default where
// it applies: floating q, k and v of one dtype (f32 or f64) whose batch dims agree, no attn_mask,
// no dropout, L, S, E and Ev all > 0 (is_causal is fine). Everything else composes matmul,
// masked_fill, softmax, dropout and matmul, which handles masks, broadcasting and empty tensors
// exactly as PyTorch's math backend. SDPAKernel pins one of the two for tests and benchmarks.
// The fused backward is a kernel too; under create_graph it is written with differentiable ops
// (recomputing P from q and k), so double backward works on both paths.
namespace {

thread_local int t_forced = -1;  // -1: automatic; else an SDPBackend

int64_t size_at(const Tensor& t, int64_t d) { return t.sizes()[t.dim() + d]; }

void check_args(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p,
                bool is_causal) {
  const char* op = "scaled_dot_product_attention";
  HPML_CHECK(q.defined() && k.defined() && v.defined(), op, ": query, key and value must be defined");
  ops::check_same_device(op, {{"query", &q}, {"key", &k}, {"value", &v}, {"attn_mask", &mask}});
  HPML_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, op, ": query, key and value need at least 2 dims "
             "[*, L, E], got ", q.sizes(), ", ", k.sizes(), ", ", v.sizes());
  HPML_CHECK(is_floating(q.dtype()) && q.dtype() == k.dtype() && q.dtype() == v.dtype(), op,
             ": query, key and value must have one floating dtype, got ", q.dtype(), ", ", k.dtype(), ", ", v.dtype());
  HPML_CHECK(size_at(q, -1) == size_at(k, -1), op, ": query [*, L, E] and key [*, S, E] differ in E: ", q.sizes(),
             " and ", k.sizes());
  HPML_CHECK(size_at(k, -2) == size_at(v, -2), op, ": key [*, S, E] and value [*, S, Ev] differ in S: ", k.sizes(),
             " and ", v.sizes());
  HPML_CHECK(dropout_p >= 0 && dropout_p < 1, op, ": dropout_p must be in [0, 1), got ", dropout_p);
  if (!mask.defined()) return;
  HPML_CHECK(!is_causal, op, ": give attn_mask or is_causal, not both");
  HPML_CHECK(mask.dtype() == kBool || mask.dtype() == q.dtype(), op, ": attn_mask must be bool or the query's dtype ",
             q.dtype(), ", got ", mask.dtype());
}

bool flash_applies(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p) {
  if (mask.defined() || dropout_p > 0) return false;
  if (q.dtype() != kFloat32 && q.dtype() != kFloat64) return false;
  if (q.dim() != k.dim() || q.dim() != v.dim()) return false;
  for (int64_t d = 0; d + 2 < q.dim(); ++d)
    if (q.sizes()[d] != k.sizes()[d] || q.sizes()[d] != v.sizes()[d]) return false;
  return size_at(q, -2) > 0 && size_at(k, -2) > 0 && size_at(q, -1) > 0 && size_at(v, -1) > 0;
}

// ---- math -------------------------------------------------------------------------------------
// The causal mask [L, S]: true where key j <= query i.
Tensor causal_keep(int64_t L, int64_t S, Device device) { return tril(ones({L, S}, TensorOptions(kBool).device(device))); }

Tensor attention_math(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p,
                      bool is_causal, double scale, Generator* gen) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor s = matmul(q, k.transpose(-2, -1)) * scale;  // [*, L, S]
  if (is_causal) s = masked_fill(s, logical_not(causal_keep(size_at(q, -2), size_at(k, -2), q.device())), -inf);
  if (mask.defined()) s = mask.dtype() == kBool ? masked_fill(s, logical_not(mask), -inf) : s + mask;
  Tensor p = softmax(s, -1);
  if (dropout_p > 0) {  // inverted dropout on the weights, as F.dropout
    Tensor keep = ge(rand(p.sizes(), gen, TensorOptions(p.dtype())), scalar_tensor(dropout_p, kFloat64));
    p = p * keep.to(p.dtype()) * (1.0 / (1.0 - dropout_p));
  }
  return matmul(p, v);
}

// ---- flash ------------------------------------------------------------------------------------
// The kernel takes [B, H, rows, cols] views with a unit stride along cols: a multi-head
// attention's q, k and v (heads split out of one projection, then transposed) go in as they are,
// without the three copies .contiguous() would make, and the output is written straight into the
// [B, L, H, Ev] layout that the heads' concatenation reads. 2-d and 3-d inputs gain leading dims
// of 1; more than two batch dims are merged (reshape, a copy where they do not merge).
Tensor as4d(const Tensor& t) {
  const int64_t rows = size_at(t, -2), cols = size_at(t, -1);
  Tensor x = t.dim() > 4 ? t.reshape({1, t.numel() / std::max<int64_t>(1, rows * cols), rows, cols}) : t;
  while (x.dim() < 4) x = x.unsqueeze(0);
  const bool unit_cols = x.strides()[3] == 1 || cols == 1;
  const bool rows_apart = x.strides()[2] >= cols;  // BLAS's leading dimension
  return unit_cols && rows_apart ? x : x.contiguous();
}

// A [B, H, rows, cols] result whose memory is [B, rows, H, cols].
Tensor heads_last(int64_t B, int64_t H, int64_t rows, int64_t cols, DType dt, Device dev) {
  return ops::empty_tensor({B, rows, H, cols}, dt, dev).permute({0, 2, 1, 3});
}

// Double backward: the fused backward's formulas with differentiable ops, on the 4-d views.
// g [B, H, L, Ev] -> {dq, dk, dv}
TensorList attention_backward_composed(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v,
                                       double scale, bool causal) {
  Tensor s = matmul(q, k.transpose(-2, -1)) * scale;  // [B, H, L, S]
  const double inf = std::numeric_limits<double>::infinity();
  if (causal) s = masked_fill(s, logical_not(causal_keep(size_at(q, -2), size_at(k, -2), q.device())), -inf);
  Tensor p = softmax(s, -1);
  Tensor dv = matmul(p.transpose(-2, -1), g);                // [B, H, S, Ev]
  Tensor dp = matmul(g, v.transpose(-2, -1));                // [B, H, L, S]
  Tensor ds = p * (dp - sum(dp * p, {-1}, /*keepdim=*/true));
  return {matmul(ds, k) * scale, matmul(ds.transpose(-2, -1), q) * scale, dv};
}

Tensor attention_flash(const Tensor& query, const Tensor& key, const Tensor& value, bool causal, double scale) {
  const Tensor q = as4d(query), k = as4d(key), v = as4d(value);
  const int64_t B = q.sizes()[0], H = q.sizes()[1], L = q.sizes()[2], S = k.sizes()[2], E = q.sizes()[3];
  const int64_t Ev = v.sizes()[3];
  Tensor out = heads_last(B, H, L, Ev, q.dtype(), q.device());
  Tensor lse = ops::empty_tensor({B, H, L}, q.dtype(), q.device());
  ops::be(q, "scaled_dot_product_attention")
      .attention(view_of(out), view_of(lse), view_of(q), view_of(k), view_of(v), scale, causal);
  DimVector shape(query.sizes());
  shape.back() = Ev;
  Tensor y = query.dim() == 4 ? out : out.reshape(shape);
  if (autograd::should_record(query, key, value)) {
    // Shapes only: capturing `out` itself would tie the node to its own output (a cycle, never freed).
    DimVector qs(query.sizes()), ks(key.sizes()), vs(value.sizes()), os(out.sizes());
    autograd::record("scaled_dot_product_attention", {query, key, value}, {y}, {q, k, v, out, lse},
                     [=](const Ctx& c) -> TensorList {
      // g [*, L, Ev] -> dq [*, L, E], dk [*, S, E], dv [*, S, Ev]
      const Tensor g = as4d(c.g(0).reshape(os));
      TensorList d;
      if (autograd::GradMode::is_enabled()) {
        d = attention_backward_composed(g, c.s(0), c.s(1), c.s(2), scale, causal);
      } else {
        d = {heads_last(B, H, L, E, g.dtype(), g.device()), heads_last(B, H, S, E, g.dtype(), g.device()),
             heads_last(B, H, S, Ev, g.dtype(), g.device())};
        ops::be(g, "scaled_dot_product_attention backward")
            .attention_backward(view_of(d[0]), view_of(d[1]), view_of(d[2]), view_of(g), view_of(c.s(0)),
                                view_of(c.s(1)), view_of(c.s(2)), view_of(c.s(3)), view_of(c.s(4)), scale, causal);
      }
      return {d[0].reshape(qs), d[1].reshape(ks), d[2].reshape(vs)};
    });
  }
  return y;
}

}  // namespace

SDPBackend sdpa_backend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double dropout_p) {
  check_args(q, k, v, mask, dropout_p, false);
  if (t_forced >= 0) return static_cast<SDPBackend>(t_forced);
  return flash_applies(q, k, v, mask, dropout_p) ? SDPBackend::flash : SDPBackend::math;
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                    double dropout_p, bool is_causal, std::optional<double> scale, Generator* gen) {
  HPML_RECORD_OP("scaled_dot_product_attention", q, k, v);
  check_args(q, k, v, attn_mask, dropout_p, is_causal);
  const double sc = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(size_at(q, -1)));
  const bool flash = flash_applies(q, k, v, attn_mask, dropout_p);
  HPML_CHECK(t_forced != static_cast<int>(SDPBackend::flash) || flash, "scaled_dot_product_attention: the flash "
             "kernel was asked for (SDPAKernel) but does not apply to query ", q.sizes(), " ", q.dtype(), ", key ",
             k.sizes(), ", value ", v.sizes(), attn_mask.defined() ? ", an attn_mask" : "",
             dropout_p > 0 ? ", dropout" : "", " (Note [Which attention runs])");
  if (flash && t_forced != static_cast<int>(SDPBackend::math)) return attention_flash(q, k, v, is_causal, sc);
  return attention_math(q, k, v, attn_mask, dropout_p, is_causal, sc, gen);
}

SDPAKernel::SDPAKernel(SDPBackend only) : previous_(t_forced) { t_forced = static_cast<int>(only); }
SDPAKernel::~SDPAKernel() { t_forced = previous_; }

}  // namespace hpml
