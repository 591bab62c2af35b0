// The CUDA table's convolution slots: im2col (conv.cu) and cuBLAS GEMMs, following the cpu's
// Note [Convolution as GEMM]. Images go in chunks whose columns fit kColsBytes of scratch; per
// chunk and group, one strided-batched GEMM over the chunk's images, except the weight gradient,
// which sums over images: one GEMM per image (beta = 1 after the first), the next thing to make
// faster (cuDNN, or per-image partials and a reduction).
// Status: compiled, not yet run on a GPU.
#include <algorithm>

#include "kernels/cuda/slots.h"

namespace hpml::kernels::cuda_slots {

namespace {

constexpr int64_t kColsBytes = int64_t{256} << 20;

cuda::Window window_of(const Window2d& w) {
  return {w.N, w.C, w.H, w.W, w.OC, w.OH, w.OW, w.KH, w.KW, w.SH, w.SW, w.PH, w.PW, w.DH, w.DW, w.groups};
}

// The geometry of one image's GEMMs.
struct Shape {
  int64_t ohw, kk, ckk, cgkk, ocg, isz, chunk;
  explicit Shape(const Window2d& w, DType t)
      : ohw(w.OH * w.OW), kk(w.KH * w.KW), ckk(w.C * w.KH * w.KW), cgkk(w.C / w.groups * w.KH * w.KW),
        ocg(w.OC / w.groups), isz(static_cast<int64_t>(itemsize(t))),
        chunk(std::clamp<int64_t>(kColsBytes / std::max<int64_t>(1, ckk * ohw * isz), 1, std::max<int64_t>(w.N, 1))) {}
};

char* at(const TensorView& v, int64_t elements, int64_t isz) { return v.data + elements * isz; }

}  // namespace

// out [N, OC, OH, OW] = W [OC, C/g KK] @ cols per group, + bias.
void conv2d(const TensorView& out, const TensorView& in, const TensorView& weight, const TensorView* bias,
            const Window2d& w) {
  if (out.numel() == 0) return;
  Launch l("conv2d", out, {&in, &weight});
  const Shape s(w, in.dtype);
  const cudaStream_t st = stream_of(l.dev);
  DeviceScratch cols(l.dev, static_cast<size_t>(s.chunk * s.ckk * s.ohw * s.isz));
  for (int64_t n0 = 0; n0 < w.N; n0 += s.chunk) {
    const int64_t nb = std::min(s.chunk, w.N - n0);
    hpml::cuda::check(cuda::launch_im2col(cols.p, at(in, n0 * w.C * w.H * w.W, s.isz), elem(in.dtype), window_of(w), nb, st),
                      "conv2d", l.dev);
    for (int64_t g = 0; g < w.groups; ++g)
      gemm_strided_batched(l.dev, in.dtype, false, false, s.ocg, s.ohw, s.cgkk, 1.0, at(weight, g * s.ocg * s.cgkk, s.isz),
                           s.cgkk, 0, static_cast<char*>(cols.p) + g * s.cgkk * s.ohw * s.isz, s.ohw, s.ckk * s.ohw, 0.0,
                           at(out, (n0 * w.OC + g * s.ocg) * s.ohw, s.isz), s.ohw, w.OC * s.ohw, nb);
  }
  if (bias)
    hpml::cuda::check(cuda::launch_add_bias(out.data, bias->data, elem(out.dtype), w.N, w.OC, s.ohw, st), "conv2d", l.dev);
}

// cols = W_g^T @ grad_out_g per image, then col2im into grad_in.
void conv2d_backward_input(const TensorView& grad_in, const TensorView& grad_out, const TensorView& weight,
                           const Window2d& w) {
  if (grad_in.numel() == 0) return;
  Launch l("conv2d_backward_input", grad_in, {&grad_out, &weight});
  const Shape s(w, grad_out.dtype);
  const cudaStream_t st = stream_of(l.dev);
  DeviceScratch cols(l.dev, static_cast<size_t>(s.chunk * s.ckk * s.ohw * s.isz));
  for (int64_t n0 = 0; n0 < w.N; n0 += s.chunk) {
    const int64_t nb = std::min(s.chunk, w.N - n0);
    for (int64_t g = 0; g < w.groups; ++g)
      gemm_strided_batched(l.dev, grad_out.dtype, true, false, s.cgkk, s.ohw, s.ocg, 1.0,
                           at(weight, g * s.ocg * s.cgkk, s.isz), s.cgkk, 0,
                           at(grad_out, (n0 * w.OC + g * s.ocg) * s.ohw, s.isz), s.ohw, w.OC * s.ohw, 0.0,
                           static_cast<char*>(cols.p) + g * s.cgkk * s.ohw * s.isz, s.ohw, s.ckk * s.ohw, nb);
    hpml::cuda::check(cuda::launch_col2im(at(grad_in, n0 * w.C * w.H * w.W, s.isz), cols.p, elem(grad_out.dtype),
                                          window_of(w), nb, st),
                      "conv2d_backward_input", l.dev);
  }
}

// grad_W_g += grad_out_g[n] @ cols_g[n]^T over images; grad_bias = the sums of grad_out per channel.
void conv2d_backward_weight(const TensorView& grad_weight, const TensorView* grad_bias, const TensorView& grad_out,
                            const TensorView& in, const Window2d& w) {
  if (grad_weight.numel() == 0 && (!grad_bias || grad_bias->numel() == 0)) return;
  Launch l("conv2d_backward_weight", grad_weight.numel() ? grad_weight : *grad_bias, {&grad_out, &in});
  const Shape s(w, in.dtype);
  const cudaStream_t st = stream_of(l.dev);
  if (w.N == 0 && grad_weight.numel() > 0) {
    hpml::cuda::check(cudaMemsetAsync(grad_weight.data, 0, static_cast<size_t>(grad_weight.numel() * s.isz), st),
                      "conv2d_backward_weight", l.dev);
  }
  DeviceScratch cols(l.dev, static_cast<size_t>(s.chunk * s.ckk * s.ohw * s.isz));
  for (int64_t n0 = 0; grad_weight.numel() > 0 && n0 < w.N; n0 += s.chunk) {
    const int64_t nb = std::min(s.chunk, w.N - n0);
    hpml::cuda::check(cuda::launch_im2col(cols.p, at(in, n0 * w.C * w.H * w.W, s.isz), elem(in.dtype), window_of(w), nb, st),
                      "conv2d_backward_weight", l.dev);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t g = 0; g < w.groups; ++g)
        gemm_strided_batched(l.dev, in.dtype, false, true, s.ocg, s.cgkk, s.ohw, 1.0,
                             at(grad_out, ((n0 + b) * w.OC + g * s.ocg) * s.ohw, s.isz), s.ohw, 0,
                             static_cast<char*>(cols.p) + (b * s.ckk + g * s.cgkk) * s.ohw * s.isz, s.ohw, 0,
                             n0 + b == 0 ? 0.0 : 1.0, at(grad_weight, g * s.ocg * s.cgkk, s.isz), s.cgkk, 0, 1);
  }
  if (grad_bias) {  // [OC, N, OH OW] seen through grad_out's strides, the last two dims reduced
    cuda::Strided v;
    v.data = grad_out.data;
    v.ndim = 3;
    v.sizes[0] = w.OC, v.sizes[1] = w.N, v.sizes[2] = s.ohw;
    v.strides[0] = s.ohw, v.strides[1] = w.OC * s.ohw, v.strides[2] = 1;
    hpml::cuda::check(cuda::launch_reduce(0, strided(*grad_bias, "conv2d_backward_weight"), elem(grad_bias->dtype), v,
                                          elem(grad_out.dtype), 2, w.OC, w.N * s.ohw, st),
                      "conv2d_backward_weight", l.dev);
  }
}

}  // namespace hpml::kernels::cuda_slots
