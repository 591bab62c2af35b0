// The backends the frontend (distributed.cpp) can bring up. A backend that was not built answers
// with an error that says so.
#pragma once

#include <chrono>
#include <string>

#include "hpml/distributed/process_group.h"

namespace hpml::distributed::detail {

// True when this build has the MPI backend (CMake found MPI).
bool mpi_built();
// MPI_Init_thread and the communication thread; the group of every process of the job.
ProcessGroupPtr mpi_init(std::chrono::milliseconds timeout);
// Drains the communication thread and calls MPI_Finalize; after a timeout broke a group, leaves
// both alone (Note [Timeouts break the group]).
void mpi_finalize(bool broken);
// "Open MPI v4.1.4, ..." (MPI_Get_library_version), or empty.
std::string mpi_library_version();

}  // namespace hpml::distributed::detail
