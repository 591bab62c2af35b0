// Graphs on the simulated device (core/graph.h): captured work runs only at a replay and reads
// the static inputs of that moment; memory of the capture stays the graph's; CUDA's capture rules
// refuse by name; and a whole training step (forward, backward, SGD) replays to the eager numbers.
#include <gtest/gtest.h>

#include <hpml/core/graph.h>
#include <hpml/hpml.h>

#include <cmath>
#include <vector>

#include "../core/test_helpers.h"

namespace hpml {
namespace {

namespace F = nn::functional;
const Device kSim0(DeviceType::Sim, 0);

double max_abs(const Tensor& a, const Tensor& b) { return (a.cpu() - b.cpu()).abs().max().item<double>(); }

TEST(SimGraph, ReplayRunsTheCapturedWorkOnTheInputsOfTheMoment) {
  Tensor x = zeros({64}).to(kSim0);  // the static input
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  Tensor y;
  g.capture(s, [&] { y = x * 2 + 1; });
  EXPECT_TRUE(g.captured());
  EXPECT_GE(g.num_nodes(), 2u);  // the two kernels, and their blocks' preparation
  EXPECT_FALSE(sim::is_current_stream_capturing(0));
  // Nothing ran: y is still the poison a fresh block holds.
  EXPECT_TRUE(std::isnan(y.cpu().sum().item<double>()));
  for (float v : {3.0f, -1.0f, 0.5f}) {
    x.fill_(v);
    g.replay();
    EXPECT_EQ(max_abs(y, full({64}, v * 2 + 1)), 0.0) << v;
  }
}

TEST(SimGraph, AWaitInsideACaptureIsRefusedAndInvalidatesIt) {
  Tensor x = ones({8}).to(kSim0);
  sim::Stream s = sim::Stream::create(0);
  sim::Graph g;
  g.capture_begin(s);
  {
    sim::StreamGuard current(s);
    Tensor y = x + 1;
    EXPECT_TRUE(sim::is_current_stream_capturing(0));
    EXPECT_HPML_ERROR(sim::synchronize(0), "sim::synchronize", "capturing a graph", "invalidated");
    EXPECT_HPML_ERROR(y.sum().item<double>(), "not permitted while sim:0 stream");
    EXPECT_HPML_ERROR(s.query(), "sim::Stream::query");
    sim::Event e;
    EXPECT_HPML_ERROR(e.record(s), "sim::Event::record");
  }
  EXPECT_HPML_ERROR(g.capture_end(), "invalidated by sim::synchronize");
  EXPECT_FALSE(g.captured());
  s.synchronize();  // the stream works again
}

TEST(SimGraph, CaptureRulesRefuseByName) {
  sim::Graph g, other;
  EXPECT_HPML_ERROR(g.replay(), "nothing has been captured");
  EXPECT_HPML_ERROR(g.capture_end(), "not capturing");
  EXPECT_HPML_ERROR(g.capture_begin(sim::default_stream(0)), "cannot capture the default stream of sim:0");
  sim::Stream s = sim::Stream::create(0);
  g.capture_begin(s);
  EXPECT_HPML_ERROR(g.capture_begin(s), "capturing already");
  EXPECT_HPML_ERROR(other.capture_begin(s), "is capturing a graph already", "do not nest");
  EXPECT_HPML_ERROR(g.replay(), "still capturing");
  g.capture_end();
  EXPECT_EQ(g.num_nodes(), 0u);
  EXPECT_HPML_ERROR(g.capture_begin(s), "reset() first");
  g.reset();
  EXPECT_FALSE(g.captured());
  g.capture(s, [] {});
  EXPECT_TRUE(g.captured());
}

TEST(SimGraph, RandomNumbersAndPageableCopiesAreRefusedInside) {
  Tensor x = zeros({16}).to(kSim0);
  sim::Stream s = sim::Stream::create(0);
  sim::Graph g;
  EXPECT_HPML_ERROR(g.capture(s, [&] { (void)rand({16}, TensorOptions().device(kSim0)); }), "uniform",
                    "random numbers inside a graph capture on sim:0");
  EXPECT_FALSE(sim::is_current_stream_capturing(0));  // capture() ended the capture it began
  EXPECT_FALSE(g.captured());
  EXPECT_HPML_ERROR(g.capture(s, [&] { x.copy_(ones({16})); }), "copy (cpu to sim)", "pinned memory");
  s.synchronize();
}

TEST(SimGraph, APinnedCopyIsCapturedAndReadsTheHostAtEachReplay) {
  Tensor host = data::pin_memory(zeros({32}), kSim0);
  if (!data::is_pinned(host)) GTEST_SKIP() << "SKIPPED: the host refused to lock memory (ulimit -l), so no pinned block";
  sim::Stream s = sim::Stream::create(0);
  sim::Graph g;
  Tensor y;
  g.capture(s, [&] { y = host.to(kSim0, /*non_blocking=*/true) * 3; });
  for (float v : {1.0f, 2.0f}) {
    sim::synchronize(0);  // the previous replay is done with `host`
    host.fill_(v);
    g.replay();
    EXPECT_EQ(max_abs(y, full({32}, 3 * v)), 0.0) << v;
  }
}

TEST(SimGraph, MemoryOfTheCaptureIsNotReusedOutsideIt) {
  Tensor x = ones({1000}).to(kSim0);
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  Tensor y;
  const void* temp = nullptr;
  g.capture(s, [&] {
    Tensor t = x + 1;  // freed inside the capture: back to the graph's pool, not s's
    temp = t.data_ptr();
    y = t * 2;
  });
  {
    sim::StreamGuard current(s);
    // Without the private pool this allocation (same stream, same size) would get t's block,
    // which every replay still writes.
    Tensor z = full({1000}, 7.0f, TensorOptions().device(kSim0));
    EXPECT_NE(z.data_ptr(), temp);
    EXPECT_NE(z.data_ptr(), y.data_ptr());
    g.replay();
    EXPECT_EQ(max_abs(z, full({1000}, 7.0f)), 0.0);
    EXPECT_EQ(max_abs(y, full({1000}, 4.0f)), 0.0);
  }
  // Another graph's capture has its own pool.
  sim::Graph h;
  Tensor w;
  h.capture(s, [&] { w = x - 1; });
  EXPECT_NE(w.data_ptr(), temp);
}

TEST(SimGraph, ATrainingStepReplaysToTheEagerNumbers) {
  manual_seed(3);
  nn::Sequential eager(nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 3));
  manual_seed(3);
  nn::Sequential graphed(nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 3));
  eager.to(kSim0);
  graphed.to(kSim0);
  optim::SGD eager_opt(eager.parameters(), {.lr = 0.05, .momentum = 0.9});
  optim::SGD graphed_opt(graphed.parameters(), {.lr = 0.05, .momentum = 0.9});
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 5; ++i) {
    xs.push_back(randn({10, 6}).to(kSim0));
    ys.push_back(randn({10, 3}).to(kSim0));
  }
  // A warm-up step first, as PyTorch asks too: SGD makes its momentum buffers at the first step
  // (a clone), which a capture would replay as a clone at every step.
  for (auto* m : {&eager, &graphed}) {
    optim::SGD& opt = m == &eager ? eager_opt : graphed_opt;
    opt.zero_grad();
    F::mse_loss(m->forward(xs[0]), ys[0]).backward();
    opt.step();
  }
  // The graph's static input and target, and its loss as an output.
  Tensor x = zeros({10, 6}).to(kSim0), y = zeros({10, 3}).to(kSim0), loss;
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  g.capture(s, [&] {
    graphed_opt.zero_grad();
    loss = F::mse_loss(graphed.forward(x), y);
    loss.backward();
    graphed_opt.step();
  });
  for (size_t i = 1; i < xs.size(); ++i) {
    eager_opt.zero_grad();
    Tensor l = F::mse_loss(eager.forward(xs[i]), ys[i]);
    l.backward();
    eager_opt.step();
    x.copy_(xs[i]);
    y.copy_(ys[i]);
    g.replay();
    EXPECT_EQ(max_abs(loss, l), 0.0) << "step " << i;
    const auto pe = eager.parameters(), pg = graphed.parameters();
    for (size_t k = 0; k < pe.size(); ++k) EXPECT_EQ(max_abs(pg[k], pe[k]), 0.0) << "step " << i << " parameter " << k;
  }
}

}  // namespace
}  // namespace hpml
