#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* A macro, not a function: a function returning a 32-byte vector has a different ABI with
 * and without AVX, which compilers warn about even when it is inlined. */
#define LOAD8(pointer) (*(const v8 *)(pointer))

/* The loop both variants share. Two weight rows by four input rows per pass: eight
 * independent accumulator chains, enough to keep both FMA units busy through their
 * latency, each weight row read once per four input rows and never packed. A short
 * group of rows repeats its last row and drops the copies, so the loops have a fixed
 * shape. With AVX2+FMA, `a += w * x` becomes one fused multiply-add per eight values. */
static inline __attribute__((always_inline)) void few_rows_body(const float *input, int rows, const float *weight,
                                                                const float *bias, int outputs, int inputs,
                                                                float *output, int output_stride) {
  const int wide = inputs - inputs % 8;
  for (int first = 0; first < rows; first += 4) {
    int count = rows - first < 4 ? rows - first : 4;
    const float *x[4];
    for (int r = 0; r < 4; r++) x[r] = input + (size_t)(first + (r < count ? r : count - 1)) * inputs;
    for (int o = 0; o < outputs; o += 2) {
      int pair = o + 1 < outputs;
      const float *w[2] = {weight + (size_t)o * inputs, weight + (size_t)(o + pair) * inputs};
      v8 a[2][4] = {{{0}}};
      for (int k = 0; k < wide; k += 8) {
        v8 w0 = LOAD8(w[0] + k), w1 = LOAD8(w[1] + k);
        for (int r = 0; r < 4; r++) {
          v8 xr = LOAD8(x[r] + k);
          a[0][r] += w0 * xr;
          a[1][r] += w1 * xr;
        }
      }
      for (int j = 0; j <= pair; j++) {
        float b = bias ? bias[o + j] : 0.0f;
        for (int r = 0; r < count; r++) {
          float sum = 0;
          for (int lane = 0; lane < 8; lane++) sum += a[j][r][lane];
          for (int k = wide; k < inputs; k++) sum += w[j][k] * x[r][k];
          output[(size_t)(first + r) * output_stride + o + j] = b + sum;
        }
      }
    }
  }
}

/* Twelve input rows against one weight row per pass: twelve accumulator chains, so each
 * weight row is read once for all twelve rows (a short text's tokens: the weights, not
 * the arithmetic, set the time there). The rows are first interleaved eight values at a
 * time, so the loop walks one pointer instead of twelve (which would not fit the
 * registers). A short group repeats its last row and drops the copies. */
static inline __attribute__((always_inline)) void twelve_rows_body(const float *input, int first, int count,
                                                                   const float *weight, const float *bias,
                                                                   int outputs, int inputs, float *output,
                                                                   int output_stride) {
  const int wide = inputs - inputs % 8;
  const float *x[12];
  for (int r = 0; r < 12; r++) x[r] = input + (size_t)(first + (r < count ? r : count - 1)) * inputs;
  float packed[wide > 0 ? wide * 12 : 1] __attribute__((aligned(32)));
  for (int k = 0; k < wide; k += 8) {
    for (int r = 0; r < 12; r++) {
      for (int lane = 0; lane < 8; lane++) packed[k * 12 + r * 8 + lane] = x[r][k + lane];
    }
  }
  for (int o = 0; o < outputs; o++) {
    const float *w = weight + (size_t)o * inputs;
    v8 a[12] = {{0}};
    const float *block = packed;
    for (int k = 0; k < wide; k += 8, block += 96) {
      v8 wk = LOAD8(w + k);
      for (int r = 0; r < 12; r++) a[r] += wk * LOAD8(block + r * 8);
    }
    float b = bias ? bias[o] : 0.0f;
    for (int r = 0; r < count; r++) {
      float sum = 0;
      for (int lane = 0; lane < 8; lane++) sum += a[r][lane];
      for (int k = wide; k < inputs; k++) sum += w[k] * x[r][k];
      output[(size_t)(first + r) * output_stride + o] = b + sum;
    }
  }
}

/* Groups of twelve rows while more than eight remain, then groups of four. */
static inline __attribute__((always_inline)) void rows_body(const float *input, int rows, const float *weight,
                                                            const float *bias, int outputs, int inputs, float *output,
                                                            int output_stride) {
  int first = 0;
  for (; rows - first > 8; first += 12) {
    int count = rows - first < 12 ? rows - first : 12;
    twelve_rows_body(input, first, count, weight, bias, outputs, inputs, output, output_stride);
  }
  if (first < rows) {
    few_rows_body(input + (size_t)first * inputs, rows - first, weight, bias, outputs, inputs,
                  output + (size_t)first * output_stride, output_stride);
  }
}

void weft_linear_few_rows_portable(const float *input, int rows, const float *weight, const float *bias, int outputs,
                                   int inputs, float *output, int output_stride) {
  rows_body(input, rows, weight, bias, outputs, inputs, output, output_stride);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void few_rows_avx2(const float *input, int rows, const float *weight,
                                                              const float *bias, int outputs, int inputs,
                                                              float *output, int output_stride) {
  rows_body(input, rows, weight, bias, outputs, inputs, output, output_stride);
}
#endif

void weft_linear_few_rows(const float *input, int rows, const float *weight, const float *bias, int outputs,
                          int inputs, float *output, int output_stride) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    few_rows_avx2(input, rows, weight, bias, outputs, inputs, output, output_stride);
    return;
  }
#endif
  weft_linear_few_rows_portable(input, rows, weight, bias, outputs, inputs, output, output_stride);
}
