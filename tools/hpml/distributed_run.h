// `hpml train` on several processes: joining the process group a launcher (mpirun, srun) set
// up, the few numbers the ranks share, and `--nproc N`, which starts mpirun itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train.h"

namespace hpml::cli {

// This process's place in a data-parallel run; a plain run is rank 0 of 1, not `on`.
struct World {
  bool on = false;
  int rank = 0, size = 1;
  bool lead() const { return rank == 0; }  // prints, evaluates, writes every file
};

// True when a launcher started this process as one rank of several (its environment says so).
bool under_launcher();
// Brings the default process group up when under_launcher(), else returns a plain World.
World join_world(const TrainConfig& c);
// After a run that ended normally on every rank: MPI_Finalize. After an error the process exits
// without it and the launcher ends the other ranks (Note [Timeouts break the group]).
void leave_world(const World& w);
// "rank 1 of 2: " in a data-parallel run, else "" (the prefix of an error message).
std::string world_prefix();

// v[0..n) summed over the ranks, in place (nothing to do outside a data-parallel run).
void sum_over_ranks(double* v, int n, const World& w);
// The lead's v[0..n) on every rank.
void from_lead(double* v, int n, const World& w);
// The largest of every rank's value (a stop request seen by any rank stops them all).
int max_over_ranks(int v, const World& w);

// A checksum of every parameter and buffer, the same on every rank or an error naming the
// epoch: data-parallel replicas must stay bit for bit identical. Returns the checksum.
uint64_t check_replicas_agree(const nn::Module& model, int64_t epoch, const World& w);

// `hpml train --nproc N ARGS`: runs `mpirun -np N hpml train ARGS` (without --nproc) with what
// this machine needs, forwarding SIGINT / SIGTERM, and returns its exit status. `train_args` are
// the arguments after "train".
int launch_processes(const TrainConfig& c, const std::vector<std::string>& train_args);

}  // namespace hpml::cli
