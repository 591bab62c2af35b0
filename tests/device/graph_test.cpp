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

TEST(SimGraph, AnotherGeneratorAndPageableCopiesAreRefusedInside) {
  Tensor x = zeros({16}).to(kSim0);
  sim::Stream s = sim::Stream::create(0);
  sim::Graph g;
  Generator own(5);
  EXPECT_HPML_ERROR(g.capture(s, [&] { (void)rand({16}, &own, TensorOptions().device(kSim0)); }), "uniform",
                    "inside a graph capture on sim:0", "default generator");
  EXPECT_FALSE(sim::is_current_stream_capturing(0));  // capture() ended the capture it began
  EXPECT_FALSE(g.captured());
  EXPECT_HPML_ERROR(g.capture(s, [&] { x.copy_(ones({16})); }), "copy (cpu to sim)", "pinned memory");
  s.synchronize();
}

// Note [Random numbers in a graph]: each replay draws what the eager code would have drawn there.
TEST(SimGraph, RandomFillsDrawAnewAtEachReplayAsTheEagerCodeWould) {
  const TensorOptions on_sim = TensorOptions().device(kSim0);
  manual_seed(5);
  std::vector<Tensor> eager;
  for (int i = 0; i < 3; ++i) eager.push_back(rand({16}, on_sim) + randn({16}, on_sim) * 0.5);
  const uint64_t eager_offset = default_generator().offset();
  manual_seed(5);
  sim::Stream s = sim::Stream::create(0);
  sim::Graph g;
  Tensor y;
  g.capture(s, [&] { y = rand({16}, on_sim) + randn({16}, on_sim) * 0.5; });
  EXPECT_EQ(default_generator().offset(), 0u);  // the capture draws nothing
  for (int i = 0; i < 3; ++i) {
    g.replay();
    EXPECT_EQ(max_abs(y, eager[static_cast<size_t>(i)]), 0.0) << "replay " << i;
  }
  EXPECT_EQ(default_generator().offset(), eager_offset);
  // A new seed between replays is the seed of the next one.
  manual_seed(5);
  g.replay();
  EXPECT_EQ(max_abs(y, eager[0]), 0.0);
}

