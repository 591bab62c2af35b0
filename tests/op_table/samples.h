// Building blocks for sample inputs in the op table: seeded random tensors with value ranges
// chosen to keep finite differences away from kinks and singularities.
#pragma once

#include <cmath>
#include <vector>

#include "hpml/core/generator.h"
#include "hpml/ops/binary.h"
#include "hpml/ops/factories.h"
#include "op_table/op_table.h"
#include "hpml/ops/unary.h"
#include "hpml/ops/views.h"

namespace hpml::ops::table {

// One generator per sample set, seeded by the op's name, so samples never change between runs.
inline Generator gen_for(std::string_view name) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return Generator(h);
}

// Uniform in [lo, hi).
inline Tensor rnd(Generator& g, IntArrayRef shape, DType dt, double lo = -1, double hi = 1) {
  return uniform(shape, lo, hi, &g, dt);
}
// Uniform in [lo, hi) with a random sign: |x| >= lo keeps clear of 0 (abs, relu, sign kinks).
inline Tensor away(Generator& g, IntArrayRef shape, DType dt, double lo = 0.2, double hi = 1.5) {
  Tensor mag = rnd(g, shape, dt, lo, hi);
  Tensor s = where(lt(rnd(g, shape, dt), scalar_tensor(0, dt)), -mag, mag);
  return s;
}
// Distinct values (for max/min/sort-like ops: no ties within finite-difference distance).
inline Tensor distinct(Generator& g, IntArrayRef shape, DType dt) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  Tensor perm = randperm(n, &g).to(dt);
  return (perm * 0.37 - static_cast<double>(n) * 0.15).reshape(shape);
}
inline Tensor ints(Generator& g, IntArrayRef shape, int64_t lo, int64_t hi) { return randint(lo, hi, shape, &g); }
inline Tensor mask(Generator& g, IntArrayRef shape) { return lt(rand(shape, &g, kFloat64), scalar_tensor(0.5, kFloat64)); }

}  // namespace hpml::ops::table
