// The CUDA table's reductions (reduce.cu) and softmax (softmax.cu): the shapes the kernels are
// launched over, from the views the ops pass (kernels/backend.h says what each slot receives).
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/slots.h"

namespace hpml::kernels::cuda_slots {

namespace {

// The products of the leading (kept) and trailing (reduced) dims of a reduction's input.
struct Split {
  int64_t K = 1, R = 1;
};
Split split(const TensorView& in, int nreduce) {
  Split s;
  for (int64_t d = 0; d < in.dim(); ++d) (d < in.dim() - nreduce ? s.K : s.R) *= in.sizes[static_cast<size_t>(d)];
  return s;
}

// softmax's [outer, D, inner] around `dim`.
struct Layout {
  int64_t outer = 1, D = 1, inner = 1;
};
Layout layout(const TensorView& t, int64_t dim) {
  Layout l;
  for (int64_t d = 0; d < t.dim(); ++d) {
    const int64_t n = t.sizes[static_cast<size_t>(d)];
    if (d < dim) l.outer *= n;
    else if (d == dim) l.D = n;
    else l.inner *= n;
  }
  return l;
}

}  // namespace

void reduce(ReduceOp op, const TensorView& out, const TensorView& in, int nreduce) {
  const Split s = split(in, nreduce);
  if (s.K == 0) return;
  Launch l("reduce", out, {&in});
  hpml::cuda::check(cuda::launch_reduce(static_cast<int>(op), strided(out, "reduce"), elem(out.dtype),
                                        strided(in, "reduce"), elem(in.dtype), nreduce, s.K, s.R, stream_of(l.dev)),
                    "reduce", l.dev);
}

void var(const TensorView& out, const TensorView* mean_out, const TensorView& in, int nreduce, double correction) {
  const Split s = split(in, nreduce);
  if (s.K == 0) return;
  Launch l("var", out, {&in});
  const cuda::Strided mean = mean_out ? strided(*mean_out, "var") : cuda::Strided{};
  hpml::cuda::check(cuda::launch_var(strided(out, "var"), mean_out ? &mean : nullptr, strided(in, "var"),
                                     elem(in.dtype), nreduce, s.K, s.R, correction, stream_of(l.dev)),
                    "var", l.dev);
}

void arg_reduce(bool is_max, const TensorView* values, const TensorView& indices, const TensorView& in) {
  const Split s = split(in, 1);
  if (s.K == 0) return;
  Launch l("arg_reduce", indices, {&in});
  const cuda::Strided v = values ? strided(*values, "arg_reduce") : cuda::Strided{};
  hpml::cuda::check(cuda::launch_arg_reduce(is_max, values ? &v : nullptr, strided(indices, "arg_reduce"),
                                            strided(in, "arg_reduce"), elem(in.dtype), s.K, s.R, stream_of(l.dev)),
                    "arg_reduce", l.dev);
}

void softmax(const TensorView& out, const TensorView& in, int64_t dim, bool log) {
  if (out.numel() == 0) return;
  Launch l("softmax", out, {&in});
  const Layout t = layout(in, dim);
  hpml::cuda::check(cuda::launch_softmax(strided(out, "softmax"), strided(in, "softmax"), elem(in.dtype), t.outer, t.D,
                                         t.inner, log, stream_of(l.dev)),
                    "softmax", l.dev);
}

void softmax_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& y, int64_t dim,
                      bool log) {
  if (grad_in.numel() == 0) return;
  Launch l("softmax_backward", grad_in, {&grad_out, &y});
  const Layout t = layout(y, dim);
  hpml::cuda::check(cuda::launch_softmax_backward(strided(grad_in, "softmax_backward"),
                                                  strided(grad_out, "softmax_backward"), strided(y, "softmax_backward"),
                                                  elem(y.dtype), t.outer, t.D, t.inner, log, stream_of(l.dev)),
                    "softmax_backward", l.dev);
}

}  // namespace hpml::kernels::cuda_slots
