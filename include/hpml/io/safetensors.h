// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [2, 3],
// "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}, then the raw
// little-endian tensor bytes (offsets relative to the end of the header).
//
// Files are untrusted: every field is checked (see Note [Reading safetensors safely] in
// src/io/safetensors.cpp) and a malformed file raises hpml::Error naming the file and the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::nn {
class Module;
}

namespace hpml::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Metadata = std::map<std::string, std::string>;

// Writes atomically: a temporary file next to `path`, fsync, then rename over `path`.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});
NamedTensors load_safetensors(const std::string& path, Metadata* metadata = nullptr);

// The same on bytes in memory; `source` names them in error messages (a file name).
std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata = {});
NamedTensors parse_safetensors(const uint8_t* data, size_t size, const std::string& source, Metadata* metadata = nullptr);

// A module's state dict to / from a safetensors file (PyTorch's dotted names, so files written
// from a PyTorch state dict load into the same model here and the other way round).
void save(const nn::Module& module, const std::string& path, const Metadata& metadata = {});
void load(nn::Module& module, const std::string& path, bool strict = true);

// Largest header accepted: 100,000,000 bytes, the reference implementation's MAX_HEADER_SIZE.
inline constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

}  // namespace hpml::io
