// CPU softmax / log_softmax and their backward over one dim of a contiguous tensor seen as
// [outer, D, inner]. inner == 1 (the last dim) runs one SIMD row at a time; otherwise columns
// are staged through a buffer.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/vec_math.h"

namespace hpml::kernels::cpu {

namespace {
struct Layout {
  int64_t outer = 1, D = 1, inner = 1;
};
Layout layout(const TensorView& t, int64_t dim) {
  Layout l;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d < dim) l.outer *= t.sizes[d];
    else if (d == dim) l.D = t.sizes[d];
    else l.inner *= t.sizes[d];
  }
  return l;
}
}  // namespace

void softmax(const TensorView& out, const TensorView& in, int64_t dim, bool log) {
  const Layout l = layout(in, dim);
  dispatch_floating(in.dtype, "softmax", [&]<typename T>() {
    const T* x = in.ptr<T>();
    T* y = out.ptr<T>();
    const int64_t rows = l.outer * l.inner;
    parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.D)), [&](int64_t lo, int64_t hi) {
      std::vector<T> buf(l.inner == 1 ? 0 : static_cast<size_t>(l.D));
      for (int64_t r = lo; r < hi; ++r) {
        if (l.inner == 1) {
          vec::softmax_row(x + r * l.D, y + r * l.D, l.D, log);
          continue;
        }
        const int64_t o = r / l.inner, i = r % l.inner, base = o * l.D * l.inner + i;
        for (int64_t k = 0; k < l.D; ++k) buf[k] = x[base + k * l.inner];
        vec::softmax_row(buf.data(), buf.data(), l.D, log);
        for (int64_t k = 0; k < l.D; ++k) y[base + k * l.inner] = buf[k];
      }
    });
  });
}

// softmax:     grad_in = y * (g - sum(g * y))
// log_softmax: grad_in = g - exp(y) * sum(g)
void softmax_backward(const TensorView& grad_in, const TensorView& grad_out, const TensorView& y, int64_t dim,
                      bool log) {
  const Layout l = layout(y, dim);
  dispatch_floating(y.dtype, "softmax_backward", [&]<typename T>() {
    const T* g = grad_out.ptr<T>();
    const T* yy = y.ptr<T>();
    T* gi = grad_in.ptr<T>();
    const int64_t rows = l.outer * l.inner;
    parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, l.D)), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t o = r / l.inner, i = r % l.inner, base = o * l.D * l.inner + i, st = l.inner;
        double s = 0;
        if (log) {
          for (int64_t k = 0; k < l.D; ++k) s += g[base + k * st];
          for (int64_t k = 0; k < l.D; ++k)
            gi[base + k * st] = g[base + k * st] - std::exp(yy[base + k * st]) * static_cast<T>(s);
        } else {
          for (int64_t k = 0; k < l.D; ++k) s += static_cast<double>(g[base + k * st]) * yy[base + k * st];
          for (int64_t k = 0; k < l.D; ++k)
            gi[base + k * st] = yy[base + k * st] * (g[base + k * st] - static_cast<T>(s));
        }
      }
    });
  });
}

}  // namespace hpml::kernels::cpu
