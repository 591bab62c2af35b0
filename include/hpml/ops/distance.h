// Normalizing and comparing vectors along a dim: normalize, cosine_similarity, pairwise_distance
// (PyTorch's F.normalize, torch.cosine_similarity, torch.pairwise_distance), composed from norm.
#pragma once

#include "hpml/core/tensor.h"

namespace hpml {

// x / max(||x||_p, eps), the norm over `dim` (kept, broadcast back).
Tensor normalize(const Tensor& x, double p = 2.0, int64_t dim = 1, double eps = 1e-12);
// sum over dim of (x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)), x1 and x2 broadcast together
// first (dim counts in the broadcast shape). See Note [cosine_similarity's clamp] for the gradient.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim = 1, double eps = 1e-8);
// ||x1 - x2 + eps||_p over the last dim of the broadcast shape.
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p = 2.0, double eps = 1e-6, bool keepdim = false);

}  // namespace hpml
