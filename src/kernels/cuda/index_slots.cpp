// The CUDA table's indexing slots (index.cu): index_select, gather, scatter, index_add and
// masked_select, whose scan scratch comes from the device's stream-ordered allocator and goes
// back as soon as the kernels are queued (Note [Stream-ordered caching allocator]: the next
// owner of the block queues its work behind them on the same stream).
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/slots.h"

namespace hpml::kernels::cuda_slots {

namespace {

int64_t stride0(const TensorView& v) { return v.strides.empty() ? 1 : v.strides[0]; }

}  // namespace

void index_select(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index) {
  if (out.numel() == 0) return;
  Launch l("index_select", out, {&in, &index}, /*takes_2byte=*/true);
  hpml::cuda::check(cuda::launch_index_select(strided(out, "index_select"), strided(in, "index_select"),
                                              static_cast<int>(dim), index.ptr<int64_t>(), stride0(index),
                                              elem(out.dtype), out.numel(), stream_of(l.dev)),
                    "index_select", l.dev);
}

void gather(const TensorView& out, const TensorView& in, int64_t dim, const TensorView& index) {
  if (out.numel() == 0) return;
  Launch l("gather", out, {&in, &index}, /*takes_2byte=*/true);
  hpml::cuda::check(cuda::launch_gather(strided(out, "gather"), strided(in, "gather"), strided(index, "gather"),
                                        static_cast<int>(dim), elem(out.dtype), out.numel(), stream_of(l.dev)),
                    "gather", l.dev);
}

void scatter(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, bool add) {
  if (index.numel() == 0) return;
  Launch l("scatter", out, {&index, &src});
  hpml::cuda::check(cuda::launch_scatter(strided(out, "scatter"), strided(index, "scatter"), strided(src, "scatter"),
                                         static_cast<int>(dim), add, elem(out.dtype), index.numel(), stream_of(l.dev)),
                    "scatter", l.dev);
}

void index_add(const TensorView& out, int64_t dim, const TensorView& index, const TensorView& src, double alpha) {
  if (src.numel() == 0) return;
  Launch l("index_add", out, {&index, &src});
  hpml::cuda::check(cuda::launch_index_add(strided(out, "index_add"), strided(src, "index_add"), static_cast<int>(dim),
                                           index.ptr<int64_t>(), stride0(index), alpha, elem(out.dtype), src.numel(),
                                           stream_of(l.dev)),
                    "index_add", l.dev);
}

void masked_select(const TensorView& out, const TensorView& in, const TensorView& mask) {
  const int64_t n = in.numel();
  if (n == 0 || out.numel() == 0) return;
  Launch l("masked_select", out, {&in, &mask}, /*takes_2byte=*/true);
  const size_t words = static_cast<size_t>(n) * sizeof(int64_t), cub_bytes = cuda::masked_select_scratch_bytes(n);
  DeviceScratch flags(l.dev, words), positions(l.dev, words), cub(l.dev, cub_bytes == 0 ? 1 : cub_bytes);
  hpml::cuda::check(cuda::launch_masked_select(strided(out, "masked_select"), strided(in, "masked_select"),
                                               strided(mask, "masked_select"), elem(in.dtype), n,
                                               static_cast<int64_t*>(flags.p), static_cast<int64_t*>(positions.p),
                                               cub.p, cub_bytes, stream_of(l.dev)),
                    "masked_select", l.dev);
}

}  // namespace hpml::kernels::cuda_slots
