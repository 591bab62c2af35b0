// hpml::mp: shared memory, processes with fork / spawn / forkserver, and queues of tensors.
#pragma once

#include "hpml/mp/process.h"
#include "hpml/mp/queue.h"
#include "hpml/mp/shared_memory.h"
