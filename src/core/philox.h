// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): four
// 32-bit random words from a 64-bit key (the seed) and a 64-bit counter. Generator::block
// (core/generator.cpp) and the CUDA random fills (kernels/cuda/random.cu) both call this one
// function, so a seed gives the same words on the cpu and on a GPU.
#pragma once

#include <cstdint>

#include "core/hd.h"

namespace hpml::detail {

HPML_HD void philox4x32_10(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
  constexpr uint32_t kKey0 = 0x9E3779B9, kKey1 = 0xBB67AE85;
  uint32_t x0 = static_cast<uint32_t>(counter), x1 = static_cast<uint32_t>(counter >> 32), x2 = 0, x3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * x0, p1 = static_cast<uint64_t>(kMul1) * x2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    const uint32_t n0 = hi1 ^ x1 ^ k0, n2 = hi0 ^ x3 ^ k1;
    x0 = n0, x1 = lo1, x2 = n2, x3 = lo0;
    k0 += kKey0;
    k1 += kKey1;
  }
  out[0] = x0, out[1] = x1, out[2] = x2, out[3] = x3;
}

}  // namespace hpml::detail
