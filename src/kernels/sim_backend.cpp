// The simulated device's kernel table: every slot is the CPU kernel, launched asynchronously on
// the current stream of the device its tensors are on (Note [The simulated device] in
// core/sim_runtime.cpp). A launch checks that every tensor it is given is memory of one sim
// device, then queues the kernel with copies of its arguments; the kernel runs later, on the
// stream's worker thread.
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/graph_random.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/graph.h"
#include "hpml/core/sim.h"
#include "hpml/core/tensor_impl.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"

namespace hpml::kernels {

namespace {

// The device of a launch: that of every non-empty tensor argument, which must agree.
struct LaunchDevice {
  const char* op;
  int device = -1;

  void see(const void* p, size_t nbytes) {
    const int d = sim::detail::device_of(p, nbytes, op);
    HPML_CHECK(device < 0 || device == d, op, ": a sim kernel was given tensors on sim:", device, " and sim:", d);
    device = d;
  }
  void see(const TensorView& v) {
    if (v.numel() == 0 || !v.data) return;
    int64_t lo = 0, hi = 0;  // element offsets of the view's first and last element
    for (int64_t d = 0; d < v.dim(); ++d) {
      const int64_t span = (v.sizes[d] - 1) * v.strides[d];
      (span < 0 ? lo : hi) += span;
    }
    const auto isz = static_cast<int64_t>(itemsize(v.dtype));
    see(v.data + lo * isz, static_cast<size_t>((hi - lo + 1) * isz));
  }
  void see(const TensorView* v) {
    if (v) see(*v);
  }
  template <typename T>
  void see(const T&) {}
};

// How a launch keeps an argument until its kernel runs: by value, and a TensorView* as an
// optional copy of the view it points at.
template <typename T>
struct Held {
  static_assert(!std::is_same_v<std::decay_t<T>, Generator>, "random fills reserve their counters at the launch");
  using type = std::decay_t<T>;
  static type hold(T v) { return v; }
  static T pass(type& h) { return h; }
};
template <>
struct Held<const TensorView*> {
  using type = std::optional<TensorView>;
  static type hold(const TensorView* p) { return p ? type(*p) : std::nullopt; }
  static const TensorView* pass(type& h) { return h ? &*h : nullptr; }
};

// The sim version of CPU kernel Fn: checks the tensors' device and queues Fn on its stream.
template <auto Fn, const char* Name>
struct Async;
template <typename... Args, void (*Fn)(Args...), const char* Name>
struct Async<Fn, Name> {
  static void launch(Args... args) {
    LaunchDevice where{Name};
    (where.see(args), ...);
    if (where.device < 0) return;  // every tensor is empty: nothing to do
    std::tuple<typename Held<Args>::type...> held(Held<Args>::hold(args)...);
    sim::detail::launch(where.device, Name, [held = std::move(held)]() mutable {
      std::apply([](auto&... h) { Fn(Held<Args>::pass(h)...); }, held);
    });
  }
};

// gemm takes raw row-major matrices: their extents come from the shapes and leading dims.
size_t matrix_bytes(DType dtype, bool trans, int64_t rows, int64_t cols, int64_t ld) {
  if (trans) std::swap(rows, cols);
  if (rows <= 0 || cols <= 0) return 0;
  return static_cast<size_t>(((rows - 1) * ld + cols) * static_cast<int64_t>(itemsize(dtype)));
}
void gemm(DType dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
          const void* b, int64_t ldb, double beta, void* c, int64_t ldc) {
  LaunchDevice where{"gemm"};
  const size_t abytes = matrix_bytes(dtype, ta, m, k, lda), bbytes = matrix_bytes(dtype, tb, k, n, ldb);
  const size_t cbytes = matrix_bytes(dtype, false, m, n, ldc);
  if (cbytes == 0) return;
  if (abytes) where.see(a, abytes);
  if (bbytes) where.see(b, bbytes);
  where.see(c, cbytes);
  sim::detail::launch(where.device, "gemm", [=] { cpu::gemm(dtype, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); });
}

// Random fills reserve their counters now, in launch order, so the numbers are the cpu's. Inside
// a graph capture they take counters of the graph's draw instead, which each replay makes anew
// from the default generator (Note [Random numbers in a graph], core/sim_graph.cpp).
template <typename F>
void launch_random(const char* op, RandomKind kind, const TensorView& out, Generator& gen, F fill) {
  LaunchDevice where{op};
  where.see(out);
  if (where.device < 0) return;
  const auto n = static_cast<uint64_t>(random_counters(kind, out.dtype, out.numel()));
  if (sim::is_current_stream_capturing(where.device)) {
    HPML_CHECK(&gen == &default_generator(), op, ": inside a graph capture on sim:", where.device, " random numbers "
               "come from the default generator, which each replay draws from; this fill names another\nhint: leave "
               "out the generator, or draw outside the capture into a static tensor the graph reads");
    const hpml::detail::CapturedDraw draw = *hpml::detail::sim_captured_draw(where.device, n);
    sim::detail::launch(where.device, op, [out, draw, fill]() mutable {
      Generator at_replay(draw.cell->seed);
      at_replay.reserve(draw.cell->base + draw.rel);
      fill(out, at_replay);
    });
    return;
  }
  Generator at_launch = gen;  // the kernel reserves from here, on its own copy
  gen.reserve(n);
  sim::detail::launch(where.device, op, [out, at_launch, fill]() mutable { fill(out, at_launch); });
}
void uniform(const TensorView& out, Generator& gen, double lo, double hi) {
  launch_random("uniform", RandomKind::uniform, out, gen,
                [lo, hi](const TensorView& o, Generator& g) { cpu::uniform(o, g, lo, hi); });
}
void normal(const TensorView& out, Generator& gen, double mean, double std) {
  launch_random("normal", RandomKind::normal, out, gen,
                [mean, std](const TensorView& o, Generator& g) { cpu::normal(o, g, mean, std); });
}
void randint(const TensorView& out, Generator& gen, int64_t lo, int64_t hi) {
  launch_random("randint", RandomKind::randint, out, gen,
                [lo, hi](const TensorView& o, Generator& g) { cpu::randint(o, g, lo, hi); });
}

// Note [Copies to and from the simulated device]
// cpu -> sim reads the host bytes at the launch (a staging copy, as CUDA does for pageable
// memory), so the host may reuse its tensor at once; a non_blocking copy from pinned memory reads
// them when the stream gets there, as a GPU's DMA does, so the host must not write that tensor
// before the copy is done (record an event, or synchronize). sim -> cpu is queued on the source's stream;
// a blocking copy then waits for that stream, a non_blocking one returns and the bytes arrive
// when the stream gets there (read them after a synchronize). sim -> sim waits, on the
// destination's stream, for the work queued on the source's. The tasks hold both tensors, so
// their memory lives until the copy is done.
void copy_between(const Tensor& dst, const Tensor& src, bool non_blocking) {
  const size_t n = static_cast<size_t>(src.numel()) * src.element_size();
  if (n == 0) return;
  if (src.device().is_cpu() && non_blocking && is_pinned_memory(src.impl()->storage()->data())) {
    sim::detail::launch(dst.device().index(), "copy (pinned cpu to sim)",
                        [dst, src, n] { std::memcpy(dst.data_ptr(), src.data_ptr(), n); });
    return;
  }
  if (src.device().is_cpu()) {
    HPML_CHECK(!sim::is_current_stream_capturing(dst.device().index()), "copy (cpu to sim): a graph capture on ",
               dst.device(), " would replay the host bytes of now at every replay (Note [Graphs on the simulated "
               "device])\nhint: copy into a static sim tensor before replay(), or capture a non_blocking copy from "
               "pinned memory, which reads the host at each replay");
    auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(src.data_ptr()),
                                                      static_cast<const char*>(src.data_ptr()) + n);
    sim::detail::launch(dst.device().index(), "copy (cpu to sim)",
                        [dst, staged, n] { std::memcpy(dst.data_ptr(), staged->data(), n); });
    return;
  }
  const int from = src.device().index();
  if (dst.device().is_cpu()) {
    sim::detail::launch(from, "copy (sim to cpu)", [dst, src, n] { std::memcpy(dst.data_ptr(), src.data_ptr(), n); });
    if (!non_blocking) sim::current_stream(from).synchronize();
    return;
  }
  const int to = dst.device().index();
  if (from != to) sim::current_stream(to).wait_stream(sim::current_stream(from));
  sim::detail::launch(to, "copy (sim to sim)", [dst, src, n] { std::memcpy(dst.data_ptr(), src.data_ptr(), n); });
}

#define SIM(slot) Async<cpu::slot, slot_names::slot>::launch

constexpr Backend kSim{
    .name = "sim",
    .copy = SIM(copy),
    .copy_between = copy_between,
    .fill = SIM(fill),
    .unary = SIM(unary),
    .binary = SIM(binary),
    .where = SIM(where),
    .reduce = SIM(reduce),
    .var = SIM(var),
    .arg_reduce = SIM(arg_reduce),
    .softmax = SIM(softmax),
    .softmax_backward = SIM(softmax_backward),
    .gemm = gemm,
    .bmm = SIM(bmm),
    .attention = SIM(attention),
    .attention_backward = SIM(attention_backward),
    .index_select = SIM(index_select),
    .gather = SIM(gather),
    .scatter = SIM(scatter),
    .index_add = SIM(index_add),
    .masked_select = SIM(masked_select),
    .tri = SIM(tri),
    .arange = SIM(arange),
    .uniform = uniform,
    .normal = normal,
    .randint = randint,
    .conv2d = SIM(conv2d),
    .conv2d_backward_input = SIM(conv2d_backward_input),
    .conv2d_backward_weight = SIM(conv2d_backward_weight),
    .max_pool2d = SIM(max_pool2d),
    .max_pool2d_backward = SIM(max_pool2d_backward),
    .avg_pool2d = SIM(avg_pool2d),
    .avg_pool2d_backward = SIM(avg_pool2d_backward),
    .adaptive_avg_pool2d = SIM(adaptive_avg_pool2d),
    .adaptive_avg_pool2d_backward = SIM(adaptive_avg_pool2d_backward),
    .batch_norm_stats = SIM(batch_norm_stats),
    .batch_norm_backward_stats = SIM(batch_norm_backward_stats),
    .channel_affine = SIM(channel_affine),
    .channel_affine2 = SIM(channel_affine2),
    .optim_step = SIM(optim_step),
    .nll_loss = SIM(nll_loss),
    .check_range = SIM(check_range),
};
#undef SIM
}  // namespace

const Backend& sim_backend() { return kSim; }

}  // namespace hpml::kernels
