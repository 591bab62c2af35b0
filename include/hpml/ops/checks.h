// Argument checks shared by every layer that defines ops (ops, nn's functional, optim's fused
// steps): the one-device rule, with the message PyTorch users know plus the names of the
// arguments that disagree.
#pragma once

#include <initializer_list>
#include <utility>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::ops {

// An argument by name, for messages: {"weight", &weight}. Undefined tensors are skipped.
using NamedArg = std::pair<const char*, const Tensor*>;

// Every defined tensor on one device, else hpml::Error:
//   "conv2d: expected all tensors on the same device, but input is on cpu and weight is on sim:0
//    hint: move with .to(cpu) first"
void check_same_device(const char* op, std::initializer_list<NamedArg> args);
// The same for a list argument ("tensors[0] is on cpu and tensors[2] is on sim:0") and, when
// `with` is given, one more tensor next to it: index_put's input and its indices.
void check_same_device(const char* op, const char* list_name, const std::vector<Tensor>& list,
                       NamedArg with = {nullptr, nullptr});

}  // namespace hpml::ops
