// Tensor handle: metadata accessors and element access. Op methods live in the ops layer and
// autograd methods in the autograd layer.
#include "hpml/core/tensor.h"

#include "hpml/core/error.h"

namespace hpml {

namespace {
int64_t wrap_dim(int64_t d, int64_t ndim, const char* op) {
  int64_t n = ndim == 0 ? 1 : ndim;
  HPML_CHECK(d >= -n && d < n, op, ": dimension ", d, " out of range for a ", ndim,
             "-d tensor (expected in [", -n, ", ", n - 1, "])");
  return d < 0 ? d + n : d;
}
}  // namespace

void Tensor::throw_undefined(const char* what) {
  HPML_FAIL(what, "() called on an undefined tensor\nhint: a default-constructed Tensor holds no data; "
                  "was it never assigned, or is it a gradient that was not computed?");
}

int64_t Tensor::size(int64_t d) const {
  HPML_CHECK(defined(), "size: tensor is undefined");
  if (dim() == 0) HPML_FAIL("size: dimension ", d, " requested of a 0-d tensor");
  return sizes()[wrap_dim(d, dim(), "size")];
}

int64_t Tensor::stride(int64_t d) const {
  HPML_CHECK(defined(), "stride: tensor is undefined");
  if (dim() == 0) HPML_FAIL("stride: dimension ", d, " requested of a 0-d tensor");
  return strides()[wrap_dim(d, dim(), "stride")];
}

void Tensor::check_dtype_for_access(DType requested, const char* what) const {
  HPML_CHECK(defined(), what, ": tensor is undefined");
  HPML_CHECK(requested == dtype(), what, ": requested ", requested, " data from a tensor of dtype ",
             dtype());
  HPML_CHECK(device().is_cpu(), what, ": tensor is on ", device(), "; hint: copy it to cpu first");
}

}  // namespace hpml
