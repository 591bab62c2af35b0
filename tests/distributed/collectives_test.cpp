// The collectives against hand-computed results, at whatever world size mpirun gave (1 or 2):
// f32 / f64 / i64 (and bf16 / f16), every reduction, empty and non-contiguous tensors, async work, subgroups, the
// profiler's comm events, and the errors for bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "hpml/distributed/distributed.h"
#include "hpml/hpml.h"

namespace {

namespace dist = hpml::distributed;
using hpml::DType;
using hpml::Tensor;
using hpml::TensorOptions;

int rank() { return dist::get_rank(); }
int world() { return dist::get_world_size(); }

std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(DType::f64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::string what(const std::function<void()>& f) {
  try {
    f();
  } catch (const hpml::Error& e) {
    return e.what();
  }
  return "<no error>";
}

class Collectives : public ::testing::TestWithParam<DType> {};

TEST_P(Collectives, AllReduceEveryOp) {
  const DType d = GetParam();
  const int w = world();
  // rank r holds r + 1 everywhere: sum W(W+1)/2, product W!, min 1, max W.
  double fact = 1;
  for (int i = 1; i <= w; ++i) fact *= i;
  const std::vector<std::pair<dist::ReduceOp, double>> cases = {
      {dist::ReduceOp::sum, w * (w + 1) / 2.0}, {dist::ReduceOp::product, fact},
      {dist::ReduceOp::min, 1}, {dist::ReduceOp::max, static_cast<double>(w)}};
  for (auto [op, want] : cases) {
    Tensor t = hpml::full({3, 5}, rank() + 1, TensorOptions(d));
    dist::all_reduce(t, op);
    EXPECT_EQ(t.dtype(), d);
    for (double v : values(t)) ASSERT_EQ(v, want) << dist::reduce_op_name(op);
  }
  if (d != DType::i64) {
    Tensor t = hpml::full({7}, rank() + 1, TensorOptions(d));
    dist::all_reduce(t, dist::ReduceOp::avg);
    for (double v : values(t)) ASSERT_DOUBLE_EQ(v, (w + 1) / 2.0);
  }
}

TEST_P(Collectives, NonContiguousAndEmpty) {
  const DType d = GetParam();
  const int w = world();
  // A transposed view: base[i][j] = 4i + j + 100 rank; the sum lands in the original storage.
  Tensor base = hpml::arange(0, 12, 1, TensorOptions(d)).view({3, 4}) + hpml::full({3, 4}, 100 * rank(), TensorOptions(d));
  Tensor view = base.t();
  ASSERT_FALSE(view.is_contiguous());
  dist::all_reduce(view);
  std::vector<double> got = values(base);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(got[i], w * i + 100.0 * w * (w - 1) / 2) << i;
  Tensor empty = hpml::empty({0, 3}, TensorOptions(d));
  dist::all_reduce(empty);
  dist::broadcast(empty, 0);
  EXPECT_EQ(empty.numel(), 0);
  // A strided slice broadcast from the last rank.
  Tensor wide = hpml::full({4, 6}, rank(), TensorOptions(d));
  Tensor cols = wide.slice(1, 0, 6, 2);
  dist::broadcast(cols, w - 1);
  std::vector<double> all = values(wide);
  for (int i = 0; i < 24; ++i) ASSERT_EQ(all[i], i % 2 == 0 ? w - 1 : rank()) << i;
}

TEST_P(Collectives, GatherFamily) {
  const DType d = GetParam();
  const int w = world(), r = rank();
  Tensor mine = hpml::arange(0, 3, 1, TensorOptions(d)) + hpml::full({3}, 10 * r, TensorOptions(d));  // 10r, 10r+1, 10r+2
  std::vector<Tensor> list;
  for (int i = 0; i < w; ++i) list.push_back(hpml::zeros({3}, TensorOptions(d)));
  dist::all_gather(list, mine);
  for (int i = 0; i < w; ++i) EXPECT_EQ(values(list[i]), (std::vector<double>{10.0 * i, 10.0 * i + 1, 10.0 * i + 2}));
  Tensor flat = hpml::zeros({3 * w}, TensorOptions(d)), stacked = hpml::zeros({w, 3}, TensorOptions(d));
  dist::all_gather_into_tensor(flat, mine);
  dist::all_gather_into_tensor(stacked, mine);
  for (int i = 0; i < 3 * w; ++i) {
    ASSERT_EQ(values(flat)[i], 10.0 * (i / 3) + i % 3);
    ASSERT_EQ(values(stacked)[i], 10.0 * (i / 3) + i % 3);
  }
  // reduce_scatter: in[j] = 1000 r + j; rank k gets sum_r (1000 r + 3k + m), m = 0..2.
  Tensor in = hpml::arange(0, 3 * w, 1, TensorOptions(d)) + hpml::full({3 * w}, 1000 * r, TensorOptions(d));
  Tensor out = hpml::zeros({3}, TensorOptions(d));
  dist::reduce_scatter_tensor(out, in);
  for (int m = 0; m < 3; ++m) ASSERT_EQ(values(out)[m], 1000.0 * w * (w - 1) / 2 + w * (3.0 * r + m));
  // gather to the last rank; scatter from rank 0.
  std::vector<Tensor> gathered;
  if (r == w - 1)
    for (int i = 0; i < w; ++i) gathered.push_back(hpml::zeros({3}, TensorOptions(d)));
  dist::gather(mine, &gathered, w - 1);
  for (int i = 0; i < static_cast<int>(gathered.size()); ++i) EXPECT_EQ(values(gathered[i])[2], 10.0 * i + 2);
  std::vector<Tensor> parts;
  if (r == 0)
    for (int i = 0; i < w; ++i) parts.push_back(hpml::full({2}, 7 * i, TensorOptions(d)));
  Tensor part = hpml::zeros({2}, TensorOptions(d));
  dist::scatter(part, parts, 0);
  EXPECT_EQ(values(part), (std::vector<double>{7.0 * r, 7.0 * r}));
  // reduce to rank 0: the others keep their own values.
  Tensor red = hpml::full({2}, r + 1, TensorOptions(d));
  dist::reduce(red, 0);
  EXPECT_EQ(values(red)[0], r == 0 ? w * (w + 1) / 2.0 : r + 1.0);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Collectives, ::testing::Values(DType::f32, DType::f64, DType::i64),
                         [](const auto& info) { return std::string(hpml::dtype_name(info.param)); });

// bf16 and f16: the reductions run on f32 copies and round back once; the moves keep the bits.
TEST(CollectivesHalf, ReduceInF32AndMoveTheBits) {
  const int w = world(), r = rank();
  for (DType d : {DType::bf16, DType::f16}) {
    Tensor t = hpml::full({2, 3}, 0.5 * (r + 1), TensorOptions(d)).t();  // non-contiguous too
    dist::all_reduce(t);
    EXPECT_EQ(t.dtype(), d);
    for (double v : values(t)) ASSERT_EQ(v, 0.25 * w * (w + 1)) << hpml::dtype_name(d);
    Tensor a = hpml::full({4}, 0.5 * (r + 1), TensorOptions(d));
    dist::all_reduce(a, dist::ReduceOp::avg);
    for (double v : values(a)) ASSERT_EQ(v, 0.25 * (w + 1)) << hpml::dtype_name(d);
    Tensor in = hpml::full({2 * w}, r + 1, TensorOptions(d)), out = hpml::zeros({2}, TensorOptions(d));
    dist::reduce_scatter_tensor(out, in);
    for (double v : values(out)) ASSERT_EQ(v, w * (w + 1) / 2.0) << hpml::dtype_name(d);
    // 1/3 rounded to the dtype, broadcast from the last rank: every rank gets the same bits.
    Tensor third = hpml::full({3}, r == w - 1 ? 1.0 / 3 : 0.0, TensorOptions(d));
    dist::broadcast(third, w - 1);
    for (double v : values(third)) ASSERT_EQ(v, hpml::full({1}, 1.0 / 3, TensorOptions(d)).item<double>());
    std::vector<Tensor> list;
    for (int i = 0; i < w; ++i) list.push_back(hpml::zeros({2}, TensorOptions(d)));
    dist::all_gather(list, hpml::full({2}, 0.25 * r, TensorOptions(d)));
    for (int i = 0; i < w; ++i) EXPECT_EQ(values(list[i]), (std::vector<double>{0.25 * i, 0.25 * i}));
    // The group itself, as DDP's buckets call it (no frontend in between): avg of 2-byte values.
    Tensor bucket = hpml::full({5}, 0.5 * (r + 1), TensorOptions(d));
    dist::default_group()->all_reduce(bucket, dist::ReduceOp::avg, nullptr)->wait();
    for (double v : values(bucket)) ASSERT_EQ(v, 0.25 * (w + 1)) << hpml::dtype_name(d) << " through the group";
  }
}

TEST(CollectivesAsync, WorkCompletesAndOverlaps) {
  Tensor t = hpml::full({1 << 16}, 1.0);
  dist::WorkPtr w = dist::all_reduce(t, dist::ReduceOp::sum, {.async_op = true});
  EXPECT_TRUE(w->wait());
  EXPECT_TRUE(w->is_completed());
  EXPECT_EQ(values(t)[12345], world());
  EXPECT_TRUE(dist::barrier()->is_completed());  // synchronous calls return completed work
}

TEST(CollectivesP2P, SendRecvBetweenRanks) {
  if (world() < 2) GTEST_SKIP() << "send/recv need two ranks; this run has " << world();
  if (rank() == 0) {
    dist::send(hpml::arange(0, 5, 1, TensorOptions(DType::f64)), 1, /*tag=*/3);
    Tensor back = hpml::zeros({5}, TensorOptions(DType::f64));
    dist::recv(back, 1, 4, {.async_op = true})->wait();
    EXPECT_EQ(values(back), (std::vector<double>{0, 2, 4, 6, 8}));
  } else if (rank() == 1) {
    Tensor got = hpml::zeros({5}, TensorOptions(DType::f64));
    dist::recv(got, 0, 3);
    dist::send(got * 2.0, 0, 4);
  }
}

TEST(CollectivesGroups, NewGroupOfRankZero) {
  dist::ProcessGroupPtr g = dist::new_group({0});
  ASSERT_EQ(g != nullptr, rank() == 0);
  if (g) {
    EXPECT_EQ(g->size(), 1);
    Tensor t = hpml::full({2}, 5.0);
    dist::all_reduce(t, dist::ReduceOp::sum, {.group = g});
    EXPECT_EQ(values(t)[0], 5.0);
  }
  dist::barrier();
}

TEST(CollectivesProfile, AllReducesAreCommEventsOnTheCommunicationThread) {
  hpml::profiler::Profile prof;
  prof.start();
  Tensor t = hpml::ones({1000});
  for (int i = 0; i < 3; ++i) dist::all_reduce(t);
  prof.stop();
  int n = 0;
  int32_t tid = -1;
  for (const auto& e : prof.events()) {
    if (e.name != "mpi:all_reduce") continue;
    ++n;
    EXPECT_EQ(e.kind, hpml::record::Kind::comm);
    EXPECT_NE(e.tid, static_cast<int32_t>(gettid()));
    tid = e.tid;
  }
  EXPECT_EQ(n, 3);
  EXPECT_NE(tid, -1);
}

TEST(CollectivesErrors, BadArgumentsNameTheOpAndValues) {
  Tensor i = hpml::zeros({3}, TensorOptions(DType::i64));
  EXPECT_NE(what([&] { dist::all_reduce(i, dist::ReduceOp::avg); }).find("all_reduce: ReduceOp::avg needs a floating"),
            std::string::npos);
  Tensor f = hpml::zeros({3});
  EXPECT_NE(what([&] { dist::broadcast(f, world()); }).find("broadcast: src " + std::to_string(world()) +
                                                             " is not a rank of the group"),
            std::string::npos);
  std::vector<Tensor> one{hpml::zeros({3})};
  one.push_back(hpml::zeros({3}));
  one.push_back(hpml::zeros({3}));
  EXPECT_NE(what([&] { dist::all_gather(one, f); }).find("all_gather: the output list has 3 tensors, but the world size"),
            std::string::npos);
  Tensor out = hpml::zeros({2});
  EXPECT_NE(what([&] { dist::all_gather_into_tensor(out, f); }).find("all_gather_into_tensor: output is [2] f32"),
            std::string::npos);
  EXPECT_NE(what([&] { dist::send(f, 0, 40000); }).find("send:"), std::string::npos);
  EXPECT_NE(what([&] { dist::init_process_group(); }).find("already initialized"), std::string::npos);
  Tensor undefined;
  EXPECT_NE(what([&] { dist::all_reduce(undefined); }).find("all_reduce: tensor is undefined"), std::string::npos);
}

}  // namespace
