// Generator: a seedable, counter-based random number generator (Philox4x32-10) whose whole state
// is (seed, offset). Random ops reserve a block of counters and fill it in parallel, so the values
// never depend on the number of threads. state()/set_state() save and restore it exactly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace hpml {

class Tensor;

class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL) : seed_(seed) {}
  Generator(const Generator& o) : seed_(o.seed_), offset_(o.offset_.load()) {}
  Generator& operator=(const Generator& o) {
    seed_ = o.seed_;
    offset_ = o.offset_.load();
    return *this;
  }

  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t initial_seed() const { return seed_; }
  uint64_t offset() const { return offset_.load(); }

  // The full state as a u8 tensor of 16 bytes: seed then offset, little-endian.
  Tensor state() const;
  void set_state(const Tensor& state);
  // Raises unless `state` is one set_state accepts (u8[16], an offset of at most 2^63).
  static void check_state(const Tensor& state);

  // Reserves `n` consecutive 128-bit counters and returns the first.
  uint64_t reserve(uint64_t n) { return offset_.fetch_add(n); }
  // Four 32-bit random words for counter `c` (Philox4x32-10 keyed by the seed).
  std::array<uint32_t, 4> block(uint64_t c) const;

  // Scalar draws for sequential algorithms (randperm, samplers): each consumes one counter.
  uint64_t next_u64();
  double next_double();  // uniform in [0, 1)

 private:
  uint64_t seed_;
  std::atomic<uint64_t> offset_{0};
};

// The generator random ops use when none is passed.
Generator& default_generator();
// Seeds the default generator (like torch::manual_seed).
void manual_seed(uint64_t seed);

}  // namespace hpml