// Inside a capture an index's bounds are checked at each replay, where the index then is
// (kernels' check_range); a bad one fails that replay by name, and the nodes after the check do
// not run. cross_entropy's bad target makes its loss NaN (Note [Fused nll_loss in a graph]).
TEST(SimGraph, AnIndexOutOfBoundsFailsTheReplayThatMeetsIt) {
  const Tensor w = arange(0, 12, 1, TensorOptions(kFloat32)).reshape({4, 3}).to(kSim0);
  Tensor idx = zeros({2}, kInt64).to(kSim0);
  Tensor target = zeros({2}, kInt64).to(kSim0);
  const Tensor logits = zeros({2, 3}).to(kSim0);
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  Tensor rows, loss;
  g.capture(s, [&] {
    rows = index_select(w, 0, idx);
    loss = F::cross_entropy(logits, target);
  });
  idx.copy_(tensor({3, 1}, kInt64));
  g.replay();
  EXPECT_EQ(max_abs(rows, tensor({9.0, 10.0, 11.0, 3.0, 4.0, 5.0}).reshape({2, 3})), 0.0);
  EXPECT_NEAR(loss.item<double>(), std::log(3.0), 1e-6);
  idx.copy_(tensor({3, 4}, kInt64));
  g.replay();
  EXPECT_HPML_ERROR(sim::synchronize(0), "index_select: index 4 is out of bounds for dimension 0 with size 4");
  idx.copy_(tensor({0, 0}, kInt64));
  target.copy_(tensor({1, 3}, kInt64));
  g.replay();
  EXPECT_TRUE(std::isnan(loss.item<double>()));
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

// A destroyed graph's pool goes back to the device: at once where it is free, and a segment that
// a tensor of the capture still holds when that tensor goes.
TEST(SimGraph, ADestroyedGraphGivesItsPoolBack) {
  const Tensor x = ones({1000}).to(kSim0);
  sim::synchronize(0);
  empty_cache(kSim0);
  const size_t before = memory_stats(kSim0).reserved_bytes();
  Tensor kept;
  size_t with_graph = 0;
  {
    sim::Stream s = sim::Stream::create(0);
    s.wait_stream(sim::default_stream(0));
    sim::Graph g;
    g.capture(s, [&] {
      const Tensor t = x * 2;  // freed inside the capture: the pool keeps its block
      kept = t + 1;
    });
    g.replay();
    with_graph = memory_stats(kSim0).reserved_bytes();
    EXPECT_GT(with_graph, before);  // the graph's segment
  }
  sim::synchronize(0);
  EXPECT_EQ(memory_stats(kSim0).reserved_bytes(), with_graph);  // `kept` still holds a block of it
  EXPECT_EQ(max_abs(kept, full({1000}, 3.0)), 0.0);
  kept = Tensor();
  sim::synchronize(0);
  EXPECT_EQ(memory_stats(kSim0).reserved_bytes(), before);
}

// empty_cache leaves a live graph's pool alone (its replays still write the free blocks there),
// and the last block of a destroyed graph's pool may die inside another graph's capture.
TEST(SimGraph, GraphPoolsSurviveEmptyCacheAndFreesInsideOtherCaptures) {
  const Tensor x = ones({3 << 20}).to(kSim0);  // 12 MiB: a segment of its own per block
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  Tensor y;
  g.capture(s, [&] {
    const Tensor t = x * 2;  // freed inside the capture, written at every replay
    y = t + 1;
  });
  sim::synchronize(0);
  empty_cache(kSim0);
  const size_t segment = size_t{12} << 20;
  EXPECT_GE(memory_stats(kSim0).reserved_bytes(), 3 * segment);  // x, y, and t's segment, the graph's
  g.replay();
  EXPECT_EQ(max_abs(y, full({3 << 20}, 3.0)), 0.0);
  Tensor kept;
  {
    sim::Graph a;
    a.capture(s, [&] { kept = x * 5; });
  }  // a is gone; kept holds the last block of its pool
  sim::Graph b;
  Tensor z;
  b.capture(s, [&] {
    z = x + 1;
    kept = Tensor();  // that block dies inside b's capture: its segment goes back, uncaptured
  });
  b.replay();  // right after the capture: it waits for the poisoning of z's block on s
  sim::synchronize(0);
  EXPECT_EQ(max_abs(z, full({3 << 20}, 2.0)), 0.0);
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

// Note [Capturable Adam]: the step count lives on the device, so each replay advances the bias
// correction as the eager steps do; the replays equal eager capturable AdamW bit for bit.
TEST(SimGraph, ACapturableAdamStepReplaysToTheEagerNumbers) {
  auto make = [] {
    manual_seed(4);
    auto net = std::make_shared<nn::Sequential>(nn::Linear(5, 8), nn::Tanh(), nn::Linear(8, 2));
    net->to(kSim0);
    return net;
  };
  auto eager = make(), graphed = make();
  const optim::AdamWOptions o{.lr = 0.01, .amsgrad = true, .capturable = true};
  optim::AdamW eager_opt(eager->parameters(), o), graphed_opt(graphed->parameters(), o);
  auto step = [](nn::Module& m, optim::AdamW& opt, const Tensor& x, const Tensor& y) {
    Tensor loss = F::mse_loss(m.forward(x), y);
    loss.backward();
    opt.step();
    opt.zero_grad();
    return loss.detach();
  };
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 6; ++i) {
    xs.push_back(randn({7, 5}).to(kSim0));
    ys.push_back(randn({7, 2}).to(kSim0));
  }
  step(*eager, eager_opt, xs[0], ys[0]);  // the warm-up: Adam's buffers
  step(*graphed, graphed_opt, xs[0], ys[0]);
  Tensor x = zeros({7, 5}).to(kSim0), y = zeros({7, 2}).to(kSim0), loss;
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  g.capture(s, [&] { loss = step(*graphed, graphed_opt, x, y); });
  for (size_t i = 1; i < xs.size(); ++i) {
    const Tensor want = step(*eager, eager_opt, xs[i], ys[i]);
    x.copy_(xs[i]);
    y.copy_(ys[i]);
    g.replay();
    EXPECT_EQ(max_abs(loss, want), 0.0) << "step " << i;
  }
  const auto pe = eager->parameters(), pg = graphed->parameters();
  for (size_t k = 0; k < pe.size(); ++k) EXPECT_EQ(max_abs(pg[k], pe[k]), 0.0) << "parameter " << k;
  int counts = 0;
  for (const auto& [name, t] : graphed_opt.state_dict())
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".step") == 0) {
      EXPECT_EQ(t.to(kFloat64).cpu().item<double>(), 6.0) << name;  // 1 eager step + 5 replays
      ++counts;
    }
  EXPECT_EQ(counts, 4);  // one per parameter
}

