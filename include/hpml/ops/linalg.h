// Matrix products through OpenBLAS: matmul with PyTorch's 1-d / 2-d / batched broadcasting rules,
// mm, bmm, addmm, outer, dot.
#pragma once

#include "hpml/core/tensor.h"

namespace hpml {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);     // [n, k] @ [k, m]
Tensor bmm(const Tensor& a, const Tensor& b);    // [B, n, k] @ [B, k, m]
// beta * bias + alpha * (a @ b); bias broadcasts to [n, m].
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, const Scalar& beta = 1, const Scalar& alpha = 1);
Tensor outer(const Tensor& a, const Tensor& b);  // [n] x [m] -> [n, m]
Tensor dot(const Tensor& a, const Tensor& b);    // [n] . [n] -> 0-d

// Into a preallocated output (no autograd).
Tensor& mm_out(Tensor& out, const Tensor& a, const Tensor& b);
Tensor& matmul_out(Tensor& out, const Tensor& a, const Tensor& b);

}  // namespace hpml
