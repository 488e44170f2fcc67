#include "weft_kernels.h"

#include <math.h>

#include "cpu_features.h"

/* exp8 and erf8 pass 8-float vectors by value; they are always inlined into each build of
 * the loop, so the portable build's different vector ABI never meets the AVX2 one. */
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));

/* e^x to about 1 ulp: x = n ln2 + r, |r| <= ln2/2, e^r by Cephes' degree-6 polynomial, 2^n
 * put into the exponent bits; inputs clamped to the float range. Adding 1.5 * 2^23 rounds
 * to the nearest integer in float arithmetic and leaves it in the low mantissa bits. */
static inline __attribute__((always_inline)) v8 exp8(v8 x) {
  x = __builtin_elementwise_max(__builtin_elementwise_min(x, (v8){0} + 88.37f), (v8){0} - 87.33f);
  const v8 shifted = x * 1.4426950408889634f + 12582912.0f;
  const v8 n = shifted - 12582912.0f;
  /* ln2 split in two so n ln2 is exact in float. */
  const v8 r = x - n * 0.693359375f + n * 2.1219444005469058e-4f;
  v8 p = (v8){0} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const v8i exponent = (((v8i)shifted - 0x4B400000) + 127) << 23;
  return p * (v8)exponent;
}

/* erf(x) to within 1.5e-7 in exact arithmetic (Abramowitz & Stegun 7.1.26), odd in x. */
static inline __attribute__((always_inline)) v8 erf8(v8 x) {
  const v8 a = __builtin_elementwise_abs(x);
  const v8 t = 1.0f / (1.0f + 0.3275911f * a);
  v8 p = (v8){0} + 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const v8 y = 1.0f - p * t * exp8(-a * a);
  return __builtin_elementwise_copysign(y, x);
}

static inline __attribute__((always_inline)) void gelu_body(float *x, int count) {
  const float inverse_root_two = 0.70710678118654752f;
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const v8 value = *(const v8 *)(x + i);
    *(v8 *)(x + i) = 0.5f * value * (1.0f + erf8(value * inverse_root_two));
  }
  for (; i < count; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * inverse_root_two));
}

void weft_gelu_portable(float *x, int count) { gelu_body(x, count); }

/* The sum of a vector's eight lanes. */
static inline __attribute__((always_inline)) float lanes_sum(v8 x) {
  float sum = 0;
  for (int lane = 0; lane < 8; lane++) sum += x[lane];
  return sum;
}

static inline __attribute__((always_inline)) void softmax_body(float *x, int rows, int columns, int valid) {
  const int whole = valid - valid % 8;
  for (int row = 0; row < rows; row++) {
    float *line = x + (long)row * columns;
    v8 maxima = (v8){0} - __builtin_inff();
    for (int c = 0; c < whole; c += 8) maxima = __builtin_elementwise_max(maxima, *(const v8 *)(line + c));
    float maximum = -__builtin_inff();
    for (int lane = 0; lane < 8; lane++) maximum = maxima[lane] > maximum ? maxima[lane] : maximum;
    for (int c = whole; c < valid; c++) maximum = line[c] > maximum ? line[c] : maximum;
    v8 sums = {0};
    for (int c = 0; c < whole; c += 8) {
      const v8 value = exp8(*(const v8 *)(line + c) - maximum);
      *(v8 *)(line + c) = value;
      sums += value;
    }
    float sum = lanes_sum(sums);
    for (int c = whole; c < valid; c++) {
      line[c] = expf(line[c] - maximum);
      sum += line[c];
    }
    const float inverse = 1.0f / sum;
    for (int c = 0; c < whole; c += 8) *(v8 *)(line + c) = *(const v8 *)(line + c) * inverse;
    for (int c = whole; c < valid; c++) line[c] *= inverse;
    for (int c = valid; c < columns; c++) line[c] = 0;
  }
}

void weft_softmax_rows_portable(float *x, int rows, int columns, int valid) { softmax_body(x, rows, columns, valid); }

/* Two accumulators, sixteen floats a step: a single running sum is a chain of dependent
 * adds (the Swift loop this replaced summed one float at a time, 4 cycles each). */
