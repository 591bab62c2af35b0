// The PyTorch side of the parity tests: for each op-table name, the same call in libtorch.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <hpml/hpml.h>

#include "op_table/op_table.h"

namespace hpml::testing {

using TorchFn = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&, const ops::Args&)>;

// name -> libtorch implementation. Every op in hpml's table must have one (a test checks).
const std::map<std::string, TorchFn>& torch_ops();

torch::Tensor to_torch(const Tensor& t);  // copies values; same dtype and shape
Tensor from_torch(const torch::Tensor& t);
torch::ScalarType torch_dtype(DType d);

}  // namespace hpml::testing
