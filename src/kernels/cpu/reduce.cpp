// CPU reductions: sum, prod, amax, amin, var, and max/min with indices.
// The op layer hands over `in` permuted to [kept..., reduced...]. After coalescing, one of three
// shapes of work remains (see Note [Reduction layouts]).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/wrapping.h"

namespace hpml::kernels::cpu {

// Note [Reduction layouts]
// rows:    each reduced block is contiguous (sum over the last dim of a contiguous tensor) —
//          one SIMD pass per row, rows split across threads.
// columns: the reduced block is strided but the innermost kept dim is contiguous (sum over
//          dim 0 of [N, C], the bias gradient) — whole rows of C values are accumulated into a
//          buffer, so memory is read in order.
// gather:  anything else — each reduced block is copied into a small buffer and reduced as a row.
namespace {

struct Plan {
  DimVector ksizes, kstrides;  // kept dims, coalesced (in elements of `in`)
  DimVector rsizes, rstrides;  // reduced dims, coalesced
  int64_t K = 1, R = 1;

  int64_t row_offset(int64_t k) const {  // element offset of the k-th kept position
    int64_t off = 0;
    for (int64_t d = static_cast<int64_t>(ksizes.size()) - 1; d >= 0; --d) {
      off += (k % ksizes[d]) * kstrides[d];
      k /= ksizes[d];
    }
    return off;
  }
  bool rows() const { return rsizes.size() <= 1 && (rsizes.empty() || rstrides[0] == 1); }
};

void push_dim(DimVector& sizes, DimVector& strides, int64_t size, int64_t stride) {
  if (size == 1) return;
  if (!sizes.empty() && strides.back() == size * stride) {
    sizes.back() *= size;
    strides.back() = stride;
  } else {
    sizes.push_back(size);
    strides.push_back(stride);
  }
}

Plan make_plan(const TensorView& in, int nreduce) {
  Plan p;
  const int64_t nk = in.dim() - nreduce;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (d < nk) {
      p.K *= in.sizes[d];
      // Kept dims merge only if the (contiguous) output can merge them too: it always can.
      push_dim(p.ksizes, p.kstrides, in.sizes[d], in.strides[d]);
    } else {
      p.R *= in.sizes[d];
      push_dim(p.rsizes, p.rstrides, in.sizes[d], in.strides[d]);
    }
  }
  return p;
}

// Scratch space for one row (std::vector<bool> has no data()).
template <typename T>
struct RowBuf {
  std::unique_ptr<T[]> p;
  int64_t n = 0;
  T* get(int64_t m) {
    if (m > n) {
      p.reset(new T[static_cast<size_t>(m)]);
      n = m;
    }
    return p.get();
  }
};

// Copies reduced block k into buf (R values) when it is not contiguous.
template <typename T>
const T* row_ptr(const Plan& p, const T* base, int64_t k, RowBuf<T>& rb) {
  const T* start = base + p.row_offset(k);
  if (p.rows()) return start;
  T* buf = rb.get(p.R);
  const int64_t nd = static_cast<int64_t>(p.rsizes.size());
  DimVector idx(nd, 0);
  const T* ptr = start;
  for (int64_t r = 0; r < p.R; ++r) {
    buf[r] = *ptr;
    for (int64_t d = nd - 1; d >= 0; --d) {
      ptr += p.rstrides[d];
      if (++idx[d] < p.rsizes[d]) break;
      ptr -= idx[d] * p.rstrides[d];
      idx[d] = 0;
    }
  }
  return buf;
}

template <typename T>
using SumAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <typename T>
SumAcc<T> reduce_row(ReduceOp op, const T* x, int64_t n) {
  using A = SumAcc<T>;
  switch (op) {
    case ReduceOp::sum:
      if constexpr (std::is_floating_point_v<T>) return vec::sum(x, n);
      else {
        A s = 0;
        for (int64_t i = 0; i < n; ++i) s = wadd(s, static_cast<A>(x[i]));
        return s;
      }
    case ReduceOp::prod: {
      A s = 1;
      for (int64_t i = 0; i < n; ++i) s = wmul(s, static_cast<A>(x[i]));
      return s;
    }
    case ReduceOp::amax: {
      T m = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
      for (int64_t i = 0; i < n; ++i) m = (x[i] != x[i] || x[i] > m) ? x[i] : m;
      return static_cast<A>(m);
    }
    case ReduceOp::amin: {
      T m = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
      for (int64_t i = 0; i < n; ++i) m = (x[i] != x[i] || x[i] < m) ? x[i] : m;
      return static_cast<A>(m);
    }
    default: return 0;
  }
}

// sum over the strided reduced dim, innermost kept dim contiguous (columns layout).
template <typename T, typename O>
bool try_column_sum(const Plan& p, const T* in, O* out) {
  if (p.rsizes.size() != 1 || p.ksizes.empty() || p.ksizes.size() > 2 || p.kstrides.back() != 1) return false;
  const int64_t inner = p.ksizes.back(), outer = p.K / inner, R = p.R, rs = p.rstrides[0];
  const int64_t os = p.ksizes.size() >= 2 ? p.kstrides[p.ksizes.size() - 2] : 0;
  constexpr int64_t kChunk = 512;
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  parallel_for(0, outer * chunks, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, R * kChunk)), [&](int64_t lo, int64_t hi) {
    SumAcc<T> acc[kChunk];
    for (int64_t w = lo; w < hi; ++w) {
      int64_t o = w / chunks, c0 = (w % chunks) * kChunk, m = std::min(kChunk, inner - c0);
      const T* base = in + o * os + c0;
      for (int64_t i = 0; i < m; ++i) acc[i] = 0;
      for (int64_t r = 0; r < R; ++r) {
        const T* row = base + r * rs;
        for (int64_t i = 0; i < m; ++i) acc[i] = wadd(acc[i], static_cast<SumAcc<T>>(row[i]));
      }
      for (int64_t i = 0; i < m; ++i) out[o * inner + c0 + i] = static_cast<O>(acc[i]);
    }
  });
  return true;
}

