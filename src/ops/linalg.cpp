// Matrix products. mm, bmm, addmm and baddbmm call the batched GEMM kernel (Note [Which GEMM]),
// which reads transposed operands in place, so the backward products (g @ b^T, a^T @ g) copy nothing.
// matmul, outer and dot are compositions of those and views.
#include "hpml/ops/linalg.h"

#include <algorithm>

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::view_of;

namespace {

void check_mm_args(const char* op, const Tensor& a, const Tensor& b, int64_t rank) {
  ops::check_defined(op, a, "first input");
  ops::check_defined(op, b, "second input");
  ops::check_same_device(op, {{"input", &a}, {"mat2", &b}});
  HPML_CHECK(a.dim() == rank && b.dim() == rank, op, ": expected ", rank, "-d tensors, got a.shape=", a.sizes(),
             ", b.shape=", b.sizes());
  HPML_CHECK(a.dtype() == b.dtype(), op, ": expected both operands to have the same dtype, got ", a.dtype(), " and ",
             b.dtype());
  HPML_CHECK(a.dtype() != kBool, op, ": not supported for bool tensors");
  const int64_t ka = a.sizes()[rank - 1], kb = b.sizes()[rank - 2];
  HPML_CHECK(ka == kb, op, ": inner dimensions differ: a.shape=", a.sizes(), ", b.shape=", b.sizes(), " (", ka,
             " != ", kb, ")");
}

// a 2-d view as a batch of one.
kernels::TensorView batch1(const Tensor& t) {
  kernels::TensorView v = view_of(t);
  v.sizes.insert(0, 1);
  v.strides.insert(0, 0);
  return v;
}

// A 2-byte operand for CUDA's GEMM, which has no strided fallback: row- or column-major in its
// last two dims (a unit stride in one, a leading dim at least the other's extent), else a
// contiguous copy.
Tensor gemm_ready(const Tensor& t) {
  const int64_t d = t.dim(), rows = t.sizes()[d - 2], cols = t.sizes()[d - 1];
  const int64_t sr = t.strides()[d - 2], sc = t.strides()[d - 1];
  const bool row_major = sc == 1 && sr >= std::max<int64_t>(1, cols);
  const bool col_major = sr == 1 && sc >= std::max<int64_t>(1, rows);
  return row_major || col_major ? t : t.contiguous();
}

// out = alpha * a @ b + beta * out, for 2-d ([n, k] @ [k, m]) or batched 3-d operands. bf16 and
// f16: on CUDA, cuBLAS's 2-byte GEMM with f32 accumulation; elsewhere the f32 GEMM on f32 copies
// (each product and sum in f32), the result rounded once (Note [Half-precision dtypes] in
// core/half.h).
void bmm_into(const Tensor& out, const Tensor& a_in, const Tensor& b_in, double alpha, double beta, const char* op) {
  const bool half = is_reduced_float(out.dtype()), on_cuda = out.device().type() == DeviceType::CUDA;
  if (half && !on_cuda) {
    Tensor o32 = beta != 0 ? ops::cast(out, kFloat32) : ops::empty_tensor(out.sizes(), kFloat32, out.device());
    bmm_into(o32, ops::cast(a_in, kFloat32), ops::cast(b_in, kFloat32), alpha, beta, op);
    ops::be(a_in, op).copy(view_of(out), view_of(o32));
    return;
  }
  const Tensor a = half ? gemm_ready(a_in) : a_in, b = half ? gemm_ready(b_in) : b_in;
  if (a.dim() == 2) ops::be(a, op).bmm(batch1(out), batch1(a), batch1(b), alpha, beta);
  else ops::be(a, op).bmm(view_of(out), view_of(a), view_of(b), alpha, beta);
}

// Note [Gradients in their operand's layout]
// A Linear layer multiplies by weight.t(), a transposed view. Its gradient a^T @ g comes out
// row-major [in, out], and the view's backward turns it into a transposed [out, in] view, which
// .grad cannot keep as it is (Note [Accumulating into .grad]): a strided copy of the whole weight
// gradient every step, 16% of a Linear 784 -> 256 step. So, as PyTorch does, when an operand is
// the transpose of a contiguous matrix its gradient is computed transposed, (g^T @ a)^T, whose
// transpose is contiguous: the same GEMM with the operands swapped, and no copy.
bool is_transposed_contiguous(const Tensor& t) {
  return t.dim() == 2 && t.strides()[0] == 1 && t.strides()[1] == t.sizes()[0] && t.sizes()[0] > 1 && t.sizes()[1] > 1;
}

// d(a @ b)/da = g @ b^T [n, k], in a's layout (Note [Gradients in their operand's layout]).
Tensor mm_grad_first(const Tensor& g, const Tensor& a, const Tensor& b) {
  return is_transposed_contiguous(a) ? mm(b, g.t()).t() : mm(g, b.t());
}

// d(a @ b)/db = a^T @ g [k, m], in b's layout.
Tensor mm_grad_second(const Tensor& g, const Tensor& a, const Tensor& b) {
  return is_transposed_contiguous(b) ? mm(g.t(), a).t() : mm(a.t(), g);
}

Tensor times(Tensor t, double alpha) { return alpha == 1 ? t : t * alpha; }

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("mm", a, b);
  check_mm_args("mm", a, b, 2);
  Tensor out = ops::empty_tensor({a.sizes()[0], b.sizes()[1]}, a.dtype(), a.device());
  bmm_into(out, a, b, 1, 0, "mm");
  if (autograd::should_record(a, b)) {
    autograd::record("mm", {a, b}, {out}, {a, b}, [](const Ctx& c) {
      // g [n, m], a [n, k], b [k, m] -> da = g @ b^T [n, k], db = a^T @ g [k, m]
      return TensorList{c.needs(0) ? mm_grad_first(c.g(0), c.s(0), c.s(1)) : Tensor(),
                        c.needs(1) ? mm_grad_second(c.g(0), c.s(0), c.s(1)) : Tensor()};
    });
  }
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("bmm", a, b);
  check_mm_args("bmm", a, b, 3);
  HPML_CHECK(a.sizes()[0] == b.sizes()[0], "bmm: batch sizes differ: a.shape=", a.sizes(), ", b.shape=", b.sizes());
  Tensor out = ops::empty_tensor({a.sizes()[0], a.sizes()[1], b.sizes()[2]}, a.dtype(), a.device());
  bmm_into(out, a, b, 1, 0, "bmm");
  if (autograd::should_record(a, b)) {
    autograd::record("bmm", {a, b}, {out}, {a, b}, [](const Ctx& c) {
      // g [B, n, m] -> da = g @ b^T [B, n, k], db = a^T @ g [B, k, m]
      return TensorList{c.needs(0) ? bmm(c.g(0), c.s(1).transpose(1, 2)) : Tensor(),
                        c.needs(1) ? bmm(c.s(0).transpose(1, 2), c.g(0)) : Tensor()};
    });
  }
  return out;
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, const Scalar& beta, const Scalar& alpha) {
  HPML_RECORD_OP("addmm", bias, a, b);
  ops::check_same_device("addmm", {{"input", &bias}, {"mat1", &a}, {"mat2", &b}});
  check_mm_args("addmm", a, b, 2);
  ops::check_defined("addmm", bias, "bias");
  HPML_CHECK(bias.dtype() == a.dtype(), "addmm: bias has dtype ", bias.dtype(), " but the matrices have ", a.dtype());
  DimVector shape{a.sizes()[0], b.sizes()[1]};
  DimVector bshape = ops::broadcast_shapes("addmm", bias.sizes(), shape);
  HPML_CHECK(IntArrayRef(bshape) == IntArrayRef(shape), "addmm: bias of shape ", bias.sizes(),
             " does not broadcast to the product's shape ", shape);
  const double al = alpha.to_double(), be = beta.to_double();
  Tensor out = ops::empty_tensor(shape, a.dtype(), a.device());
  if (be != 0) ops::be(a, "addmm").copy(view_of(out), kernels::broadcast_view(bias, shape));
  bmm_into(out, a, b, al, be, "addmm");
  if (autograd::should_record(bias, a, b)) {
    autograd::record("addmm", {bias, a, b}, {out}, {a, b}, [al, be](const Ctx& c) {
      const Tensor& g = c.g(0);
      // g [n, m] -> dbias = beta g (summed to bias's shape by the engine), da = alpha g @ b^T, db = alpha a^T @ g
      return TensorList{c.needs(0) ? times(g, be) : Tensor(),
                        c.needs(1) ? times(mm_grad_first(g, c.s(0), c.s(1)), al) : Tensor(),
                        c.needs(2) ? times(mm_grad_second(g, c.s(0), c.s(1)), al) : Tensor()};
    });
  }
  return out;
}

Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, const Scalar& beta,
               const Scalar& alpha) {
  HPML_RECORD_OP("baddbmm", input, batch1, batch2);
  ops::check_same_device("baddbmm", {{"input", &input}, {"batch1", &batch1}, {"batch2", &batch2}});
  check_mm_args("baddbmm", batch1, batch2, 3);
  ops::check_defined("baddbmm", input, "input");
  HPML_CHECK(batch1.sizes()[0] == batch2.sizes()[0], "baddbmm: batch sizes differ: batch1.shape=", batch1.sizes(),
             ", batch2.shape=", batch2.sizes());
  HPML_CHECK(input.dtype() == batch1.dtype(), "baddbmm: input has dtype ", input.dtype(), " but the batches have ",
             batch1.dtype());
  DimVector shape{batch1.sizes()[0], batch1.sizes()[1], batch2.sizes()[2]};
  DimVector ishape = ops::broadcast_shapes("baddbmm", input.sizes(), shape);
  HPML_CHECK(IntArrayRef(ishape) == IntArrayRef(shape), "baddbmm: input of shape ", input.sizes(),
             " does not broadcast to the product's shape ", shape);
  const double al = alpha.to_double(), be = beta.to_double();
  Tensor out = ops::empty_tensor(shape, batch1.dtype(), batch1.device());
  // beta = 0 ignores the input, NaN included (BLAS's convention, and PyTorch's).
  if (be != 0) ops::be(batch1, "baddbmm").copy(view_of(out), kernels::broadcast_view(input, shape));
  bmm_into(out, batch1, batch2, al, be, "baddbmm");
  if (autograd::should_record(input, batch1, batch2)) {
    autograd::record("baddbmm", {input, batch1, batch2}, {out}, {batch1, batch2}, [al, be](const Ctx& c) {
      const Tensor& g = c.g(0);
      // g [B, n, m] -> dinput = beta g (summed to input's shape by the engine),
      // dbatch1 = alpha g @ batch2^T [B, n, k], dbatch2 = alpha batch1^T @ g [B, k, m]
      return TensorList{c.needs(0) ? times(g, be) : Tensor(),
                        c.needs(1) ? times(bmm(g, c.s(1).transpose(1, 2)), al) : Tensor(),
                        c.needs(2) ? times(bmm(c.s(0).transpose(1, 2), g), al) : Tensor()};
    });
  }
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("matmul", a, b);
  ops::check_defined("matmul", a, "first input");
  ops::check_defined("matmul", b, "second input");
  ops::check_same_device("matmul", {{"input", &a}, {"other", &b}});
  HPML_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dimension, got a.shape=",
             a.sizes(), ", b.shape=", b.sizes());
  const int64_t da = a.dim(), db = b.dim();
  if (da == 1 && db == 1) return dot(a, b);
  if (da == 2 && db == 1) return mm(a, b.unsqueeze(1)).squeeze(1);
  if (da == 1 && db == 2) return mm(a.unsqueeze(0), b).squeeze(0);
  if (da == 2 && db == 2) return mm(a, b);
  const int64_t ka = a.sizes()[da - 1], kb = db == 1 ? b.sizes()[0] : b.sizes()[db - 2];
  HPML_CHECK(ka == kb, "matmul: inner dimensions differ: a.shape=", a.sizes(), ", b.shape=", b.sizes(), " (", ka,
             " != ", kb, ")");
  if (da >= 3 && db <= 2) {
    // Fold a's batch dims into rows: one large GEMM instead of many small ones.
    DimVector out_shape(a.sizes());
    out_shape.pop_back();
    Tensor b2 = db == 1 ? b.unsqueeze(1) : b;
    if (db == 2) out_shape.push_back(b.sizes()[1]);
    int64_t rows = 1;  // explicit (not -1): the inner size may be 0
    for (int64_t d = 0; d < da - 1; ++d) rows *= a.sizes()[d];
    return mm(a.reshape({rows, ka}), b2).view(out_shape);
  }
  // General batched case: broadcast the batch dims.
  Tensor a3 = da == 1 ? a.unsqueeze(0) : a, b3 = db == 1 ? b.unsqueeze(1) : b;
  IntArrayRef abatch(a3.sizes().data(), a3.dim() - 2), bbatch(b3.sizes().data(), b3.dim() - 2);
  DimVector batch = ops::broadcast_shapes("matmul", abatch, bbatch);
  const int64_t n = a3.sizes()[a3.dim() - 2], k = ka, m = b3.sizes()[b3.dim() - 1];
  int64_t nb = 1;
  for (int64_t s : batch) nb *= s;
  DimVector ae(batch), be(batch);
  ae.push_back(n), ae.push_back(k);
  be.push_back(k), be.push_back(m);
  Tensor out = bmm(a3.expand(ae).reshape({nb, n, k}), b3.expand(be).reshape({nb, k, m}));
  DimVector out_shape(batch);
  if (da > 1) out_shape.push_back(n);
  if (db > 1) out_shape.push_back(m);
  return out.view(out_shape);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("outer", a, b);
  ops::check_defined("outer", a, "first input");
  ops::check_defined("outer", b, "second input");
  ops::check_same_device("outer", {{"input", &a}, {"other", &b}});
  HPML_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected 1-d tensors, got shapes ", a.sizes(), " and ", b.sizes());
  return a.unsqueeze(1) * b.unsqueeze(0);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("dot", a, b);
  ops::check_defined("dot", a, "first input");
  ops::check_defined("dot", b, "second input");
  ops::check_same_device("dot", {{"input", &a}, {"other", &b}});
  HPML_CHECK(a.dim() == 1 && b.dim() == 1, "dot: expected 1-d tensors, got shapes ", a.sizes(), " and ", b.sizes());
  HPML_CHECK(a.numel() == b.numel(), "dot: inconsistent tensor size, a has ", a.numel(), " elements and b has ",
             b.numel());
  HPML_CHECK(a.dtype() == b.dtype(), "dot: expected both vectors to have the same dtype, got ", a.dtype(), " and ",
             b.dtype());
  return mm(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
}

