// The frontend of hpml::distributed: the default group, and the collectives' checks and staging.
// Backends (backends.h) see only contiguous, checked tensors.
#include "hpml/distributed/distributed.h"

#include <climits>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "distributed/backends.h"
#include "hpml/autograd/grad_mode.h"
#include "hpml/ops/factories.h"

namespace hpml::distributed {
namespace {

struct Global {
  std::mutex mu;
  ProcessGroupPtr world;
  std::vector<std::weak_ptr<ProcessGroup>> groups;  // every group made, to tell if one broke
};
Global& global() {
  static Global g;
  return g;
}

const ProcessGroupPtr& group_of(const ProcessGroupPtr& g) {
  if (g) return g;
  Global& s = global();
  HPML_CHECK(s.world, "distributed: the default process group is not initialized\n"
             "hint: call distributed::init_process_group() first (and launch with mpirun, or hpml train --nproc)");
  return s.world;
}

// Checks one tensor argument: defined, on the CPU, a dtype the backend moves, at most INT_MAX
// elements (MPI counts are ints).
void check_tensor(const char* op, const char* what, const Tensor& t, const ProcessGroup& g,
                  ReduceOp rop = ReduceOp::sum) {
  HPML_CHECK(t.defined(), op, ": ", what, " is undefined");
  HPML_CHECK(t.device().is_cpu(), op, ": ", what, " is on ", t.device(), ", but backend ", g.backend(),
             " moves CPU tensors only");
  HPML_CHECK(t.numel() <= INT_MAX, op, ": ", what, " has ", t.numel(), " elements, more than one message holds (",
             INT_MAX, ")");
  if (rop == ReduceOp::avg)
    HPML_CHECK(is_floating(t.dtype()), op, ": ReduceOp::avg needs a floating tensor, but ",
               what, " is ", t.dtype(), "\nhint: use ReduceOp::sum and divide");
  if (const char* why = g.unsupported(t.dtype(), rop)) HPML_FAIL(op, ": ", what, " (", t.dtype(), "): ", why);
}

void check_rank(const char* op, const char* what, int r, const ProcessGroup& g) {
  HPML_CHECK(r >= 0 && r < g.size(), op, ": ", what, " ", r, " is not a rank of the group (world size ", g.size(), ")");
}

// A contiguous tensor to hand the backend: t itself, or a copy whose result `after` writes back.
struct Staged {
  Tensor buf;
  ProcessGroup::After after;
};
Staged stage(const Tensor& t, bool write_back) {
  if (t.is_contiguous()) return {t, nullptr};
  Tensor buf = t.contiguous();
  if (!write_back) return {buf, nullptr};
  return {buf, [t, buf] {
            autograd::NoGradGuard no_grad;
            Tensor(t).copy_(buf);
          }};
}

WorkPtr finish(WorkPtr w, const Options& o) {
  if (!o.async_op) w->wait();
  return w;
}

// Flat views of the world-size blocks of `buf`, shaped like `like`.
Tensor block(const Tensor& buf, int r, const Tensor& like) {
  return buf.narrow(0, r * like.numel(), like.numel()).view(like.sizes());
}

void check_list(const char* op, const char* what, const std::vector<Tensor>& list, const Tensor& like,
                const ProcessGroup& g) {
  HPML_CHECK(list.size() == static_cast<size_t>(g.size()), op, ": ", what, " has ", list.size(),
             " tensors, but the world size is ", g.size());
  for (size_t i = 0; i < list.size(); ++i) {
    check_tensor(op, what, list[i], g);
    HPML_CHECK(list[i].sizes() == like.sizes() && list[i].dtype() == like.dtype(), op, ": ", what, "[", i,
               "] is ", list[i].sizes(), " ", list[i].dtype(), ", but the tensor is ", like.sizes(), " ", like.dtype());
  }
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (*end || x < 0 || x > 1 << 20) return fallback;  // a number from outside: bounded
  return static_cast<int>(x);
}

}  // namespace

void init_process_group(const InitOptions& options) {
  Global& s = global();
  std::lock_guard<std::mutex> lock(s.mu);
  HPML_CHECK(!s.world, "init_process_group: the default process group is already initialized (rank ",
             s.world->rank(), " of ", s.world->size(), ")");
  HPML_CHECK(options.backend == "mpi", "init_process_group: unknown backend \"", options.backend,
             "\"; this build has: mpi", detail::mpi_built() ? "" : " (not built: CMake did not find MPI)");
  HPML_CHECK(options.timeout.count() > 0, "init_process_group: the timeout must be positive, got ",
             options.timeout.count(), " ms");
  s.world = detail::mpi_init(options.timeout);
  s.groups.push_back(s.world);
}

bool is_initialized() {
  Global& s = global();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.world != nullptr;
}

void destroy_process_group() {
  Global& s = global();
  std::lock_guard<std::mutex> lock(s.mu);
  HPML_CHECK(s.world, "destroy_process_group: no process group is initialized");
  bool broken = false;
  for (auto& w : s.groups)
    if (auto g = w.lock()) broken |= g->broken();
  s.world.reset();
  s.groups.clear();
  detail::mpi_finalize(broken);
}

std::vector<std::string> available_backends() {
  if (detail::mpi_built()) return {"mpi"};
  return {};
}

std::string backend_version(const std::string& backend) {
  HPML_CHECK(backend == "mpi" && detail::mpi_built(), "backend_version: backend \"", backend, "\" is not built");
  return detail::mpi_library_version();
}

ProcessGroupPtr default_group() { return group_of(nullptr); }
int get_rank(const ProcessGroupPtr& group) { return group_of(group)->rank(); }
int get_world_size(const ProcessGroupPtr& group) { return group_of(group)->size(); }

int get_local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID", "LOCAL_RANK"}) {
    int r = env_int(name, -1);
    if (r >= 0) return r;
  }
  return 0;
}

