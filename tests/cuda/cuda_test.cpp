// The CUDA device (ctest label `cuda`). The availability tests run in every build and say why no
// GPU is usable; the GPU tests need one and, without it, each prints one loud SKIPPED line (ctest
// lists them as skipped). In this project the GPU tests are compiled in every CUDA build and run
// only on a GPU machine (scripts/gpu-check, when it exists); a CUDA build here has no driver.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "core/test_helpers.h"
#include "hpml/hpml.h"

namespace hpml {
namespace {

#define HPML_REQUIRE_GPU()                                                                                \
  if (!cuda::is_available()) GTEST_SKIP() << "SKIPPED: no usable GPU here: " << cuda::unavailable_reason()

TEST(CudaRuntime, WithoutAGpuEverythingSaysWhy) {
  if (cuda::is_available()) GTEST_SKIP() << "SKIPPED: this machine has a GPU (the GPU tests below run instead)";
  EXPECT_EQ(cuda::device_count(), 0);
  const std::string why = cuda::unavailable_reason();
  ASSERT_FALSE(why.empty());
  if (!cuda::is_built()) {
    EXPECT_EQ(why, "hpml was not built with CUDA");
  }
  EXPECT_HPML_ERROR(cuda::set_device(0), cuda::is_built() ? why : "not built with CUDA");
  EXPECT_HPML_ERROR(cuda::synchronize(), cuda::is_built() ? why : "not built with CUDA");
  EXPECT_HPML_ERROR(zeros({2}, Device("cuda")), "cuda:0", "is not available");
  EXPECT_EQ(default_pin_device(), kCPU);  // pinned memory is the host's when there is no GPU
  if (cuda::is_built()) {
    EXPECT_HPML_ERROR(cuda::raw_allocation_count(0), why);
  } else {
    EXPECT_EQ(cuda::raw_allocation_count(0), 0u);
  }
  // Streams, events and the memory functions need a GPU too, and say so.
  const std::string need = cuda::is_built() ? why : "not built with CUDA";
  EXPECT_HPML_ERROR(cuda::Stream::create(), need);
  EXPECT_HPML_ERROR(cuda::current_stream(), need);
  EXPECT_HPML_ERROR(cuda::memory_allocated(), need);
  EXPECT_HPML_ERROR(cuda::memory_summary(), need);
  cuda::Event never;
  EXPECT_TRUE(never.query());  // nothing recorded: complete, as torch.cuda.Event
}

TEST(CudaRuntime, TheBuildSaysWhetherItHasCuda) {
  const BuildInfo b = build_info();
  if (cuda::is_built()) {
    EXPECT_NE(b.cuda.find("built with CUDA"), std::string::npos) << b.cuda;
    EXPECT_FALSE(cuda::versions().toolkit.empty());
    // cuDNN and NCCL: a version from the library the loader finds, or why there is none.
    const cuda::Versions v = cuda::versions(/*libraries=*/true);
    std::cout << "[   NOTE   ] cuDNN " << v.cudnn << "; NCCL " << v.nccl << "\n";
    EXPECT_TRUE(std::regex_match(v.cudnn, std::regex(R"(9\.\d+\.\d+ \(libcudnn\.so\.9\)|not found: .+)"))) << v.cudnn;
    EXPECT_TRUE(std::regex_match(v.nccl, std::regex(R"(2\.\d+\.\d+ \(libnccl\.so\.2\)|not found: .+)"))) << v.nccl;
    EXPECT_TRUE(cuda::versions().cudnn.empty()) << "without `libraries`, nothing is opened";
    // A CUDA build registers its runtime entry (the refusals of ops without kernels need a GPU:
    // CudaTensors.AnOpWithoutAKernelYetRefusesByName).
    EXPECT_NE(device_runtime(DeviceType::CUDA), nullptr);
  } else {
    EXPECT_EQ(b.cuda, "not built with CUDA");
    EXPECT_EQ(device_runtime(DeviceType::CUDA), nullptr);
  }
}

TEST(CudaTensors, FillCopyAndRoundTrip) {
  HPML_REQUIRE_GPU();
  Tensor x = arange(0, 12, 1, kFloat32).reshape({3, 4});
  Tensor g = x.to(Device("cuda"));
  EXPECT_EQ(g.device(), Device("cuda:0"));
  EXPECT_EQ(testing::values<float>(g.cpu()), testing::values<float>(x));
  // A strided copy on the GPU (the copy kernel), then back.
  Tensor t = g.t().contiguous();
  EXPECT_EQ(testing::values<float>(t.cpu()), testing::values<float>(x.t()));
  Tensor f = full({5}, 2.5, TensorOptions(kFloat64).device(Device("cuda")));
  EXPECT_EQ(testing::values<double>(f.cpu()), std::vector<double>(5, 2.5));
  EXPECT_EQ(testing::values<int64_t>(g.to(kInt64).cpu()), testing::values<int64_t>(x.to(kInt64)));
}

TEST(CudaTensors, PinnedNonBlockingCopies) {
  HPML_REQUIRE_GPU();
  Tensor host = data::pin_memory(arange(0, 1 << 16, 1, kFloat32), Device("cuda"));
  EXPECT_TRUE(is_pinned_memory(host.data_ptr()));
  Tensor g = host.to(Device("cuda"), /*non_blocking=*/true);
  cuda::synchronize();
  EXPECT_EQ(testing::values<float>(g.cpu()), testing::values<float>(host));
}

TEST(CudaTensors, TheCachingAllocatorStopsCallingCudaMalloc) {
  HPML_REQUIRE_GPU();
  auto step = [] { return zeros({256, 256}, Device("cuda")).cpu(); };
  step();
  const size_t after_first = cuda::raw_allocation_count(0);
  for (int i = 0; i < 10; ++i) step();
  EXPECT_EQ(cuda::raw_allocation_count(0), after_first);
  EXPECT_GT(memory_stats(Device("cuda")).reserved_bytes(), 0u);
}

TEST(CudaStreams, WorkOnAStreamIsOrderedByEvents) {
  HPML_REQUIRE_GPU();
  cuda::Stream side = cuda::Stream::create();
  EXPECT_NE(side.id(), 0u);
  EXPECT_EQ(cuda::current_stream(), cuda::default_stream());
  Tensor a = full({1 << 20}, 1.5f, TensorOptions().device(Device("cuda")));
  Tensor b;
  cuda::Event start(/*enable_timing=*/true), done(true);
  {
    cuda::StreamGuard g(side);
    EXPECT_EQ(cuda::current_stream(), side);
    side.wait_stream(cuda::default_stream());  // a was written on the default stream
    start.record();
    b = a.to(kFloat64);  // the copy kernel, on side
    done.record();
    cuda::record_stream(a, side);
  }
  EXPECT_EQ(cuda::current_stream(), cuda::default_stream());
  done.wait(cuda::default_stream());
  a = Tensor();  // freed while side may still read it: record_stream keeps the block
  EXPECT_EQ(testing::values<double>(b.cpu())[12345], 1.5);
  done.synchronize();
  EXPECT_TRUE(done.query());
  EXPECT_GE(start.elapsed_time(done), 0.0);
  cuda::synchronize();
  EXPECT_EQ(cuda::memory_stats().pending_frees, 0u);
}

TEST(CudaStreams, TheAllocatorReusesBlocksOnTheirStreamAndSummarises) {
  HPML_REQUIRE_GPU();
  cuda::empty_cache();
  void* first = nullptr;
  { Tensor t = zeros({1000}, Device("cuda")); first = t.data_ptr(); }
  { Tensor t = zeros({1000}, Device("cuda")); EXPECT_EQ(t.data_ptr(), first); }  // same stream: reused at once
  cuda::Stream side = cuda::Stream::create();
  {
    cuda::StreamGuard g(side);
    Tensor t = zeros({1000}, Device("cuda"));
    EXPECT_NE(t.data_ptr(), first);  // another stream never gets it
  }
  cuda::synchronize();
  const std::string s = cuda::memory_summary();
  EXPECT_NE(s.find("device cuda:0"), std::string::npos) << s;
  EXPECT_GE(cuda::memory_reserved(), size_t{2} << 20);
  cuda::reset_peak_memory_stats();
  EXPECT_EQ(cuda::max_memory_allocated(), cuda::memory_allocated());
}

double max_diff(const Tensor& a, const Tensor& b) {
  return (a.cpu().to(kFloat64) - b.cpu().to(kFloat64)).abs().max().item<double>();
}

TEST(CudaTensors, OpsGiveTheCpusResults) {
  HPML_REQUIRE_GPU();
  const Device gpu("cuda");
  manual_seed(3);
  const Tensor x = randn({64, 96}), w = randn({96, 32}), idx = randint(0, 64, {10});
  const Tensor gx = x.to(gpu), gw = w.to(gpu);
  // A smoke test of each kernel family; tests/device/op_table_device_test.cpp runs the whole op
  // table on cuda:0 when a GPU is present.
  EXPECT_LT(max_diff(gx + gx * 2, x + x * 2), 1e-6);
  EXPECT_LT(max_diff(matmul(gx, gw), matmul(x, w)), 1e-3);
  EXPECT_LT(max_diff(softmax(gx, 1), softmax(x, 1)), 1e-6);
  EXPECT_LT(max_diff(gx.sum(1), x.sum(1)), 1e-4);
  EXPECT_EQ(max_diff(gx.argmax(1), x.argmax(1)), 0.0);
  EXPECT_EQ(max_diff(gx.index_select(0, idx.to(gpu)), x.index_select(0, idx)), 0.0);
  const Tensor img = randn({2, 3, 9, 9}), k = randn({5, 3, 3, 3});
  EXPECT_LT(max_diff(nn::functional::conv2d(img.to(gpu), k.to(gpu)), nn::functional::conv2d(img, k)), 1e-4);
  EXPECT_EQ(max_diff(nn::functional::max_pool2d(img.to(gpu), {.kernel_size = 2}), nn::functional::max_pool2d(img, {.kernel_size = 2})), 0.0);
}

TEST(CudaTensors, ASeedGivesTheCpusRandomNumbers) {
  HPML_REQUIRE_GPU();
  for (DType dt : {kFloat32, kFloat64}) {
    manual_seed(7);
    const Tensor c = randn({1001}, TensorOptions(dt)), cu = rand({999}, TensorOptions(dt));
    manual_seed(7);
    const Tensor g = randn({1001}, TensorOptions(dt).device(Device("cuda")));
    const Tensor gu = rand({999}, TensorOptions(dt).device(Device("cuda")));
    // normal: exact is the claim; a difference would be the last bit of the device's log/sin/cos.
    EXPECT_EQ(max_diff(g, c), 0.0) << dtype_name(dt);
    EXPECT_EQ(max_diff(gu, cu), 0.0) << dtype_name(dt);
  }
  manual_seed(9);
  const Tensor ci = randint(-5, 17, {777});
  manual_seed(9);
  EXPECT_EQ(max_diff(randint(-5, 17, {777}, nullptr, TensorOptions(kInt64).device(Device("cuda"))), ci), 0.0);
}

TEST(CudaTraining, ASmallCnnTrainsAsOnTheCpu) {
  HPML_REQUIRE_GPU();
  auto run = [](Device device) {
    manual_seed(5);
    nn::Sequential net(nn::Conv2d(1, 4, 3, nn::ConvOptions{.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Flatten(), nn::Linear(4 * 4 * 4, 3));
    optim::SGD opt(net.parameters(), {.lr = 0.05, .momentum = 0.9});
    net.to(device);
    const Tensor x = randn({16, 1, 8, 8}), y = randint(0, 3, {16});
    std::vector<double> losses;
    for (int step = 0; step < 5; ++step) {
      Tensor loss = nn::functional::cross_entropy(net.forward(x.to(device)), y.to(device));
      opt.zero_grad();
      loss.backward();
      opt.step();
      losses.push_back(loss.item<double>());
    }
    return losses;
  };
  const std::vector<double> cpu = run(kCPU), gpu = run(Device("cuda"));
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_NEAR(gpu[i], cpu[i], 1e-4) << "step " << i;
}

// CUDA graphs (core/graph.h): the twins of tests/device/graph_test.cpp on a GPU.
TEST(CudaGraph, ReplayRunsTheCapturedWorkOnTheInputsOfTheMoment) {
  HPML_REQUIRE_GPU();
  const Device gpu("cuda");
  Tensor x = zeros({64}, gpu);  // the static input
  cuda::Stream s = cuda::Stream::create();
  s.wait_stream(cuda::current_stream());
  cuda::Graph g;
  Tensor y;
  g.capture(s, [&] { y = x * 2 + 1; });
  EXPECT_TRUE(g.captured());
  EXPECT_GE(g.num_nodes(), 2u);  // the two kernels
  EXPECT_FALSE(cuda::is_current_stream_capturing());
  const size_t mallocs = cuda::raw_allocation_count(0);
  for (float v : {3.0f, -1.0f, 0.5f}) {
    x.fill_(v);
    g.replay();
    EXPECT_EQ(max_diff(y, full({64}, v * 2 + 1)), 0.0) << v;
  }
  EXPECT_EQ(cuda::raw_allocation_count(0), mallocs);  // a replay allocates nothing
}

TEST(CudaGraph, ASynchronizationInsideACaptureInvalidatesIt) {
  HPML_REQUIRE_GPU();
  Tensor x = ones({8}, Device("cuda"));
  cuda::Stream s = cuda::Stream::create();
  cuda::Graph g;
  g.capture_begin(s);
  {
    cuda::StreamGuard current(s);
    Tensor y = x + 1;
    EXPECT_TRUE(cuda::is_current_stream_capturing());
    EXPECT_ANY_THROW(y.sum().item<double>());  // CUDA refuses the copy's wait
  }
  EXPECT_HPML_ERROR(g.capture_end(), "cuda::Graph::capture_end");
  EXPECT_FALSE(g.captured());
  EXPECT_HPML_ERROR(g.replay(), "nothing has been captured");
}

// Note [Random numbers in a graph]: each replay draws what the eager code would have drawn there,
// which is also what the cpu draws for the seed.
TEST(CudaGraph, RandomFillsDrawAnewAtEachReplayAsTheEagerCodeWould) {
  HPML_REQUIRE_GPU();
  const TensorOptions on_gpu = TensorOptions().device(Device("cuda"));
  manual_seed(5);
  std::vector<Tensor> cpu;
  for (int i = 0; i < 3; ++i) cpu.push_back(rand({1000}) + randn({1000}) * 0.5);
  const uint64_t eager_offset = default_generator().offset();
  manual_seed(5);
  cuda::Stream s = cuda::Stream::create();
  cuda::Graph g;
  Tensor y;
  g.capture(s, [&] { y = rand({1000}, on_gpu) + randn({1000}, on_gpu) * 0.5; });
  EXPECT_EQ(default_generator().offset(), 0u);  // the capture draws nothing
  for (int i = 0; i < 3; ++i) {
    g.replay();
    EXPECT_LT(max_diff(y, cpu[static_cast<size_t>(i)]), 1e-6) << "replay " << i;
  }
  EXPECT_EQ(default_generator().offset(), eager_offset);
}

TEST(CudaGraph, ATrainingStepReplaysToTheEagerNumbers) {
  HPML_REQUIRE_GPU();
  const Device gpu("cuda");
  manual_seed(3);
  nn::Sequential eager(nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 3));
  manual_seed(3);
  nn::Sequential graphed(nn::Linear(6, 16), nn::ReLU(), nn::Linear(16, 3));
  eager.to(gpu);
  graphed.to(gpu);
  optim::SGD eager_opt(eager.parameters(), {.lr = 0.05, .momentum = 0.9});
  optim::SGD graphed_opt(graphed.parameters(), {.lr = 0.05, .momentum = 0.9});
  std::vector<Tensor> xs, ys;
  for (int i = 0; i < 5; ++i) {
    xs.push_back(randn({10, 6}).to(gpu));
    ys.push_back(randn({10, 3}).to(gpu));
  }
  for (auto* m : {&eager, &graphed}) {  // the warm-up step: SGD makes its momentum buffers
    optim::SGD& opt = m == &eager ? eager_opt : graphed_opt;
    opt.zero_grad();
    nn::functional::mse_loss(m->forward(xs[0]), ys[0]).backward();
    opt.step();
  }
  Tensor x = zeros({10, 6}, gpu), y = zeros({10, 3}, gpu), loss;
  cuda::Stream s = cuda::Stream::create();
  s.wait_stream(cuda::current_stream());
  cuda::Graph g;
  g.capture(s, [&] {
    graphed_opt.zero_grad();
    loss = nn::functional::mse_loss(graphed.forward(x), y);
    loss.backward();
    graphed_opt.step();
  });
  for (size_t i = 1; i < xs.size(); ++i) {
    eager_opt.zero_grad();
    Tensor l = nn::functional::mse_loss(eager.forward(xs[i]), ys[i]);
    l.backward();
    eager_opt.step();
    x.copy_(xs[i]);
    y.copy_(ys[i]);
    g.replay();
    // The same kernels on the same numbers; a tolerance only in case cuBLAS picks another
    // algorithm for a captured stream.
    EXPECT_NEAR(loss.item<double>(), l.item<double>(), 1e-6) << "step " << i;
    const auto pe = eager.parameters(), pg = graphed.parameters();
    for (size_t k = 0; k < pe.size(); ++k) EXPECT_LE(max_diff(pg[k], pe[k]), 1e-6) << "step " << i << " parameter " << k;
  }
}

}  // namespace
}  // namespace hpml
