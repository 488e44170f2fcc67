#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* A macro, not a function: a function returning a 32-byte vector has a different ABI with
 * and without AVX, which compilers warn about even when it is inlined. */
#define LOAD8(pointer) (*(const v8 *)(pointer))

/* The loop both variants share: compiled once for baseline x86-64 and once with AVX2+FMA,
 * where `sum += pixel * weight` becomes one fused multiply-add per eight channels. */
static inline __attribute__((always_inline)) void depthwise_body(const float *input, const weft_depthwise_geometry *g,
                                                                 const float *weights, const float *bias, float *output,
                                                                 int row_begin, int row_end) {
  const int channels = g->channels, out = g->output_size, size = g->size, kernel = g->kernel;
  const int vector_channels = channels - channels % 8;
  const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0}, six = {6, 6, 6, 6, 6, 6, 6, 6};
  for (int row = row_begin; row < row_end; row++) {
    int image = row / out, oy = row % out;
    int top = oy * g->stride - g->pad_before;
    int ky_begin = top < 0 ? -top : 0, ky_end = kernel < size - top ? kernel : size - top;
    const float *image_base = input + (size_t)image * size * size * channels;
    for (int ox = 0; ox < out; ox++) {
      int left = ox * g->stride - g->pad_before;
      int kx_begin = left < 0 ? -left : 0, kx_end = kernel < size - left ? kernel : size - left;
      float *target = output + ((size_t)row * out + ox) * channels;
      int c = 0;
      for (; c < vector_channels; c += 8) {
        v8 sum = LOAD8(bias + c);
        for (int ky = ky_begin; ky < ky_end; ky++) {
          const float *line = image_base + ((size_t)(top + ky) * size + left) * channels + c;
          const float *taps = weights + (size_t)ky * kernel * channels + c;
          for (int kx = kx_begin; kx < kx_end; kx++) sum += LOAD8(line + (size_t)kx * channels) * LOAD8(taps + (size_t)kx * channels);
        }
        *(v8 *)(target + c) = __builtin_elementwise_min(__builtin_elementwise_max(sum, zero), six);
      }
      for (; c < channels; c++) {
        float sum = bias[c];
        for (int ky = ky_begin; ky < ky_end; ky++)
          for (int kx = kx_begin; kx < kx_end; kx++)
            sum += image_base[((size_t)(top + ky) * size + left + kx) * channels + c] * weights[(size_t)(ky * kernel + kx) * channels + c];
        target[c] = sum < 0 ? 0 : (sum > 6 ? 6 : sum);
      }
    }
  }
}

void weft_depthwise_relu6_portable(const float *input, const weft_depthwise_geometry *geometry, const float *weights,
                                   const float *bias, float *output, int row_begin, int row_end) {
  depthwise_body(input, geometry, weights, bias, output, row_begin, row_end);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void depthwise_avx2(const float *input, const weft_depthwise_geometry *geometry,
                                                               const float *weights, const float *bias, float *output,
                                                               int row_begin, int row_end) {
  depthwise_body(input, geometry, weights, bias, output, row_begin, row_end);
}
#endif

void weft_depthwise_relu6(const float *input, const weft_depthwise_geometry *geometry, const float *weights,
                          const float *bias, float *output, int row_begin, int row_end) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    depthwise_avx2(input, geometry, weights, bias, output, row_begin, row_end);
    return;
  }
#endif
  weft_depthwise_relu6_portable(input, geometry, weights, bias, output, row_begin, row_end);
}
