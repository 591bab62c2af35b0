// CPU loss kernels: the fused negative log-likelihood of rows (Note [Fused nll_loss] in
// ops/nll.cpp says why it is one loop and not twenty ops).
#include <algorithm>

#include "hpml/core/error.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"

namespace hpml::kernels::cpu {

// x [M, C] (any strides), target [M] i64 contiguous, weight [C] contiguous or null ->
// loss [M] (or null), sums [2] f64 {sum of losses, sum of weights}, safe_target [M] and neg_w [M]
// (or null), and bad [2] i64: {1, target} for the first row whose target is out of range. Such a
// row counts as ignored (safe_target 0), so that what the backward indexes is in range even when
// nothing raises (inside a graph capture: Note [Fused nll_loss in a graph] in ops/nll.cpp).
void nll_loss(const TensorView* loss, const TensorView& sums, const TensorView* safe_target, const TensorView* neg_w,
              const TensorView& bad, const TensorView& x, const TensorView& target, const TensorView* weight,
              int64_t ignore_index) {
  const int64_t M = x.sizes[0], C = x.sizes[1], rs = x.strides[0], cs = x.strides[1];
  const int64_t* tp = target.ptr<int64_t>();
  int64_t* sp = safe_target ? safe_target->ptr<int64_t>() : nullptr;
  auto run = [&]<typename T>() {
    const T* xp = x.ptr<const T>();
    const T* wp = weight ? weight->ptr<const T>() : nullptr;
    T* nw = neg_w ? neg_w->ptr<T>() : nullptr;
    T* rp = loss ? loss->ptr<T>() : nullptr;
    double sum = 0, total = 0;
    for (int64_t i = 0; i < M; ++i) {
      const int64_t c = tp[i];
      const bool out_of_range = c != ignore_index && (c < 0 || c >= C);
      if (out_of_range && bad.ptr<int64_t>()[0] == 0) {  // the op raises PyTorch's message from `bad`
        bad.ptr<int64_t>()[0] = 1;
        bad.ptr<int64_t>()[1] = c;
      }
      const bool ignored = c == ignore_index || out_of_range;
      const T w = ignored ? T(0) : wp ? wp[c] : T(1);
      const T li = ignored ? T(0) : -xp[i * rs + c * cs] * w;
      if (sp) sp[i] = ignored ? 0 : c;
      if (nw) nw[i] = -w;
      if (rp) rp[i] = li;
      total += static_cast<double>(w);
      sum += static_cast<double>(li);
    }
    sums.ptr<double>()[0] = sum;
    sums.ptr<double>()[1] = total;
  };
  if (x.dtype == DType::f32) run.template operator()<float>();
  else if (x.dtype == DType::f64) run.template operator()<double>();
  else HPML_ASSERT(false, "nll_loss kernel: f32 or f64 only, got ", dtype_name(x.dtype));
}

// range [2] i64 {min, max} of an index: raises as ops/indexing.cpp's host check does.
void check_range(const TensorView& range, int64_t size, const char* op, int64_t dim) {
  const int64_t lo = range.ptr<int64_t>()[0], hi = range.ptr<int64_t>()[1];
  HPML_CHECK(lo >= 0 && hi < size, op, ": index ", lo < 0 ? lo : hi, " is out of bounds for dimension ", dim,
             " with size ", size);
}

}  // namespace hpml::kernels::cpu
