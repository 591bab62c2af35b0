// hpml's side of the group "ddp" (bench/torch_ddp_bench.py is PyTorch's, over gloo). Run under
// mpirun by scripts/bench: `-np 2 ddp_bench two` and `-np 1 ddp_bench one`; rank 0 prints.
// Every rank runs one thread (OMP_NUM_THREADS=1), as PyTorch's side does.
//   two: all_reduce bus bandwidth through hpml and through a bare MPI_Allreduce of the same buffer
//        (the limit), the MLP and CNN steps of DDP, and the bucket experiments (one bucket after
//        backward; one all-reduce per parameter of a model with 120 parameters)
//   one: the MLP and CNN steps at world size 1, plain and inside DDP (DDP's own overhead)
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "hpml/distributed/ddp.h"
#include "hpml/distributed/distributed.h"
#include "hpml/hpml.h"

namespace {

namespace dist = hpml::distributed;
namespace nn = hpml::nn;
using hpml::Tensor;

int g_reps = 7;

void emit(const std::string& name, const std::string& unit, const std::vector<double>& v) {
  if (dist::get_rank() == 0) bench::report("ddp", name, 1, unit, v);
}

// Note [Every rank calls as often]
// fn is a collective (or a DDP step, which holds some): every rank must call it the same number
// of times, or the ranks fall out of step and hang. So the calibration doubles the calls in rounds
// that rank 0 ends (its decision broadcast), and each repetition runs rank 0's count, the ranks
// starting it together after a barrier. Seconds per call, one value per repetition.
std::vector<double> timed(const std::function<void()>& fn, double min_time) {
  for (int i = 0; i < 2; ++i) fn();
  long iters = 1;
  Tensor go = hpml::full({1}, 1.0, hpml::TensorOptions(hpml::DType::f64));
  for (;;) {
    dist::barrier();
    const double dt = bench::time_slice(fn, iters) * static_cast<double>(iters);
    go.fill_(dt >= min_time / 4 || iters >= (1L << 20) ? 0.0 : 1.0);
    dist::broadcast(go, 0);
    if (go.item().to<double>() == 0) {
      Tensor n = hpml::full({1}, std::max(3.0, static_cast<double>(iters) * min_time / std::max(dt, 1e-9)),
                            hpml::TensorOptions(hpml::DType::f64));
      dist::broadcast(n, 0);
      iters = static_cast<long>(n.item().to<double>());
      break;
    }
    iters *= 2;
  }
  std::vector<double> out;
  for (int r = 0; r < g_reps; ++r) {
    dist::barrier();
    out.push_back(bench::time_slice(fn, iters));
  }
  return out;
}

std::vector<double> bus_gbs(const std::vector<double>& seconds, double bytes, int n) {
  std::vector<double> out;
  for (double s : seconds) out.push_back(bytes / s * 2.0 * (n - 1) / n / 1e9);  // NCCL's busbw
  return out;
}

void all_reduce_rows() {
  const int n = dist::get_world_size();
  for (int mb : {1, 4, 16, 64}) {
    const int64_t numel = int64_t{mb} << 18;  // MiB of f32
    Tensor t = hpml::ones({numel});
    const double bytes = static_cast<double>(numel) * 4;
    auto hp = timed([&] { dist::all_reduce(t); }, 0.2);
    float* buf = t.data_ptr<float>();  // the same buffer through MPI itself, on this thread
    auto bare = timed([&] { MPI_Allreduce(MPI_IN_PLACE, buf, static_cast<int>(numel), MPI_FLOAT, MPI_SUM,
                                          MPI_COMM_WORLD); }, 0.2);
    const std::string size = std::to_string(mb) + " MB f32, " + std::to_string(n) + " ranks";
    emit("all_reduce " + size + " (bus bandwidth)", "GB/s", bus_gbs(hp, bytes, n));
    emit("MPI_Allreduce " + size + ", bare (bus bandwidth)", "GB/s", bus_gbs(bare, bytes, n));
  }
}

nn::Sequential mlp() {
  return nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                        nn::Linear(128, 10));
}
nn::Sequential cnn() {
  return nn::Sequential(nn::Conv2d(1, 32, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(32, 64, 3, {.padding = 1}), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                        nn::Linear(3136, 128), nn::ReLU(), nn::Linear(128, 10));
}
// 60 Linear(32, 32) layers: 120 small parameters (the bucketing experiment).
nn::Sequential deep() {
  nn::Sequential s;
  for (int i = 0; i < 60; ++i) s.push_back(std::make_shared<nn::Linear>(32, 32));
  return s;
}

// One training step (zero_grad, forward, backward, SGD) of `net` on a fixed batch of 64.
std::function<void()> step(nn::Module& net, nn::Module& params, hpml::optim::SGD& opt, const Tensor& x,
                           const Tensor& y) {
  return [&net, &params, &opt, x, y] {
    params.zero_grad();
    nn::functional::cross_entropy(net(x), y).backward();
    opt.step();
  };
}

std::vector<double> ms(std::vector<double> s) {
  for (double& v : s) v *= 1e3;
  return s;
}

std::vector<double> time_step(nn::Module& model, const Tensor& x, const Tensor& y, dist::DDPOptions o, bool ddp) {
  hpml::optim::SGD opt(model.parameters(), {.lr = 0.01, .momentum = 0.9});
  if (!ddp) return ms(timed(step(model, model, opt, x, y), 0.3));
  dist::DistributedDataParallel wrapped(model, o);
  return ms(timed(step(wrapped, model, opt, x, y), 0.3));
}

void step_rows() {
  hpml::manual_seed(dist::get_rank());
  const Tensor x = hpml::randn({64, 1, 28, 28}), y = hpml::randint(0, 10, {64});
  auto m = mlp();
  emit("MLP step, 2 ranks, batch 64 per rank", "ms", time_step(m, x, y, {}, true));
  auto c = cnn();
  emit("CNN step, 2 ranks, batch 64 per rank", "ms", time_step(c, x, y, {}, true));
  emit("CNN step, 2 ranks, one bucket after backward", "ms",
       time_step(c, x, y, {.bucket_cap_mb = 1e5, .first_bucket_cap_mb = 1e5}, true));
  // 23 MB of gradients in 4 MB buckets: more communication to hide behind backward.
  hpml::Tensor xw = hpml::randn({64, 784});
  nn::Sequential w(nn::Linear(784, 2048), nn::ReLU(), nn::Linear(2048, 2048), nn::ReLU(), nn::Linear(2048, 10));
  emit("wide MLP (784-2048-2048-10, 4 MB buckets) step, 2 ranks, batch 64 per rank", "ms",
       time_step(w, xw, y, {.bucket_cap_mb = 4}, true));
  emit("wide MLP (784-2048-2048-10, 4 MB buckets) step, 2 ranks, one bucket after backward", "ms",
       time_step(w, xw, y, {.bucket_cap_mb = 1e5, .first_bucket_cap_mb = 1e5}, true));
  auto d = deep();
  const Tensor xd = hpml::randn({64, 32}), yd = hpml::randint(0, 32, {64});
  emit("deep MLP (120 parameters) step, 2 ranks, buckets", "ms", time_step(d, xd, yd, {}, true));
  emit("deep MLP (120 parameters) step, 2 ranks, one all-reduce per parameter", "ms",
       time_step(d, xd, yd, {.bucket_cap_mb = 0, .first_bucket_cap_mb = 0}, true));
}

// World size 1: the plain step and the DDP step in turns, so that noise hits both alike.
void overhead_rows() {
  hpml::manual_seed(0);
  const Tensor x = hpml::randn({64, 1, 28, 28}), y = hpml::randint(0, 10, {64});
  for (const char* which : {"MLP", "CNN"}) {
    auto model = std::string(which) == "MLP" ? mlp() : cnn();
    std::vector<double> plain, wrapped;
    const int reps = g_reps;
    g_reps = 1;
    for (int r = 0; r < reps; ++r) {
      plain.push_back(time_step(model, x, y, {}, false)[0]);
      wrapped.push_back(time_step(model, x, y, {}, true)[0]);
    }
    g_reps = reps;
    emit(std::string(which) + " step, 1 rank, no DDP", "ms", plain);
    emit(std::string(which) + " step, 1 rank, DDP", "ms", wrapped);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "one" && mode != "two") {
    std::fprintf(stderr, "usage: mpirun -np 2 ddp_bench two | mpirun -np 1 ddp_bench one [REPS]\n");
    return 2;
  }
  if (argc > 2) g_reps = std::max(5, std::atoi(argv[2]));
  dist::init_process_group();
  hpml::set_num_threads(1);
  if (dist::get_rank() == 0 && mode == "two")
    bench::info("hpml", "ddp", "mpi backend (" + dist::backend_version("mpi") + "), " +
                                   std::to_string(dist::get_world_size()) + " processes x 1 thread, one communication "
                                   "thread each");
  if (mode == "two") {
    all_reduce_rows();
    step_rows();
  } else {
    overhead_rows();
  }
  dist::destroy_process_group();
  return 0;
}
