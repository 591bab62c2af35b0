// The MPI backend: a ProcessGroup over an MPI communicator, every call made from the one
// communication thread (Note [One communication thread]). Compiled with MPI when CMake finds it
// (HPML_WITH_MPI); without it, bringing the backend up raises an error that says so.
#include "distributed/backends.h"

#ifdef HPML_WITH_MPI
#include <mpi.h>

#include <cstdlib>
#include <future>
#include <memory>

#include "distributed/comm_thread.h"
#include "hpml/autograd/grad_mode.h"
#include "hpml/core/tensor.h"

namespace hpml::distributed::detail {
namespace {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw DistributedError(hpml::detail::str_cat("mpi: ", call, " failed: ", std::string(text, len)));
}

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i64: return MPI_INT64_T;
    case DType::i32: return MPI_INT32_T;
    case DType::u8: return MPI_UINT8_T;
    case DType::b8: return MPI_C_BOOL;
    case DType::bf16:  // moved as bits; reduced as f32 copies (Note [2-byte floats over MPI])
    case DType::f16: return MPI_UINT16_T;
  }
  return MPI_DATATYPE_NULL;
}

// avg is a sum, divided afterwards (floating dtypes only: the frontend checks). Booleans have
// only the logical operations.
MPI_Op mpi_op(ReduceOp op, DType d) {
  HPML_CHECK(!is_reduced_float(d), "mpi: no reduction of ", d, " buffers (they are reduced as f32 copies)");
  if (d == DType::b8) return op == ReduceOp::product || op == ReduceOp::min ? MPI_LAND : MPI_LOR;
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg: return MPI_SUM;
    case ReduceOp::product: return MPI_PROD;
    case ReduceOp::min: return MPI_MIN;
    case ReduceOp::max: return MPI_MAX;
  }
  return MPI_OP_NULL;
}

void divide(const Tensor& t, int n) {
  HPML_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, "mpi: ReduceOp::avg of a ", t.dtype(), " buffer");
  if (t.dtype() == DType::f32) {
    float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] /= static_cast<float>(n);
  } else {
    double* p = t.data_ptr<double>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] /= n;
  }
}

int count(const Tensor& t) { return static_cast<int>(t.numel()); }  // the frontend bounds it

// Note [2-byte floats over MPI]
// MPI has no bf16 or f16 sums. Every reduction here (the frontend's collectives and DDP's
// buckets, which call the group directly) reduces an f32 copy of a 2-byte tensor, made on the
// communication thread, and rounds the result back into it once (Note [Half-precision dtypes]
// in core/half.h). Moves (broadcast, gathers, scatter) send the bits as 16-bit words.
Tensor reducible(const Tensor& t) {
  if (!t.defined() || !is_reduced_float(t.dtype())) return t;
  autograd::NoGradGuard no_grad;
  return t.to(kFloat32);
}
void round_back(const Tensor& t, const Tensor& reduced) {
  if (reduced.is_same(t)) return;
  autograd::NoGradGuard no_grad;
  Tensor(t).copy_(reduced);
}
void* ptr(const Tensor& t) { return t.defined() ? t.data_ptr() : nullptr; }

