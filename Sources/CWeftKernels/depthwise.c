#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* A macro, not a function: a function returning a 32-byte vector has a different ABI with
 * and without AVX, which compilers warn about even when it is inlined. */
#define LOAD8(pointer) (*(const v8 *)(pointer))

/* One output pixel, all channels: eight at a time, then one at a time. */
static inline __attribute__((always_inline)) void depthwise_pixel(const float *image_base, const weft_depthwise_geometry *g,
                                                                  const float *weights, const float *bias, float *target,
                                                                  int top, int ky_begin, int ky_end, int left) {
  const int channels = g->channels, size = g->size, kernel = g->kernel;
  const int vector_channels = channels - channels % 8;
  const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0}, six = {6, 6, 6, 6, 6, 6, 6, 6};
  int kx_begin = left < 0 ? -left : 0, kx_end = kernel < size - left ? kernel : size - left;
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

/* The portable loop, pixel by pixel (baseline x86-64: `sum += pixel * weight` on eight
 * channels is two SSE multiplies and adds; the vector variants below inline the same
 * per-pixel code, where it becomes one fused multiply-add, for edge pixels). */
static inline __attribute__((always_inline)) void depthwise_body(const float *input, const weft_depthwise_geometry *g,
                                                                 const float *weights, const float *bias, float *output,
                                                                 int row_begin, int row_end) {
  const int channels = g->channels, out = g->output_size, size = g->size, kernel = g->kernel;
  for (int row = row_begin; row < row_end; row++) {
    int image = row / out, oy = row % out;
    int top = oy * g->stride - g->pad_before;
    int ky_begin = top < 0 ? -top : 0, ky_end = kernel < size - top ? kernel : size - top;
    const float *image_base = input + (size_t)image * size * size * channels;
    for (int ox = 0; ox < out; ox++) {
      depthwise_pixel(image_base, g, weights, bias, output + ((size_t)row * out + ox) * channels, top, ky_begin, ky_end,
                      ox * g->stride - g->pad_before);
    }
  }
}

#if defined(__x86_64__)
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* Four neighbouring output pixels at once, WIDTH channels at a time (a vector type VEC),
 * so each weight vector is loaded once for four pixels: the per-pixel loop reloads it every
 * time and is bound by loads. Pixels whose window crosses the left or right edge, and
 * channel counts that are not a multiple of WIDTH, take the per-pixel loop. Expanded twice,
 * as a function body: AVX2 (eight channels) and AVX-512 (sixteen). */
#define DEPTHWISE_BLOCKED(VEC, WIDTH)                                                                              \
  const int channels = g->channels, out = g->output_size, size = g->size, kernel = g->kernel, stride = g->stride; \
  const VEC zero = (VEC){0} * 0, six = zero + 6;                                                                   \
  const size_t step = (size_t)stride * channels;                                                                   \
  for (int row = row_begin; row < row_end; row++) {                                                                \
    int image = row / out, oy = row % out;                                                                         \
    int top = oy * stride - g->pad_before;                                                                         \
    int ky_begin = top < 0 ? -top : 0, ky_end = kernel < size - top ? kernel : size - top;                         \
    const float *image_base = input + (size_t)image * size * size * channels;                                      \
    float *row_output = output + (size_t)row * out * channels;                                                     \
    int ox = 0;                                                                                                    \
    while (ox < out) {                                                                                             \
      int left = ox * stride - g->pad_before;                                                                      \
      if (channels % (WIDTH) == 0 && ox + 4 <= out && left >= 0 && left + 3 * stride + kernel <= size) {           \
        float *target = row_output + (size_t)ox * channels;                                                        \
        for (int c = 0; c < channels; c += (WIDTH)) {                                                              \
          VEC s0 = *(const VEC *)(bias + c), s1 = s0, s2 = s0, s3 = s0;                                            \
          for (int ky = ky_begin; ky < ky_end; ky++) {                                                             \
            const float *line = image_base + ((size_t)(top + ky) * size + left) * channels + c;                    \
            const float *taps = weights + (size_t)ky * kernel * channels + c;                                      \
            for (int kx = 0; kx < kernel; kx++) {                                                                  \
              const VEC w = *(const VEC *)(taps + (size_t)kx * channels);                                          \
              const float *x = line + (size_t)kx * channels;                                                       \
              s0 += *(const VEC *)(x)*w;                                                                           \
              s1 += *(const VEC *)(x + step) * w;                                                                  \
              s2 += *(const VEC *)(x + 2 * step) * w;                                                              \
              s3 += *(const VEC *)(x + 3 * step) * w;                                                              \
            }                                                                                                      \
          }                                                                                                        \
          *(VEC *)(target + c) = __builtin_elementwise_min(__builtin_elementwise_max(s0, zero), six);              \
          *(VEC *)(target + channels + c) = __builtin_elementwise_min(__builtin_elementwise_max(s1, zero), six);   \
          *(VEC *)(target + 2 * channels + c) = __builtin_elementwise_min(__builtin_elementwise_max(s2, zero), six); \
          *(VEC *)(target + 3 * channels + c) = __builtin_elementwise_min(__builtin_elementwise_max(s3, zero), six); \
        }                                                                                                          \
        ox += 4;                                                                                                   \
      } else {                                                                                                     \
        depthwise_pixel(image_base, g, weights, bias, row_output + (size_t)ox * channels, top, ky_begin, ky_end, left); \
        ox += 1;                                                                                                   \
      }                                                                                                            \
    }                                                                                                              \
  }

__attribute__((target("avx2,fma"))) static void depthwise_avx2(const float *input, const weft_depthwise_geometry *g,
                                                               const float *weights, const float *bias, float *output,
                                                               int row_begin, int row_end) {
  DEPTHWISE_BLOCKED(v8, 8)
}

__attribute__((target("avx512f,fma"))) static void depthwise_avx512(const float *input, const weft_depthwise_geometry *g,
                                                                   const float *weights, const float *bias, float *output,
                                                                   int row_begin, int row_end) {
  DEPTHWISE_BLOCKED(v16, 16)
}
#endif

void weft_depthwise_relu6_portable(const float *input, const weft_depthwise_geometry *geometry, const float *weights,
                                   const float *bias, float *output, int row_begin, int row_end) {
  depthwise_body(input, geometry, weights, bias, output, row_begin, row_end);
}


void weft_depthwise_relu6(const float *input, const weft_depthwise_geometry *geometry, const float *weights,
                          const float *bias, float *output, int row_begin, int row_end) {
#if defined(__x86_64__)
  static int has_avx512 = -1; /* a benign race: every thread computes the same value */
  if (has_avx512 < 0) has_avx512 = weft_cpu_has_avx512_skylake();
  if (has_avx512) {
    depthwise_avx512(input, geometry, weights, bias, output, row_begin, row_end);
    return;
  }
  if (weft_cpu_has_avx2_fma()) {
    depthwise_avx2(input, geometry, weights, bias, output, row_begin, row_end);
    return;
  }
#endif
  weft_depthwise_relu6_portable(input, geometry, weights, bias, output, row_begin, row_end);
}
