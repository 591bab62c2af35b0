// SIMD math over contiguous arrays, compiled for several x86 targets (SSE4, AVX2, AVX-512) with
// Highway and picked at run time for the CPU it runs on. x and y may be the same array.
#pragma once

#include <cstdint>

namespace hpml::kernels::cpu::vec {

void exp(const float* x, float* y, int64_t n);
void exp(const double* x, double* y, int64_t n);
void log(const float* x, float* y, int64_t n);
void log(const double* x, double* y, int64_t n);
void tanh(const float* x, float* y, int64_t n);
void tanh(const double* x, double* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void sigmoid(const double* x, double* y, int64_t n);

// Sum of a row, accumulated in blocks of f32 lanes folded into a double (f32) or in f64 lanes.
double sum(const float* x, int64_t n);
double sum(const double* x, int64_t n);
// out[r] = sum of row r, for `rows` rows of n values `stride` elements apart.
void sum_rows(const float* x, int64_t rows, int64_t n, int64_t stride, float* out);
void sum_rows(const double* x, int64_t rows, int64_t n, int64_t stride, double* out);
// Sum of (x - mean)^2 over a row (the second pass of a two-pass variance).
double sum_sq_dev(const float* x, int64_t n, double mean);
double sum_sq_dev(const double* x, int64_t n, double mean);

// One softmax row: y = exp(x - max x) / sum, or its log for log_softmax.
void softmax_row(const float* x, float* y, int64_t n, bool log);
void softmax_row(const double* x, double* y, int64_t n, bool log);

}  // namespace hpml::kernels::cpu::vec
