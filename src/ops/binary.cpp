// Elementwise functions of two tensors: broadcasting, type promotion, the binary kernel, and one
// backward line per op. The engine sums each gradient back to its input's shape.
#include "hpml/ops/binary.h"

#include "hpml/autograd/node.h"
#include "hpml/core/record.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"
#include "ops/common.h"

namespace hpml {

using autograd::Ctx;
using kernels::BinaryOp;
using kernels::broadcast_view;
using kernels::view_of;

namespace {

// out = op(a, b) computed in `compute` dtype, written as `out_dtype`.
Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a_in, const Tensor& b_in, DType compute,
                      DType out_dtype, kernels::BinaryParams p = {}) {
  ops::check_defined(name, a_in, "first input");
  ops::check_defined(name, b_in, "second input");
  if (is_reduced_float(compute)) {  // in f32, rounded once (Note [Half-precision dtypes])
    const DType out32 = out_dtype == compute ? kFloat32 : out_dtype;
    return ops::cast(binary_forward(op, name, a_in, b_in, kFloat32, out32, p), out_dtype);
  }
  Tensor a_moved, b_moved;
  const Tensor& a = ops::scalar_to_device_of(a_in, b_in, a_moved);
  const Tensor& b = ops::scalar_to_device_of(b_in, a_in, b_moved);
  ops::check_same_device(name, {{"input", &a}, {"other", &b}});
  DimVector shape = ops::broadcast_shapes(name, a.sizes(), b.sizes());
  Tensor ac = ops::cast(a, compute), bc = ops::cast(b, compute);
  Tensor out = ops::empty_tensor(shape, out_dtype, a.device());
  ops::be(a, name).binary(op, view_of(out), broadcast_view(ac, shape), broadcast_view(bc, shape), p);
  return out;
}

void check_alpha(const char* name, DType dt, const Scalar& alpha) {
  HPML_CHECK(is_floating(dt) || !alpha.is_floating(), name,
             ": for integral input tensors, alpha must not be a floating point number (got ", alpha, ")");
}

Tensor compare(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP(name, a, b);  // the comparison's own event (eq, lt, ...)
  ops::check_defined(name, a, "first input");
  ops::check_defined(name, b, "second input");
  return binary_forward(op, name, a, b, ops::result_type(a, b), kBool);
}

// Checks that an in-place result of dtype `dt` and shape broadcast(self, b) fits in self.
void check_inplace_result(const char* name, const Tensor& self, const Tensor& b, DType dt) {
  ops::check_defined(name, b, "other");
  DimVector shape = ops::broadcast_shapes(name, self.sizes(), b.sizes());
  HPML_CHECK(IntArrayRef(shape) == self.sizes(), name, ": output with shape ", self.sizes(),
             " doesn't match the broadcast shape ", shape);
  HPML_CHECK(ops::can_cast(dt, self.dtype()), name, ": result type ", dt, " can't be cast to the desired output type ",
             self.dtype());
}

// The in-place form of a binary op: the kernel writes into self when dtypes agree, else the
// out-of-place result is copied (cast) into self.
template <typename F>
Tensor& binary_inplace(const char* name, Tensor& self, const Tensor& b, BinaryOp op, kernels::BinaryParams p,
                       F out_of_place) {
  ops::check_defined(name, self, "self");
  DType dt = ops::result_type(self, b);
  check_inplace_result(name, self, b, dt);
  ops::check_no_partial_overlap(name, self, b);
  return ops::apply_inplace(name, self, {&b}, [&] {
    if (dt == self.dtype() && !is_reduced_float(dt)) {
      ops::be(self, name).binary(op, view_of(self), view_of(self), broadcast_view(ops::cast(b, dt), self.sizes()), p);
    } else {
      Tensor r = out_of_place(self);
      ops::be(self, name).copy(view_of(self), view_of(r));
    }
  }, out_of_place);
}

// The `_out` form: no autograd, out must have the broadcast shape.
template <typename F>
Tensor& binary_out(const char* name, Tensor& out, const Tensor& a, const Tensor& b, F compute) {
  ops::check_defined(name, out, "out");
  HPML_CHECK(!autograd::GradMode::is_enabled() || !(a.requires_grad() || b.requires_grad()), name,
             ": out= arguments don't support automatic differentiation, but one of the inputs requires grad"
             "\nhint: use the form without out, or call it inside a NoGradGuard");
  DimVector shape = ops::broadcast_shapes(name, a.sizes(), b.sizes());
  HPML_CHECK(IntArrayRef(shape) == out.sizes(), name, ": out has shape ", out.sizes(), " but the result has shape ",
             shape);
  ops::check_no_internal_overlap(name, out);
  ops::check_no_partial_overlap(name, out, a);
  ops::check_no_partial_overlap(name, out, b);
  compute();
  out.bump_version();
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  HPML_RECORD_OP("add", a, b);
  ops::check_defined("add", a, "first input");
  ops::check_defined("add", b, "second input");
  DType dt = ops::result_type(a, b);
  check_alpha("add", dt, alpha);
  const double al = alpha.to_double();
  Tensor out = binary_forward(BinaryOp::add, "add", a, b, dt, dt, {al, 0, 0});
  if (autograd::should_record(a, b)) {
    autograd::record("add", {a, b}, {out}, {}, [al](const Ctx& c) {
      // g: [broadcast shape]
      return TensorList{c.g(0), c.needs(1) ? (al == 1 ? c.g(0) : c.g(0) * al) : Tensor()};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  HPML_RECORD_OP("sub", a, b);
  ops::check_defined("sub", a, "first input");
  ops::check_defined("sub", b, "second input");
  HPML_CHECK(a.dtype() != kBool && b.dtype() != kBool,
             "sub: subtraction with a bool tensor is not supported\nhint: use logical_xor or logical_not");
  DType dt = ops::result_type(a, b);
  check_alpha("sub", dt, alpha);
  const double al = alpha.to_double();
  Tensor out = binary_forward(BinaryOp::sub, "sub", a, b, dt, dt, {al, 0, 0});
  if (autograd::should_record(a, b)) {
    autograd::record("sub", {a, b}, {out}, {}, [al](const Ctx& c) {
      return TensorList{c.g(0), c.needs(1) ? c.g(0) * (-al) : Tensor()};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("mul", a, b);
  ops::check_defined("mul", a, "first input");
  ops::check_defined("mul", b, "second input");
  DType dt = ops::result_type(a, b);
  Tensor out = binary_forward(BinaryOp::mul, "mul", a, b, dt, dt);
  if (autograd::should_record(a, b)) {
    autograd::record("mul", {a, b}, {out}, {a, b}, [](const Ctx& c) {
      return TensorList{c.needs(0) ? c.g(0) * c.s(1) : Tensor(), c.needs(1) ? c.g(0) * c.s(0) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b, std::optional<std::string_view> rounding_mode) {
  HPML_RECORD_OP("div", a, b);
  ops::check_defined("div", a, "first input");
  ops::check_defined("div", b, "second input");
  DType dt = ops::result_type(a, b);
  if (!rounding_mode) {
    if (!is_floating(dt)) dt = kDefaultFloat;  // true division of integers
    Tensor out = binary_forward(BinaryOp::div, "div", a, b, dt, dt);
    if (autograd::should_record(a, b)) {
      autograd::record("div", {a, b}, {out}, {a, b}, [](const Ctx& c) {
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        return TensorList{c.needs(0) ? c.g(0) / c.s(1) : Tensor(),
                          c.needs(1) ? -c.g(0) * c.s(0) / (c.s(1) * c.s(1)) : Tensor()};
      });
    }
    return out;
  }
  HPML_CHECK(*rounding_mode == "trunc" || *rounding_mode == "floor", "div: rounding_mode must be \"trunc\" or \"floor\", got \"",
             *rounding_mode, "\"");
  HPML_CHECK(dt != kBool, "div: rounding division of bool tensors is not supported");
  if (!is_floating(dt)) {
    Tensor zero = eq(b, scalar_tensor(0, b.dtype()));
    HPML_CHECK(!ops::any_true(zero), "div: integer division by zero (rounding_mode=\"", *rounding_mode, "\")");
  }
  BinaryOp op = *rounding_mode == "trunc" ? BinaryOp::div_trunc : BinaryOp::div_floor;
  Tensor out = binary_forward(op, "div", a, b, dt, dt);
  if (autograd::should_record(a, b)) {
    autograd::record("div", {a, b}, {out}, {}, [](const Ctx& c) {
      return TensorList{zeros_like(c.g(0)), zeros_like(c.g(0))};  // piecewise constant
    });
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& e) {
  HPML_RECORD_OP("pow", a, e);
  ops::check_defined("pow", a, "base");
  ops::check_defined("pow", e, "exponent");
  DType dt = ops::result_type(a, e);
  HPML_CHECK(dt != kBool, "pow: not supported for bool tensors");
  Tensor out = binary_forward(BinaryOp::pow, "pow", a, e, dt, dt);
  if (autograd::should_record(a, e)) {
    autograd::record("pow", {a, e}, {out}, {a, e, out}, [](const Ctx& c) {
      const Tensor &g = c.g(0), &a = c.s(0), &e = c.s(1), &y = c.s(2);
      Tensor grad_a, grad_e;
      // d/da = e * a^(e-1) (0 where e == 0); d/de = a^e * log(a) (0 where a == 0 and e >= 0)
      if (c.needs(0)) grad_a = where(eq(e, scalar_tensor(0, e.dtype())), zeros_like(g), g * e * pow(a, e - 1));
      if (c.needs(1)) {
        Tensor mask = logical_and(eq(a, scalar_tensor(0, a.dtype())), ge(e, scalar_tensor(0, e.dtype())));
        grad_e = where(mask, zeros_like(g), g * y * log(a));
      }
      return TensorList{grad_a, grad_e};
    });
  }
  return out;
}

Tensor pow(const Scalar& a, const Tensor& e) { return pow(ops::wrap_scalar(a, e.device()), e); }

#define HPML_MINMAX(name, kop, loses)                                                                   \
  Tensor name(const Tensor& a, const Tensor& b) {                                                      \
    HPML_RECORD_OP(#name, a, b);                                                                       \
    ops::check_defined(#name, a, "first input");                                                      \
    ops::check_defined(#name, b, "second input");                                                     \
    DType dt = ops::result_type(a, b);                                                                 \
    Tensor out = binary_forward(BinaryOp::kop, #name, a, b, dt, dt);                                   \
    if (autograd::should_record(a, b)) {                                                               \
      autograd::record(#name, {a, b}, {out}, {a, b}, [](const Ctx& c) {                               \
        /* ties split the gradient evenly, as in PyTorch */                                            \
        Tensor half = where(eq(c.s(0), c.s(1)), c.g(0) * 0.5, c.g(0));                                 \
        return TensorList{c.needs(0) ? masked_fill(half, loses(c.s(0), c.s(1)), 0) : Tensor(),         \
                          c.needs(1) ? masked_fill(half, loses(c.s(1), c.s(0)), 0) : Tensor()};        \
      });                                                                                              \
    }                                                                                                  \
    return out;                                                                                        \
  }
HPML_MINMAX(maximum, maximum, lt)
HPML_MINMAX(minimum, minimum, gt)
#undef HPML_MINMAX

Tensor eq(const Tensor& a, const Tensor& b) { return compare(BinaryOp::eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(BinaryOp::ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(BinaryOp::le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(BinaryOp::ge, "ge", a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return compare(BinaryOp::logical_and, "logical_and", a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return compare(BinaryOp::logical_or, "logical_or", a, b); }

namespace {
Tensor where_same_device(const Tensor& cond, const Tensor& a, const Tensor& b);
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("where", cond, a, b);
  ops::check_defined("where", cond, "condition");
  ops::check_defined("where", a, "first input");
  ops::check_defined("where", b, "second input");
  HPML_CHECK(cond.dtype() == kBool, "where: expected a bool condition, got ", cond.dtype());
  const Tensor& like = !cond.device().is_cpu() ? cond : !a.device().is_cpu() ? a : b;
  Tensor c_moved, a_moved, b_moved;
  const Tensor& c_dev = ops::scalar_to_device_of(cond, like, c_moved);
  const Tensor& a_dev = ops::scalar_to_device_of(a, like, a_moved);
  const Tensor& b_dev = ops::scalar_to_device_of(b, like, b_moved);
  ops::check_same_device("where", {{"condition", &c_dev}, {"input", &a_dev}, {"other", &b_dev}});
  return where_same_device(c_dev, a_dev, b_dev);
}

namespace {
Tensor where_same_device(const Tensor& cond, const Tensor& a, const Tensor& b) {
  DimVector shape = ops::broadcast_shapes("where", ops::broadcast_shapes("where", cond.sizes(), a.sizes()), b.sizes());
  DType dt = ops::result_type(a, b);
  Tensor ac = ops::cast(a, dt), bc = ops::cast(b, dt);
  Tensor out = ops::empty_tensor(shape, dt, a.device());
  ops::be(a, "where").where(view_of(out), broadcast_view(cond, shape), broadcast_view(ac, shape), broadcast_view(bc, shape));
  if (autograd::should_record(a, b)) {
    autograd::record("where", {cond, a, b}, {out}, {cond}, [](const Ctx& c) {
      Tensor z = zeros_like(c.g(0));
      return TensorList{Tensor(), c.needs(1) ? where(c.s(0), c.g(0), z) : Tensor(),
                        c.needs(2) ? where(c.s(0), z, c.g(0)) : Tensor()};
    });
  }
  return out;
}
}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b) {
  return where(cond, a, ops::wrap_scalar(b, a.device()));
}

Tensor masked_fill(const Tensor& t, const Tensor& mask, const Scalar& value) {
  HPML_RECORD_OP("masked_fill", t, mask);
  ops::check_defined("masked_fill", t);
  ops::check_defined("masked_fill", mask, "mask");
  ops::check_same_device("masked_fill", {{"input", &t}, {"mask", &mask}});
  HPML_CHECK(mask.dtype() == kBool, "masked_fill: expected a bool mask, got ", mask.dtype());
  HPML_CHECK(t.is_floating_point() || !value.is_floating(), "masked_fill: cannot fill an ", t.dtype(),
             " tensor with the float value ", value);
  DimVector shape = ops::broadcast_shapes("masked_fill", t.sizes(), mask.sizes());
  HPML_CHECK(IntArrayRef(shape) == t.sizes(), "masked_fill: mask of shape ", mask.sizes(),
             " does not broadcast to the tensor's shape ", t.sizes());
  Tensor fill = ops::cast(ops::wrap_scalar(value, t.device()), t.dtype());
  Tensor out = ops::empty_tensor(t.sizes(), t.dtype(), t.device());
  ops::be(t, "masked_fill").where(view_of(out), broadcast_view(mask, shape), view_of(fill.expand(shape)), view_of(t));
  if (autograd::should_record(t)) {
    autograd::record("masked_fill", {t, mask}, {out}, {mask}, [](const Ctx& c) {
      return TensorList{masked_fill(c.g(0), c.s(0), 0), Tensor()};
    });
  }
  return out;
}

Tensor atan2(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("atan2", a, b);
  ops::check_defined("atan2", a, "first input");
  ops::check_defined("atan2", b, "second input");
  DType dt = ops::result_type(a, b);
  if (!is_floating(dt)) dt = kDefaultFloat;
  Tensor out = binary_forward(BinaryOp::atan2, "atan2", a, b, dt, dt);
  if (autograd::should_record(a, b)) {
    autograd::record("atan2", {a, b}, {out}, {a, b}, [](const Ctx& c) {
      // d atan2(a, b) = (b da - a db) / (a^2 + b^2); all [broadcast shape]
      Tensor r = reciprocal(c.s(0) * c.s(0) + c.s(1) * c.s(1));
      return TensorList{c.needs(0) ? c.g(0) * c.s(1) * r : Tensor(), c.needs(1) ? -c.g(0) * c.s(0) * r : Tensor()};
    });
  }
  return out;
}

namespace {
// fmod and remainder. Their gradients are PyTorch's: d/da = 1, d/db = -trunc(a / b) (fmod) or
// -floor(a / b) (remainder); both jump where a / b is an integer.
Tensor modulo(BinaryOp op, const char* name, const char* rounding, const Tensor& a, const Tensor& b) {
  ops::check_defined(name, a, "first input");
  ops::check_defined(name, b, "second input");
  DType dt = ops::result_type(a, b);
  HPML_CHECK(dt != kBool, name, ": not supported for bool tensors");
  if (!is_floating(dt)) {
    HPML_CHECK(!ops::any_true(eq(b, scalar_tensor(0, b.dtype()))), name, ": integer division by zero");
  }
  Tensor out = binary_forward(op, name, a, b, dt, dt);
  if (autograd::should_record(a, b)) {
    autograd::record(name, {a, b}, {out}, {a, b}, [rounding](const Ctx& c) {
      return TensorList{c.g(0), c.needs(1) ? -c.g(0) * div(c.s(0), c.s(1), rounding) : Tensor()};
    });
  }
  return out;
}
}  // namespace

Tensor fmod(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("fmod", a, b);
  return modulo(BinaryOp::fmod, "fmod", "trunc", a, b);
}
Tensor fmod(const Tensor& a, const Scalar& b) { return fmod(a, ops::wrap_scalar(b, a.device())); }
Tensor remainder(const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("remainder", a, b);
  return modulo(BinaryOp::remainder, "remainder", "floor", a, b);
}
Tensor remainder(const Tensor& a, const Scalar& b) { return remainder(a, ops::wrap_scalar(b, a.device())); }

// Writes op(a, b) into out: the kernel writes out directly when the result type is out's dtype,
// else the result is computed and cast into out (PyTorch's rules: no float into integer).
static void out_kernel(const char* name, Tensor& out, const Tensor& a, const Tensor& b, BinaryOp op, const Scalar& alpha) {
  DType dt = ops::result_type(a, b);
  if (op == BinaryOp::add) check_alpha(name, dt, alpha);
  HPML_CHECK(ops::can_cast(dt, out.dtype()), name, ": result type ", dt, " can't be cast to out's dtype ", out.dtype());
  kernels::BinaryParams p{alpha.to_double(), 0, 0};
  if (is_reduced_float(dt)) dt = kFloat32;  // computed in f32, then cast into out
  if (dt == out.dtype()) {
    ops::be(a, name).binary(op, view_of(out), broadcast_view(ops::cast(a, dt), out.sizes()),
                            broadcast_view(ops::cast(b, dt), out.sizes()), p);
    return;
  }
  Tensor r = ops::empty_tensor(out.sizes(), dt, out.device());
  ops::be(a, name).binary(op, view_of(r), broadcast_view(ops::cast(a, dt), out.sizes()),
                          broadcast_view(ops::cast(b, dt), out.sizes()), p);
  ops::be(a, name).copy(view_of(out), view_of(r));
}

Tensor& add_out(Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  HPML_RECORD_OP("add_out", out, a, b);
  return binary_out("add_out", out, a, b, [&] { out_kernel("add_out", out, a, b, BinaryOp::add, alpha); });
}
Tensor& sub_out(Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  HPML_RECORD_OP("sub_out", out, a, b);
  return binary_out("sub_out", out, a, b, [&] {
    Tensor r = sub(a, b, alpha);
    HPML_CHECK(ops::can_cast(r.dtype(), out.dtype()), "sub_out: result type ", r.dtype(), " can't be cast to out's dtype ",
               out.dtype());
    ops::be(a, "sub_out").copy(view_of(out), view_of(r));
  });
}
Tensor& mul_out(Tensor& out, const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("mul_out", out, a, b);
  return binary_out("mul_out", out, a, b, [&] { out_kernel("mul_out", out, a, b, BinaryOp::mul, 1); });
}
Tensor& div_out(Tensor& out, const Tensor& a, const Tensor& b) {
  HPML_RECORD_OP("div_out", out, a, b);
  return binary_out("div_out", out, a, b, [&] {
    Tensor r = div(a, b);
    HPML_CHECK(ops::can_cast(r.dtype(), out.dtype()), "div_out: result type ", r.dtype(), " can't be cast to out's dtype ",
               out.dtype());
    ops::be(a, "div_out").copy(view_of(out), view_of(r));
  });
}

Tensor& add_(Tensor& self, const Tensor& b, const Scalar& alpha) {
  HPML_RECORD_OP("add_", self, b);
  const double al = alpha.to_double();
  return binary_inplace("add_", self, b, BinaryOp::add, {al, 0, 0}, [&](const Tensor& old) { return add(old, b, alpha); });
}
Tensor& sub_(Tensor& self, const Tensor& b, const Scalar& alpha) {
  HPML_RECORD_OP("sub_", self, b);
  const double al = alpha.to_double();
  return binary_inplace("sub_", self, b, BinaryOp::sub, {al, 0, 0}, [&](const Tensor& old) { return sub(old, b, alpha); });
}
Tensor& mul_(Tensor& self, const Tensor& b) {
  HPML_RECORD_OP("mul_", self, b);
  return binary_inplace("mul_", self, b, BinaryOp::mul, {}, [&](const Tensor& old) { return mul(old, b); });
}
Tensor& div_(Tensor& self, const Tensor& b) {
  HPML_RECORD_OP("div_", self, b);
  ops::check_defined("div_", self, "self");
  HPML_CHECK(self.is_floating_point(), "div_: result type f32 can't be cast to the desired output type ", self.dtype());
  return binary_inplace("div_", self, b, BinaryOp::div, {}, [&](const Tensor& old) { return div(old, b); });
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Scalar& value) {
  HPML_RECORD_OP("masked_fill_", self, mask);
  ops::check_defined("masked_fill_", self, "self");
  return ops::apply_inplace("masked_fill_", self, {}, [&] {
    Tensor r = masked_fill(self, mask, value);
    ops::be(self, "masked_fill_").copy(view_of(self), view_of(r));
  }, [&](const Tensor& old) { return masked_fill(old, mask, value); });
}

Tensor& copy_(Tensor& self, const Tensor& src_in) {
  HPML_RECORD_OP("copy_", self, src_in);
  ops::check_defined("copy_", self, "self");
  ops::check_defined("copy_", src_in, "src");
  // From another device: the values come over first (a differentiable copy), then as below.
  const Tensor src = src_in.device() == self.device() ? src_in : src_in.to(self.device());
  DimVector shape = ops::broadcast_shapes("copy_", self.sizes(), src.sizes());
  HPML_CHECK(IntArrayRef(shape) == self.sizes(), "copy_: source of shape ", src.sizes(),
             " does not broadcast to the destination's shape ", self.sizes());
  ops::check_no_partial_overlap("copy_", self, src);
  return ops::apply_inplace("copy_", self, {&src}, [&] {
    ops::be(self, "copy_").copy(view_of(self), broadcast_view(src, self.sizes()));
  }, [&](const Tensor& old) {
    // The result's values are src's; the old values get a zero gradient.
    return where(zeros_like(old, TensorOptions(kBool)), old, src.to(old.dtype()).expand(old.sizes()));
  });
}

Tensor& fill_(Tensor& self, const Scalar& value) {
  HPML_RECORD_OP("fill_", self);
  ops::check_defined("fill_", self, "self");
  return ops::apply_inplace("fill_", self, {}, [&] { ops::be(self, "fill_").fill(view_of(self), value); },
                            [&](const Tensor& old) { return where(zeros_like(old, TensorOptions(kBool)), old, full_like(old, value)); });
}

Tensor& zero_(Tensor& self) {
  HPML_RECORD_OP("zero_", self);
  return fill_(self, 0);
}

}  // namespace hpml