static inline __attribute__((always_inline)) void layer_norm_body(float *x, int rows, int columns, const float *gamma,
                                                                  const float *beta, float epsilon) {
  const int whole = columns - columns % 16;
  for (int row = 0; row < rows; row++) {
    float *line = x + (long)row * columns;
    v8 sums[2] = {{0}, {0}};
    for (int c = 0; c < whole; c += 16) {
      sums[0] += *(const v8 *)(line + c);
      sums[1] += *(const v8 *)(line + c + 8);
    }
    float sum = lanes_sum(sums[0] + sums[1]);
    for (int c = whole; c < columns; c++) sum += line[c];
    const float mean = sum / (float)columns;
    v8 squares[2] = {{0}, {0}};
    for (int c = 0; c < whole; c += 16) {
      const v8 low = *(const v8 *)(line + c) - mean, high = *(const v8 *)(line + c + 8) - mean;
      squares[0] += low * low;
      squares[1] += high * high;
    }
    float square_sum = lanes_sum(squares[0] + squares[1]);
    for (int c = whole; c < columns; c++) square_sum += (line[c] - mean) * (line[c] - mean);
    const float scale = 1.0f / sqrtf(square_sum / (float)columns + epsilon);
    for (int c = 0; c < whole; c += 8) {
      *(v8 *)(line + c) = (*(const v8 *)(line + c) - mean) * scale * *(const v8 *)(gamma + c) + *(const v8 *)(beta + c);
    }
    for (int c = whole; c < columns; c++) line[c] = (line[c] - mean) * scale * gamma[c] + beta[c];
  }
}

void weft_layer_norm_rows_portable(float *x, int rows, int columns, const float *gamma, const float *beta, float epsilon) {
  layer_norm_body(x, rows, columns, gamma, beta, epsilon);
}

static inline __attribute__((always_inline)) v8 sigmoid8(v8 x) { return 1.0f / (1.0f + exp8(-x)); }

/* tanh(x) = 2 sigmoid(2x) - 1: absolute error ~1e-7. */
static inline __attribute__((always_inline)) v8 tanh8(v8 x) { return 2.0f * sigmoid8(2.0f * x) - 1.0f; }

static inline __attribute__((always_inline)) float lstm_cell_body(const float *gates, float *hidden, float *cell,
                                                                   const float *decoder, int size) {
  v8 logit = {0};
  for (int i = 0; i < size; i += 8) {
    const v8 input = sigmoid8(*(const v8 *)(gates + i));
    const v8 forget = sigmoid8(*(const v8 *)(gates + size + i));
    const v8 candidate = tanh8(*(const v8 *)(gates + 2 * size + i));
    const v8 output = sigmoid8(*(const v8 *)(gates + 3 * size + i));
    const v8 c = forget * *(const v8 *)(cell + i) + input * candidate;
    const v8 h = output * tanh8(c);
    *(v8 *)(cell + i) = c;
    *(v8 *)(hidden + i) = h;
    logit += __builtin_elementwise_max(h, (v8){0}) * *(const v8 *)(decoder + i);
  }
  return lanes_sum(logit);
}

float weft_lstm_cell_portable(const float *gates, float *hidden, float *cell, const float *decoder, int size) {
  return lstm_cell_body(gates, hidden, cell, decoder, size);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static float lstm_cell_avx2(const float *gates, float *hidden, float *cell,
                                                                const float *decoder, int size) {
  return lstm_cell_body(gates, hidden, cell, decoder, size);
}

__attribute__((target("avx2,fma"))) static void gelu_avx2(float *x, int count) { gelu_body(x, count); }

__attribute__((target("avx2,fma"))) static void softmax_avx2(float *x, int rows, int columns, int valid) {
  softmax_body(x, rows, columns, valid);
}

__attribute__((target("avx2,fma"))) static void layer_norm_avx2(float *x, int rows, int columns, const float *gamma,
                                                                const float *beta, float epsilon) {
  layer_norm_body(x, rows, columns, gamma, beta, epsilon);
}
#endif

void weft_gelu(float *x, int count) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    gelu_avx2(x, count);
    return;
  }
#endif
  weft_gelu_portable(x, count);
}

void weft_softmax_rows(float *x, int rows, int columns, int valid) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    softmax_avx2(x, rows, columns, valid);
    return;
  }
#endif
  weft_softmax_rows_portable(x, rows, columns, valid);
}

void weft_layer_norm_rows(float *x, int rows, int columns, const float *gamma, const float *beta, float epsilon) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    layer_norm_avx2(x, rows, columns, gamma, beta, epsilon);
    return;
  }
#endif
  weft_layer_norm_rows_portable(x, rows, columns, gamma, beta, epsilon);
}

float weft_lstm_cell(const float *gates, float *hidden, float *cell, const float *decoder, int size) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) return lstm_cell_avx2(gates, hidden, cell, decoder, size);
#endif
  return weft_lstm_cell_portable(gates, hidden, cell, decoder, size);
}
