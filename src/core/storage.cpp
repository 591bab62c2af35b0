// Storage: owned or borrowed bytes, freed through their allocator or deleter.
#include "hpml/core/storage.h"

namespace hpml {

// Note [Version counter]
// Every in-place write bumps the version of the storage it writes to. The counter lives in the
// storage, so every view of the same memory (and detach()ed aliases) shares it, as in PyTorch
// (Note [Version Counter Sharing]). Autograd records the version of each tensor it saves for
// backward; if the version differs at backward time, the saved values were overwritten and the
// gradient would be wrong, so backward raises an error naming the op and both versions.

StorageImpl::StorageImpl(size_t nbytes, Allocator* allocator, Device device)
    : data_(allocator->allocate(nbytes)), nbytes_(nbytes), allocator_(allocator), device_(device) {}

StorageImpl::StorageImpl(void* data, size_t nbytes, std::function<void(void*)> deleter, Device device)
    : data_(data), nbytes_(nbytes), allocator_(nullptr), deleter_(std::move(deleter)), device_(device) {}

StorageImpl::~StorageImpl() {
  if (allocator_) allocator_->deallocate(data_, nbytes_);
  else if (deleter_) deleter_(data_);
}

void StorageImpl::replace_data(void* data, std::function<void(void*)> deleter, std::string shared_name) {
  if (allocator_) allocator_->deallocate(data_, nbytes_);
  else if (deleter_) deleter_(data_);
  data_ = data;
  allocator_ = nullptr;
  deleter_ = std::move(deleter);
  shared_name_ = std::move(shared_name);
}

}  // namespace hpml
