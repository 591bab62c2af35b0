// Hogwild!: several processes train one model at the same time, without locks.
//
// Hogwild! (Niu, Recht, Ré and Wright, "HOGWILD!: A Lock-Free Approach to Parallelizing
// Stochastic Gradient Descent", NIPS 2011) runs SGD in several workers over one copy of the
// parameters. Each worker reads the parameters, computes a gradient on its own mini-batch and
// subtracts lr * gradient from the parameters in place -- with no lock and no synchronisation,
// so a worker may read parameters that another is half-way through updating, and two updates of
// the same number at the same instant may lose one of them. It still converges: with small
// steps, every update moves the parameters only a little, so a gradient computed from slightly
// stale parameters is almost the gradient at the current ones, and a lost update costs a small
// step out of thousands. The paper proves near-linear speed-ups when updates are sparse (each
// touches few parameters, so collisions are rare); dense models like this MLP collide more, yet
// in practice train about as well at a modest learning rate. PyTorch's examples/mnist_hogwild does
// the same with torch.multiprocessing.
//
// Shared memory: model.share_memory() moves every parameter's storage into a POSIX shared-memory
// segment (/dev/shm/hpml.<pid>.<n>). The workers are started with fork, which copies the process
// copy-on-write: ordinary memory becomes private to each process as soon as it writes to it, but
// a shared segment stays one piece of memory mapped into every process. So each worker's
// optimizer writes straight into the parent's parameters, and the parent sees the trained model
// when the workers are done. (Without share_memory() every worker would train its own private
// copy and the parent's model would never change.) Everything else -- gradients, the optimizer
// and its state, the data loader -- is private to each worker, as in PyTorch's example.
//
// The training code is in hogwild.h (the test suite runs it too). Run:
//   hogwild [--procs N] [--epochs E] [--limit K] [--lr LR]
// N worker processes (1 to 64, default 2), E epochs (1 to 1000, default 1) over each one's shard
// of the 60,000 Fashion-MNIST training images, at most K images per process (default 0: the whole
// shard), SGD learning rate LR (above 0, at most 10; default 0.05). A value out of range, or not
// a number as a whole, prints the usage and exits 2.
// It prints the test accuracy before and after, how many steps each process took, how many of
// them found another process's update in the parameters since their own previous step (the
// processes really do write the same memory at the same time), and how much of the updates the
// collisions lost: the parameters moved by the sum of all the updates but for a few percent.
#include "hogwild.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace hpml;

namespace {

int usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--procs N (1-64)] [--epochs E (1-1000)] [--limit K (0-60000; 0: whole shard)] "
               "[--lr LR (0 < LR <= 10)]\n",
               prog);
  return 2;
}

// The whole of `text` as an integer in [lo, hi], or false.
bool parse_int(const char* text, long long lo, long long hi, long long& out) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) return false;
  out = v;
  return true;
}

// The whole of `text` as a number in (lo, hi] (NaN refused), or false.
bool parse_double(const char* text, double lo, double hi, double& out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !(v > lo && v <= hi)) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  mp::init(argc, argv);  // first, as every program that uses hpml::mp (spawned children need it)

  hogwild::Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    const char* value = argv[++i];
    long long n = 0;
    bool ok = false;
    if (arg == "--procs") {
      ok = parse_int(value, 1, 64, n);
      opt.procs = static_cast<int>(n);
    } else if (arg == "--epochs") {
      ok = parse_int(value, 1, 1000, n);
      opt.epochs = static_cast<int>(n);
    } else if (arg == "--limit") {
      ok = parse_int(value, 0, 60000, n);
      opt.limit = n;
    } else if (arg == "--lr") {
      ok = parse_double(value, 0.0, 10.0, opt.lr);
    }
    if (!ok) {
      if (arg == "--procs" || arg == "--epochs" || arg == "--limit" || arg == "--lr")
        std::fprintf(stderr, "hogwild: %s %s is out of range or not a number\n", arg.c_str(), value);
      else
        std::fprintf(stderr, "hogwild: unknown option %s\n", arg.c_str());
      return usage(argv[0]);
    }
  }

  // The parallelism is the processes: a forked child runs hpml on one thread (only the thread
  // that forked exists there), and the parent stays on one too, so that it holds no thread pool
  // when it forks.
  set_num_threads(1);

  std::shared_ptr<data::datasets::FashionMNIST> train_set, test_set;
  try {
    train_set = std::make_shared<data::datasets::FashionMNIST>();
    test_set = std::make_shared<data::datasets::FashionMNIST>(data::datasets::kFashionMNISTRoot, /*train=*/false);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\nthis example needs Fashion-MNIST in %s: run scripts/setup\n", e.what(),
                 data::datasets::kFashionMNISTRoot);
    return 1;
  }

  manual_seed(0);
  nn::Sequential model = hogwild::make_model();
  model.share_memory();  // before the workers start: they inherit the mappings

  const int64_t per_proc = opt.limit > 0 ? std::min(opt.limit, (train_set->size() + opt.procs - 1) / opt.procs)
                                         : (train_set->size() + opt.procs - 1) / opt.procs;
  std::printf(
      "Hogwild!: %d process%s train%s one shared MLP 784-128-10, %d epoch%s of %lld images each, "
      "batch %lld, SGD lr %g\n",
      opt.procs, opt.procs == 1 ? "" : "es", opt.procs == 1 ? "s" : "", opt.epochs, opt.epochs == 1 ? "" : "s",
      static_cast<long long>(per_proc), static_cast<long long>(opt.batch_size), opt.lr);
  const hogwild::Result r = hogwild::train(model, train_set, test_set->images(), test_set->labels(), opt);

  auto list = [](const std::vector<int64_t>& v) {
    std::string text;
    for (size_t i = 0; i < v.size(); ++i) text += (i ? ", " : "") + std::to_string(v[i]);
    return "[" + text + "]";
  };
  bool all_shared = true;
  for (bool b : r.trained_shared) all_shared = all_shared && b;
  std::printf("accuracy before %.3f, after %.3f; steps per process: %s (%.2f s)\n", r.accuracy_before, r.accuracy_after,
              list(r.steps).c_str(), r.seconds);
  std::printf(
      "every process trained on the shared parameters: %s; steps that found another process's update "
      "since their own last one: %s\n",
      all_shared ? "yes" : "NO", list(r.interleaved).c_str());
  // The parameters moved by the sum of what the processes subtracted, but for the updates that
  // collisions lost (two processes reading a number before either wrote it back).
  std::printf("the parameters moved by the sum of all the processes' updates to within %.1f%% (lost to collisions)\n",
              100 * hogwild::lost_fraction(r));
  return r.accuracy_after > r.accuracy_before && all_shared ? 0 : 1;
}