Tensor& mm_out(Tensor& out, const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("mm_out", out, a, b);
  check_mm_args("mm_out", a, b, 2);
  ops::check_defined("mm_out", out, "out");
  HPML_CHECK(!autograd::GradMode::is_enabled() || !(a.requires_grad() || b.requires_grad()),
             "mm_out: out= arguments don't support automatic differentiation");
  HPML_CHECK(out.sizes() == IntArrayRef({a.sizes()[0], b.sizes()[1]}) && out.dtype() == a.dtype() && out.is_contiguous(),
             "mm_out: out must be a contiguous ", a.dtype(), " tensor of shape [", a.sizes()[0], ", ", b.sizes()[1],
             "], got ", out.dtype(), " of shape ", out.sizes());
  bmm_into(out, a, b, 1, 0, "mm_out");
  out.bump_version();
  return out;
}

Tensor& matmul_out(Tensor& out, const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("matmul_out", out, a, b);
  ops::check_defined("matmul_out", a, "first input");
  ops::check_defined("matmul_out", b, "second input");
  if (a.dim() == 2 && b.dim() == 2) return mm_out(out, a, b);
  autograd::NoGradGuard ng;
  Tensor r = matmul(a, b);
  HPML_CHECK(out.sizes() == r.sizes(), "matmul_out: out has shape ", out.sizes(), " but the product has shape ", r.sizes());
  return copy_(out, r);
}

}  // namespace hpml
