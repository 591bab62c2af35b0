// hpml::cuda: the CUDA device's runtime, with torch.cuda's names. Every build has this API: in a
// build without CUDA (HPML_CUDA=OFF, or no toolkit) is_built() and is_available() are false,
// device_count() is 0 and the functions that need a GPU raise "hpml was not built with CUDA"; in
// a CUDA build on a machine without a usable GPU they raise why (no driver, no device), which
// unavailable_reason() also gives. Tensors on a GPU are made with Device("cuda:0") as usual; the
// kernels live in src/kernels/cuda/, the runtime in src/core/cuda/ (Note [The CUDA runtime]).
#pragma once

#include <cstddef>
#include <string>

namespace hpml::cuda {

// Whether this build has the CUDA backend, whatever this machine has.
bool is_built();
// Whether a GPU can be used: built with CUDA, a driver, and at least one device.
bool is_available();
// The number of GPUs this process can use (0 when none is available).
int device_count();
// Why no GPU can be used ("" when one can): "hpml was not built with CUDA", or the CUDA runtime's
// error for the first call that found none (a missing driver, no device).
std::string unavailable_reason();

int current_device();
void set_device(int index);  // throws unless 0 <= index < device_count()
// Waits for every kernel and copy queued on GPU `index` (-1: the current one); raises a kernel's
// error with the op, the CUDA error string and the device.
void synchronize(int index = -1);

// Makes `index` the current GPU for its scope (torch.cuda.device(index)).
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

// torch.cuda.get_device_properties.
struct DeviceProperties {
  std::string name;
  int major = 0, minor = 0;  // compute capability: 9.0 for H100 and H200
  size_t total_memory = 0;   // bytes
  int multi_processor_count = 0;
};
DeviceProperties get_device_properties(int index);

// The versions `hpml info` prints: the CUDA runtime this build links, the driver's CUDA version
// ("none" without a driver), and the toolkit it was compiled with. Empty strings in a CPU build.
struct Versions {
  std::string runtime;
  std::string driver;
  std::string toolkit;
};
Versions versions();

// How many times the caching allocator has called cudaMalloc on GPU `index` since the start
// (after the first training step the count should stay put: Note [The CUDA runtime]).
size_t raw_allocation_count(int index);

}  // namespace hpml::cuda
