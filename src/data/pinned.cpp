// Pinned host memory for DataLoader(pin_memory = true) and data::pin_memory(): a copy of a batch
// in the page-locked memory of the device it will be copied to (Note [Pinned memory] in
// src/core/pinned.cpp: each device's runtime says where its pinned memory comes from).
#include <cstring>

#include "data/loader_internal.h"
#include "hpml/core/device_runtime.h"
#include "hpml/core/error.h"
#include "hpml/core/record.h"
#include "hpml/core/tensor_impl.h"

namespace hpml::data {

bool is_pinned(const Tensor& t) {
  return t.defined() && t.device().is_cpu() && is_pinned_memory(t.impl()->storage()->data());
}

Tensor pin_memory(const Tensor& t, const Device& device) {
  HPML_CHECK(t.defined(), "pin_memory: undefined tensor");
  HPML_CHECK(t.device().is_cpu(), "pin_memory: only cpu tensors can be pinned, got one on ", t.device());
  const Device d = device.is_cpu() ? device : resolve_device(device, "pin_memory");
  const Tensor src = t.contiguous();
  const size_t nbytes = src.nbytes();
  auto st = Storage::make(nbytes, device_runtime(d.type())->pinned_allocator(), kCPU);
  if (nbytes) std::memcpy(st->data(), src.data_ptr(), nbytes);  // src is cpu memory
  return Tensor(IntrusivePtr<TensorImpl>::make(std::move(st), src.dtype(), src.sizes(), src.strides(), 0));
}

Tensor pin_memory(const Tensor& t) { return pin_memory(t, default_pin_device()); }

namespace detail {
Batch pin_batch(const Batch& b, const Device& device) {
  record::Scope scope(record::Kind::data, "DataLoader.pin_memory");
  Batch out;
  out.reserve(b.size());
  for (const Tensor& t : b) out.push_back(pin_memory(t, device));
  return out;
}
}  // namespace detail

}  // namespace hpml::data
