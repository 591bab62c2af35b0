// DistributedDataParallel at whatever world size mpirun gave: gradients equal to one process
// computing the loss over the union of every rank's batch (f64, 1e-12), replicas bit-identical
// after 20 steps, no_sync accumulation, one all-reduce per bucket, buckets rebuilt to the order
// gradients arrived, buffers broadcast, unused parameters, mismatched models.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "hpml/distributed/ddp.h"
#include "hpml/distributed/distributed.h"
#include "hpml/hpml.h"

namespace {

namespace dist = hpml::distributed;
namespace nn = hpml::nn;
using hpml::DType;
using hpml::Tensor;
using hpml::TensorOptions;

int rank() { return dist::get_rank(); }
int world() { return dist::get_world_size(); }
const TensorOptions kF64 = TensorOptions(DType::f64);

// 5 -> 7 -> 3, f64. Each rank seeds differently, so DDP's broadcast is what makes them equal.
nn::Sequential make_mlp(uint64_t seed) {
  hpml::manual_seed(seed);
  nn::Sequential m(nn::Linear(5, 7), nn::Tanh(), nn::Linear(7, 3));
  m.to(DType::f64);
  return m;
}

// The union batch of step `step` (the same on every rank), and this rank's rows of it.
struct Batch {
  Tensor x, y;
};
Batch global_batch(int step, int64_t per_rank) {
  hpml::Generator g(1000 + step);
  const int64_t n = per_rank * world();
  return {hpml::randn({n, 5}, &g, kF64), hpml::randn({n, 3}, &g, kF64)};
}
Batch local(const Batch& b, int64_t per_rank) {
  return {b.x.narrow(0, rank() * per_rank, per_rank), b.y.narrow(0, rank() * per_rank, per_rank)};
}

double max_rel(const Tensor& a, const Tensor& b) {
  Tensor d = (a - b).abs().max(), s = b.abs().max();
  return d.item().to<double>() / std::max(1e-300, s.item().to<double>());
}

// The reference: a plain copy of the DDP model's weights, the mean loss over the union.
void expect_grads_match(nn::Module& ddp_model, const std::vector<Batch>& union_batches, double tol = 1e-12) {
  nn::Sequential ref = make_mlp(7);
  ref.load_state_dict(ddp_model.state_dict());
  for (const Batch& b : union_batches) nn::functional::mse_loss(ref(b.x), b.y).backward();
  auto mine = ddp_model.named_parameters(), theirs = ref.named_parameters();
  ASSERT_EQ(mine.size(), theirs.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    ASSERT_TRUE(mine[i].second.grad().defined()) << mine[i].first;
    EXPECT_LE(max_rel(mine[i].second.grad(), theirs[i].second.grad()), tol) << mine[i].first;
  }
}

struct Variant {
  const char* name;
  dist::DDPOptions options;
};
void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }
class Ddp : public ::testing::TestWithParam<Variant> {};

TEST_P(Ddp, GradientsEqualTheUnionBatchForThreeSteps) {
  nn::Sequential model = make_mlp(100 + rank());
  dist::DistributedDataParallel ddp(model, GetParam().options);
  for (int step = 0; step < 3; ++step) {  // the second forward rebuilds the buckets
    model.zero_grad();
    Batch all = global_batch(step, 4), mine = local(all, 4);
    nn::functional::mse_loss(ddp(mine.x), mine.y).backward();
    expect_grads_match(model, {all});
  }
}

TEST_P(Ddp, NoSyncAccumulationEqualsTheLargeBatch) {
  nn::Sequential model = make_mlp(200 + rank());
  dist::DistributedDataParallel ddp(model, GetParam().options);
  Batch a = global_batch(10, 3), b = global_batch(11, 3);
  {
    auto guard = ddp.no_sync();
    Batch m = local(a, 3);
    nn::functional::mse_loss(ddp(m.x), m.y).backward();
  }
  Batch m = local(b, 3);
  nn::functional::mse_loss(ddp(m.x), m.y).backward();
  expect_grads_match(model, {a, b});
}