ProcessGroupPtr new_group(std::vector<int> ranks) {
  const ProcessGroupPtr& world = group_of(nullptr);
  std::vector<bool> seen(world->size());
  for (int r : ranks) {
    check_rank("new_group", "rank", r, *world);
    HPML_CHECK(!seen[r], "new_group: rank ", r, " is listed twice");
    seen[r] = true;
  }
  ProcessGroupPtr g = world->split(ranks);
  if (g) {
    Global& s = global();
    std::lock_guard<std::mutex> lock(s.mu);
    s.groups.push_back(g);
  }
  return g;
}

WorkPtr barrier(const Options& o) { return finish(group_of(o.group)->barrier(), o); }

WorkPtr all_reduce(Tensor& t, ReduceOp op, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("all_reduce", "tensor", t, *g, op);
  Staged s = stage(t, true);
  return finish(g->all_reduce(s.buf, op, s.after), o);
}

WorkPtr broadcast(Tensor& t, int src, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("broadcast", "tensor", t, *g);
  check_rank("broadcast", "src", src, *g);
  Staged s = stage(t, true);
  return finish(g->broadcast(s.buf, src, s.after), o);
}

WorkPtr reduce(Tensor& t, int dst, ReduceOp op, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("reduce", "tensor", t, *g, op);
  check_rank("reduce", "dst", dst, *g);
  Staged s = stage(t, g->rank() == dst);
  return finish(g->reduce(s.buf, dst, op, s.after), o);
}

WorkPtr all_gather(std::vector<Tensor>& out, const Tensor& t, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("all_gather", "tensor", t, *g);
  check_list("all_gather", "the output list", out, t, *g);
  Tensor buf = empty({g->size() * t.numel()}, t.options());
  ProcessGroup::After after = [out, buf, like = t] {
    autograd::NoGradGuard no_grad;
    for (size_t r = 0; r < out.size(); ++r) Tensor(out[r]).copy_(block(buf, static_cast<int>(r), like));
  };
  return finish(g->all_gather(buf, stage(t, false).buf, std::move(after)), o);
}

