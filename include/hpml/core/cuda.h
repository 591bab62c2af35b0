// hpml::cuda: the CUDA device's runtime, with torch.cuda's names. Every build has this API: in a
// build without CUDA (HPML_CUDA=OFF, or no toolkit) is_built() and is_available() are false,
// device_count() is 0 and the functions that need a GPU raise "hpml was not built with CUDA"; in
// a CUDA build on a machine without a usable GPU they raise why (no driver, no device), which
// unavailable_reason() also gives. Tensors on a GPU are made with Device("cuda:0") as usual; the
// kernels live in src/kernels/cuda/, the runtime in src/core/cuda/ (Note [The CUDA runtime]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hpml/core/stream_allocator.h"

namespace hpml {
class Tensor;
}

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
// ("none" without a driver), the toolkit it was compiled with and, with `libraries`, the cuDNN
// and NCCL libraries the loader finds ("9.19.0 (libcudnn.so.9)", or "not found: <why>"; opened
// with dlopen only then, as hpml does not call either yet). Empty strings in a CPU build.
struct Versions {
  std::string runtime;
  std::string driver;
  std::string toolkit;
  std::string cudnn;
  std::string nccl;
};
Versions versions(bool libraries = false);

// How many times the caching allocator has called cudaMalloc on GPU `index` since the start
// (after the first training step the count should stay put: Note [Stream-ordered caching
// allocator]).
size_t raw_allocation_count(int index);

// Whether f32 matmuls may use TF32 tensor cores (torch.backends.cuda.matmul.allow_tf32; off by
// default, as in PyTorch since 1.12: a 10-bit mantissa for the products). Every build has it.
void set_matmul_allow_tf32(bool allow);
bool matmul_allow_tf32();

// An in-order queue of kernels and copies on one GPU (torch.cuda.Stream). The default stream of
// each device has id 0; Stream::create hands out the device's pooled streams in turn (32 per
// device, made when first needed and never destroyed, as PyTorch's pool: the caching allocator
// may still hold blocks tagged with a stream). Work on two streams is ordered only by events or
// wait_stream.
class Stream {
 public:
  static Stream create(int device = -1);
  Stream(int device, uint64_t id, void* native) : device_(device), id_(id), native_(native) {}
  int device_index() const { return device_; }
  uint64_t id() const { return id_; }
  void* native() const { return native_; }  // the cudaStream_t (null: the legacy default stream)
  bool query() const;        // whether everything queued on it has finished
  void synchronize() const;  // waits for it; raises a kernel's error with the device
  // Work queued on this stream from now on waits for everything queued on `other` so far.
  void wait_stream(const Stream& other) const;
  bool operator==(const Stream& o) const { return device_ == o.device_ && id_ == o.id_; }

 private:
  int device_;
  uint64_t id_;
  void* native_;
};

Stream default_stream(int device = -1);
// The stream this thread's kernels on `device` are queued on (the default one unless set_stream).
Stream current_stream(int device = -1);
void set_stream(const Stream& s);

// Makes `s` its device's current stream and its device the current device for its scope.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& s);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
  DeviceGuard device_;
};

// A point in a stream's work (torch.cuda.Event); made on the device of the first stream it is
// recorded on.
class Event {
 public:
  explicit Event(bool enable_timing = false) : timing_(enable_timing) {}
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(const Stream& s);
  void record();              // on the current stream of the current device
  bool query() const;         // true when the recorded work has finished (or nothing was recorded)
  void synchronize() const;
  void wait(const Stream& s) const;  // work queued on s from now on waits for the recorded work
  // Milliseconds from this event to `end`; both made with enable_timing, recorded and finished.
  double elapsed_time(const Event& end) const;

 private:
  bool timing_;
  int device_ = -1;
  void* event_ = nullptr;  // cudaEvent_t, made at the first record
};

// The storage of `t` (a CUDA tensor) is also used by work queued on `s`: its memory is reused only
// after that work has run (torch.Tensor.record_stream; Note [Stream-ordered caching allocator]).
void record_stream(const Tensor& t, const Stream& s);

// The memory of GPU `index` (-1: the current one), counted by its stream-ordered caching
// allocator (core/stream_allocator.h), with torch.cuda's names.
size_t memory_allocated(int index = -1);
size_t memory_reserved(int index = -1);
size_t max_memory_allocated(int index = -1);
void reset_peak_memory_stats(int index = -1);
StreamAllocatorStats memory_stats(int index = -1);
std::string memory_summary(int index = -1);
void empty_cache(int index = -1);  // waits for the GPU, then returns its free segments

}  // namespace hpml::cuda