INSTANTIATE_TEST_SUITE_P(
    Options, Ddp,
    ::testing::Values(Variant{"defaults", {}},
                      Variant{"one_bucket_per_parameter", {.bucket_cap_mb = 0, .first_bucket_cap_mb = 0}},
                      Variant{"gradient_as_bucket_view", {.bucket_cap_mb = 0.0001, .gradient_as_bucket_view = true}},
                      Variant{"static_graph", {.static_graph = true}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DdpReplicas, BitIdenticalAfterTwentySteps) {
  nn::Sequential model = make_mlp(300 + rank());
  dist::DistributedDataParallel ddp(model, {.bucket_cap_mb = 0.0001});
  hpml::optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
  hpml::Generator g(50 + rank());  // every rank its own data
  for (int step = 0; step < 20; ++step) {
    opt.zero_grad();
    Tensor x = hpml::randn({6, 5}, &g, kF64), y = hpml::randn({6, 3}, &g, kF64);
    nn::functional::mse_loss(ddp(x), y).backward();
    opt.step();
  }
  for (auto& [name, p] : model.named_parameters()) {
    Tensor flat = p.detach().contiguous().view({-1});
    Tensor all = hpml::empty({world() * flat.numel()}, kF64);
    dist::all_gather_into_tensor(all, flat);
    for (int r = 1; r < world(); ++r)
      EXPECT_EQ(std::memcmp(all.data_ptr<double>(), all.data_ptr<double>() + r * flat.numel(),
                            flat.numel() * sizeof(double)), 0)
          << name << " differs between rank 0 and rank " << r;
  }
}

TEST(DdpBuckets, OneAllReducePerBucketInArrivalOrder) {
  nn::Sequential model = make_mlp(400);
  dist::DistributedDataParallel ddp(model, {.bucket_cap_mb = 0, .first_bucket_cap_mb = 0});
  ASSERT_EQ(ddp.num_buckets(), 4u);
  // Initially the reverse of the registration order.
  EXPECT_EQ(ddp.bucket_parameter_names()[0][0], "2.bias");
  EXPECT_EQ(ddp.bucket_parameter_names()[3][0], "0.weight");
  // The order the gradients really arrive in, seen by hooks of our own.
  std::vector<std::string> arrived;
  for (auto& [name, p] : model.named_parameters())
    p.register_post_accumulate_grad_hook([&arrived, n = name](const Tensor&) { arrived.push_back(n); });
  Batch b = local(global_batch(0, 2), 2);
  nn::functional::mse_loss(ddp(b.x), b.y).backward();
  hpml::profiler::Profile prof;
  prof.start();
  nn::functional::mse_loss(ddp(b.x), b.y).backward();  // this forward rebuilt the buckets
  prof.stop();
  int all_reduces = 0;
  for (const auto& e : prof.events()) all_reduces += e.name == "mpi:all_reduce";
  EXPECT_EQ(all_reduces, world() > 1 ? 4 : 0);  // one rank sends nothing (Note [DDP at world size 1])
  ASSERT_EQ(arrived.size(), 8u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(ddp.bucket_parameter_names()[i][0], arrived[i]) << i;
}

TEST(DdpBuffers, RankZerosBatchNormStatisticsBeforeEachForward) {
  hpml::manual_seed(9);
  nn::Sequential model(nn::Linear(4, 3), nn::BatchNorm1d(3, {.momentum = 0.0}));  // momentum 0: stats stay put
  dist::DistributedDataParallel ddp(model);
  for (auto& [name, buf] : model.named_buffers())
    if (name == "1.running_mean") buf.fill_(static_cast<double>(rank() + 1));
  ddp(hpml::randn({5, 4}));
  for (auto& [name, buf] : model.named_buffers())
    if (name == "1.running_mean") {
      EXPECT_FLOAT_EQ(buf.max().item().to<float>(), 1.0f);  // rank 0's
    }
}

// A model whose third layer forward never uses.
struct Branchy : nn::Module {
  nn::Linear a{5, 4}, unused{4, 4}, b{4, 3};
  Branchy() : nn::Module("Branchy") {
    register_module("a", a);
    register_module("unused", unused);
    register_module("b", b);
  }
  Tensor forward(const Tensor& x) override { return b(a(x).relu()); }
};

TEST(DdpUnused, FindUnusedParametersLeavesTheirGradUndefined) {
  hpml::manual_seed(1);
  Branchy m;
  dist::DistributedDataParallel ddp(m, {.find_unused_parameters = true});
  for (int step = 0; step < 2; ++step) {
    hpml::nn::functional::mse_loss(ddp(hpml::randn({3, 5})), hpml::zeros({3, 3})).backward();
    EXPECT_FALSE(m.unused.weight.grad().defined());
    EXPECT_TRUE(m.a.weight.grad().defined());
  }
}

TEST(DdpUnused, WithoutFindUnusedTheErrorNamesTheParameters) {
  hpml::manual_seed(1);
  Branchy m;
  dist::DistributedDataParallel ddp(m);
  std::string msg;
  try {
    hpml::nn::functional::mse_loss(ddp(hpml::randn({3, 5})), hpml::zeros({3, 3})).backward();
  } catch (const hpml::Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("2 of 6 parameters got no gradient in this backward pass: unused.weight, unused.bias"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("find_unused_parameters"), std::string::npos);
  dist::barrier();  // the ranks are still in step
}

TEST(DdpModels, MismatchedShapesNameTheParameterAndRanks) {
  if (world() < 2) GTEST_SKIP() << "needs two ranks to differ; this run has " << world();
  nn::Sequential m(nn::Linear(5, 7 + rank()), nn::Linear(7 + rank(), 2));
  std::string msg;
  try {
    dist::DistributedDataParallel ddp(m);
  } catch (const hpml::Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("parameter 0 (0.weight on this rank) differs across ranks: [7, 5] f32 on rank 0, [8, 5] f32 on "
                     "rank 1"), std::string::npos) << msg;
}

}  // namespace
