#include "weft_kernels.h"

#include "cpu_features.h"

#include <stddef.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Up to four rows against every weight row; a short group repeats its last row and
 * drops the copies, so the inner loops have a fixed shape. */
void weft_linear_few_rows_portable(const float *input, int rows, const float *weight, const float *bias, int outputs, int inputs,
                                   float *output) {
  for (int first = 0; first < rows; first += 4) {
    int count = rows - first < 4 ? rows - first : 4;
    const float *x[4];
    for (int r = 0; r < 4; r++) x[r] = input + (size_t)(first + (r < count ? r : count - 1)) * inputs;
    for (int o = 0; o < outputs; o++) {
      const float *w = weight + (size_t)o * inputs;
      float sums[4] = {0, 0, 0, 0};
      for (int k = 0; k < inputs; k++) {
        float wk = w[k];
        sums[0] += wk * x[0][k];
        sums[1] += wk * x[1][k];
        sums[2] += wk * x[2][k];
        sums[3] += wk * x[3][k];
      }
      float b = bias ? bias[o] : 0.0f;
      for (int r = 0; r < count; r++) output[(size_t)(first + r) * outputs + o] = b + sums[r];
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static float horizontal_sum(__m256 v) {
  __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  half = _mm_add_ps(half, _mm_movehl_ps(half, half));
  half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));
  return _mm_cvtss_f32(half);
}

/* Two weight rows by four input rows per pass: eight independent FMA chains, enough to
 * keep both FMA units busy through their latency. */
__attribute__((target("avx2,fma"))) static void avx2(const float *input, int rows, const float *weight,
                                                     const float *bias, int outputs, int inputs, float *output) {
  int wide = inputs - inputs % 8;
  for (int first = 0; first < rows; first += 4) {
    int count = rows - first < 4 ? rows - first : 4;
    const float *x[4];
    for (int r = 0; r < 4; r++) x[r] = input + (size_t)(first + (r < count ? r : count - 1)) * inputs;
    for (int o = 0; o < outputs; o += 2) {
      int pair = o + 1 < outputs;
      const float *w0 = weight + (size_t)o * inputs;
      const float *w1 = weight + (size_t)(o + pair) * inputs;
      __m256 a[2][4];
      for (int j = 0; j < 2; j++)
        for (int r = 0; r < 4; r++) a[j][r] = _mm256_setzero_ps();
      for (int k = 0; k < wide; k += 8) {
        __m256 v0 = _mm256_loadu_ps(w0 + k), v1 = _mm256_loadu_ps(w1 + k);
        for (int r = 0; r < 4; r++) {
          __m256 xr = _mm256_loadu_ps(x[r] + k);
          a[0][r] = _mm256_fmadd_ps(v0, xr, a[0][r]);
          a[1][r] = _mm256_fmadd_ps(v1, xr, a[1][r]);
        }
      }
      for (int j = 0; j <= pair; j++) {
        const float *w = j ? w1 : w0;
        float b = bias ? bias[o + j] : 0.0f;
        for (int r = 0; r < count; r++) {
          float sum = horizontal_sum(a[j][r]);
          for (int k = wide; k < inputs; k++) sum += w[k] * x[r][k];
          output[(size_t)(first + r) * outputs + o + j] = b + sum;
        }
      }
    }
  }
}

#endif

void weft_linear_few_rows(const float *input, int rows, const float *weight, const float *bias, int outputs,
                          int inputs, float *output) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    avx2(input, rows, weight, bias, outputs, inputs, output);
    return;
  }
#endif
  weft_linear_few_rows_portable(input, rows, weight, bias, outputs, inputs, output);
}
