// Shared memory for hpml::mp (PyTorch's torch.multiprocessing storage sharing): a POSIX
// shared-memory segment (/dev/shm/hpml.<pid>.<n>) mapped into every process that opens it, the
// handle that names a tensor inside one, and the resource tracker that removes the segments a
// crashed process left behind. See Note [Shared-memory lifetime] in src/mp/shared_memory.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hpml/core/tensor.h"

namespace hpml::mp {

// One mapping of a segment. The creator owns the name: its destructor (or unlink()) removes it
// from /dev/shm and from the resource tracker. The memory itself lives while any process maps it.
class SharedSegment {
 public:
  // A new zero-filled segment of `nbytes` (> 0), registered with the resource tracker.
  static std::shared_ptr<SharedSegment> create(size_t nbytes);
  // Maps an existing segment by name; the size is the segment's.
  static std::shared_ptr<SharedSegment> open(const std::string& name);
  // Maps the segment open as `fd` (received from another process; closes fd). Works even after
  // the name was unlinked, which is why queues send descriptors along with names.
  static std::shared_ptr<SharedSegment> open_fd(const std::string& name, int fd);
  // A new descriptor for this segment (by name while it exists), for sending to another process.
  int dup_fd() const;
  ~SharedSegment();
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }
  bool owns_name() const;
  // Removes the name now (mappings stay valid); later open()s of it fail.
  void unlink();

 private:
  SharedSegment(std::string name, void* data, size_t size, bool owner);
  std::string name_;
  void* data_;
  size_t size_;
  bool owner_;
  bool unlinked_ = false;
  int creator_;  // pid of the process that created (owns) the name
};

// A storage whose bytes are a whole segment (kept mapped while the storage lives).
Storage shared_storage(const std::shared_ptr<SharedSegment>& segment);

// What a process needs to map a tensor another process shared: never the data itself.
struct TensorHandle {
  std::string segment;  // shared-memory name
  int64_t offset = 0;   // storage offset, in elements
  std::vector<int64_t> sizes, strides;
  DType dtype = kFloat32;
  bool requires_grad = false;

  // A short text form ("segment offset dtype ndim sizes... strides... requires_grad") for pipes.
  std::string serialize() const;
  static TensorHandle deserialize(const std::string& text);
};

// The handle of `t`, moving its storage to shared memory first if it is not there yet.
TensorHandle share(const Tensor& t);
// Maps the tensor a handle names (its storage stays mapped while the tensor lives); with fd >= 0
// the segment is mapped from that descriptor (which is consumed) instead of by name.
Tensor from_handle(const TensorHandle& h, int fd = -1);
// A descriptor of the segment holding shared tensor t (the caller closes it).
int segment_fd(const Tensor& t);

// Segments of this process tree that still exist in /dev/shm, for tests and leak reports.
std::vector<std::string> list_segments();
// The resource tracker's process id (starting it if needed): it unlinks every registered
// segment still present when the last process of this tree has exited.
int resource_tracker_pid();

namespace detail {
// Inherited by spawned processes as this file descriptor number (see process.cpp).
int resource_tracker_fd();
void adopt_resource_tracker_fd(int fd);
void tracker_register(const std::string& name);
void tracker_unregister(const std::string& name);
}  // namespace detail

}  // namespace hpml::mp
