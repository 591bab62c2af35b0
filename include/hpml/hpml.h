// The whole public API of hpml in one include.
#pragma once

#include "hpml/core/allocator.h"
#include "hpml/core/build_info.h"
#include "hpml/core/device.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/dtype.h"
#include "hpml/core/error.h"
#include "hpml/core/generator.h"
#include "hpml/core/record.h"
#include "hpml/core/scalar.h"
#include "hpml/core/sim.h"
#include "hpml/core/tensor.h"
#include "hpml/core/threads.h"

#include "hpml/ops/attention.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/conv.h"
#include "hpml/ops/distance.h"
#include "hpml/ops/factories.h"
#include "hpml/ops/indexing.h"
#include "hpml/ops/linalg.h"
#include "hpml/ops/normalization.h"
#include "hpml/ops/reduce.h"
#include "hpml/ops/sorting.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"

#include "hpml/autograd/engine.h"
#include "hpml/autograd/grad_mode.h"
#include "hpml/autograd/gradcheck.h"
#include "hpml/autograd/node.h"

#include "hpml/nn/nn.h"

#include "hpml/optim/optimizer.h"
#include "hpml/optim/optimizers.h"
#include "hpml/optim/lr_scheduler.h"
#include "hpml/optim/accumulate.h"

#include "hpml/io/safetensors.h"
#include "hpml/io/checkpoint.h"
#include "hpml/io/tensorboard.h"

#include "hpml/data/dataset.h"
#include "hpml/data/transforms.h"
#include "hpml/data/idx.h"
#include "hpml/data/csv.h"
#include "hpml/data/datasets.h"
#include "hpml/data/synthetic.h"
#include "hpml/data/sklearn.h"
#include "hpml/data/sampler.h"
#include "hpml/data/dataloader.h"
#include "hpml/mp/mp.h"

#include "hpml/distributed/distributed.h"

#include "hpml/profiler/profiler.h"
