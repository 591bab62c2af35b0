// SIMD row kernels for the nn layers (pooling, batch norm), compiled for every SIMD target like
// vec_math.h and picked at run time. Rows are contiguous; outputs may alias inputs where noted.
#pragma once

#include <cstdint>

namespace hpml::kernels::cpu::vec {

// One [OH, OW] plane of a 2x2, stride-2 max pool of the plane x [H >= 2 OH, W >= 2 OW]: y the
// maximum of each window, k its position 0..3 in row-major window order, as a byte. Ties go to
// the first maximum; a NaN wins over numbers, the last NaN over earlier ones (PyTorch). y and k
// are [OH * OW], contiguous.
void max_pool_2x2_plane(const float* x, int64_t W, int64_t OH, int64_t OW, float* y, uint8_t* k);
void max_pool_2x2_plane(const double* x, int64_t W, int64_t OH, int64_t OW, double* y, uint8_t* k);
// Its backward (Note [Compact 2x2 max pooling indices] in pool.cpp): the plane gx [H, W] from
// g [OH, OW] and k, each element written once (the winner of its window gets g, all else 0).
void max_pool_2x2_plane_backward(const float* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 float* gx);
void max_pool_2x2_plane_backward(const double* g, const uint8_t* k, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                 double* gx);

// sum over i of a[i] * (x[i] - mean), accumulated like vec::sum (blocks folded into a double).
double sum_prod_dev(const float* a, const float* x, int64_t n, double mean);
double sum_prod_dev(const double* a, const double* x, int64_t n, double mean);

// y = s * x + t (y may be x).
void affine(const float* x, float* y, int64_t n, float s, float t);
void affine(const double* x, double* y, int64_t n, double s, double t);
// y = a * u + b * x + c (y may be u or x).
void affine2(const float* u, const float* x, float* y, int64_t n, float a, float b, float c);
void affine2(const double* u, const double* x, double* y, int64_t n, double a, double b, double c);

// Shifted-plane im2col / col2im of one image (Note [Shifted-plane im2col] in im2col_conv.cpp). For each
// channel c < C (planes of `plane` values in x / gx) and kernel offset k < kk, with cols rows of
// ohw values:  cols[(c kk + k) ohw + i] = keep[k ohw + i] != 0 ? x[c plane + i + off[k]] : 0 for
// i in [lo[k], hi[k]), 0 elsewhere; col2im adds the kept entries back into gx at the same places.
struct ShiftedPlanes {
  int64_t C, plane, ohw, kk;
  const int64_t *off, *lo, *hi;
};
void im2col_shifted(const ShiftedPlanes& p, const float* keep, const float* x, float* cols);
void im2col_shifted(const ShiftedPlanes& p, const double* keep, const double* x, double* cols);
void col2im_shifted(const ShiftedPlanes& p, const float* keep, const float* cols, float* gx);
void col2im_shifted(const ShiftedPlanes& p, const double* keep, const double* cols, double* gx);

}  // namespace hpml::kernels::cpu::vec
