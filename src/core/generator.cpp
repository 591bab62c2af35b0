// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
#include "hpml/core/generator.h"

#include <cstring>

#include "hpml/core/allocator.h"
#include "hpml/core/error.h"
#include "hpml/core/storage.h"
#include "hpml/core/tensor.h"
#include "hpml/core/tensor_impl.h"

namespace hpml {

namespace {
constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
constexpr uint32_t kKey0 = 0x9E3779B9, kKey1 = 0xBB67AE85;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}
}  // namespace

std::array<uint32_t, 4> Generator::block(uint64_t c) const {
  uint32_t x0 = static_cast<uint32_t>(c), x1 = static_cast<uint32_t>(c >> 32), x2 = 0, x3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed_), k1 = static_cast<uint32_t>(seed_ >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, x0, &hi0, &lo0);
    mulhilo(kMul1, x2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ x1 ^ k0, n1 = lo1, n2 = hi0 ^ x3 ^ k1, n3 = lo0;
    x0 = n0, x1 = n1, x2 = n2, x3 = n3;
    k0 += kKey0;
    k1 += kKey1;
  }
  return {x0, x1, x2, x3};
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
