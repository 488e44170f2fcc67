#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* One row pair's outputs [o, o + 8 * VECTORS): accumulators stay in registers over all
 * inputs, each weight vector loaded once for both rows. Written as a macro so the 32- and
 * 8-wide blocks share it. */
#define NARROW_BLOCK(VECTORS)                                                                    \
  for (; o + 8 * (VECTORS) <= outputs; o += 8 * (VECTORS)) {                                     \
    v8 a[VECTORS], b[VECTORS];                                                                   \
    for (int j = 0; j < (VECTORS); j++) a[j] = b[j] = *(const v8 *)(bias + o + 8 * j);          \
    for (int k = 0; k < inputs; k++) {                                                           \
      const v8 x = (v8){0} + first[k], y = (v8){0} + second[k];                                  \
      const float *w = weight_by_input + (size_t)k * outputs + o;                                \
      for (int j = 0; j < (VECTORS); j++) {                                                      \
        const v8 weight = *(const v8 *)(w + 8 * j);                                              \
        a[j] += x * weight;                                                                      \
        b[j] += y * weight;                                                                      \
      }                                                                                          \
    }                                                                                            \
    for (int j = 0; j < (VECTORS); j++) {                                                        \
      if (clamp) {                                                                               \
        a[j] = __builtin_elementwise_min(__builtin_elementwise_max(a[j], zero), six);            \
        b[j] = __builtin_elementwise_min(__builtin_elementwise_max(b[j], zero), six);            \
      }                                                                                          \
      *(v8 *)(out_first + o + 8 * j) = a[j];                                                     \
      *(v8 *)(out_second + o + 8 * j) = b[j];                                                    \
    }                                                                                            \
  }

/* Rows two at a time (a lone last row is paired with itself and written twice), outputs
 * in blocks of 32, then 8, then one at a time. */
static inline __attribute__((always_inline)) void narrow_body(const float *input, int rows, const float *weight_by_input,
                                                              const float *bias, int outputs, int inputs, float *output,
                                                              int clamp) {
  const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0}, six = zero + 6;
  for (int r = 0; r < rows; r += 2) {
    const int s = r + 1 < rows ? r + 1 : r;
    const float *first = input + (size_t)r * inputs, *second = input + (size_t)s * inputs;
    float *out_first = output + (size_t)r * outputs, *out_second = output + (size_t)s * outputs;
    int o = 0;
    NARROW_BLOCK(4)
    NARROW_BLOCK(1)
    for (; o < outputs; o++) {
      float a = bias[o], b = bias[o];
      for (int k = 0; k < inputs; k++) {
        a += first[k] * weight_by_input[(size_t)k * outputs + o];
        b += second[k] * weight_by_input[(size_t)k * outputs + o];
      }
      if (clamp) {
        a = a < 0 ? 0 : (a > 6 ? 6 : a);
        b = b < 0 ? 0 : (b > 6 ? 6 : b);
      }
      out_first[o] = a;
      out_second[o] = b;
    }
  }
}

void weft_pointwise_narrow_portable(const float *input, int rows, const float *weight_by_input, const float *bias,
                                    int outputs, int inputs, float *output, int clamp) {
  narrow_body(input, rows, weight_by_input, bias, outputs, inputs, output, clamp);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void narrow_avx2(const float *input, int rows, const float *weight_by_input,
                                                            const float *bias, int outputs, int inputs, float *output,
                                                            int clamp) {
  narrow_body(input, rows, weight_by_input, bias, outputs, inputs, output, clamp);
}
#endif

void weft_pointwise_narrow(const float *input, int rows, const float *weight_by_input, const float *bias, int outputs,
                           int inputs, float *output, int clamp) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    narrow_avx2(input, rows, weight_by_input, bias, outputs, inputs, output, clamp);
    return;
  }
#endif
  weft_pointwise_narrow_portable(input, rows, weight_by_input, bias, outputs, inputs, output, clamp);
}
