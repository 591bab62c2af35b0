// Matrix products through OpenBLAS: matmul with PyTorch's 1-d / 2-d / batched broadcasting rules,
// mm, bmm, addmm, baddbmm, outer, dot, einsum.
#pragma once

#include <string_view>

#include "hpml/core/tensor.h"

namespace hpml {

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);     // [n, k] @ [k, m]
Tensor bmm(const Tensor& a, const Tensor& b);    // [B, n, k] @ [B, k, m]
// beta * bias + alpha * (a @ b); bias broadcasts to [n, m].
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, const Scalar& beta = 1, const Scalar& alpha = 1);
// beta * input + alpha * (batch1 @ batch2); input broadcasts to [B, n, m]; beta = 0 ignores it.
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, const Scalar& beta = 1,
               const Scalar& alpha = 1);
// Einstein summation: "ij,jk->ik" (explicit output), "ij,jk" (implicit: the subscripts seen once,
// sorted), "...ij->...ji" (an ellipsis per operand, broadcasting), "ii->i" / "ii" (a repeated
// subscript takes the diagonal). Composed from permute, reshape, sum and bmm.
Tensor einsum(std::string_view equation, const TensorList& tensors);
Tensor outer(const Tensor& a, const Tensor& b);  // [n] x [m] -> [n, m]
Tensor dot(const Tensor& a, const Tensor& b);    // [n] . [n] -> 0-d

// Into a preallocated output (no autograd).
Tensor& mm_out(Tensor& out, const Tensor& a, const Tensor& b);
Tensor& matmul_out(Tensor& out, const Tensor& a, const Tensor& b);

}  // namespace hpml
