// The Generator: Philox4x32-10 words (core/philox.h) for counters, its state, the default one.
#include "hpml/core/generator.h"

#include <cstring>

#include "core/philox.h"
#include "hpml/core/allocator.h"
#include "hpml/core/error.h"
#include "hpml/core/storage.h"
#include "hpml/core/tensor.h"
#include "hpml/core/tensor_impl.h"

namespace hpml {

std::array<uint32_t, 4> Generator::block(uint64_t c) const {
  std::array<uint32_t, 4> w;
  detail::philox4x32_10(seed_, c, w.data());
  return w;
}

uint64_t Generator::next_u64() {
  auto b = block(reserve(1));
  return (static_cast<uint64_t>(b[0]) << 32) | b[1];
}

double Generator::next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

// A u8 [16] cpu tensor built here from core's own pieces (core does not call ops): the seed
// and the offset, little-endian words.
Tensor Generator::state() const {
  const int64_t n = 16, stride = 1;
  Storage storage = Storage::make(static_cast<size_t>(n), cpu_allocator(), kCPU);
  const uint64_t words[2] = {seed_, offset_.load()};
  std::memcpy(storage->data(), words, 16);
  return Tensor(IntrusivePtr<TensorImpl>::make(std::move(storage), kUInt8, IntArrayRef(&n, 1), IntArrayRef(&stride, 1),
                                               0));
}

void Generator::check_state(const Tensor& state) {
  HPML_CHECK(state.defined() && state.dtype() == kUInt8 && state.dim() == 1 && state.numel() == 16,
             "Generator::set_state: expected a u8 tensor of 16 bytes, got ",
             state.defined() ? dtype_name(state.dtype()) : "undefined", " with ",
             state.defined() ? state.numel() : 0, " elements");
  HPML_CHECK(state.device().is_cpu(), "Generator::set_state: expected a cpu tensor, got one on ", state.device(),
             "\nhint: move with .to(cpu) first");
  HPML_CHECK(state.is_contiguous(), "Generator::set_state: expected a contiguous tensor (strides ", state.strides(), ")");
  uint64_t words[2];
  std::memcpy(words, state.data_ptr<uint8_t>(), 16);
  // The offset counts 128-bit blocks drawn; 2^63 of them would take millennia, so a larger one is
  // a forged state, and refusing it keeps offset + n from wrapping around to reused counters.
  HPML_CHECK(words[1] <= (uint64_t{1} << 63), "Generator::set_state: the offset ", words[1],
             " is larger than 2^63 (a state Generator::state() cannot have given)");
}

void Generator::set_state(const Tensor& state) {
  check_state(state);
  uint64_t words[2];
  std::memcpy(words, state.data_ptr<uint8_t>(), 16);
  seed_ = words[0];
  offset_ = words[1];
}

Generator& default_generator() {
  static Generator g;
  return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace hpml
