// Storage: a ref-counted block of bytes on one device, plus the version counter that every view
// of it shares. See Note [Version counter] in src/core/storage.cpp.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "hpml/core/allocator.h"
#include "hpml/core/device.h"
#include "hpml/core/intrusive_ptr.h"

namespace hpml {

class StorageImpl : public RefCounted {
 public:
  // Owned memory from `allocator`.
  StorageImpl(size_t nbytes, Allocator* allocator, Device device = kCPU);
  // Borrowed memory (from_blob): `deleter` (may be empty) runs when the storage dies.
  StorageImpl(void* data, size_t nbytes, std::function<void(void*)> deleter, Device device = kCPU);
  ~StorageImpl() override;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

  // Shared memory (hpml::mp): the name of the POSIX shared-memory segment that holds the bytes,
  // empty when the storage is private to this process.
  const std::string& shared_name() const { return shared_name_; }
  // Swaps the bytes for `data` (same nbytes; the caller has copied the contents), freeing the old
  // ones; every view keeps working because views hold the StorageImpl, not the pointer.
  // Tensor::share_memory_() uses it to move a storage into shared memory in place.
  void replace_data(void* data, std::function<void(void*)> deleter, std::string shared_name);

 private:
  void* data_;
  size_t nbytes_;
  Allocator* allocator_;  // null for borrowed memory
  std::function<void(void*)> deleter_;
  Device device_;
  std::atomic<uint32_t> version_{0};
  std::string shared_name_;
};

using Storage = IntrusivePtr<StorageImpl>;

}  // namespace hpml
