// Op table entries: batch_norm (training and evaluation, with and without affine parameters and
// running statistics, rows long enough for the SIMD kernels and [N, C] rows of one value).
#include "hpml/ops/normalization.h"
#include "op_table/samples.h"

namespace hpml::ops::table {

namespace {
// Running statistics are made inside the call (fresh each call, so that training-mode samples,
// which update them, give the same result every time): fixed values, the same in the PyTorch twin.
TensorList call_batch_norm(const TensorList& in, const Args& a) {
  const int64_t C = in[0].sizes()[1];
  Tensor rm, rv;
  if (a.b("running")) {
    rm = linspace(-0.5, 0.5, C, in[0].dtype()).to(in[0].device());
    rv = linspace(0.5, 2.0, C, in[0].dtype()).to(in[0].device());
  }
  const Tensor w = in.size() > 1 ? in[1] : Tensor(), b = in.size() > 2 ? in[2] : Tensor();
  return {batch_norm(in[0], w, b, rm, rv, a.b("training"), a.d("momentum"), a.d("eps"))};
}

Args bn_args(bool training, bool running, double eps = 1e-5) {
  return {{"training", training}, {"running", running}, {"momentum", 0.1}, {"eps", eps}};
}
}  // namespace

void add_norm_ops(std::vector<OpInfo>& t) {
  t.push_back(OpInfo{"batch_norm", "nn", true, call_batch_norm, [](DType dt) {
                       Generator g = gen_for("batch_norm");
                       auto affine = [&](IntArrayRef shape) {
                         const int64_t C = shape[1];
                         return TensorList{rnd(g, shape, dt), rnd(g, {C}, dt, 0.5, 1.5), rnd(g, {C}, dt)};
                       };
                       return std::vector<Sample>{
                           {"train, affine, 2-d spatial", affine({4, 3, 5, 6}), bn_args(true, false)},
                           {"train, running stats", affine({3, 2, 4, 8}), bn_args(true, true, 1e-3)},
                           {"train, no affine, [N, C]", {rnd(g, {6, 4}, dt)}, bn_args(true, false)},
                           {"train, [N, C, L]", affine({3, 2, 20}), bn_args(true, true)},
                           {"eval, running stats", affine({2, 3, 4, 5}), bn_args(false, true)},
                           {"eval, no affine, [N, C]", {rnd(g, {5, 3}, dt)}, bn_args(false, true)}};
                     }});
}

}  // namespace hpml::ops::table