// The step `hpml train --cuda-graph` captures (tools/hpml/graph_step.cpp), on a CNN: convolution,
// batch norm (its running statistics and count update in place), pooling, cross-entropy,
// gradient clipping (kept on the device) and the count of right labels, all inside the capture.
TEST(SimGraph, ACnnStepWithBatchNormAndClippingReplaysToTheEagerNumbers) {
  auto make = [] {
    manual_seed(11);
    auto net = std::make_shared<nn::Sequential>(nn::Conv2d(1, 4, 3, nn::ConvOptions{.padding = 1}), nn::BatchNorm2d(4),
                                                nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(4 * 4 * 4, 3));
    net->to(kSim0);
    return net;
  };
  auto eager = make(), graphed = make();
  optim::SGD eager_opt(eager->parameters(), {.lr = 0.1, .momentum = 0.9});
  optim::SGD graphed_opt(graphed->parameters(), {.lr = 0.1, .momentum = 0.9});
  auto step = [](nn::Module& m, optim::SGD& opt, const Tensor& x, const Tensor& y) {
    Tensor out = m.forward(x);
    Tensor loss = F::cross_entropy(out, y);
    Tensor right = eq(out.argmax(-1), y).sum();
    loss.backward();
    nn::utils::clip_grad_norm_(m.parameters(), 0.5);
    opt.step();
    opt.zero_grad();
    return stack({loss.detach().to(kFloat64), right.to(kFloat64)});
  };
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 5; ++i) {
    xs.push_back(randn({8, 1, 8, 8}).to(kSim0));
    ys.push_back(randint(0, 3, {8}).to(kSim0));
  }
  step(*eager, eager_opt, xs[0], ys[0]);  // the warm-up step, eagerly on both
  step(*graphed, graphed_opt, xs[0], ys[0]);
  Tensor x = zeros({8, 1, 8, 8}).to(kSim0), y = zeros({8}, kInt64).to(kSim0), stats;
  sim::Stream s = sim::Stream::create(0);
  s.wait_stream(sim::default_stream(0));
  sim::Graph g;
  g.capture(s, [&] { stats = step(*graphed, graphed_opt, x, y); });
  for (size_t i = 1; i < xs.size(); ++i) {
    const Tensor want = step(*eager, eager_opt, xs[i], ys[i]);
    x.copy_(xs[i]);
    y.copy_(ys[i]);
    g.replay();
    EXPECT_EQ(max_abs(stats, want), 0.0) << "step " << i;
  }
  const auto se = eager->state_dict(), sg = graphed->state_dict();  // parameters and buffers
  ASSERT_EQ(se.size(), sg.size());
  for (size_t k = 0; k < se.size(); ++k)
    EXPECT_EQ(max_abs(sg[k].second.to(kFloat64), se[k].second.to(kFloat64)), 0.0) << se[k].first;
}

}  // namespace
}  // namespace hpml
