// The program the fault tests (faults_test.cpp) start under mpirun: DDP training that goes
// wrong on purpose, one way per scenario. Every error ends the process with status 1 and a
// line that names the rank, as hpml train's do.
//   hpml_ddp_fault kill | stop | shapes | unused   (timeout: HPML_FAULT_TIMEOUT seconds, default 3)
//   hpml_ddp_fault hosts: prints each rank's network namespace (the two-hosts test), exits 0
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hpml/distributed/ddp.h"
#include "hpml/distributed/distributed.h"
#include "hpml/hpml.h"

namespace {

namespace dist = hpml::distributed;
namespace nn = hpml::nn;

struct Net : nn::Module {
  nn::Linear a, b, c;
  bool skip_b = false;
  Net(int64_t hidden) : nn::Module("Net"), a(8, hidden), b(hidden, hidden), c(hidden, 2) {
    register_module("a", a);
    register_module("b", b);
    register_module("c", c);
  }
  hpml::Tensor forward(const hpml::Tensor& x) override {
    hpml::Tensor h = a(x).relu();
    if (!skip_b) h = b(h).relu();
    return c(h);
  }
};

// mpirun ends the other ranks with SIGTERM when one dies; the wait hook turns that into an error
// naming the collective and the seconds waited (as hpml train does: distributed_run.cpp).
volatile sig_atomic_t g_term = 0;
void on_term(int) { g_term = 1; }
void wait_hook(const dist::Work& work, double waited) {
  if (g_term)
    throw dist::DistributedError(work.op() + ": SIGTERM came while this rank waited " + std::to_string(waited) +
                                 " s for the others");
}

// Every rank's network namespace (the inode of /proc/self/ns/net), gathered on every rank.
int print_namespaces() {
  struct stat st {};
  stat("/proc/self/ns/net", &st);
  hpml::Tensor mine = hpml::full({1}, static_cast<int64_t>(st.st_ino), hpml::TensorOptions(hpml::DType::i64));
  hpml::Tensor all = hpml::empty({dist::get_world_size()}, hpml::TensorOptions(hpml::DType::i64));
  dist::all_gather_into_tensor(all, mine);
  if (dist::get_rank() == 0)
    for (int r = 0; r < dist::get_world_size(); ++r)
      std::printf("netns of rank %d: %lld\n", r, static_cast<long long>(all.data_ptr<int64_t>()[r]));
  std::fflush(stdout);
  dist::destroy_process_group();
  return 0;
}

int run(const std::string& scenario) {
  struct sigaction sa {};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, nullptr);
  dist::set_wait_hook(wait_hook);
  const char* t = std::getenv("HPML_FAULT_TIMEOUT");
  const double timeout_s = t ? std::atof(t) : 3.0;
  dist::init_process_group({.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000))});
  const int rank = dist::get_rank();
  std::printf("rank %d pid %d ready\n", rank, static_cast<int>(getpid()));
  std::fflush(stdout);
  if (scenario == "hosts") return print_namespaces();
  hpml::manual_seed(1);
  Net net(scenario == "shapes" ? 16 + rank : 16);  // "shapes": rank 1's model is wider
  dist::DistributedDataParallel ddp(net);
  net.skip_b = scenario == "unused" && rank == 1;  // "unused": rank 1 leaves b out of forward
  hpml::optim::SGD opt(net.parameters(), {.lr = 0.01});
  for (int step = 0; step < 1000000; ++step) {
    if (step == 20 && rank == 1 && scenario == "kill") raise(SIGKILL);
    if (step == 20 && rank == 1 && scenario == "stop") raise(SIGSTOP);
    opt.zero_grad();
    hpml::Tensor x = hpml::randn({32, 8});
    nn::functional::mse_loss(ddp(x), hpml::zeros({32, 2})).backward();
    opt.step();
  }
  dist::destroy_process_group();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hpml_ddp_fault kill|stop|shapes|unused\n");
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpml_ddp_fault: rank %d: %s\n", dist::is_initialized() ? dist::get_rank() : -1, e.what());
    std::fflush(stderr);
    return 1;
  }
}