int64_t row_grain(int64_t R) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, R)); }

}  // namespace

void reduce(ReduceOp op, const TensorView& out, const TensorView& in, int nreduce) {
  const Plan p = make_plan(in, nreduce);
  if (p.K == 0) return;  // empty output
  dispatch_all(in.dtype, "reduce", [&]<typename T>() {
    dispatch_all(out.dtype, "reduce", [&]<typename O>() {
      const T* x = in.ptr<T>();
      O* o = out.ptr<O>();
      if (op == ReduceOp::sum && !p.rows() && try_column_sum<T, O>(p, x, o)) return;
      if constexpr (std::is_floating_point_v<T> && std::is_same_v<T, O>) {
        // Float sums of contiguous rows that are evenly spaced: one SIMD call per chunk of rows.
        if (op == ReduceOp::sum && p.rows() && p.ksizes.size() <= 1) {
          const int64_t stride = p.ksizes.empty() ? 0 : p.kstrides[0];
          parallel_for(0, p.K, row_grain(p.R), [&](int64_t lo, int64_t hi) {
            vec::sum_rows(x + lo * stride, hi - lo, p.R, stride, o + lo);
          });
          return;
        }
      }
      parallel_for(0, p.K, row_grain(p.R), [&](int64_t lo, int64_t hi) {
        RowBuf<T> buf;
        for (int64_t k = lo; k < hi; ++k) o[k] = static_cast<O>(reduce_row<T>(op, row_ptr(p, x, k, buf), p.R));
      });
    });
  });
}

void var(const TensorView& out, const TensorView* mean_out, const TensorView& in, int nreduce, double correction) {
  const Plan p = make_plan(in, nreduce);
  if (p.K == 0) return;
  dispatch_floating(in.dtype, "var", [&]<typename T>() {
    const T* x = in.ptr<T>();
    T* o = out.ptr<T>();
    T* mo = mean_out ? mean_out->ptr<T>() : nullptr;
    const double dof = std::max(0.0, static_cast<double>(p.R) - correction);
    parallel_for(0, p.K, row_grain(p.R), [&](int64_t lo, int64_t hi) {
      RowBuf<T> buf;
      for (int64_t k = lo; k < hi; ++k) {
        const T* row = row_ptr(p, x, k, buf);
        double mean = vec::sum(row, p.R) / static_cast<double>(p.R);
        o[k] = static_cast<T>(vec::sum_sq_dev(row, p.R, mean) / dof);
        if (mo) mo[k] = static_cast<T>(mean);
      }
    });
  });
}

void arg_reduce(bool is_max, const TensorView* values, const TensorView& indices, const TensorView& in) {
  const Plan p = make_plan(in, 1);
  if (p.K == 0) return;
  dispatch_all(in.dtype, "arg_reduce", [&]<typename T>() {
    const T* x = in.ptr<T>();
    int64_t* idx = indices.ptr<int64_t>();
    T* val = values ? values->ptr<T>() : nullptr;
    parallel_for(0, p.K, row_grain(p.R), [&](int64_t lo, int64_t hi) {
      RowBuf<T> buf;
      for (int64_t k = lo; k < hi; ++k) {
        const T* row = row_ptr(p, x, k, buf);
        int64_t best = 0;
        T bv = row[0];
        for (int64_t r = 1; r < p.R && bv == bv; ++r) {  // stops at the first NaN (it wins)
          T v = row[r];
          if (v != v || (is_max ? v > bv : v < bv)) {
            bv = v;
            best = r;
          }
        }
        idx[k] = best;
        if (val) val[k] = bv;
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
