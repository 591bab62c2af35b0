// The CUDA table's pointwise slots: unary, binary, where (pointwise.cu), arange and tri
// (elementwise.cu), and the random fills (random.cu). Each checks where its tensors are, picks
// the stream, and launches.
// Status: compiled, not yet run on a GPU.
#include "kernels/cuda/slots.h"

#include "core/graph_random.h"
#include "hpml/core/graph.h"

namespace hpml::kernels::cuda_slots {

// The kernels' op codes (element_ops.h) are backend.h's enums, value for value.
#define HPML_SAME_OP(E, C, name) static_assert(static_cast<int>(E::name) == static_cast<int>(C::name), #name)
HPML_SAME_OP(UnaryOp, cuda::UOp, kCount);
HPML_SAME_OP(UnaryOp, cuda::UOp, relu);
HPML_SAME_OP(UnaryOp, cuda::UOp, logical_not);
HPML_SAME_OP(UnaryOp, cuda::UOp, erf);
HPML_SAME_OP(UnaryOp, cuda::UOp, trunc);
HPML_SAME_OP(BinaryOp, cuda::BOp, kCount);
HPML_SAME_OP(BinaryOp, cuda::BOp, eq);
HPML_SAME_OP(BinaryOp, cuda::BOp, logical_or);
HPML_SAME_OP(BinaryOp, cuda::BOp, tanh_backward);
HPML_SAME_OP(BinaryOp, cuda::BOp, atan2);
HPML_SAME_OP(BinaryOp, cuda::BOp, remainder);
#undef HPML_SAME_OP

void unary(UnaryOp op, const TensorView& out, const TensorView& in, const UnaryParams& p) {
  if (out.numel() == 0) return;
  Launch l("unary", out, {&in});
  hpml::cuda::check(cuda::launch_unary(static_cast<cuda::UOp>(op), strided(out, "unary"), strided(in, "unary"),
                                       elem(in.dtype), p.a, p.b, out.numel(), stream_of(l.dev)),
                    "unary", l.dev);
}

void binary(BinaryOp op, const TensorView& out, const TensorView& a, const TensorView& b, const BinaryParams& p) {
  if (out.numel() == 0) return;
  Launch l("binary", out, {&a, &b});
  hpml::cuda::check(cuda::launch_binary(static_cast<cuda::BOp>(op), strided(out, "binary"), strided(a, "binary"),
                                        strided(b, "binary"), elem(a.dtype), p.alpha, p.a, p.b, out.numel(),
                                        stream_of(l.dev)),
                    "binary", l.dev);
}

void where(const TensorView& out, const TensorView& cond, const TensorView& a, const TensorView& b) {
  if (out.numel() == 0) return;
  Launch l("where", out, {&cond, &a, &b}, /*takes_2byte=*/true);
  hpml::cuda::check(cuda::launch_where(strided(out, "where"), strided(cond, "where"), strided(a, "where"),
                                       strided(b, "where"), elem(out.dtype), out.numel(), stream_of(l.dev)),
                    "where", l.dev);
}

void arange(const TensorView& out, double start, double step) {
  if (out.numel() == 0) return;
  Launch l("arange", out, {}, /*takes_2byte=*/true);
  hpml::cuda::check(cuda::launch_arange(strided(out, "arange"), elem(out.dtype), start, step, out.numel(),
                                        stream_of(l.dev)),
                    "arange", l.dev);
}

void tri(const TensorView& out, const TensorView& in, int64_t diagonal, bool lower) {
  if (out.numel() == 0) return;
  Launch l("tri", out, {&in}, /*takes_2byte=*/true);
  const int64_t nd = out.dim();
  hpml::cuda::check(cuda::launch_tri(strided(out, "tri"), strided(in, "tri"), elem(out.dtype), out.sizes[nd - 2],
                                     out.sizes[nd - 1], diagonal, lower, out.numel(), stream_of(l.dev)),
                    "tri", l.dev);
}

// Random fills: the counters are reserved here, on the host, at the launch (as on every device),
// so the generator's state after the call is the cpu's. Inside a graph capture they are counters
// of the graph's draw instead, which each replay makes anew from the default generator (Note
// [Random numbers in a graph], core/sim_graph.cpp; core/cuda/graph.cpp sets the draw).
static cuda::PhiloxDraw draw_for(const char* op, Generator& gen, RandomKind kind, const TensorView& out, int dev) {
  const auto n = static_cast<uint64_t>(random_counters(kind, out.dtype, out.numel()));
  if (const auto captured = hpml::detail::cuda_captured_draw(dev, n)) {
    HPML_CHECK(&gen == &default_generator(), op, ": inside a graph capture on cuda:", dev, " random numbers come "
               "from the default generator, which each replay draws from; this fill names another\nhint: leave out "
               "the generator, or draw outside the capture into a static tensor the graph reads");
    return {.seed = 0, .base = captured->rel, .replay = captured->cell};
  }
  return {.seed = gen.initial_seed(), .base = gen.reserve(n), .replay = nullptr};
}

void uniform(const TensorView& out, Generator& gen, double lo, double hi) {
  if (out.numel() == 0) return;
  Launch l("uniform", out, {});
  const cuda::PhiloxDraw d = draw_for("uniform", gen, RandomKind::uniform, out, l.dev);
  hpml::cuda::check(cuda::launch_uniform(strided(out, "uniform"), elem(out.dtype), d, lo, hi, out.numel(),
                                         stream_of(l.dev)),
                    "uniform", l.dev);
}

void normal(const TensorView& out, Generator& gen, double mean, double std) {
  if (out.numel() == 0) return;
  Launch l("normal", out, {});
  const cuda::PhiloxDraw d = draw_for("normal", gen, RandomKind::normal, out, l.dev);
  hpml::cuda::check(cuda::launch_normal(strided(out, "normal"), elem(out.dtype), d, mean, std, out.numel(),
                                        stream_of(l.dev)),
                    "normal", l.dev);
}

void randint(const TensorView& out, Generator& gen, int64_t lo, int64_t hi) {
  if (out.numel() == 0) return;
  Launch l("randint", out, {});
  const cuda::PhiloxDraw d = draw_for("randint", gen, RandomKind::randint, out, l.dev);
  hpml::cuda::check(cuda::launch_randint(strided(out, "randint"), elem(out.dtype), d, lo, hi, out.numel(),
                                         stream_of(l.dev)),
                    "randint", l.dev);
}

}  // namespace hpml::kernels::cuda_slots
