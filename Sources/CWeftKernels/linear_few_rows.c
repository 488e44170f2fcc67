#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* A macro, not a function: a function returning a 32-byte vector has a different ABI with
 * and without AVX, which compilers warn about even when it is inlined. */
#define LOAD8(pointer) (*(const v8 *)(pointer))

/* Sums of eight vectors' lanes: sums[i] = the sum of a[i]'s lanes, through shuffles and
 * adds in a tree (21 operations instead of 56 scalar adds). Written through a pointer,
 * not returned, for the ABI reason above. */
static inline __attribute__((always_inline)) void sum_lanes8(const v8 *a, float *sums) {
  v8 p[4], q[2];
  for (int i = 0; i < 4; i++) {
    p[i] = __builtin_shufflevector(a[2 * i], a[2 * i + 1], 0, 8, 2, 10, 4, 12, 6, 14) +
           __builtin_shufflevector(a[2 * i], a[2 * i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
  }
  for (int i = 0; i < 2; i++) {
    q[i] = __builtin_shufflevector(p[2 * i], p[2 * i + 1], 0, 1, 8, 9, 4, 5, 12, 13) +
           __builtin_shufflevector(p[2 * i], p[2 * i + 1], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  *(v8 *)sums = __builtin_shufflevector(q[0], q[1], 0, 1, 2, 3, 8, 9, 10, 11) +
                __builtin_shufflevector(q[0], q[1], 4, 5, 6, 7, 12, 13, 14, 15);
}

/* The same for four vectors: sums[0...3] (and sums[4...7] repeat them). */
static inline __attribute__((always_inline)) void sum_lanes4(const v8 *a, float *sums) {
  v8 p0 = __builtin_shufflevector(a[0], a[1], 0, 8, 2, 10, 4, 12, 6, 14) +
          __builtin_shufflevector(a[0], a[1], 1, 9, 3, 11, 5, 13, 7, 15);
  v8 p1 = __builtin_shufflevector(a[2], a[3], 0, 8, 2, 10, 4, 12, 6, 14) +
          __builtin_shufflevector(a[2], a[3], 1, 9, 3, 11, 5, 13, 7, 15);
  v8 q = __builtin_shufflevector(p0, p1, 0, 1, 8, 9, 4, 5, 12, 13) +
         __builtin_shufflevector(p0, p1, 2, 3, 10, 11, 6, 7, 14, 15);
  *(v8 *)sums = q + __builtin_shufflevector(q, q, 4, 5, 6, 7, 0, 1, 2, 3);
}

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
      float sums[8];
      sum_lanes8(&a[0][0], sums);
      for (int j = 0; j <= pair; j++) {
        float b = bias ? bias[o + j] : 0.0f;
        for (int r = 0; r < count; r++) {
          float sum = sums[j * 4 + r];
          for (int k = wide; k < inputs; k++) sum += w[j][k] * x[r][k];
          output[(size_t)(first + r) * outputs + o + j] = b + sum;
        }
      }
    }
  }
}

/* Inputs packed at a time: twelve rows of this many values (18 KB) stay in L1 while the
 * weights stream past; a longer row (the 1,536-wide down projection) is taken in chunks,
 * the outputs written by the first chunk and added to by the rest. */
#define TWELVE_ROWS_CHUNK 384
/* The weight row this many outputs ahead is prefetched at the same inputs while a row is
 * used: in both layouts (a whole row, or a chunk of a longer one) that is exactly the
 * data needed next. Measured on a short text (batch 1, 11 pieces): p50 3.31 -> 2.81 ms
 * median over eight alternating runs, against a fixed 2 KB ahead of the current row
 * (which for the chunked down projection fetched bytes no pass used); 8 rows ahead was
 * no better. */
#define PREFETCH_ROWS 4

/* Twelve input rows against one weight row per pass: twelve accumulator chains, so each
 * weight row is read once for all twelve rows (a short text's tokens: the weights, not
 * the arithmetic, set the time there). The rows are first interleaved eight values at a
 * time, so the loop walks one pointer instead of twelve (which would not fit the
 * registers). A short group repeats its last row and drops the copies. */
static inline __attribute__((always_inline)) void twelve_rows_body(const float *input, int first, int count,
                                                                   const float *weight, const float *bias,
                                                                   int outputs, int inputs, float *output) {
  const int wide = inputs - inputs % 8;
  const float *x[12];
  for (int r = 0; r < 12; r++) x[r] = input + (size_t)(first + (r < count ? r : count - 1)) * inputs;
  float packed[TWELVE_ROWS_CHUNK * 12] __attribute__((aligned(32)));
  for (int start = 0; start == 0 || start < wide; start += TWELVE_ROWS_CHUNK) {
    const int end = start + TWELVE_ROWS_CHUNK < wide ? start + TWELVE_ROWS_CHUNK : wide;
    const int last = end == wide;
    for (int k = start; k < end; k += 8) {
      for (int r = 0; r < 12; r++) {
        for (int lane = 0; lane < 8; lane++) packed[(k - start) * 12 + r * 8 + lane] = x[r][k + lane];
      }
    }
    for (int o = 0; o < outputs; o++) {
      const float *w = weight + (size_t)o * inputs;
      const float *ahead = weight + (size_t)(o + PREFETCH_ROWS < outputs ? o + PREFETCH_ROWS : o) * inputs;
      v8 a[12] = {{0}};
      const float *block = packed;
      for (int k = start; k < end; k += 8, block += 96) {
        v8 wk = LOAD8(w + k);
        __builtin_prefetch(ahead + k);
        for (int r = 0; r < 12; r++) a[r] += wk * LOAD8(block + r * 8);
      }
      float sums[16];
      sum_lanes8(a, sums);
      sum_lanes4(a + 8, sums + 8);
      for (int r = 0; r < count; r++) {
        float sum = sums[r];
        if (last) {
          for (int k = wide; k < inputs; k++) sum += w[k] * x[r][k];
        }
        float *out = output + (size_t)(first + r) * outputs + o;
        *out = start == 0 ? (bias ? bias[o] : 0.0f) + sum : *out + sum;
      }
    }
  }
}

/* Groups of twelve rows while more than eight remain, then groups of four. */
static inline __attribute__((always_inline)) void rows_body(const float *input, int rows, const float *weight,
                                                            const float *bias, int outputs, int inputs, float *output) {
  int first = 0;
  for (; rows - first > 8; first += 12) {
    int count = rows - first < 12 ? rows - first : 12;
    twelve_rows_body(input, first, count, weight, bias, outputs, inputs, output);
  }
  if (first < rows) {
    few_rows_body(input + (size_t)first * inputs, rows - first, weight, bias, outputs, inputs,
                  output + (size_t)first * outputs);
  }
}

void weft_linear_few_rows_portable(const float *input, int rows, const float *weight, const float *bias, int outputs,
                                   int inputs, float *output) {
  rows_body(input, rows, weight, bias, outputs, inputs, output);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void few_rows_avx2(const float *input, int rows, const float *weight,
                                                              const float *bias, int outputs, int inputs,
                                                              float *output) {
  rows_body(input, rows, weight, bias, outputs, inputs, output);
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