// Process-wide MPI state: one communication thread for every communicator.
struct MpiState {
  CommThread* thread = nullptr;  // leaked when a timeout broke a group (it may be stuck)
  bool finalized = false;
};
MpiState& state() {
  static MpiState s;
  return s;
}

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup(MPI_Comm comm, int rank, int size, int global_rank, std::chrono::milliseconds timeout)
      : ProcessGroup(rank, size, timeout), comm_(comm), global_rank_(global_rank) {}
  ~MpiGroup() override {
    if (comm_ != MPI_COMM_WORLD && !state().finalized && state().thread && !broken()) {
      MPI_Comm comm = comm_;
      state().thread->post("mpi:comm_free", [comm]() mutable { MPI_Comm_free(&comm); }, nullptr);
    }
  }

  const char* backend() const override { return "mpi"; }
  int global_rank() const override { return global_rank_; }
  const char* unsupported(DType, ReduceOp) const override { return nullptr; }

  WorkPtr all_reduce(Tensor t, ReduceOp op, After after) override {
    return run("all_reduce", [=, this] {
      const Tensor w = reducible(t);
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, ptr(w), count(w), mpi_type(w.dtype()), mpi_op(op, w.dtype()), comm_),
                "MPI_Allreduce");
      if (op == ReduceOp::avg) divide(w, size());
      round_back(t, w);
      if (after) after();
    });
  }
  WorkPtr broadcast(Tensor t, int root, After after) override {
    return run("broadcast", [=, this] {
      check_mpi(MPI_Bcast(ptr(t), count(t), mpi_type(t.dtype()), root, comm_), "MPI_Bcast");
      if (after) after();
    });
  }
  WorkPtr reduce(Tensor t, int root, ReduceOp op, After after) override {
    return run("reduce", [=, this] {
      const bool me = rank() == root;
      const Tensor w = reducible(t);
      check_mpi(MPI_Reduce(me ? MPI_IN_PLACE : ptr(w), me ? ptr(w) : nullptr, count(w), mpi_type(w.dtype()),
                           mpi_op(op, w.dtype()), root, comm_), "MPI_Reduce");
      if (me && op == ReduceOp::avg) divide(w, size());
      if (me) round_back(t, w);
      if (after) after();
    });
  }
  WorkPtr all_gather(Tensor out, Tensor in, After after) override {
    return run("all_gather", [=, this] {
      check_mpi(MPI_Allgather(ptr(in), count(in), mpi_type(in.dtype()), ptr(out), count(in), mpi_type(in.dtype()),
                              comm_), "MPI_Allgather");
      if (after) after();
    });
  }
  WorkPtr reduce_scatter(Tensor out, Tensor in, ReduceOp op, After after) override {
    return run("reduce_scatter", [=, this] {
      const Tensor win = reducible(in), wout = reducible(out);
      check_mpi(MPI_Reduce_scatter_block(ptr(win), ptr(wout), count(wout), mpi_type(wout.dtype()),
                                         mpi_op(op, wout.dtype()), comm_), "MPI_Reduce_scatter_block");
      if (op == ReduceOp::avg) divide(wout, size());
      round_back(out, wout);
      if (after) after();
    });
  }
  WorkPtr gather(Tensor out, Tensor in, int root, After after) override {
    return run("gather", [=, this] {
      check_mpi(MPI_Gather(ptr(in), count(in), mpi_type(in.dtype()), ptr(out), count(in), mpi_type(in.dtype()),
                           root, comm_), "MPI_Gather");
      if (after) after();
    });
  }
  WorkPtr scatter(Tensor out, Tensor in, int root, After after) override {
    return run("scatter", [=, this] {
      check_mpi(MPI_Scatter(ptr(in), count(out), mpi_type(out.dtype()), ptr(out), count(out), mpi_type(out.dtype()),
                            root, comm_), "MPI_Scatter");
      if (after) after();
    });
  }
  WorkPtr send(Tensor t, int dst, int tag) override {
    return run("send", [=, this] {
      check_mpi(MPI_Send(ptr(t), count(t), mpi_type(t.dtype()), dst, tag, comm_), "MPI_Send");
    });
  }
  WorkPtr recv(Tensor t, int src, int tag, After after) override {
    return run("recv", [=, this] {
      check_mpi(MPI_Recv(ptr(t), count(t), mpi_type(t.dtype()), src, tag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
      if (after) after();
    });
  }
  WorkPtr barrier() override {
    return run("barrier", [this] { check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); });
  }

  ProcessGroupPtr split(const std::vector<int>& ranks) override {
    bool member = false;
    for (int r : ranks) member |= r == rank();
    struct Made {
      MPI_Comm comm = MPI_COMM_NULL;
      int rank = 0, size = 0;
    };
    auto made = std::make_shared<Made>();
    WorkPtr work = run("new_group", [=, this] {
      check_mpi(MPI_Comm_split(comm_, member ? 0 : MPI_UNDEFINED, rank(), &made->comm), "MPI_Comm_split");
      if (made->comm == MPI_COMM_NULL) return;
      MPI_Comm_set_errhandler(made->comm, MPI_ERRORS_RETURN);
      MPI_Comm_rank(made->comm, &made->rank);
      MPI_Comm_size(made->comm, &made->size);
    });
    work->wait();
    if (made->comm == MPI_COMM_NULL) return nullptr;
    return std::make_shared<MpiGroup>(made->comm, made->rank, made->size, global_rank_, timeout());
  }

 private:
  template <typename F>
  WorkPtr run(const char* op, F fn) {
    check_usable(op);
    auto work = std::make_shared<Work>(op, shared_from_this());
    state().thread->post(std::string("mpi:") + op, std::move(fn), work);  // short: no allocation
    return work;
  }

  MPI_Comm comm_;
  int global_rank_;
};

}  // namespace

bool mpi_built() { return true; }

ProcessGroupPtr mpi_init(std::chrono::milliseconds timeout) {
  MpiState& s = state();
  HPML_CHECK(!s.finalized, "init_process_group: MPI was shut down by destroy_process_group in this process and "
             "cannot be brought up again (MPI allows one MPI_Init per process)");
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    HPML_CHECK(provided >= MPI_THREAD_SERIALIZED, "init_process_group: this MPI library provides thread level ",
               provided, ", but hpml needs at least MPI_THREAD_SERIALIZED (its communication thread calls MPI)");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (!s.thread) s.thread = new CommThread("hpml comm (mpi)");
  return std::make_shared<MpiGroup>(MPI_COMM_WORLD, rank, size, rank, timeout);
}

void mpi_finalize(bool broken) {
  MpiState& s = state();
  if (!s.thread || s.finalized) return;
  if (broken) {  // the thread may never come back: leave it, and MPI, as they are
    s.thread->detach();
    s.thread = nullptr;
    return;
  }
  s.thread->stop();
  delete s.thread;
  s.thread = nullptr;
  MPI_Finalize();
  s.finalized = true;
}

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  std::string v(text, len);
  if (auto nl = v.find_first_of(",\n"); nl != std::string::npos) v.resize(nl);
  return v;
}

}  // namespace hpml::distributed::detail

#else  // no MPI in this build

namespace hpml::distributed::detail {
bool mpi_built() { return false; }
ProcessGroupPtr mpi_init(std::chrono::milliseconds) {
  HPML_FAIL("init_process_group: backend \"mpi\" is not built into this hpml (CMake did not find MPI)\n"
            "hint: install libopenmpi-dev and openmpi-bin (scripts/setup) and rebuild");
}
void mpi_finalize(bool) {}
std::string mpi_library_version() { return ""; }
}  // namespace hpml::distributed::detail

#endif
