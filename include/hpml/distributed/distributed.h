// torch.distributed for C++: the default process group and the collectives on tensors, with
// PyTorch's names and semantics.
//
//   // mpirun -np 2 ./train   (or: hpml train --nproc 2)
//   distributed::init_process_group({.backend = "mpi", .timeout = std::chrono::seconds(60)});
//   int rank = distributed::get_rank(), world = distributed::get_world_size();
//   distributed::all_reduce(t);                                 // sum, in place, blocking
//   auto w = distributed::broadcast(t, /*src=*/0, {.async_op = true});
//   w->wait();
//   distributed::destroy_process_group();
//
// Every call must be made by every rank of the group, in the same order (as in PyTorch); the
// backend runs them in that order on one communication thread (docs/distributed.md).
// Tensors: CPU, f32 / f64 / i64 / i32 / u8 / b8 (bool: sum and max are "or", product and min
// "and"); non-contiguous tensors are staged through a contiguous copy and written back.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "hpml/distributed/process_group.h"

namespace hpml::distributed {

struct InitOptions {
  std::string backend = "mpi";
  // How long a collective may wait for the other ranks before it fails (PyTorch's default).
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
};

// Brings up the default group from the launcher's environment (mpirun, srun: MPI finds the
// others); a process started without a launcher is a group of one. Call once, before any
// collective.
void init_process_group(const InitOptions& options = {});
bool is_initialized();
// Shuts the default group and every group made from it down (MPI_Finalize).
void destroy_process_group();
// The backends this build has ("mpi"), for hpml info.
std::vector<std::string> available_backends();
// The library behind a backend ("Open MPI v4.1.4"), callable before init_process_group.
std::string backend_version(const std::string& backend);

// The default group; throws if init_process_group has not run.
ProcessGroupPtr default_group();
// `group` may be null (the default group) in every call below.
int get_rank(const ProcessGroupPtr& group = nullptr);
int get_world_size(const ProcessGroupPtr& group = nullptr);
// This process's rank among those on its machine (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID).
int get_local_rank();
// A group of some ranks of the default group (torch.distributed.new_group): every rank must call
// it; the ranks outside `ranks` get nullptr.
ProcessGroupPtr new_group(std::vector<int> ranks);

struct Options {
  ProcessGroupPtr group = nullptr;  // null: the default group
  bool async_op = false;            // false: returns once done (the Work is already complete)
};

WorkPtr barrier(const Options& options = {});
// In place: every rank's t becomes the reduction over the ranks.
WorkPtr all_reduce(Tensor& t, ReduceOp op = ReduceOp::sum, const Options& options = {});
// t on every rank becomes src's t.
WorkPtr broadcast(Tensor& t, int src, const Options& options = {});
// dst's t becomes the reduction; the others' t is left as it was.
WorkPtr reduce(Tensor& t, int dst, ReduceOp op = ReduceOp::sum, const Options& options = {});
// out: world-size tensors shaped like t; out[r] = rank r's t.
WorkPtr all_gather(std::vector<Tensor>& out, const Tensor& t, const Options& options = {});
// out: [world * n, ...] (the inputs concatenated along dim 0) or [world, ...input shape].
WorkPtr all_gather_into_tensor(Tensor& out, const Tensor& in, const Options& options = {});
// in: the layout of all_gather_into_tensor's out; out = the reduction of every rank's block r.
WorkPtr reduce_scatter_tensor(Tensor& out, const Tensor& in, ReduceOp op = ReduceOp::sum,
                              const Options& options = {});
// On dst, gather_list (world-size tensors shaped like t) gets every rank's t; elsewhere it must be empty.
WorkPtr gather(const Tensor& t, std::vector<Tensor>* gather_list, int dst, const Options& options = {});
// out gets src's scatter_list[rank]; the list is read on src only (empty elsewhere).
WorkPtr scatter(Tensor& out, const std::vector<Tensor>& scatter_list, int src, const Options& options = {});
// Point to point (torch.distributed.send / recv; with async_op, isend / irecv).
WorkPtr send(const Tensor& t, int dst, int tag = 0, const Options& options = {});
WorkPtr recv(Tensor& t, int src, int tag = 0, const Options& options = {});

}  // namespace hpml::distributed
