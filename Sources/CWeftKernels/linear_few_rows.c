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
                                                                float *output) {
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
          output[(size_t)(first + r) * outputs + o + j] = b + sum;
        }
      }
    }
  }
}

void weft_linear_few_rows_portable(const float *input, int rows, const float *weight, const float *bias, int outputs,
                                   int inputs, float *output) {
  few_rows_body(input, rows, weight, bias, outputs, inputs, output);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void few_rows_avx2(const float *input, int rows, const float *weight,
                                                              const float *bias, int outputs, int inputs,
                                                              float *output) {
  few_rows_body(input, rows, weight, bias, outputs, inputs, output);
}
#endif

void weft_linear_few_rows(const float *input, int rows, const float *weight, const float *bias, int outputs,
                          int inputs, float *output) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    few_rows_avx2(input, rows, weight, bias, outputs, inputs, output);
    return;
  }
#endif
  weft_linear_few_rows_portable(input, rows, weight, bias, outputs, inputs, output);
}