WorkPtr all_gather_into_tensor(Tensor& out, const Tensor& in, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("all_gather_into_tensor", "input", in, *g);
  check_tensor("all_gather_into_tensor", "output", out, *g);
  HPML_CHECK(out.dtype() == in.dtype() && out.numel() == g->size() * in.numel(), "all_gather_into_tensor: output is ",
             out.sizes(), " ", out.dtype(), ", but it must hold world size (", g->size(), ") x input ", in.sizes(), " ",
             in.dtype(), " = ", g->size() * in.numel(), " elements");
  Staged s = stage(out, true);
  return finish(g->all_gather(s.buf, stage(in, false).buf, s.after), o);
}

WorkPtr reduce_scatter_tensor(Tensor& out, const Tensor& in, ReduceOp op, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("reduce_scatter_tensor", "input", in, *g, op);
  check_tensor("reduce_scatter_tensor", "output", out, *g, op);
  HPML_CHECK(out.dtype() == in.dtype() && in.numel() == g->size() * out.numel(), "reduce_scatter_tensor: input is ",
             in.sizes(), " ", in.dtype(), ", but it must hold world size (", g->size(), ") x output ", out.sizes(), " ",
             out.dtype(), " = ", g->size() * out.numel(), " elements");
  Staged s = stage(out, true);
  return finish(g->reduce_scatter(s.buf, stage(in, false).buf, op, s.after), o);
}

WorkPtr gather(const Tensor& t, std::vector<Tensor>* gather_list, int dst, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("gather", "tensor", t, *g);
  check_rank("gather", "dst", dst, *g);
  Tensor buf;
  ProcessGroup::After after;
  if (g->rank() == dst) {
    HPML_CHECK(gather_list, "gather: the destination rank ", dst, " needs a gather_list");
    check_list("gather", "gather_list", *gather_list, t, *g);
    buf = empty({g->size() * t.numel()}, t.options());
    after = [out = *gather_list, buf, like = t] {
      autograd::NoGradGuard no_grad;
      for (size_t r = 0; r < out.size(); ++r) Tensor(out[r]).copy_(block(buf, static_cast<int>(r), like));
    };
  } else {
    HPML_CHECK(!gather_list || gather_list->empty(), "gather: rank ", g->rank(), " is not the destination (", dst,
               ") and must pass no gather_list, but passed ", gather_list->size(), " tensors");
  }
  return finish(g->gather(buf, stage(t, false).buf, dst, std::move(after)), o);
}

WorkPtr scatter(Tensor& out, const std::vector<Tensor>& scatter_list, int src, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("scatter", "output", out, *g);
  check_rank("scatter", "src", src, *g);
  Tensor buf;
  if (g->rank() == src) {
    check_list("scatter", "scatter_list", scatter_list, out, *g);
    buf = empty({g->size() * out.numel()}, out.options());
    autograd::NoGradGuard no_grad;
    for (int r = 0; r < g->size(); ++r) block(buf, r, out).copy_(scatter_list[r]);
  } else {
    HPML_CHECK(scatter_list.empty(), "scatter: rank ", g->rank(), " is not the source (", src,
               ") and must pass an empty scatter_list, but passed ", scatter_list.size(), " tensors");
  }
  Staged s = stage(out, true);
  return finish(g->scatter(s.buf, buf, src, s.after), o);
}

namespace {
void check_peer(const char* op, const char* what, int peer, int tag, const ProcessGroup& g) {
  check_rank(op, what, peer, g);
  HPML_CHECK(peer != g.rank(), op, ": rank ", g.rank(), " cannot ", op, " to itself");
  HPML_CHECK(tag >= 0 && tag <= 32767, op, ": tag ", tag, " is outside [0, 32767] (the range every MPI allows)");
}
}  // namespace

WorkPtr send(const Tensor& t, int dst, int tag, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("send", "tensor", t, *g);
  check_peer("send", "dst", dst, tag, *g);
  return finish(g->send(stage(t, false).buf, dst, tag), o);
}

WorkPtr recv(Tensor& t, int src, int tag, const Options& o) {
  const ProcessGroupPtr& g = group_of(o.group);
  check_tensor("recv", "tensor", t, *g);
  check_peer("recv", "src", src, tag, *g);
  Staged s = stage(t, true);
  return finish(g->recv(s.buf, src, tag, s.after), o);
}

}  // namespace hpml::distributed
